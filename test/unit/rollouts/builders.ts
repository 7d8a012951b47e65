/** Builders for rollout tests: an audit assignment, clusters with policy states, a normalised request. */
import type { PolicyAssignmentModel, RolloutClusterFacts, RolloutPolicyState, RolloutRequest } from '../../../domain/rollout-model.js';
import { normaliseRolloutRequest, planRollout } from '../../../domain/rollout-planner.js';
import type { RolloutPlan } from '../../../domain/rollout-model.js';

export const SUB = '11111111-2222-3333-4444-555555555555';
export const NOW = new Date('2026-03-10T12:00:00.000Z');
export const SCOPE = `/subscriptions/${SUB}`;
export const ASSIGNMENT_ID = `${SCOPE}/providers/Microsoft.Authorization/policyAssignments/pss-baseline`;

export function rgId(rg: string): string {
  return `${SCOPE}/resourceGroups/${rg}`;
}

export function assignment(patch: Partial<PolicyAssignmentModel> = {}): PolicyAssignmentModel {
  return {
    id: ASSIGNMENT_ID,
    name: 'pss-baseline',
    scope: SCOPE,
    policyDefinitionId: '/providers/Microsoft.Authorization/policySetDefinitions/a8640138-9b0a-4a28-b8cb-1666c838647d',
    displayName: 'Pod Security baseline',
    enforcementMode: 'Default',
    parameters: { effect: { value: 'Audit' } },
    notScopes: [],
    ...patch,
  };
}

export function state(ref: string, complianceState = 'Compliant', extra: Partial<RolloutPolicyState> = {}): RolloutPolicyState {
  return {
    policyAssignmentId: ASSIGNMENT_ID.toLowerCase(),
    policyDefinitionName: `def-${ref}`,
    policyDefinitionReferenceId: ref,
    complianceState,
    policyDefinitionAction: 'audit',
    components: complianceState === 'NonCompliant' ? 2 : undefined,
    ...extra,
  };
}

export function cluster(name: string, location: string, rg: string, patch: Partial<RolloutClusterFacts> = {}): RolloutClusterFacts {
  return {
    id: `${rgId(rg)}/providers/Microsoft.Kubernetes/connectedClusters/${name}`,
    name,
    subscriptionId: SUB,
    resourceGroup: rg,
    location,
    connectivityStatus: 'Connected',
    evaluatedAt: new Date(NOW.getTime() - 3_600_000).toISOString(),
    stale: false,
    states: [state('noPrivileged'), state('noHostNetwork')],
    ...patch,
  };
}

/** Four clusters: two in westeurope (rg-weu), one in northeurope (rg-neu), one in uksouth (rg-uks). */
export function fleet(): RolloutClusterFacts[] {
  return [cluster('weu-1', 'westeurope', 'rg-weu'), cluster('weu-2', 'westeurope', 'rg-weu'), cluster('neu-1', 'northeurope', 'rg-neu'), cluster('uks-1', 'uksouth', 'rg-uks')];
}

export function plan(request: Partial<RolloutRequest> = {}, model = assignment(), clusters = fleet()): RolloutPlan {
  const full: RolloutRequest = {
    policyAssignmentId: ASSIGNMENT_ID,
    waves: [
      { name: 'canary', locations: ['westeurope'] },
      { name: 'europe', locations: ['North Europe'] },
      { name: 'uk', resourceGroups: [rgId('rg-uks')] },
    ],
    ...request,
  };
  return planRollout({ request: normaliseRolloutRequest(full), assignment: model, clusters });
}

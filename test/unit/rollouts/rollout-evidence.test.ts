/** What deny would refuse, per policy and resource: stored offenders → plan: what would be denied if the wave enforced now. */
import { describe, expect, it } from 'vitest';
import { POLICY_IDS } from '../../../domain/control-catalog.js';
import { evaluateCluster } from '../../../domain/evaluate-cluster.js';
import type { ClusterSnapshot, ControlResult, PolicyStateFact } from '../../../domain/model.js';
import { MAX_OFFENDER_ITEMS } from '../../../domain/offender-list.js';
import { storedOffendersByPolicy } from '../../../domain/rollout-evidence.js';
import { sumWouldDeny, wouldDenyOf } from '../../../domain/rollout-planner.js';
import { ASSIGNMENT_ID, NOW, SUB, assignment, cluster, plan, rgId, state } from './builders.js';

const BASELINE = POLICY_IDS.podSecurityBaselineInitiative;

function policyState(ref: string, complianceState: string, components: string[] = [], assignmentName = 'pss-baseline'): PolicyStateFact {
  return {
    resourceId: `${rgId('rg-weu')}/providers/microsoft.kubernetes/connectedclusters/weu-1`.toLowerCase(),
    policyAssignmentId: `/subscriptions/${SUB}/providers/microsoft.authorization/policyassignments/${assignmentName}`,
    policyDefinitionId: `/providers/microsoft.authorization/policydefinitions/def-${ref.toLowerCase()}`,
    policyDefinitionName: `def-${ref.toLowerCase()}`,
    policySetDefinitionName: BASELINE,
    policyDefinitionReferenceId: ref,
    complianceState,
    policyDefinitionAction: 'audit',
    timestamp: undefined,
    components: components.map((id) => ({ id, name: id.split('/').pop(), type: 'Pod', complianceState: 'NonCompliant' })),
  };
}

/** The control results the evaluator stores for a cluster with these policy states (the real label format). */
function storedControls(states: PolicyStateFact[]): readonly ControlResult[] {
  const snapshot: ClusterSnapshot = {
    id: `${rgId('rg-weu')}/providers/Microsoft.Kubernetes/connectedClusters/weu-1`,
    name: 'weu-1',
    subscriptionId: SUB,
    resourceGroup: 'rg-weu',
    location: 'westeurope',
    kind: undefined,
    tags: { environment: 'dev' },
    properties: {},
    extensions: [],
    fluxConfigurations: [],
    policyStates: states,
  };
  return evaluateCluster(snapshot, { runId: 'run-1', runStartedAt: NOW, resourceGroupPeers: [snapshot], exceptions: [] }).controls;
}

describe('stored offenders by policy', () => {
  it('reads the in-cluster resources of a single non-compliant policy from what the evaluator stored', () => {
    const controls = storedControls([policyState('noPrivileged', 'NonCompliant', ['default/web-0', 'default/web-1']), policyState('noHostNetwork', 'Compliant')]);
    expect(storedOffendersByPolicy(controls, ['PSS-Baseline'])).toEqual({ noprivileged: ['Pod default/web-0', 'Pod default/web-1'] });
  });

  it('names nothing for another assignment, or when the control mixes several failing policies', () => {
    const other = storedControls([policyState('noPrivileged', 'NonCompliant', ['default/web-0'], 'someone-else')]);
    expect(storedOffendersByPolicy(other, ['pss-baseline'])).toEqual({});
    // Two failing policies in one control: the stored components could belong to either.
    const mixed = storedControls([policyState('noPrivileged', 'NonCompliant', ['default/web-0']), policyState('noHostNetwork', 'NonCompliant', ['kube-system/agent'])]);
    expect(storedOffendersByPolicy(mixed, ['pss-baseline'])).toEqual({});
  });
});

describe('would deny: resources per policy', () => {
  const weu1 = `${rgId('rg-weu')}/providers/Microsoft.Kubernetes/connectedClusters/weu-1`;

  it('lists the stored in-cluster resources of a cluster, counting them when the live query has no components', () => {
    const c = cluster('weu-1', 'westeurope', 'rg-weu', {
      states: [state('noPrivileged', 'NonCompliant', { components: undefined }), state('noHostNetwork', 'NonCompliant', { components: undefined })],
      storedOffenders: { noprivileged: ['Pod default/web-0', 'Pod default/web-1'] },
    });
    expect(wouldDenyOf(c, ASSIGNMENT_ID)).toEqual([
      { policy: 'nohostnetwork', resources: 0, offenders: { items: [{ clusterId: weu1 }], total: 1 } },
      {
        policy: 'noprivileged',
        resources: 2,
        offenders: { items: [{ clusterId: weu1, resource: 'Pod default/web-0' }, { clusterId: weu1, resource: 'Pod default/web-1' }], total: 2 },
      },
    ]);
  });

  it('caps a wave list at the offender-list bound and keeps the true total', () => {
    const names = Array.from({ length: MAX_OFFENDER_ITEMS + 5 }, (_, i) => `Pod default/web-${i}`);
    const a = wouldDenyOf(cluster('weu-1', 'westeurope', 'rg-weu', { states: [state('noPrivileged', 'NonCompliant', { components: undefined })], storedOffenders: { noprivileged: names } }), ASSIGNMENT_ID);
    expect(a[0]?.offenders.items).toHaveLength(MAX_OFFENDER_ITEMS);
    expect(a[0]?.offenders.total).toBe(MAX_OFFENDER_ITEMS + 5);
    const b = wouldDenyOf(cluster('weu-2', 'westeurope', 'rg-weu', { states: [state('noPrivileged', 'NonCompliant', { components: 3 })] }), ASSIGNMENT_ID);
    const wave = sumWouldDeny([a, b]);
    expect(wave).toHaveLength(1);
    expect(wave[0]?.resources).toBe(MAX_OFFENDER_ITEMS + 5 + 3);
    expect(wave[0]?.offenders.items).toHaveLength(MAX_OFFENDER_ITEMS);
    expect(wave[0]?.offenders.total).toBe(MAX_OFFENDER_ITEMS + 5 + 1);
  });

  it('puts the offending resources of the wave clusters into each wave of the plan', () => {
    const clusters = [
      cluster('weu-1', 'westeurope', 'rg-weu', { states: [state('noPrivileged', 'NonCompliant', { components: undefined })], storedOffenders: { noprivileged: ['Pod default/web-0'] } }),
      cluster('weu-2', 'westeurope', 'rg-weu'),
      cluster('uks-1', 'uksouth', 'rg-uks', { states: [state('noPrivileged', 'NonCompliant', { components: undefined })] }),
    ];
    const p = plan({ waves: [{ name: 'w1', locations: ['westeurope'] }, { name: 'w2', locations: ['uksouth'] }] }, assignment(), clusters);
    expect(p.waves[0]?.wouldDeny).toEqual([{ policy: 'noprivileged', resources: 1, offenders: { items: [{ clusterId: weu1, resource: 'Pod default/web-0' }], total: 1 } }]);
    expect(p.waves[1]?.wouldDeny).toEqual([{ policy: 'noprivileged', resources: 0, offenders: { items: [{ clusterId: clusters[2]!.id }], total: 1 } }]);
  });
});

/**
 * Which assignment a remediation runs under (ArmRemediationStarter over a scripted policy reader):
 * a direct assignment is preferred; otherwise an initiative assignment whose initiative holds the
 * DeployIfNotExists definition, with the member's reference id; none → the typed NotRemediable error.
 * Ids are the real DeployIfNotExists built-ins of the control catalog; initiative names are custom
 * (customer-chosen) except the real built-in PSS baseline initiative.
 */
import type { PolicyAssignment, PolicySetDefinition } from '@azure/arm-policy';
import type { Remediation } from '@azure/arm-policyinsights';
import { describe, expect, it } from 'vitest';
import { ArmRemediationStarter, memberEffect, parsePolicySetDefinitionId, type RemediationPolicyAccess } from '../../../adapters/arm/policy-admin.js';
import { POLICY_IDS } from '../../../domain/control-catalog.js';
import { UnprocessableError } from '../../../domain/errors.js';

const SUB = '11111111-1111-1111-1111-111111111111';
const DINE = `/providers/Microsoft.Authorization/policyDefinitions/${POLICY_IDS.arcPolicyExtensionDeployIfNotExists}`;
const DEFENDER_DINE = `/providers/Microsoft.Authorization/policyDefinitions/${POLICY_IDS.arcDefenderExtensionDeployIfNotExists}`;
const PSS_BASELINE = `/providers/Microsoft.Authorization/policySetDefinitions/${POLICY_IDS.podSecurityBaselineInitiative}`;
const CUSTOM_SET = `/subscriptions/${SUB}/providers/Microsoft.Authorization/policySetDefinitions/arc-extensions`;
const cluster = (rg: string, name: string): string => `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Kubernetes/connectedClusters/${name}`;
const CLUSTERS = [cluster('edge-rg', 'c0'), cluster('store-rg', 'c1')];

function assignment(name: string, policyDefinitionId: string, extra: Partial<PolicyAssignment> = {}): PolicyAssignment {
  const scope = extra.scope ?? `/subscriptions/${SUB}`;
  return { id: `${scope}/providers/Microsoft.Authorization/policyAssignments/${name}`, name, scope, policyDefinitionId, notScopes: [], ...extra };
}

/** A custom initiative with the two DeployIfNotExists members; `effect` mapped from an initiative parameter. */
function customSet(): PolicySetDefinition {
  return {
    id: CUSTOM_SET,
    name: 'arc-extensions',
    policyType: 'Custom',
    parameters: { extensionEffect: { type: 'String', defaultValue: 'DeployIfNotExists' } },
    policyDefinitions: [
      { policyDefinitionId: DEFENDER_DINE, policyDefinitionReferenceId: 'deployDefender', parameters: { effect: { value: "[parameters('extensionEffect')]" } } },
      { policyDefinitionId: DINE.toUpperCase(), policyDefinitionReferenceId: 'deployPolicyExtension', parameters: { effect: { value: "[parameters('extensionEffect')]" } } },
    ],
  };
}

class ScriptedPolicy implements RemediationPolicyAccess {
  readonly calls: string[] = [];
  readonly created: { subscriptionId: string; name: string; properties: Parameters<RemediationPolicyAccess['createRemediation']>[2] }[] = [];
  constructor(
    private readonly direct: PolicyAssignment[],
    private readonly all: PolicyAssignment[],
    private readonly sets: Record<string, PolicySetDefinition>,
  ) {}
  async listAssignmentsOfDefinition(subscriptionId: string, policyDefinitionId: string): Promise<PolicyAssignment[]> {
    this.calls.push(`listOfDefinition ${subscriptionId} ${policyDefinitionId}`);
    return this.direct;
  }
  async listAssignmentsForSubscription(subscriptionId: string): Promise<PolicyAssignment[]> {
    this.calls.push(`listAll ${subscriptionId}`);
    return this.all;
  }
  async findPolicySetDefinition(id: string): Promise<PolicySetDefinition | undefined> {
    this.calls.push(`getSet ${id}`);
    return this.sets[id.toLowerCase()];
  }
  async createRemediation(subscriptionId: string, name: string, properties: Parameters<RemediationPolicyAccess['createRemediation']>[2]): Promise<Remediation> {
    this.calls.push(`create ${name}`);
    this.created.push({ subscriptionId, name, properties });
    return { id: `/subscriptions/${subscriptionId}/providers/Microsoft.PolicyInsights/remediations/${name}`, provisioningState: 'Accepted', deploymentStatus: { totalDeployments: 2, successfulDeployments: 0, failedDeployments: 0 } };
  }
  async getRemediation(): Promise<Remediation> {
    throw new Error('not used');
  }
}

const request = { name: 'arc-compliance-r1', subscriptionId: SUB, policyDefinitionId: DINE, resourceIds: CLUSTERS };
const sets = (...list: PolicySetDefinition[]): Record<string, PolicySetDefinition> => Object.fromEntries(list.map((s) => [s.id!.toLowerCase(), s]));

describe('ArmRemediationStarter: which assignment', () => {
  it('prefers a direct assignment and reads no initiative when one covers the clusters', async () => {
    const direct = assignment('deploy-policy-extension', DINE, { parameters: { effect: { value: 'DeployIfNotExists' } } });
    const policy = new ScriptedPolicy([direct], [direct, assignment('arc-extensions', CUSTOM_SET)], sets(customSet()));
    const state = await new ArmRemediationStarter(policy).start(request);
    expect(policy.created).toEqual([{ subscriptionId: SUB, name: 'arc-compliance-r1', properties: { policyAssignmentId: direct.id, resourceIds: CLUSTERS } }]);
    expect(policy.calls).toEqual([`listOfDefinition ${SUB} ${DINE}`, 'create arc-compliance-r1']);
    expect(state).toMatchObject({ provisioningState: 'Accepted', totalDeployments: 2, subscriptionId: SUB });
  });

  it('finds an initiative assignment holding the definition (ids compared case-insensitively) and names the member', async () => {
    const policy = new ScriptedPolicy([], [assignment('pss-baseline', PSS_BASELINE), assignment('arc-extensions', CUSTOM_SET)], sets(customSet(), { id: PSS_BASELINE, policyDefinitions: [] }));
    await new ArmRemediationStarter(policy).start(request);
    expect(policy.created[0]?.properties).toEqual({
      policyAssignmentId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/policyAssignments/arc-extensions`,
      policyDefinitionReferenceId: 'deployPolicyExtension',
      resourceIds: CLUSTERS,
    });
    expect(policy.calls).toEqual([`listOfDefinition ${SUB} ${DINE}`, `listAll ${SUB}`, `getSet ${PSS_BASELINE}`, `getSet ${CUSTOM_SET}`, 'create arc-compliance-r1']);
  });

  it('falls back to an initiative when the direct assignment is disabled or excludes a cluster', async () => {
    const disabled = assignment('dine-off', DINE, { parameters: { effect: { value: 'Disabled' } } });
    const excluding = assignment('dine-not-store', DINE, { notScopes: [`/subscriptions/${SUB}/resourceGroups/STORE-RG`] });
    const policy = new ScriptedPolicy([disabled, excluding], [disabled, excluding, assignment('arc-extensions', CUSTOM_SET)], sets(customSet()));
    const target = await new ArmRemediationStarter(policy).findTarget(SUB, DINE, CLUSTERS);
    expect(target).toEqual({ policyAssignmentId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/policyAssignments/arc-extensions`, policyDefinitionReferenceId: 'deployPolicyExtension' });
  });

  it('reads each initiative once per call, skips one it cannot read, and only those whose scope covers the clusters', async () => {
    const rgOnly = assignment('arc-extensions-edge', CUSTOM_SET, { scope: `/subscriptions/${SUB}/resourceGroups/edge-rg` });
    const hidden = assignment('mg-initiative', '/providers/Microsoft.Management/managementGroups/contoso/providers/Microsoft.Authorization/policySetDefinitions/hidden');
    const off = assignment('arc-extensions-off', CUSTOM_SET, { parameters: { extensionEffect: { value: 'Disabled' } } });
    const on = assignment('arc-extensions-on', CUSTOM_SET);
    const policy = new ScriptedPolicy([], [rgOnly, hidden, off, on], sets(customSet()));
    const target = await new ArmRemediationStarter(policy).findTarget(SUB, DINE, CLUSTERS);
    expect(target?.policyAssignmentId).toBe(on.id);
    expect(policy.calls.filter((c) => c.startsWith('getSet'))).toEqual([`getSet ${hidden.policyDefinitionId}`, `getSet ${CUSTOM_SET}`]);
  });

  it('none usable → NotRemediable with the PolicyNotAssigned guidance, nothing created', async () => {
    const off = assignment('arc-extensions', CUSTOM_SET, { parameters: { extensionEffect: { value: 'Disabled' } } });
    const policy = new ScriptedPolicy([], [off, assignment('pss-baseline', PSS_BASELINE)], sets(customSet(), { id: PSS_BASELINE, policyDefinitions: [] }));
    const error = await new ArmRemediationStarter(policy).start(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnprocessableError);
    expect(error).toMatchObject({ code: 'NotRemediable', details: [{ code: 'PolicyNotAssigned', target: SUB }] });
    expect((error as UnprocessableError).details?.[0]?.message).toContain(DINE);
    expect(policy.created).toEqual([]);
  });
});

describe('memberEffect', () => {
  const set = customSet();
  const member = set.policyDefinitions![1]!;
  it('resolves [parameters(…)] from the assignment, else the initiative default', () => {
    expect(memberEffect(assignment('a', CUSTOM_SET), set, member)).toBe('deployifnotexists');
    expect(memberEffect(assignment('a', CUSTOM_SET, { parameters: { extensionEffect: { value: 'Disabled' } } }), set, member)).toBe('disabled');
  });
  it('takes a literal, and undefined when the member passes no effect or an expression', () => {
    expect(memberEffect(assignment('a', CUSTOM_SET), set, { ...member, parameters: { effect: { value: 'AuditIfNotExists' } } })).toBe('auditifnotexists');
    expect(memberEffect(assignment('a', CUSTOM_SET), set, { ...member, parameters: {} })).toBeUndefined();
    expect(memberEffect(assignment('a', CUSTOM_SET), set, { ...member, parameters: { effect: { value: "[if(true(), 'Disabled', 'Audit')]" } } })).toBeUndefined();
  });
  it('applies a policyEffect override selecting the reference id; ignores one that also selects by location', () => {
    const byRef = assignment('a', CUSTOM_SET, { overrides: [{ kind: 'policyEffect', value: 'Disabled', selectors: [{ kind: 'policyDefinitionReferenceId', in: ['DEPLOYPOLICYEXTENSION'] }] }] });
    expect(memberEffect(byRef, set, member)).toBe('disabled');
    const notIn = assignment('a', CUSTOM_SET, { overrides: [{ kind: 'policyEffect', value: 'Disabled', selectors: [{ kind: 'policyDefinitionReferenceId', notIn: ['deployPolicyExtension'] }] }] });
    expect(memberEffect(notIn, set, member)).toBe('deployifnotexists');
    const byLocation = assignment('a', CUSTOM_SET, {
      overrides: [{ kind: 'policyEffect', value: 'Disabled', selectors: [{ kind: 'policyDefinitionReferenceId', in: ['deployPolicyExtension'] }, { kind: 'resourceLocation', in: ['westeurope'] }] }],
    });
    expect(memberEffect(byLocation, set, member)).toBe('deployifnotexists');
  });
});

describe('parsePolicySetDefinitionId', () => {
  it('tells built-in, subscription and management-group initiatives apart; rejects definition ids', () => {
    expect(parsePolicySetDefinitionId(PSS_BASELINE)).toEqual({ kind: 'builtIn', name: POLICY_IDS.podSecurityBaselineInitiative });
    expect(parsePolicySetDefinitionId(CUSTOM_SET.toLowerCase())).toEqual({ kind: 'subscription', subscriptionId: SUB, name: 'arc-extensions' });
    expect(parsePolicySetDefinitionId('/providers/Microsoft.Management/managementGroups/contoso/providers/Microsoft.Authorization/policySetDefinitions/x')).toEqual({
      kind: 'managementGroup',
      managementGroupId: 'contoso',
      name: 'x',
    });
    expect(parsePolicySetDefinitionId(DINE)).toBeUndefined();
  });
});

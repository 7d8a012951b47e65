/**
 * Remediation of a DeployIfNotExists policy assigned inside an initiative, through the real SDK clients
 * and the ARM emulator: policySetDefinitions (built-in GET, custom PUT/GET), the emulator's checks of
 * `policyDefinitionReferenceId`, `filters.resourceIds` / `filters.locations` deciding the deployments,
 * and ArmRemediationStarter choosing the assignment (direct first, then initiatives) with few requests.
 *
 * The DeployIfNotExists id is the catalog's real built-in (ARC-PL-01); the built-in initiative is the
 * real PSS baseline; "arc-extensions" is a custom initiative, as a customer would create one.
 */
import { PolicyClient } from '@azure/arm-policy';
import { PolicyInsightsClient } from '@azure/arm-policyinsights';
import type { ManagedIdentityCredential } from '@azure/identity';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ArmPolicyAdmin, ArmRemediationStarter } from '../../../adapters/arm/policy-admin.js';
import { POLICY_IDS } from '../../../domain/control-catalog.js';
import { UnprocessableError } from '../../../domain/errors.js';
import { builtinPolicySets, PSS_BASELINE_INITIATIVE } from '../../../local/arm-emulator/fleet/builtin-initiatives.js';
import { startArmEmulator, type ArmEmulator } from '../../../local/arm-emulator/index.js';
import type { FleetModel } from '../../../local/arm-emulator/fleet-model.js';
import { armToken, emulatorConnection, rawArm, sdkOptions, useEmulatorIdentity } from './support/emulator-clients.js';
import { NO_PRIVILEGED, SUB_A, baselineAssignment, clusterId, tinyDerivePolicyStates, tinyFleet } from './support/tiny-fleet.js';

const DINE = `/providers/Microsoft.Authorization/policyDefinitions/${POLICY_IDS.arcPolicyExtensionDeployIfNotExists}`;
const DEFENDER_DINE = `/providers/Microsoft.Authorization/policyDefinitions/${POLICY_IDS.arcDefenderExtensionDeployIfNotExists}`;
const SET_ID = `/subscriptions/${SUB_A}/providers/Microsoft.Authorization/policySetDefinitions/arc-extensions`;
const SET_ASSIGNMENT = `/subscriptions/${SUB_A}/providers/Microsoft.Authorization/policyAssignments/arc-extensions`;
const DIRECT_ASSIGNMENT = `/subscriptions/${SUB_A}/providers/Microsoft.Authorization/policyAssignments/deploy-policy-extension`;
const c0 = clusterId(SUB_A, 'edge-rg', 'c0');
const c1 = clusterId(SUB_A, 'store-rg', 'c1');
const c2 = clusterId(SUB_A, 'edge-rg', 'c2');

let emulator: ArmEmulator;
let credential: ManagedIdentityCredential;
let policy: PolicyClient;
let insights: PolicyInsightsClient;
let starter: ArmRemediationStarter;
let token: string;

/** Tiny fleet with the real built-in initiatives; c0 and c1 lack the Azure Policy extension (non-compliant for the DeployIfNotExists policy). */
function fleet(): FleetModel {
  const f = { ...tinyFleet(3), policySets: builtinPolicySets(), policyAssignments: [baselineAssignment(SUB_A)] };
  for (const c of f.clusters) {
    if (c.resource.id === c0 || c.resource.id === c1) {
      c.violations.push({ policyDefinitionName: POLICY_IDS.arcPolicyExtensionDeployIfNotExists, components: [{ id: 'kube-system/azurepolicy', name: 'azurepolicy', type: 'extension' }] });
    }
  }
  return f;
}

beforeAll(async () => {
  emulator = await startArmEmulator({ fleet: fleet(), derivePolicyStates: tinyDerivePolicyStates, remediationDelayMs: 0 });
  credential = useEmulatorIdentity(emulator);
  policy = new PolicyClient(credential, SUB_A, sdkOptions(emulator));
  insights = new PolicyInsightsClient(credential, SUB_A, sdkOptions(emulator));
  starter = new ArmRemediationStarter(new ArmPolicyAdmin(emulatorConnection(emulator, credential)));
  token = await armToken(credential, emulator);
  // The operator's steps: a custom initiative holding both extension DeployIfNotExists policies, assigned with an identity.
  await policy.policySetDefinitions.createOrUpdate('arc-extensions', {
    displayName: 'Arc cluster extensions',
    parameters: { extensionEffect: { type: 'String', defaultValue: 'DeployIfNotExists', allowedValues: ['DeployIfNotExists', 'Disabled'] } },
    policyDefinitions: [
      { policyDefinitionId: DEFENDER_DINE, policyDefinitionReferenceId: 'deployDefender', parameters: { effect: { value: "[parameters('extensionEffect')]" } } },
      { policyDefinitionId: DINE, policyDefinitionReferenceId: 'deployPolicyExtension', parameters: { effect: { value: "[parameters('extensionEffect')]" } } },
    ],
  });
  await policy.policyAssignments.create(`subscriptions/${SUB_A}`, 'arc-extensions', {
    policyDefinitionId: SET_ID,
    parameters: { effect: { value: 'DeployIfNotExists' } },
    identity: { type: 'SystemAssigned' },
    location: 'westeurope',
  });
});
afterAll(async () => {
  await emulator?.stop();
});
beforeEach(() => emulator.requests.reset());

const remediationPath = (name: string): string => `/subscriptions/${SUB_A}/providers/Microsoft.PolicyInsights/remediations/${name}?api-version=2024-10-01`;
const putRemediation = (name: string, properties: Record<string, unknown>) => rawArm(emulator, 'PUT', remediationPath(name), { token, body: { properties } });
const deploymentsOf = (name: string): string[] =>
  (emulator.state.remediationDeployments.get(`/subscriptions/${SUB_A}/providers/Microsoft.PolicyInsights/remediations/${name}`.toLowerCase()) ?? []).map((d) => String(d['remediatedResourceId']));

describe('policySetDefinitions in the emulator', () => {
  it('serves a built-in initiative through getBuiltIn in the getBuiltInPolicySetDefinition shape', async () => {
    const got = await new PolicyClient(credential, sdkOptions(emulator)).policySetDefinitions.getBuiltIn(PSS_BASELINE_INITIATIVE.name);
    expect(got).toMatchObject({ name: PSS_BASELINE_INITIATIVE.name, type: 'Microsoft.Authorization/policySetDefinitions', policyType: 'BuiltIn', version: '1.2.1' });
    expect(got.policyDefinitions?.map((m) => [m.policyDefinitionId, m.policyDefinitionReferenceId])).toEqual(PSS_BASELINE_INITIATIVE.members.map((m) => [m.policyDefinitionId, m.policyDefinitionReferenceId]));
    expect(got.parameters?.['effect']?.defaultValue).toBe('Audit');
    const raw = await rawArm(emulator, 'GET', `/providers/Microsoft.Authorization/policySetDefinitions/${PSS_BASELINE_INITIATIVE.name}?api-version=2025-03-01`, { token });
    expect(Object.keys(raw.body as object).sort()).toEqual(['id', 'name', 'properties', 'type']);
    // Property names of the official example (getBuiltInPolicySetDefinition.json, 2025-03-01) plus `metadata.version` of the real initiative.
    const allowed = ['displayName', 'policyType', 'description', 'metadata', 'version', 'versions', 'parameters', 'policyDefinitions', 'policyDefinitionGroups'];
    expect(Object.keys((raw.body as { properties: object }).properties).filter((k) => !allowed.includes(k))).toEqual([]);
    expect(emulator.requests.count('policySetDefinitions.getBuiltIn')).toBe(2);
  });

  it('answers 404 PolicySetDefinitionNotFound for an unknown initiative', async () => {
    const raw = await rawArm(emulator, 'GET', `/providers/Microsoft.Authorization/policySetDefinitions/arc-extensions?api-version=2025-03-01`, { token });
    expect(raw.status).toBe(404);
    expect(raw.body).toEqual({ error: { code: 'PolicySetDefinitionNotFound', message: expect.stringContaining('arc-extensions') } });
  });

  it('stores a custom initiative (201, then 200 on replace) and serves it back', async () => {
    const got = await policy.policySetDefinitions.get('arc-extensions');
    expect(got).toMatchObject({ id: SET_ID, name: 'arc-extensions', policyType: 'Custom' });
    expect(got.policyDefinitions?.map((m) => m.policyDefinitionReferenceId)).toEqual(['deployDefender', 'deployPolicyExtension']);
    const body = { properties: { displayName: 'x', policyDefinitions: [{ policyDefinitionId: DINE, policyDefinitionReferenceId: 'dine' }] } };
    const path = `/subscriptions/${SUB_A}/providers/Microsoft.Authorization/policySetDefinitions/scratch?api-version=2025-03-01`;
    expect((await rawArm(emulator, 'PUT', path, { token, body })).status).toBe(201);
    expect((await rawArm(emulator, 'PUT', path, { token, body })).status).toBe(200);
    expect((await rawArm(emulator, 'DELETE', path, { token })).status).toBe(200);
    expect((await rawArm(emulator, 'GET', path, { token })).status).toBe(404);
  });

  it('refuses a member that is not a policy definition, duplicate reference ids, and a built-in name', async () => {
    const put = (name: string, policyDefinitions: unknown[]) =>
      rawArm(emulator, 'PUT', `/subscriptions/${SUB_A}/providers/Microsoft.Authorization/policySetDefinitions/${name}?api-version=2025-03-01`, { token, body: { properties: { policyDefinitions } } });
    const nested = await put('nested', [{ policyDefinitionId: SET_ID }]);
    expect(nested.status).toBe(400);
    expect((nested.body as { error: { code: string } }).error.code).toBe('InvalidCreatePolicySetDefinitionRequest');
    expect((await put('dupes', [{ policyDefinitionId: DINE, policyDefinitionReferenceId: 'a' }, { policyDefinitionId: DEFENDER_DINE, policyDefinitionReferenceId: 'A' }])).status).toBe(400);
    expect((await put(PSS_BASELINE_INITIATIVE.name, [{ policyDefinitionId: DINE }])).status).toBe(400);
  });
});

describe('remediations of an initiative assignment in the emulator', () => {
  it('400 InvalidCreateRemediationRequest without a reference id, with the service’s own message', async () => {
    const res = await putRemediation('no-ref', { policyAssignmentId: SET_ASSIGNMENT });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: {
        code: 'InvalidCreateRemediationRequest',
        message: `The request to create remediation 'no-ref' is invalid. The policy assignment '${SET_ASSIGNMENT}' assigns a policy set definition. Remediations must specify a single policy definition reference ID within the policy set definition.`,
      },
    });
  });

  it('400 when the reference id is not a member of the assigned initiative', async () => {
    // NoPrivilegedContainers is a member of the PSS baseline, not of arc-extensions.
    const res = await putRemediation('wrong-ref', { policyAssignmentId: SET_ASSIGNMENT, policyDefinitionReferenceId: 'NoPrivilegedContainers' });
    expect(res.status).toBe(400);
    expect((res.body as { error: { code: string; message: string } }).error).toMatchObject({ code: 'InvalidCreateRemediationRequest', message: expect.stringContaining("'NoPrivilegedContainers'") });
    expect(emulator.fleet.remediations.some((r) => r.name === 'wrong-ref')).toBe(false);
  });

  it('accepts a member (reference ids compare case-insensitively): one deployment per non-compliant resource', async () => {
    const created = await insights.remediations.createOrUpdateAtSubscription('all-failing', { policyAssignmentId: SET_ASSIGNMENT, policyDefinitionReferenceId: 'DEPLOYPOLICYEXTENSION' });
    expect(created.deploymentStatus?.totalDeployments).toBe(2);
    expect(deploymentsOf('all-failing').sort()).toEqual([c0, c1].map((id) => id.toLowerCase()).sort());
  });

  it('honours filters.resourceIds (case-insensitive) and filters.locations', async () => {
    const one = await insights.remediations.createOrUpdateAtSubscription('only-c1', {
      policyAssignmentId: SET_ASSIGNMENT,
      policyDefinitionReferenceId: 'deployPolicyExtension',
      filters: { resourceIds: [c1.toUpperCase(), c2] },
    });
    expect(one.deploymentStatus?.totalDeployments).toBe(1);
    expect(deploymentsOf('only-c1')).toEqual([c1.toLowerCase()]);
    const deployments = [];
    for await (const d of insights.remediations.listDeploymentsAtSubscription('only-c1')) deployments.push(d);
    expect(deployments.map((d) => d.remediatedResourceId)).toEqual([c1.toLowerCase()]);

    const compliantOnly = await insights.remediations.createOrUpdateAtSubscription('only-c2', { policyAssignmentId: SET_ASSIGNMENT, policyDefinitionReferenceId: 'deployPolicyExtension', filters: { resourceIds: [c2] } });
    expect(compliantOnly.deploymentStatus?.totalDeployments).toBe(0);

    // c0 is in westeurope, c1 in "East US" (stored with a space, reported normalised).
    const byLocation = await insights.remediations.createOrUpdateAtSubscription('east-us', { policyAssignmentId: SET_ASSIGNMENT, policyDefinitionReferenceId: 'deployPolicyExtension', filters: { locations: ['eastus'] } });
    expect(deploymentsOf('east-us')).toEqual([c1.toLowerCase()]);
    expect(byLocation.deploymentStatus?.totalDeployments).toBe(1);
  });

  it('refuses an empty or over-long resourceIds filter, and resourceIds with ReEvaluateCompliance', async () => {
    const base = { policyAssignmentId: SET_ASSIGNMENT, policyDefinitionReferenceId: 'deployPolicyExtension' };
    const empty = await putRemediation('empty-filter', { ...base, filters: { resourceIds: [] } });
    expect(empty.status).toBe(400);
    expect((empty.body as { error: { code: string } }).error.code).toBe('InvalidCreateRemediationRequest');
    const ids = Array.from({ length: 101 }, (_, i) => clusterId(SUB_A, 'edge-rg', `x${i}`));
    expect((await putRemediation('too-many', { ...base, filters: { resourceIds: ids } })).status).toBe(400);
    expect((await putRemediation('hundred', { ...base, filters: { resourceIds: ids.slice(0, 100) } })).status).toBe(201);
    expect((await putRemediation('reevaluate', { ...base, resourceDiscoveryMode: 'ReEvaluateCompliance', filters: { resourceIds: [c0] } })).status).toBe(400);
  });
});

describe('ArmRemediationStarter against the emulator', () => {
  const start = (name: string, resourceIds: readonly string[], policyDefinitionId = DINE) => starter.start({ name, subscriptionId: SUB_A, policyDefinitionId, resourceIds });
  const createdProps = (name: string): Record<string, unknown> => emulator.fleet.remediations.find((r) => r.name === name)?.['properties'] as Record<string, unknown>;

  it('starts under the initiative assignment with the member’s reference id, limited to the requested clusters', async () => {
    const task = await start('via-initiative', [c1]);
    expect(task).toMatchObject({ provisioningState: 'Accepted', totalDeployments: 1, subscriptionId: SUB_A });
    expect(createdProps('via-initiative')).toMatchObject({
      policyAssignmentId: SET_ASSIGNMENT,
      policyDefinitionReferenceId: 'deployPolicyExtension',
      resourceDiscoveryMode: 'ExistingNonCompliant',
      filters: { resourceIds: [c1] },
    });
    expect(deploymentsOf('via-initiative')).toEqual([c1.toLowerCase()]);
    // Two listings (filtered, then all), one read per initiative (PSS baseline, arc-extensions), one create.
    expect(emulator.requests.snapshot()).toMatchObject({
      'policyAssignments.list': 2,
      'policySetDefinitions.getBuiltIn': 1,
      'policySetDefinitions.get': 1,
      'remediations.createOrUpdate': 1,
    });
    expect(await starter.get(task.armId)).toMatchObject({ provisioningState: 'Succeeded', successfulDeployments: 1 });
  });

  it('finds a definition through the built-in initiative as well (getBuiltIn, real reference id)', async () => {
    await start('via-builtin', [c0], `/providers/Microsoft.Authorization/policyDefinitions/${NO_PRIVILEGED}`);
    expect(createdProps('via-builtin')).toMatchObject({ policyAssignmentId: baselineAssignment(SUB_A).id, policyDefinitionReferenceId: 'NoPrivilegedContainers' });
    expect(deploymentsOf('via-builtin')).toEqual([c0.toLowerCase()]);
  });

  it('prefers a direct assignment: no reference id, no initiative read', async () => {
    await policy.policyAssignments.create(`subscriptions/${SUB_A}`, 'deploy-policy-extension', {
      policyDefinitionId: DINE,
      parameters: { effect: { value: 'DeployIfNotExists' } },
      identity: { type: 'SystemAssigned' },
      location: 'westeurope',
    });
    emulator.requests.reset();
    try {
      await start('direct', [c0, c1]);
      expect(createdProps('direct')).toMatchObject({ policyAssignmentId: DIRECT_ASSIGNMENT });
      expect(createdProps('direct')['policyDefinitionReferenceId']).toBeUndefined();
      expect(deploymentsOf('direct').sort()).toEqual([c0, c1].map((id) => id.toLowerCase()).sort());
      expect(emulator.requests.count('policyAssignments.list')).toBe(1);
      expect(emulator.requests.count('policySetDefinitions.get') + emulator.requests.count('policySetDefinitions.getBuiltIn')).toBe(0);
    } finally {
      await policy.policyAssignments.delete(`subscriptions/${SUB_A}`, 'deploy-policy-extension');
    }
  });

  it('NotRemediable when the initiative turns the member off, and nothing is created', async () => {
    const before = emulator.fleet.remediations.length;
    const scope = `subscriptions/${SUB_A}`;
    const assigned = await policy.policyAssignments.get(scope, 'arc-extensions');
    await policy.policyAssignments.create(scope, 'arc-extensions', { ...assigned, parameters: { ...assigned.parameters, extensionEffect: { value: 'Disabled' } } });
    try {
      const error = await start('disabled', [c0]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnprocessableError);
      expect(error).toMatchObject({ code: 'NotRemediable', details: [{ code: 'PolicyNotAssigned', target: SUB_A }] });
      expect(emulator.fleet.remediations).toHaveLength(before);
    } finally {
      await policy.policyAssignments.create(scope, 'arc-extensions', assigned);
    }
  });
});

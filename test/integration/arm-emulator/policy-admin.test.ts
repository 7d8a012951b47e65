import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startArmEmulator, type ArmEmulator } from '../../../local/arm-emulator/index.js';
import { ArmPolicyAdmin, parseAssignmentId } from '../../../adapters/arm/policy-admin.js';
import { NotFoundError } from '../../../domain/errors.js';
import { emulatorConnection } from './support/emulator-clients.js';
import { SUB_A, clusterId, tinyDerivePolicyStates, tinyFleet } from './support/tiny-fleet.js';

let emulator: ArmEmulator;
let admin: ArmPolicyAdmin;
const assignmentId = `/subscriptions/${SUB_A}/providers/Microsoft.Authorization/policyAssignments/pss-baseline`;

beforeAll(async () => {
  emulator = await startArmEmulator({ fleet: tinyFleet(2), derivePolicyStates: tinyDerivePolicyStates, evaluationDelayMs: 50, remediationDelayMs: 0 });
  admin = new ArmPolicyAdmin({ ...emulatorConnection(emulator), pollIntervalMs: 10 });
});
afterAll(async () => {
  await emulator?.stop();
});

describe('ArmPolicyAdmin against the emulator', () => {
  it('parses assignment ids into SDK scope + name', () => {
    expect(parseAssignmentId(assignmentId)).toEqual({ scope: `subscriptions/${SUB_A}`, name: 'pss-baseline' });
    expect(parseAssignmentId(`/subscriptions/${SUB_A}/resourceGroups/rg/providers/Microsoft.Authorization/policyAssignments/x`).scope).toBe(`subscriptions/${SUB_A}/resourceGroups/rg`);
  });

  it('snapshots, updates and restores an assignment exactly', async () => {
    const snapshot = await admin.getAssignment(assignmentId);
    const updated = await admin.updateAssignment(assignmentId, { overrides: [{ kind: 'policyEffect', value: 'Deny', selectors: [{ kind: 'resourceLocation', in: ['westeurope'] }] }] });
    expect(updated.overrides).toHaveLength(1);
    const restored = await admin.replaceAssignment(assignmentId, snapshot);
    expect(restored.overrides).toBeUndefined();
    expect(restored.parameters).toEqual(snapshot.parameters);
    expect(restored.instanceId).toBe(snapshot.instanceId);
  });

  it('maps a missing assignment to NotFoundError', async () => {
    await expect(admin.getAssignment(assignmentId.replace('pss-baseline', 'missing'))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('triggers an evaluation: 202 + Location, polled until the emulator completes it', async () => {
    emulator.requests.reset();
    await admin.triggerSubscriptionEvaluation(SUB_A);
    const log = emulator.requests.log.filter((r) => r.route !== 'identity.token');
    expect(log[0]).toMatchObject({ route: 'policyStates.triggerEvaluation', status: 202 });
    expect(log.at(-1)).toMatchObject({ route: 'asyncOperationResults.get', status: 200 });
  });

  it('creates a remediation with one deployment per non-compliant cluster and reads it back', async () => {
    const created = await admin.createRemediation(SUB_A, 'fix-privileged', { policyAssignmentId: assignmentId, policyDefinitionReferenceId: 'noPrivilegedContainers' });
    expect(created.provisioningState).toBe('Accepted');
    expect(created.deploymentStatus?.totalDeployments).toBe(1);
    const later = await admin.getRemediation(SUB_A, 'fix-privileged');
    expect(later.provisioningState).toBe('Succeeded');
    const deployments = emulator.state.remediationDeployments.get(created.id!.toLowerCase());
    expect(deployments?.map((d) => d['remediatedResourceId'])).toEqual([clusterId(SUB_A, 'edge-rg', 'c0').toLowerCase()]);
  });
});

/**
 * A remediation of more clusters than one ARM remediation accepts (`filters.resourceIds` ≤ 100, which
 * the emulator enforces with a 400): RemediationService over the real ArmRemediationStarter and SDK
 * clients starts one ARM remediation per 100 clusters, each limited to its own clusters, and reads
 * their progress back separately until all of them have succeeded.
 */
import { PolicyClient } from '@azure/arm-policy';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ArmPolicyAdmin, ArmRemediationStarter } from '../../../adapters/arm/policy-admin.js';
import type { RemediationCheckMessage } from '../../../application/messages.js';
import { RemediationService } from '../../../application/remediation-service.js';
import { POLICY_IDS } from '../../../domain/control-catalog.js';
import { startArmEmulator, type ArmEmulator } from '../../../local/arm-emulator/index.js';
import type { FleetModel } from '../../../local/arm-emulator/fleet-model.js';
import type { OutboundEvent } from '../../../domain/webhook-events.js';
import { FixedClock, InMemoryClusterStateRepository, InMemoryRemediationRepository, RecordingMessageQueue } from '../../support/in-memory-ports.js';
import { clusterState } from '../storage/fixtures.js';
import { emulatorConnection, sdkOptions, useEmulatorIdentity } from './support/emulator-clients.js';
import { SUB_A, SUB_B, tinyDerivePolicyStates, tinyFleet } from './support/tiny-fleet.js';

const DINE = `/providers/Microsoft.Authorization/policyDefinitions/${POLICY_IDS.arcPolicyExtensionDeployIfNotExists}`;
const CLUSTERS = 250;

let emulator: ArmEmulator;
let service: RemediationService;
const published: OutboundEvent[] = [];
const checks = new RecordingMessageQueue<RemediationCheckMessage>();

/** 250 clusters per subscription; every one in SUB_A lacks the Azure Policy extension (non-compliant for the DeployIfNotExists policy). */
function fleet(): FleetModel {
  const f = tinyFleet(CLUSTERS);
  for (const c of f.clusters) {
    if (c.resource.id.startsWith(`/subscriptions/${SUB_A}/`)) {
      c.violations.push({ policyDefinitionName: POLICY_IDS.arcPolicyExtensionDeployIfNotExists, components: [{ id: 'kube-system/azurepolicy', name: 'azurepolicy', type: 'extension' }] });
    }
  }
  return f;
}

beforeAll(async () => {
  const f = fleet();
  emulator = await startArmEmulator({ fleet: f, derivePolicyStates: tinyDerivePolicyStates, remediationDelayMs: 0 });
  const credential = useEmulatorIdentity(emulator);
  // The operator's step: the DeployIfNotExists policy assigned at the subscription, with an identity.
  await new PolicyClient(credential, SUB_A, sdkOptions(emulator)).policyAssignments.create(`subscriptions/${SUB_A}`, 'deploy-policy-extension', {
    policyDefinitionId: DINE,
    parameters: { effect: { value: 'DeployIfNotExists' } },
    identity: { type: 'SystemAssigned' },
    location: 'westeurope',
  });
  // What the evaluation stored: every SUB_A cluster fails ARC-PL-01 (the control of that policy), SUB_B's do not.
  const clusters = new InMemoryClusterStateRepository();
  await clusters.upsertMany(
    f.clusters.map((c) => {
      const [, , sub, , rg, , , , name] = c.resource.id.split('/');
      return clusterState(sub!, rg!, name!, { failing: sub === SUB_A ? ['ARC-PL-01'] : [] });
    }),
  );
  service = new RemediationService({
    starter: new ArmRemediationStarter(new ArmPolicyAdmin(emulatorConnection(emulator, credential))),
    remediations: new InMemoryRemediationRepository(),
    clusters,
    newId: () => 'big',
    events: { publish: async (event) => void published.push(event) },
    clock: new FixedClock(new Date('2026-03-01T10:00:00Z')),
    checks: { queue: checks, policy: { firstDelaySeconds: 60, maxDelaySeconds: 900, maxAgeSeconds: 2 * 3600 } },
  });
  emulator.requests.reset();
}, 60_000);

afterAll(async () => {
  await emulator?.stop();
});

it('remediates 250 failing clusters of a subscription in one request: three ARM remediations of 100, 100 and 50', async () => {
  const started = await service.start({ controlId: 'ARC-PL-01', subscriptionId: SUB_A }, 'caller', new Date('2026-03-01T10:00:00Z'));

  expect(started.clusterIds).toHaveLength(CLUSTERS);
  expect(started.tasks.map((t) => [t.subscriptionId, t.provisioningState, t.clusterIds.length, t.deployments?.total])).toEqual([
    [SUB_A, 'Accepted', 100, 100],
    [SUB_A, 'Accepted', 100, 100],
    [SUB_A, 'Accepted', 50, 50],
  ]);
  expect(started.tasks.map((t) => t.armId?.split('/').pop())).toEqual(['arc-compliance-big', 'arc-compliance-big-2', 'arc-compliance-big-3']);

  // What ARM was asked: each remediation filtered to its task's clusters, none over the limit, none twice.
  const created = emulator.fleet.remediations.filter((r) => String(r['name']).startsWith('arc-compliance-big'));
  expect(created).toHaveLength(3);
  const filtered = started.tasks.map((t) => {
    const r = created.find((c) => String(c['id']).toLowerCase() === t.armId?.toLowerCase());
    return ((r?.['properties'] as { filters?: { resourceIds?: string[] } } | undefined)?.filters?.resourceIds ?? []);
  });
  expect(filtered).toEqual(started.tasks.map((t) => t.clusterIds));
  const deployed = started.tasks.flatMap((t) => (emulator.state.remediationDeployments.get(t.armId!.toLowerCase()) ?? []).map((d) => String(d['remediatedResourceId'])));
  expect(deployed).toHaveLength(CLUSTERS);
  expect(new Set(deployed)).toEqual(new Set(started.clusterIds.map((id) => id.toLowerCase())));
  // Per task: one filtered listing of the definition's assignments, then the create.
  expect(emulator.requests.count('policyAssignments.list')).toBe(3);
  expect(emulator.requests.count('remediations.createOrUpdate')).toBe(3);
  // One completion check for the request, however many ARM remediations it took.
  expect(checks.sent).toEqual([{ message: { kind: 'remediation-check', remediationId: 'big', attempt: 1 }, visibilityDelaySeconds: 60 }]);

  const done = await service.get('big');
  expect(done.status).toBe('succeeded');
  expect(done.tasks.map((t) => [t.provisioningState, t.deployments])).toEqual([
    ['Succeeded', { total: 100, succeeded: 100, failed: 0 }],
    ['Succeeded', { total: 100, succeeded: 100, failed: 0 }],
    ['Succeeded', { total: 50, succeeded: 50, failed: 0 }],
  ]);
  expect(emulator.fleet.remediations.some((r) => String(r['id']).toLowerCase().includes(`/subscriptions/${SUB_B}/`))).toBe(false);
  // Completion is one event for the whole request, once all three tasks are terminal.
  expect(published.map((e) => [e.type, (e.data as { remediationId?: string; status?: string }).remediationId, (e.data as { status?: string }).status])).toEqual([['remediation.completed', 'big', 'succeeded']]);
});

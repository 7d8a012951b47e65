/**
 * `ArmPolicyAssignmentWriter` (real `@azure/arm-policy` / `@azure/arm-policyinsights` clients) against
 * the ARM emulator on the demo fleet: ids with their leading slash reach the right ARM path, a
 * snapshot read and written back leaves the assignment exactly as it was, deleting a missing
 * assignment (ARM's bodiless 204) is not an error, and policy states follow the written effect.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startArmEmulator, type ArmEmulator } from '../../../local/arm-emulator/index.js';
import { DEMO_SUBSCRIPTIONS, generateDemoFleet } from '../../../local/arm-emulator/fleet/demo-fleet.js';
import { derivePolicyStates } from '../../../local/arm-emulator/fleet/policy-states.js';
import { ArmPolicyAssignmentWriter } from '../../../adapters/arm/policy-assignment-writer.js';
import type { PolicyAssignmentModel } from '../../../domain/rollout-model.js';
import { emulatorConnection } from '../arm-emulator/support/emulator-clients.js';

const SUB = DEMO_SUBSCRIPTIONS.retail;
const PARENT = `/subscriptions/${SUB}/providers/Microsoft.Authorization/policyAssignments/allowed-images`;
const RG = `/subscriptions/${SUB}/resourceGroups/rg-stores-uks`;
const CHILD = `${RG}/providers/Microsoft.Authorization/policyAssignments/allowed-images-deny`;

let emulator: ArmEmulator;
let writer: ArmPolicyAssignmentWriter;
beforeAll(async () => {
  emulator = await startArmEmulator({ fleet: generateDemoFleet(7, new Date()), derivePolicyStates, evaluationDelayMs: 50 });
  writer = new ArmPolicyAssignmentWriter(emulatorConnection(emulator));
});
afterAll(async () => emulator?.stop());

/** The stored resource without `systemData` (ARM stamps it on every write). */
function stored(id: string): unknown {
  const found = emulator.fleet.policyAssignments.find((a) => a.id.toLowerCase() === id.toLowerCase());
  if (found === undefined) return undefined;
  const { systemData: _s, ...rest } = structuredClone(found);
  return rest;
}

it('reads an assignment by its ARM id and writes a snapshot back unchanged', async () => {
  const before = stored(PARENT);
  const model = await writer.get(PARENT);
  expect(model).toMatchObject({ id: PARENT, name: 'allowed-images', scope: `/subscriptions/${SUB}`, notScopes: [`/subscriptions/${SUB}/resourceGroups/rg-stores-prod-weu`] });
  expect(emulator.requests.log.filter((r) => r.route === 'policyAssignments.get').map((r) => [r.path, r.status])).toEqual([[PARENT, 200]]);

  await writer.put(model!);
  expect(stored(PARENT)).toEqual(before);
});

it('creates, reads back and deletes a resource-group deny assignment; a second delete is not an error', async () => {
  const parent = (await writer.get(PARENT))!;
  const child: PolicyAssignmentModel = { ...parent, id: CHILD, name: 'allowed-images-deny', scope: RG, notScopes: [], overrides: [{ kind: 'policyEffect', value: 'Deny' }] };
  const written = await writer.put(child);
  expect(written).toMatchObject({ id: CHILD, scope: RG, overrides: [{ kind: 'policyEffect', value: 'Deny' }] });

  await writer.triggerEvaluation(SUB);
  const states = await writer.queryAssignmentStates(SUB, [PARENT, CHILD]);
  const lon = states.filter((s) => s.resourceId.endsWith('/store-lon-007'));
  // The parent still covers the group (its notScopes were not widened here): audit from it, deny from the child.
  expect(new Set(lon.map((s) => `${s.policyAssignmentId} ${s.policyDefinitionAction}`))).toEqual(new Set([`${CHILD.toLowerCase()} deny`, `${PARENT.toLowerCase()} audit`]));

  await writer.delete(CHILD);
  expect(await writer.get(CHILD)).toBeUndefined();
  await expect(writer.delete(CHILD)).resolves.toBeUndefined();
  expect(emulator.requests.log.filter((r) => r.route === 'policyAssignments.delete').map((r) => r.status)).toEqual([200, 204]);
});

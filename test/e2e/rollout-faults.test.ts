/**
 * Rollout failure paths end to end (local Functions runtime, Azurite, ARM emulator on the demo fleet,
 * real tokens): a regression during bake (emulator fault mode: a wave cluster's workloads break once
 * deny applies) rolls back that wave only — wave 1 back to the snapshot exactly, wave 2 back to what
 * wave 1 left — and pauses; the rollback command restores the snapshot; the same step message delivered
 * twice (plus the host's own delayed copy) applies the wave once; a step on `rollout-steps-poison`
 * leaves the rollout `failed` with the cause.
 *
 * Blocked gates re-check every 30 s here, so a blocked rollout's expected gate message stays invisible
 * long enough for the test to send its own copies deterministically.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RolloutView } from '../../application/rollout-service.js';
import { ROLLOUT_QUEUES } from '../../application/messages.js';
import { DEMO_SUBSCRIPTIONS } from '../../local/arm-emulator/fleet/demo-fleet.js';
import { DEF } from '../../local/arm-emulator/fleet/policy-catalog.js';
import { startE2eStack, waitFor, type E2eStack } from '../support/e2e-stack.js';
import {
  APPROVE,
  MANAGE,
  READ,
  assignmentId,
  assignmentPuts,
  auditedRequestIds,
  emulatorAssignment,
  expectedStep,
  identity,
  rolloutClient,
  sendStep,
  type RolloutClient,
} from '../support/rollout-e2e.js';

const SUB = DEMO_SUBSCRIPTIONS.retail;
const SCOPE = `/subscriptions/${SUB}`;
const RG_UKS = `${SCOPE}/resourceGroups/rg-stores-uks`;
const NO_APPROVAL = { bakeMinutes: 0, requireApproval: false };

const operator = identity([MANAGE, APPROVE, READ]);
const auditor = identity(['Audit.Read']);

let e: E2eStack;
let c: RolloutClient;

beforeAll(async () => {
  e = await startE2eStack({ settings: { ROLLOUT_GATE_RECHECK_SECONDS: '30' } });
  c = rolloutClient(e, operator);
  const run = await e.timerRun();
  expect(run.status).toBe('succeeded');
}, 60_000);
afterAll(async () => e?.stop());

const terminal = (r: RolloutView): boolean => ['completed', 'failed', 'rolled_back', 'aborted', 'paused'].includes(r.state);

async function create(body: unknown): Promise<RolloutView> {
  const res = await c.call<RolloutView>(operator, 'POST', '/v1/rollouts', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

it('rolls wave 1 back exactly to the snapshot when one of its clusters regresses during bake, then pauses', async () => {
  const parentId = assignmentId(SCOPE, 'allowed-images');
  const childId = assignmentId(RG_UKS, 'allowed-images-deny');
  const snapshot = emulatorAssignment(e, parentId);
  expect(snapshot).toBeDefined();
  expect(emulatorAssignment(e, childId)).toBeUndefined();
  // Fault mode: once deny is in force, store-lon-007's workloads violate the allowed-images policy.
  e.cluster('store-lon-007').regressAfterApply = [{ policyDefinitionName: DEF.allowedImages, components: [{ id: 'pos/pos-api-legacy', name: 'pos-api-legacy', type: 'pod' }] }];

  // One wave with both mechanisms: a Deny override for westeurope and a deny assignment on rg-stores-uks.
  const rollout = await create({
    policyAssignmentId: parentId,
    waves: [{ name: 'west-and-uk', locations: ['westeurope'], resourceGroups: [RG_UKS] }, { name: 'rest', locations: ['northeurope', 'uksouth'] }],
    gates: { ...NO_APPROVAL, maxNonCompliant: 1 },
  });
  const done = await c.waitFor(rollout.id, 'wave rolled back', terminal, 45_000);
  expect(done.state).toBe('paused');
  expect(done.cause).toMatch(/wave "west-and-uk" regressed during bake/);
  expect(done.waves[0]!.state).toBe('rolled_back');
  expect(done.waves[1]!.state).toBe('pending');
  expect((done.waves[0]!.reasons ?? []).join('\n')).toMatch(/store-lon-007/);
  const types = (done.events ?? []).map((ev) => ev.type);
  expect(types).toEqual(expect.arrayContaining(['wave-applied', 'wave-verified', 'regression', 'rolled-back']));

  // Deny was applied (the wave wrote both), then the snapshot came back exactly and the child is gone.
  expect(assignmentPuts(e, childId)).toBe(1);
  expect(assignmentPuts(e, parentId)).toBe(2);
  expect(emulatorAssignment(e, parentId)).toEqual(snapshot);
  expect(emulatorAssignment(e, childId)).toBeUndefined();

  // The rollback command finishes it: ARM already holds the snapshot, so nothing more is written.
  expect((await c.call(operator, 'POST', `/v1/rollouts/${rollout.id}/rollback`)).status).toBe(200);
  const rolledBack = await c.waitFor(rollout.id, 'rolled back', (r) => r.state === 'rolled_back');
  expect(rolledBack.waves.map((w) => w.state)).toEqual(['rolled_back', 'pending']);
  expect(emulatorAssignment(e, parentId)).toEqual(snapshot);
  expect(assignmentPuts(e, parentId)).toBe(2);
  e.cluster('store-lon-007').regressAfterApply = [];
}, 60_000);

it('rolls back only wave 2 when it regresses: wave 1 stays enforced; the rollback command then restores the snapshot', async () => {
  const parentId = assignmentId(SCOPE, 'allowed-images');
  const childId = assignmentId(RG_UKS, 'allowed-images-deny');
  const snapshot = emulatorAssignment(e, parentId);
  const putsBefore = assignmentPuts(e, parentId);
  e.cluster('store-lon-007').regressAfterApply = [{ policyDefinitionName: DEF.allowedImages, components: [{ id: 'pos/pos-api-legacy', name: 'pos-api-legacy', type: 'pod' }] }];

  const rollout = await create({
    policyAssignmentId: parentId,
    waves: [{ name: 'west', locations: ['westeurope'] }, { name: 'uk-stores', resourceGroups: [RG_UKS] }],
    gates: { ...NO_APPROVAL, maxNonCompliant: 1 },
  });
  const done = await c.waitFor(rollout.id, 'wave 2 rolled back', terminal, 45_000);
  expect(done.state).toBe('paused');
  expect(done.cause).toMatch(/wave "uk-stores" regressed during bake: .*store-lon-007/);
  expect(done.waves.map((w) => w.state)).toEqual(['completed', 'rolled_back']);

  // Wave 1's Deny override for westeurope is still in force; wave 2's notScopes entry and deny assignment are gone.
  const parent = emulatorAssignment(e, parentId) as unknown as { properties: { overrides?: unknown[]; notScopes?: string[] } };
  expect(parent.properties.overrides?.[0]).toEqual({ kind: 'policyEffect', value: 'Deny', selectors: [{ kind: 'resourceLocation', in: ['westeurope'] }] });
  expect((parent.properties.notScopes ?? []).map((n) => n.toLowerCase())).not.toContain(RG_UKS.toLowerCase());
  expect(emulatorAssignment(e, childId)).toBeUndefined();
  expect(assignmentPuts(e, parentId) - putsBefore).toBe(3); // wave 1, wave 2, back to wave 1

  expect((await c.call(operator, 'POST', `/v1/rollouts/${rollout.id}/rollback`)).status).toBe(200);
  const rolledBack = await c.waitFor(rollout.id, 'rolled back', (r) => r.state === 'rolled_back');
  expect(rolledBack.waves.map((w) => w.state)).toEqual(['rolled_back', 'rolled_back']);
  expect(emulatorAssignment(e, parentId)).toEqual(snapshot);
  e.cluster('store-lon-007').regressAfterApply = [];
}, 60_000);

it('applies a wave once when its step message is delivered twice (and once more by the host)', async () => {
  const probesId = assignmentId(SCOPE, 'container-probes');
  const rollout = await create({ policyAssignmentId: probesId, waves: [{ name: 'west-europe', locations: ['westeurope'] }], gates: NO_APPROVAL });
  // store-dev-weu-005 runs pods without probes: the gate blocks and re-checks in 30 s.
  const blocked = await c.waitFor(rollout.id, 'blocked', (r) => r.state === 'blocked');
  expect((blocked.waves[0]!.reasons ?? []).join('\n')).toMatch(/store-dev-weu-005/);
  const step = expectedStep(blocked);
  expect(step).toMatchObject({ wave: 0, step: 'gate' });

  // Remediated; the expected gate message arrives twice at once.
  const dev = e.cluster('store-dev-weu-005');
  dev.violations = dev.violations.filter((v) => v.policyDefinitionName !== DEF.probes);
  await Promise.all([sendStep(e, step), sendStep(e, step)]);

  const done = await c.waitFor(rollout.id, 'completed', terminal, 30_000);
  expect(done.state).toBe('completed');
  const types = (done.events ?? []).map((ev) => ev.type);
  expect(types.filter((t) => t === 'gate-passed')).toHaveLength(1);
  expect(types.filter((t) => t === 'wave-applied')).toHaveLength(1);
  expect(assignmentPuts(e, probesId)).toBe(1);
  // The duplicate was recognised as such by the step function, not silently dropped.
  await waitFor('the duplicate gate message to be handled', async () => (e.logs.some((l) => l.message.includes(`rollout ${rollout.id}: gate of wave 1 (attempt ${step.attempt}): redelivered`)) ? true : undefined));
}, 60_000);

it('fails the rollout with the cause when its expected step lands on the poison queue', async () => {
  const automountId = assignmentId(SCOPE, 'no-automount-credentials');
  const before = emulatorAssignment(e, automountId);
  const rollout = await create({ policyAssignmentId: automountId, waves: [{ name: 'uk-stores', resourceGroups: [RG_UKS] }], gates: NO_APPROVAL });
  // store-lon-lab-008 automounts credentials: blocked, gate expected again in 30 s.
  const blocked = await c.waitFor(rollout.id, 'blocked', (r) => r.state === 'blocked');
  const step = expectedStep(blocked);

  await sendStep(e, step, ROLLOUT_QUEUES.stepsPoison);
  const failed = await c.waitFor(rollout.id, 'failed', terminal);
  expect(failed.state).toBe('failed');
  expect(failed.cause).toMatch(/gate of wave 1 was poisoned/);
  expect(failed.nextStep).toBeUndefined();
  expect((failed.events ?? []).at(-1)).toMatchObject({ type: 'failed' });
  expect(emulatorAssignment(e, automountId)).toEqual(before);

  // The assignment is free again: a new rollout of it is accepted (and planned from the same snapshot).
  const again = await c.call<RolloutView>(operator, 'POST', '/v1/rollouts?dryRun=true', { policyAssignmentId: automountId, waves: [{ name: 'uk-stores', resourceGroups: [RG_UKS] }] });
  expect(again.status).toBe(200);
}, 60_000);

it('fails the rollout on the first delivery when ARM refuses the apply (403), naming the code and the role to grant', async () => {
  const factories = DEMO_SUBSCRIPTIONS.factories;
  const imagesId = assignmentId(`/subscriptions/${factories}`, 'allowed-images');
  const before = emulatorAssignment(e, imagesId);
  const faults = e.stack.emulator!.faults;
  faults.denyAccess({ subscriptionId: factories, route: 'policyAssignments.create' });
  try {
    const rollout = await create({ policyAssignmentId: imagesId, waves: [{ name: 'central', locations: ['centralus'] }], gates: NO_APPROVAL });
    const failed = await c.waitFor(rollout.id, 'failed', terminal, 20_000);
    expect(failed.state).toBe('failed');
    // Today's retry policy would have spent every delivery (5) on a refusal that cannot heal.
    expect(failed.cause).toMatch(/step apply of wave 1 failed permanently \(AuthorizationFailed\) on delivery 1, not retried/);
    expect(failed.cause).toMatch(/Microsoft\.Authorization\/policyAssignments\/write/);
    expect(failed.cause).toMatch(/custom role "arc-compliance policy operator"/);
    expect(e.stack.emulator!.requests.log.filter((r) => r.route === 'policyAssignments.create' && r.status === 403 && r.path.toLowerCase() === imagesId.toLowerCase())).toHaveLength(1);
    expect(emulatorAssignment(e, imagesId)).toEqual(before);
  } finally {
    faults.clear();
  }
}, 60_000);

it('has every rollout call in the audit log', async () => {
  const ids = [...c.requestIds];
  const audited = await auditedRequestIds(e, auditor, c);
  expect(ids.filter((rid) => !audited.has(rid))).toEqual([]);
});

/**
 * Crash drills of a rollout's host, killed (SIGKILL) and started again on the same storage. One drill
 * environment (storage, ARM emulator, webhook receiver) and one baseline evaluation serve both.
 *
 * Between apply and verify: the wave's apply is stored (`wave-applied` in the rollout's event log) and
 * verify is in flight against an ARM emulator that answers Policy Insights slowly. The redelivered step
 * must finish the wave on its own: the assignment was written once (one PUT), the wave is verified,
 * the event log holds every transition once, and no rollout is left running.
 *
 * During apply: the policy assignment PUT has reached ARM (the emulator holds it for a moment before
 * acting, as a slow ARM would) and the host dies before any answer; ARM then applies the write nobody
 * waits for, and the host comes back. The redelivered apply step must read the assignment as it is
 * and finish the rollout: the assignment ends in the wave's desired state and is not written again
 * (that state is already there), every transition once, every outbound event under one id, no
 * rollout left running.
 */
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { EvaluationView } from '../../application/compliance-query-service.js';
import type { RolloutView } from '../../application/rollout-service.js';
import { DEMO_SUBSCRIPTIONS } from '../../local/arm-emulator/fleet/demo-fleet.js';
import { startCrashDrill, type CrashDrill, type DrillHost } from '../support/crash-drill.js';
import { waitFor } from '../support/e2e-stack.js';
import { APPROVE, MANAGE, READ, assignmentId } from '../support/rollout-e2e.js';

const SUB = DEMO_SUBSCRIPTIONS.retail;
const PARENT = assignmentId(`/subscriptions/${SUB}`, 'allowed-images');
const OPERATOR = [MANAGE, APPROVE, READ];
const EVALUATE = ['Compliance.Evaluate', 'Compliance.Read'];
const SETTLED = ['completed', 'failed', 'rolled_back', 'paused', 'aborted'];
const MANAGE_HOOKS = ['Webhooks.Manage'];
/** The assignment of the kill-during-apply drill (another one of the same subscription). */
const PROBES = assignmentId(`/subscriptions/${SUB}`, 'container-probes');
/** How long ARM holds the apply's PUT before acting on it: the host dies within it. */
const PUT_LATENCY_MS = 2000;

let drill: CrashDrill;
let host: DrillHost;
/** When each PUT of the probes assignment reached the emulator (before its latency). */
const probePutArrivals: number[] = [];

beforeAll(async () => {
  drill = await startCrashDrill({ settings: { ROLLOUT_GATE_RECHECK_SECONDS: '1' } });
  // Sees every request ahead of ARM routing and lets it through: a PUT is in flight once it is here.
  drill.emulator.mount((req: IncomingMessage) => {
    if (req.method === 'PUT' && new URL(req.url ?? '/', 'https://x').pathname.toLowerCase() === PROBES.toLowerCase()) probePutArrivals.push(Date.now());
    return false;
  });
  host = await drill.startHost();
  // The gates read the latest evaluation: one of the subscription both drills roll out in.
  const baseline = await drill.api<EvaluationView>(host, 'POST', '/v1/evaluations', EVALUATE, { subscriptionIds: [SUB] });
  expect(baseline.status, JSON.stringify(baseline.body)).toBe(202);
  await waitFor('the baseline run', async () => {
    const r = await drill.api<EvaluationView>(host, 'GET', `/v1/evaluations/${baseline.body.id}`, EVALUATE);
    return r.body.status === 'succeeded' ? true : undefined;
  }, 60_000);
}, 180_000);
afterAll(async () => {
  await drill?.stop();
});

/** Starts a rollout of one wave (West Europe) that needs no approval and no bake time; its id. */
async function startOneWaveRollout(policyAssignmentId: string): Promise<string> {
  const created = await drill.api<RolloutView>(host, 'POST', '/v1/rollouts', OPERATOR, {
    policyAssignmentId,
    waves: [{ name: 'west-europe', locations: ['westeurope'] }],
    gates: { bakeMinutes: 0, requireApproval: false, maxNonCompliant: 100 },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id;
}

async function rollout(id: string): Promise<RolloutView> {
  const res = await drill.api<RolloutView>(host, 'GET', `/v1/rollouts/${id}`, OPERATOR);
  expect(res.status).toBe(200);
  return res.body;
}

function puts(): number {
  return drill.emulator.requests.log.filter((r) => r.method === 'PUT' && r.path.toLowerCase() === PARENT.toLowerCase()).length;
}

it('finishes a rollout whose host was killed between apply and verify: applied once, verified, every transition once', async () => {
  // Verify first asks Policy Insights for a scan, and that call takes 20 s: the kill lands with verify
  // in flight (the gate, which reads policy states only, is not slowed).
  drill.emulator.faults.latency({ route: 'policyStates.triggerEvaluation', ms: 20_000 });
  const id = await startOneWaveRollout(PARENT);

  const applied = await waitFor('the wave\'s apply stored', async () => {
    const r = await rollout(id);
    return (r.events ?? []).some((ev) => ev.type === 'wave-applied') ? r : undefined;
  }, 60_000, 100);
  expect(applied.state).toBe('running');
  expect(applied.waves[0]!.state).toBe('verifying');
  expect(puts()).toBe(1);
  await host.kill();

  drill.emulator.faults.clear();
  host = await drill.startHost();
  const done = await waitFor('the interrupted rollout to settle', async () => {
    const r = await rollout(id);
    return SETTLED.includes(r.state) ? r : undefined;
  }, 90_000, 250);
  expect(done.state, done.cause).toBe('completed');
  expect(done.waves[0]!.state).toBe('completed');

  // Applied once: the redelivered verify step did not write the assignment again.
  expect(puts()).toBe(1);
  // Every transition once, in order, with unique sequence numbers.
  const events = done.events ?? [];
  const types = events.map((ev) => ev.type);
  for (const t of ['created', 'wave-applied', 'wave-verified', 'completed'] as const) expect(types.filter((x) => x === t), t).toHaveLength(1);
  expect(types.indexOf('wave-applied')).toBeLessThan(types.indexOf('wave-verified'));
  expect(types.indexOf('wave-verified')).toBeLessThan(types.indexOf('completed'));
  expect(new Set(events.map((ev) => ev.seq)).size).toBe(events.length);

  // No rollout left stuck.
  const all = await drill.api<{ value: RolloutView[] }>(host, 'GET', '/v1/rollouts?top=100', OPERATOR);
  expect(all.status).toBe(200);
  expect(all.body.value.filter((r) => !SETTLED.includes(r.state))).toEqual([]);
}, 300_000);

/** PUTs of `id` that ARM acted on (recorded when answered, whether or not anyone was listening). */
function actedPuts(id: string): number[] {
  return drill.emulator.requests.log.filter((r) => r.method === 'PUT' && r.path.toLowerCase() === id.toLowerCase()).map((r) => r.status);
}

function assignmentProperties(id: string): Record<string, unknown> {
  const found = drill.emulator.fleet.policyAssignments.find((a) => a.id.toLowerCase() === id.toLowerCase());
  return structuredClone(found?.['properties'] ?? {}) as Record<string, unknown>;
}

it('finishes a rollout whose host was killed with the apply PUT in flight: desired state, every transition once, one id per event', async () => {
  const hook = await drill.api<{ webhook: { id: string } }>(host, 'POST', '/v1/webhooks', MANAGE_HOOKS, {
    url: `http://127.0.0.1:${drill.receiver.port}/hooks/crash-apply`,
    events: ['rollout.wave.completed', 'rollout.completed', 'rollout.failed', 'rollout.rolled_back'],
    format: 'standard',
  });
  expect(hook.status, JSON.stringify(hook.body)).toBe(201);
  const before = assignmentProperties(PROBES);
  expect(before).not.toEqual({});

  drill.emulator.faults.latency({ route: 'policyAssignments.create', ms: PUT_LATENCY_MS });
  const id = await startOneWaveRollout(PROBES);

  await waitFor('the apply PUT in flight', async () => (probePutArrivals.length > 0 ? true : undefined), 60_000, 20);
  // Killed before ARM answered (it has not acted when the signal goes), so nothing of the apply is stored.
  const actedAtKill = actedPuts(PROBES);
  await host.kill();
  expect(actedAtKill).toEqual([]);
  const stored = await drill.entities('rollouts');
  expect(stored.filter((e) => e.partitionKey === id && String(e['body']).includes('"wave-applied"'))).toEqual([]);
  drill.emulator.faults.clear();
  // ARM acts on the write nobody waits for; only then does a host come back, so the redelivered apply
  // meets the assignment already in the wave's desired state.
  await waitFor('the in-flight PUT acted on', async () => (actedPuts(PROBES).length > 0 ? true : undefined), 30_000, 50);

  host = await drill.startHost();
  const done = await waitFor('the interrupted rollout to settle', async () => {
    const r = await rollout(id);
    return SETTLED.includes(r.state) ? r : undefined;
  }, 90_000, 250);
  expect(done.state, done.cause).toBe('completed');
  expect(done.waves[0]!.state).toBe('completed');

  // The dead host's PUT is the only one: the redelivered apply read the assignment first and found
  // nothing left to write.
  expect(probePutArrivals).toHaveLength(1);
  expect(actedPuts(PROBES)).toEqual([201]);
  // The assignment ends in the wave's desired state: what it held before, plus deny in West Europe.
  expect(assignmentProperties(PROBES)).toEqual({
    ...before,
    overrides: [{ kind: 'policyEffect', value: 'Deny', selectors: [{ kind: 'resourceLocation', in: ['westeurope'] }] }],
  });

  // Every transition once, in order, with unique sequence numbers.
  const events = done.events ?? [];
  const types = events.map((ev) => ev.type);
  for (const t of ['created', 'gate-passed', 'wave-applied', 'wave-verified', 'wave-baked', 'completed'] as const) expect(types.filter((x) => x === t), t).toHaveLength(1);
  expect(types.indexOf('wave-applied')).toBeLessThan(types.indexOf('wave-verified'));
  expect(types.indexOf('wave-verified')).toBeLessThan(types.indexOf('completed'));
  expect(new Set(events.map((ev) => ev.seq)).size).toBe(events.length);

  // Outbound: the wave's and the rollout's completion arrive, each under one webhook-id (a copy sent
  // again carries the same id), and nothing says the rollout failed or was rolled back.
  const received = (): { type: string; id: string }[] =>
    drill.received
      .map((r) => ({ envelope: JSON.parse(r.body) as { type: string; data: Record<string, unknown> }, id: String(r.headers['webhook-id']) }))
      .filter((x) => x.envelope.data['rolloutId'] === id)
      .map((x) => ({ type: x.envelope.type, id: x.id }));
  await waitFor('rollout.completed delivered', async () => (received().some((e) => e.type === 'rollout.completed') ? true : undefined), 60_000);
  const idsByType = new Map<string, Set<string>>();
  for (const e of received()) idsByType.set(e.type, (idsByType.get(e.type) ?? new Set<string>()).add(e.id));
  expect([...idsByType.keys()].sort()).toEqual(['rollout.completed', 'rollout.wave.completed']);
  for (const [type, ids] of idsByType) expect(ids.size, type).toBe(1);

  // No rollout left running.
  const all = await drill.api<{ value: RolloutView[] }>(host, 'GET', '/v1/rollouts?top=100', OPERATOR);
  expect(all.status).toBe(200);
  expect(all.body.value.filter((r) => !SETTLED.includes(r.state))).toEqual([]);
}, 300_000);

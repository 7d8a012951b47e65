/**
 * Crash drill: a rollout's host is killed (SIGKILL) between apply and verify — the wave's apply is
 * stored (`wave-applied` in the rollout's event log) and verify is in flight against an ARM emulator
 * that answers Policy Insights slowly — and started again on the same storage. The redelivered step
 * must finish the wave on its own: the assignment was written once (one PUT), the wave is verified,
 * the event log holds every transition once, and no rollout is left running.
 */
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

let drill: CrashDrill;
let host: DrillHost;

beforeAll(async () => {
  drill = await startCrashDrill({ settings: { ROLLOUT_GATE_RECHECK_SECONDS: '1' } });
  host = await drill.startHost();
}, 120_000);
afterAll(async () => {
  await drill?.stop();
});

async function rollout(id: string): Promise<RolloutView> {
  const res = await drill.api<RolloutView>(host, 'GET', `/v1/rollouts/${id}`, OPERATOR);
  expect(res.status).toBe(200);
  return res.body;
}

function puts(): number {
  return drill.emulator.requests.log.filter((r) => r.method === 'PUT' && r.path.toLowerCase() === PARENT.toLowerCase()).length;
}

it('finishes a rollout whose host was killed between apply and verify: applied once, verified, every transition once', async () => {
  // The gate reads the latest evaluation.
  const baseline = await drill.api<EvaluationView>(host, 'POST', '/v1/evaluations', EVALUATE);
  expect(baseline.status).toBe(202);
  await waitFor('the baseline run', async () => {
    const r = await drill.api<EvaluationView>(host, 'GET', `/v1/evaluations/${baseline.body.id}`, EVALUATE);
    return r.body.status === 'succeeded' ? true : undefined;
  }, 60_000);

  // Verify first asks Policy Insights for a scan, and that call takes 20 s: the kill lands with verify
  // in flight (the gate, which reads policy states only, is not slowed).
  drill.emulator.faults.latency({ route: 'policyStates.triggerEvaluation', ms: 20_000 });
  const created = await drill.api<RolloutView>(host, 'POST', '/v1/rollouts', OPERATOR, {
    policyAssignmentId: PARENT,
    waves: [{ name: 'west-europe', locations: ['westeurope'] }],
    gates: { bakeMinutes: 0, requireApproval: false, maxNonCompliant: 100 },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.id;

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

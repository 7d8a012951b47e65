/**
 * Crash drill: the Functions host is killed (SIGKILL) in the middle of an evaluation run — ARM answers
 * slowly, so collects are in flight and some subscriptions are done while others are not — and started
 * again on the same storage. The interrupted run must finish on its own: every cluster evaluated once
 * (one history row per cluster and run, none missing), no run left `running`, and no event published
 * twice under different ids (at-least-once delivery may repeat an event, always with its id), and
 * no event lost: a webhook delivery the dead host had claimed mid-send is attempted again by the
 * redelivered message (delivered at least once, recorded once).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { EvaluationView } from '../../application/compliance-query-service.js';
import { DEMO_SUBSCRIPTIONS } from '../../local/arm-emulator/fleet/demo-fleet.js';
import { startCrashDrill, type CrashDrill, type DrillHost } from '../support/crash-drill.js';
import { waitFor } from '../support/e2e-stack.js';

const EVALUATE = ['Compliance.Evaluate', 'Compliance.Read'];
const MANAGE_HOOKS = ['Webhooks.Manage'];

let drill: CrashDrill;
let host: DrillHost;

beforeAll(async () => {
  drill = await startCrashDrill();
  host = await drill.startHost();
}, 120_000);
afterAll(async () => {
  await drill?.stop();
});

async function run(id: string): Promise<EvaluationView> {
  const res = await drill.api<EvaluationView>(host, 'GET', `/v1/evaluations/${id}`, EVALUATE);
  expect(res.status).toBe(200);
  return res.body;
}

async function outcomes(runId: string): Promise<number> {
  return (await drill.entities('runs')).filter((e) => e.partitionKey === `outcomes|${runId}`).length;
}

interface Envelope {
  readonly type: string;
  readonly data: Record<string, unknown>;
}

it('finishes a run whose host was killed mid-run: every cluster once, nothing running, one id per event', async () => {
  const hook = await drill.api<{ webhook: { id: string } }>(host, 'POST', '/v1/webhooks', MANAGE_HOOKS, {
    url: `http://127.0.0.1:${drill.receiver.port}/hooks/crash`,
    events: ['evaluation.completed', 'cluster.compliance.changed'],
    format: 'standard',
  });
  expect(hook.status, JSON.stringify(hook.body)).toBe(201);
  // A baseline run, so the crashed run has drift to publish.
  const baseline = await drill.api<EvaluationView>(host, 'POST', '/v1/evaluations', EVALUATE);
  expect(baseline.status).toBe(202);
  await waitFor('the baseline run', async () => ((await run(baseline.body.id)).status === 'succeeded' ? true : undefined), 60_000);
  const fleet = drill.emulator.fleet;
  for (const c of fleet.clusters) c.violations = [...c.violations, { policyDefinitionName: '95edb821-ddaf-4404-9732-666045e056b4', components: [{ id: 'app/web', name: 'web', type: 'pod' }] }];

  // Slow ARM: each subscription's cluster listing takes 2.5 s, the retail one 6 s, so the kill lands
  // with some subscriptions recorded and others still collecting.
  drill.emulator.faults.latency({ route: 'connectedClusters.listBySubscription', ms: 2500 });
  drill.emulator.faults.latency({ route: 'connectedClusters.listBySubscription', subscriptionId: DEMO_SUBSCRIPTIONS.retail, ms: 3500 });
  const started = await drill.api<EvaluationView>(host, 'POST', '/v1/evaluations', EVALUATE);
  expect(started.status).toBe(202);
  const runId = started.body.id;
  await waitFor('a first subscription outcome', async () => ((await outcomes(runId)) >= 1 ? true : undefined), 60_000, 50);
  expect(await outcomes(runId)).toBeLessThan(3);
  await host.kill();
  expect((await drill.entities('runs')).find((e) => e.rowKey === `id|${runId}`)?.['status']).toBe('running');

  drill.emulator.faults.clear();
  host = await drill.startHost();
  const done = await waitFor('the interrupted run to finish', async () => {
    const r = await run(runId);
    return r.status === 'running' || r.status === 'queued' ? undefined : r;
  }, 90_000);
  expect(done).toMatchObject({ status: 'succeeded', subscriptions: { total: 3, succeeded: 3, failed: 0 }, clustersEvaluated: fleet.clusters.length });
  expect((await drill.api<{ value: EvaluationView[] }>(host, 'GET', '/v1/evaluations?top=100', EVALUATE)).body.value.filter((r) => r.status === 'running' || r.status === 'queued')).toEqual([]);

  // Every cluster once: one history row per cluster for this run, none missing.
  const history = (await drill.historyEntities()).filter((e) => e['runId'] === runId);
  const ids = history.map((e) => String(e['clusterId']).toLowerCase());
  expect(ids.length).toBe(fleet.clusters.length);
  expect(new Set(ids)).toEqual(new Set(fleet.clusters.map((c) => c.resource.id.toLowerCase())));

  // Events: the run's evaluation.completed arrives, no event arrives for a cluster that did not drift,
  // and every copy of one event (at-least-once delivery repeats some) carries the same webhook-id.
  const drifted = new Set(history.filter((e) => (JSON.parse(String(e['drift'])) as unknown[]).length > 0).map((e) => String(e['clusterId']).toLowerCase()));
  expect(drifted.size).toBeGreaterThan(0);
  const envelopes = (): Envelope[] => drill.received.map((r) => JSON.parse(r.body) as Envelope).filter((e) => e.data['runId'] === runId);
  await waitFor('evaluation.completed of the run', async () => (envelopes().some((e) => e.type === 'evaluation.completed') ? true : undefined), 60_000);
  // Every drifting cluster's cluster.compliance.changed arrives, including deliveries the dead host had
  // claimed mid-send (the redelivered message makes its attempt again), and no other.
  const changed = (): Set<string> => new Set(envelopes().filter((e) => e.type === 'cluster.compliance.changed').map((e) => String(e.data['clusterId']).toLowerCase()));
  await waitFor('every cluster.compliance.changed of the run', async () => (changed().size >= drifted.size ? true : undefined), 60_000).catch(async (error: unknown) => {
    // Which deliveries never arrived, and what their records and the host said, for the failure report.
    const deliveries = await drill.api<{ value: unknown[] }>(host, 'GET', `/v1/webhooks/${hook.body.webhook.id}/deliveries?top=100`, MANAGE_HOOKS);
    const missing = [...drifted].filter((id) => !changed().has(id));
    const hostLog = drill.logs.filter((l) => /webhook/i.test(l.message)).map((l) => l.message);
    throw new Error(`${String(error)}\nmissing: ${JSON.stringify(missing)}\ndeliveries: ${JSON.stringify(deliveries.body.value)}\nhost: ${JSON.stringify(hostLog.slice(-40))}`);
  });
  expect(changed()).toEqual(drifted);
  const idsByEvent = new Map<string, Set<string>>();
  for (const r of drill.received) {
    const envelope = JSON.parse(r.body) as Envelope;
    const key = `${envelope.type} ${String(envelope.data['runId'] ?? '')} ${String(envelope.data['clusterId'] ?? '')}`;
    const set = idsByEvent.get(key) ?? new Set<string>();
    set.add(String(r.headers['webhook-id']));
    idsByEvent.set(key, set);
  }
  for (const [event, set] of idsByEvent) expect(set.size, event).toBe(1);
}, 300_000);


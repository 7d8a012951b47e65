/**
 * Faults that used to leave a run `running` forever, or `succeeded` over incomplete data, end in a
 * visible partial state through the local runtime (queues, poison queues, Table Storage, the API):
 * - a collect message the host moved to `evaluation-collect-poison` (every delivery timed out or
 *   crashed before an outcome was recorded) records the subscription as failed: the run ends
 *   `partial` with the reason, the subscription's clusters stale with their last results;
 * - a finalize message on `evaluation-finalize-poison` finalizes the run;
 * - clusters whose extensions could not be read are counted on the run (`clustersIncomplete`);
 * - a subscription no longer discovered has its clusters marked stale and is listed on the run.
 *
 * The poison messages are enqueued here exactly as the host moves them (the same base64 text): the
 * local runtime has no function timeout to provoke one with.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clusterPath, COLLECT_QUEUE, FINALIZE_QUEUE, startE2eStack, waitFor, type E2eStack } from '../support/e2e-stack.js';
import type { ClusterSummaryView, ClusterView, EvaluationView } from '../../application/compliance-query-service.js';
import type { FleetSummary } from '../../domain/model.js';
import type { EvaluationRun } from '../../application/ports.js';
import { queuedRun } from '../../application/evaluation-run.js';
import { MAX_DEQUEUE_COUNT, type CollectSubscriptionMessage } from '../../application/messages.js';
import { encodeQueueMessage } from '../../adapters/storage/storage-queue.js';
import { TableStore } from '../../adapters/storage/table-store.js';
import { TableRunRepository } from '../../adapters/storage/table-run-repository.js';
import { DEMO_SUBSCRIPTIONS } from '../../local/arm-emulator/fleet/demo-fleet.js';

const { retail: RETAIL, factories: FACTORIES, branches: BRANCHES } = DEMO_SUBSCRIPTIONS;

let e: E2eStack;
let first: EvaluationView;
let runs: TableRunRepository;

beforeAll(async () => {
  e = await startE2eStack();
  first = await e.timerRun();
  runs = new TableRunRepository(await TableStore.open({ connectionString: e.stack.storageConnectionString }));
});
afterAll(async () => {
  await e?.stop();
});

const clustersOf = (subscriptionId: string): string[] =>
  e.stack.emulator!.fleet.clusters.filter((c) => c.resource.id.toLowerCase().startsWith(`/subscriptions/${subscriptionId}/`)).map((c) => c.resource.id.toLowerCase());

async function staleIds(): Promise<Set<string>> {
  const res = await e.api<{ value: ClusterSummaryView[] }>('/v1/clusters?top=1000&stale=true');
  expect(res.status).toBe(200);
  return new Set(res.body.value.map((c) => c.id.toLowerCase()));
}

/** A run opened and fanned out as the timer does, whose messages this test then delivers itself. */
async function openRun(id: string): Promise<EvaluationRun> {
  const createdAt = new Date().toISOString();
  await runs.create(queuedRun(id, 'on-demand', 'e2e', createdAt));
  const running: EvaluationRun = { ...queuedRun(id, 'on-demand', 'e2e', createdAt), status: 'running', startedAt: createdAt, subscriptionsTotal: 3 };
  await runs.update(running);
  return running;
}

async function send(queueName: string, message: unknown): Promise<void> {
  const q = e.queue(queueName);
  await q.createIfNotExists();
  await q.sendMessage(encodeQueueMessage(message));
}

/** Waits (bounded) for the host's "Executed" line of a function: it follows the work the function did. */
const executed = (functionName: string): Promise<true> =>
  waitFor(`${functionName} to have run`, async () => (e.logs.some((l) => l.functionName === functionName && l.message.startsWith('Executed')) ? true : undefined));

it('records a collect message the host poisoned: partial run with the reason, the clusters stale with their last results', async () => {
  expect(first.status).toBe('succeeded');
  expect(first).toMatchObject({ clustersIncomplete: 0, eventsNotPublished: 0, subscriptionsNotDiscovered: [] });
  const before = new Map<string, ClusterView>();
  for (const c of e.stack.emulator!.fleet.clusters) before.set(c.resource.id.toLowerCase(), (await e.api<ClusterView>(clusterPath(c))).body);

  const run = await openRun('e2e-poisoned-collect');
  const message = (subscriptionId: string): CollectSubscriptionMessage => ({ kind: 'collect-subscription', runId: run.id, subscriptionId, runStartedAt: run.startedAt! });
  await send(COLLECT_QUEUE, message(RETAIL));
  await send(COLLECT_QUEUE, message(BRANCHES));
  // FACTORIES' collect timed out on every delivery: the host moved it, unchanged, to the poison queue.
  await send(`${COLLECT_QUEUE}-poison`, message(FACTORIES));

  const done = await e.waitForRun(run.id);
  expect(done.status).toBe('partial');
  expect(done.subscriptions).toEqual({ total: 3, succeeded: 2, failed: 1 });
  expect(done.failures).toHaveLength(1);
  expect(done.failures[0]!.subscriptionId).toBe(FACTORIES);
  expect(done.failures[0]!.error).toBe(
    `poison: no outcome recorded after ${MAX_DEQUEUE_COUNT} deliveries (function timeout, host crash or a storage failure while recording) (evaluation-collect-poison)`,
  );
  expect(done.clustersEvaluated).toBe(clustersOf(RETAIL).length + clustersOf(BRANCHES).length);
  await executed('evaluationCollectPoison');
  await e.waitForQueueEmpty(`${COLLECT_QUEUE}-poison`);

  const factories = new Set(clustersOf(FACTORIES));
  expect(await staleIds()).toEqual(factories);
  for (const c of e.stack.emulator!.fleet.clusters.filter((x) => factories.has(x.resource.id.toLowerCase()))) {
    const view = (await e.api<ClusterView>(clusterPath(c))).body;
    const previous = before.get(c.resource.id.toLowerCase())!;
    expect(view).toMatchObject({ stale: true, runId: first.id, lastSeenAt: previous.lastSeenAt, score: previous.score });
    expect(view.controls).toEqual(previous.controls);
  }
  const summary = (await e.api<FleetSummary>('/v1/summary')).body;
  expect(summary.runId).toBe(run.id);
  expect(summary.totals.stale).toBe(factories.size);
}, 60_000);

it('finalizes a run whose finalize message was poisoned', async () => {
  const run = await openRun('e2e-poisoned-finalize');
  // Every subscription has its outcome, but each finalize delivery timed out.
  for (const sub of [RETAIL, FACTORIES, BRANCHES]) await runs.recordSubscriptionOutcome(run.id, sub, { ok: true, clusters: clustersOf(sub).length }, new Date().toISOString());
  expect((await e.api<EvaluationView>(`/v1/evaluations/${run.id}`)).body.status).toBe('running');

  await send(`${FINALIZE_QUEUE}-poison`, { kind: 'finalize-run', runId: run.id });
  const done = await e.waitForRun(run.id);
  expect(done).toMatchObject({ status: 'succeeded', subscriptions: { total: 3, succeeded: 3, failed: 0 }, clustersEvaluated: e.stack.emulator!.fleet.clusters.length });
  // Only the poison handler could have finalized it: no other finalize message exists.
  await executed('evaluationFinalizePoison');
  expect((await e.api<FleetSummary>('/v1/summary')).body.runId).toBe(run.id);
});

it('counts the clusters whose extensions could not be read, whose extension controls are unknown', async () => {
  const emulator = e.stack.emulator!;
  // 501 is not retried by the SDK: every extension listing of BRANCHES fails at once.
  emulator.faults.serverError({ route: 'extensions.list', subscriptionId: BRANCHES, rate: 1, status: 501 });
  try {
    const run = await e.timerRun();
    const branches = clustersOf(BRANCHES);
    expect(run).toMatchObject({ status: 'succeeded', clustersEvaluated: emulator.fleet.clusters.length, clustersIncomplete: branches.length, eventsNotPublished: 0 });
    const got = await e.api<EvaluationView>(`/v1/evaluations/${run.id}`);
    expect(got.body.clustersIncomplete).toBe(branches.length);
    for (const c of emulator.fleet.clusters.filter((x) => branches.includes(x.resource.id.toLowerCase()))) {
      const view = (await e.api<ClusterView>(clusterPath(c))).body;
      expect(view.controls.find((x) => x.controlId === 'ARC-PL-01')?.status, c.resource.name).toBe('unknown');
    }
    // Everything was collected: no stale cluster is left from the poisoned run.
    expect(await staleIds()).toEqual(new Set());
  } finally {
    emulator.faults.clear();
  }
});

it('marks stale and lists a subscription no longer discovered, until it is discovered again', async () => {
  const fleet = e.stack.emulator!.fleet;
  const index = fleet.subscriptions.findIndex((s) => s.subscriptionId === FACTORIES);
  // The identity lost access: the subscription is no longer listed.
  const [revoked] = fleet.subscriptions.splice(index, 1);
  let run: EvaluationView;
  try {
    run = await e.timerRun();
  } finally {
    fleet.subscriptions.splice(index, 0, revoked!);
  }
  const factories = new Set(clustersOf(FACTORIES));
  expect(run).toMatchObject({ status: 'succeeded', subscriptions: { total: 2, succeeded: 2, failed: 0 }, subscriptionsNotDiscovered: [{ subscriptionId: FACTORIES, clusters: factories.size }] });
  expect((await e.api<EvaluationView>(`/v1/evaluations/${run.id}`)).body.subscriptionsNotDiscovered).toEqual([{ subscriptionId: FACTORIES, clusters: factories.size }]);
  expect(await staleIds()).toEqual(factories);
  const summary = (await e.api<FleetSummary>('/v1/summary')).body;
  expect(summary.totals).toMatchObject({ clusters: fleet.clusters.length, stale: factories.size });

  const again = await e.timerRun();
  expect(again).toMatchObject({ status: 'succeeded', subscriptions: { total: 3, succeeded: 3, failed: 0 }, subscriptionsNotDiscovered: [] });
  expect(await staleIds()).toEqual(new Set());
});

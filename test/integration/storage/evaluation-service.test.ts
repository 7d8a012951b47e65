import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableStore } from '../../../adapters/storage/table-store.js';
import { TableClusterStateRepository } from '../../../adapters/storage/table-cluster-state-repository.js';
import { TableRunRepository } from '../../../adapters/storage/table-run-repository.js';
import { TableHistoryRepository } from '../../../adapters/storage/table-history-repository.js';
import { TableSummaryRepository } from '../../../adapters/storage/table-summary-repository.js';
import { TableExceptionRepository } from '../../../adapters/storage/table-exception-repository.js';
import { EvaluationService } from '../../../application/evaluation-service.js';
import type { CollectSubscriptionMessage, FinalizeRunMessage } from '../../../application/messages.js';
import { FakeInventory, ManualClock, MemoryQueue } from './fake-inventory.js';
import { uniquePrefix } from './fixtures.js';

const S1 = '11111111-1111-1111-1111-111111111111';
const S2 = '22222222-2222-2222-2222-222222222222';
const S3 = '33333333-3333-3333-3333-333333333333';
const LAST = { dequeueCount: 5, maxDequeueCount: 5 };
const FIRST = { dequeueCount: 1, maxDequeueCount: 5 };

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

interface World {
  inventory: FakeInventory;
  clock: ManualClock;
  collect: MemoryQueue<CollectSubscriptionMessage>;
  finalize: MemoryQueue<FinalizeRunMessage>;
  runs: TableRunRepository;
  clusters: TableClusterStateRepository;
  history: TableHistoryRepository;
  summaries: TableSummaryRepository;
  exceptions: TableExceptionRepository;
  service: EvaluationService;
}
let world: World;

beforeEach(async () => {
  const store = await TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: uniquePrefix() });
  const clock = new ManualClock(new Date('2026-05-01T02:00:00.000Z'));
  const inventory = new FakeInventory(() => clock.now());
  inventory.addCluster(S1, 'edge-rg', 'store-001', { env: 'prod' });
  inventory.addCluster(S1, 'edge-rg', 'store-002', { env: 'prod', rbac: false });
  inventory.addCluster(S2, 'lab', 'lab-a/b#c?d', { env: 'dev' });
  inventory.addCluster(S3, 'rg', 'x1', { env: 'test' });
  inventory.addCluster(S3, 'rg', 'x2');
  const collect = new MemoryQueue<CollectSubscriptionMessage>();
  const finalize = new MemoryQueue<FinalizeRunMessage>();
  let n = 0;
  const repos = {
    runs: new TableRunRepository(store),
    clusters: new TableClusterStateRepository(store),
    history: new TableHistoryRepository(store),
    summaries: new TableSummaryRepository(store),
    exceptions: new TableExceptionRepository(store),
  };
  const service = new EvaluationService({
    inventory,
    ...repos,
    collectQueue: collect,
    finalizeQueue: finalize,
    clock,
    newRunId: () => {
      n += 1;
      return `run-${n}`;
    },
    settings: { subscriptionIds: undefined, armMaxConcurrency: 2, historyRetentionDays: 90 },
  });
  world = { inventory, clock, collect, finalize, ...repos, service };
});

/** Delivers every queued message once (first attempt), like a healthy host. */
async function runToCompletion(trigger: 'timer' | 'on-demand' = 'timer'): Promise<string> {
  const run = await world.service.startRun({ trigger });
  world.clock.advance(60_000);
  for (const message of world.collect.drain()) await world.service.collectSubscription(message, FIRST);
  world.clock.advance(60_000);
  for (const message of world.finalize.drain()) await world.service.finalizeRun(message.runId);
  return run.id;
}

describe('EvaluationService against Azurite', () => {
  it('runs a whole evaluation over three subscriptions', async () => {
    const run = await world.service.startRun({ trigger: 'on-demand', requestedBy: 'alice' });
    expect(run).toMatchObject({ status: 'running', subscriptionsTotal: 3, trigger: 'on-demand', requestedBy: 'alice' });
    const messages = world.collect.drain();
    expect(messages.map((m) => m.subscriptionId)).toEqual([S1, S2, S3]);
    expect(messages.every((m) => m.runStartedAt === run.startedAt && m.runId === run.id)).toBe(true);

    const outcomes = [];
    for (const m of messages) outcomes.push(await world.service.collectSubscription(m, FIRST));
    expect(outcomes.map((o) => o.kind)).toEqual(['collected', 'collected', 'collected']);
    expect(world.inventory.policyStateQueries).toBe(3);
    const finals = world.finalize.drain();
    expect(finals).toEqual([{ kind: 'finalize-run', runId: run.id }]);
    await world.service.finalizeRun(run.id);

    const stored = await world.runs.get(run.id);
    expect(stored).toMatchObject({ status: 'succeeded', subscriptionsSucceeded: 3, subscriptionsFailed: 0, clustersEvaluated: 5 });
    expect(stored?.completedAt).toBeDefined();
    const store002 = await world.clusters.get(S1, 'edge-rg', 'store-002');
    expect(store002?.environment).toBe('prod');
    expect(store002?.evaluation.failedControls).toContain('ARC-AC-01');
    expect(store002?.evaluation.runId).toBe(run.id);
    expect(await world.clusters.get(S2, 'lab', 'lab-a/b#c?d')).toMatchObject({ stale: false, lastSeenAt: run.startedAt });
    const summary = await world.summaries.getLatest();
    expect(summary?.runId).toBe(run.id);
    expect(summary?.totals.clusters).toBe(5);
    expect(Object.keys(summary?.perSubscription ?? {}).sort()).toEqual([S1, S2, S3]);
    const hist = await world.history.list(store002?.id ?? '', '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z');
    expect(hist).toHaveLength(1);
    expect(hist[0]).toMatchObject({ runId: run.id, drift: [] });
  });

  it('stores identical results when a collect message is redelivered', async () => {
    const runId = await runToCompletion();
    world.inventory.setRbac(S1, 'store-001', false);
    world.clock.set('2026-05-02T02:00:00.000Z');
    await world.service.startRun({ trigger: 'timer' });
    const [m1] = world.collect.drain();
    if (!m1) throw new Error('no message');
    await world.service.collectSubscription(m1, FIRST);
    const first = { states: await world.clusters.listBySubscription(S1), history: await world.history.list((await world.clusters.get(S1, 'edge-rg', 'store-001'))?.id ?? '', '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z') };
    world.clock.advance(120_000);
    await world.service.collectSubscription(m1, { dequeueCount: 2, maxDequeueCount: 5 });
    const again = { states: await world.clusters.listBySubscription(S1), history: await world.history.list(first.states[0]?.id ?? '', '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z') };
    expect(again).toEqual(first);
    // The drift survives the redelivery: still measured against the previous run, not against itself.
    expect(again.history.map((h) => h.runId)).toEqual([runId, m1.runId]);
    expect(again.history[1]?.drift).toEqual([{ controlId: 'ARC-AC-01', from: 'pass', to: 'fail' }]);
  });

  it('records a subscription that still fails on the last attempt: partial run, stale clusters keep their results', async () => {
    await runToCompletion();
    const before = await world.clusters.listBySubscription(S2);
    world.inventory.failingSubscriptions.add(S2);
    world.clock.set('2026-05-02T02:00:00.000Z');
    const run = await world.service.startRun({ trigger: 'timer' });
    const messages = world.collect.drain();
    const s2 = messages.find((m) => m.subscriptionId === S2);
    if (!s2) throw new Error('no S2 message');
    await expect(world.service.collectSubscription(s2, FIRST)).rejects.toThrow(/ARM 503/);
    for (const m of messages.filter((x) => x !== s2)) await world.service.collectSubscription(m, FIRST);
    expect(world.finalize.messages).toEqual([]);
    const outcome = await world.service.collectSubscription(s2, LAST);
    expect(outcome).toMatchObject({ kind: 'failed', staleClusters: 1, runComplete: true });
    for (const m of world.finalize.drain()) await world.service.finalizeRun(m.runId);

    const stored = await world.runs.get(run.id);
    expect(stored).toMatchObject({ status: 'partial', subscriptionsSucceeded: 2, subscriptionsFailed: 1, clustersEvaluated: 4 });
    expect(stored?.failures).toHaveLength(1);
    expect(stored?.failures[0]?.subscriptionId).toBe(S2);
    expect(stored?.failures[0]?.error).toMatch(/ARM 503/);
    const after = await world.clusters.listBySubscription(S2);
    expect(after).toEqual(before.map((s) => ({ ...s, stale: true })));
    const summary = await world.summaries.getLatest();
    expect(summary?.runId).toBe(run.id);
    expect(summary?.totals).toMatchObject({ clusters: 5, stale: 1 });
    expect((await world.clusters.list({ stale: true, top: 10 })).items.map((s) => s.name)).toEqual(['lab-a/b#c?d']);

    // The next healthy run clears the flag.
    world.inventory.failingSubscriptions.delete(S2);
    world.clock.set('2026-05-03T02:00:00.000Z');
    const next = await runToCompletion();
    expect((await world.runs.get(next))?.status).toBe('succeeded');
    expect((await world.clusters.list({ stale: true, top: 10 })).items).toEqual([]);
  });

  it('removes clusters that ARM no longer lists', async () => {
    await runToCompletion();
    world.inventory.clusters.set(S3, (world.inventory.clusters.get(S3) ?? []).filter((c) => c.name !== 'x2'));
    world.clock.set('2026-05-02T02:00:00.000Z');
    await runToCompletion();
    expect((await world.clusters.listBySubscription(S3)).map((s) => s.name)).toEqual(['x1']);
    expect((await world.clusters.list({ location: 'westeurope', top: 50 })).items.map((s) => s.name)).not.toContain('x2');
    expect((await world.summaries.getLatest())?.totals.clusters).toBe(4);
  });

  it('fails the run when every subscription fails', async () => {
    for (const s of [S1, S2, S3]) world.inventory.failingSubscriptions.add(s);
    const run = await world.service.startRun({ trigger: 'timer' });
    for (const m of world.collect.drain()) await world.service.collectSubscription(m, LAST);
    for (const m of world.finalize.drain()) await world.service.finalizeRun(m.runId);
    expect((await world.runs.get(run.id))?.status).toBe('failed');
  });

  it('finalizes idempotently', async () => {
    const runId = await runToCompletion();
    const run1 = await world.runs.get(runId);
    const summary1 = await world.summaries.getLatest();
    world.clock.advance(3_600_000);
    const again = await world.service.finalizeRun(runId);
    expect(again?.run).toEqual(run1);
    expect(await world.runs.get(runId)).toEqual(run1);
    expect(await world.summaries.getLatest()).toEqual(summary1);
    expect(await world.summaries.listTrends('2026-01-01T00:00:00Z')).toHaveLength(1);
    expect(await world.service.finalizeRun('no-such-run')).toBeUndefined();
  });

  it('computes drift between two runs and keeps one history row per run', async () => {
    const r1 = await runToCompletion();
    world.inventory.setRbac(S1, 'store-002', true);
    world.clock.set('2026-05-02T02:00:00.000Z');
    const r2 = await runToCompletion();
    const state = await world.clusters.get(S1, 'edge-rg', 'store-002');
    const hist = await world.history.list(state?.id ?? '', '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z');
    expect(hist.map((h) => h.runId)).toEqual([r1, r2]);
    expect(hist[1]?.drift).toEqual([{ controlId: 'ARC-AC-01', from: 'fail', to: 'pass' }]);
    expect(hist[1]?.statuses['ARC-AC-01']).toBe('pass');
    expect((await world.summaries.listTrends('2026-01-01T00:00:00Z')).map((t) => t.runId)).toEqual([r1, r2]);
  });

  it('keeps a cluster whose extensions cannot be collected, with unknown extension controls', async () => {
    const record = world.inventory.clusters.get(S3)?.[0];
    world.inventory.failingExtensions.add(record?.id.toLowerCase() ?? '');
    await runToCompletion();
    const state = await world.clusters.get(S3, 'rg', 'x1');
    expect(state?.evaluation.controls.find((c) => c.controlId === 'ARC-PL-01')?.status).toBe('unknown');
    expect((await world.clusters.get(S3, 'rg', 'x2'))?.evaluation.controls.find((c) => c.controlId === 'ARC-PL-01')?.status).toBe('pass');
  });

  it('succeeds immediately with no subscriptions, and purges history past retention', async () => {
    await runToCompletion();
    world.inventory.subscriptions.splice(0);
    world.clock.set('2026-09-01T02:00:00.000Z');
    const run = await world.service.startRun({ trigger: 'timer' });
    expect(run).toMatchObject({ status: 'succeeded', subscriptionsTotal: 0 });
    expect(world.collect.messages).toEqual([]);
    expect((await world.summaries.getLatest())?.runId).toBe(run.id);
    const state = await world.clusters.get(S1, 'edge-rg', 'store-001');
    expect(await world.history.list(state?.id ?? '', '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z')).toEqual([]);
  });
});

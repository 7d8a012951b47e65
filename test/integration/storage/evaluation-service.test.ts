import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableStore } from '../../../adapters/storage/table-store.js';
import { TableClusterStateRepository } from '../../../adapters/storage/table-cluster-state-repository.js';
import { TableRunRepository } from '../../../adapters/storage/table-run-repository.js';
import { TableHistoryRepository } from '../../../adapters/storage/table-history-repository.js';
import { TableSummaryRepository } from '../../../adapters/storage/table-summary-repository.js';
import { TableExceptionRepository } from '../../../adapters/storage/table-exception-repository.js';
import { queuedRun } from '../../../application/evaluation-run.js';
import { QueueDelivery } from '../../../application/queue-delivery.js';
import { evaluationOutputs, evaluationServices, type EvaluationTestDeps, type EvaluationTestOutputs, type EvaluationTestServices } from '../../support/evaluation-services.js';
import type { EventPublisher, SubscriptionRef } from '../../../application/ports.js';
import type { OutboundEvent } from '../../../domain/webhook-events.js';
import type { CollectSubscriptionMessage, FinalizeRunMessage } from '../../../application/messages.js';
import { FakeInventory } from './fake-inventory.js';
import { uniquePrefix } from './fixtures.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { webhookSchemas } from '../../../openapi/webhook-paths.js';
import { FixedClock, RecordingMessageQueue } from '../../support/in-memory-ports.js';

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

const S1 = '11111111-1111-1111-1111-111111111111';
const S2 = '22222222-2222-2222-2222-222222222222';
const S3 = '33333333-3333-3333-3333-333333333333';
const LAST = QueueDelivery.of(5, 5);
const FIRST = QueueDelivery.of(1, 5);

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

interface World {
  inventory: FakeInventory;
  clock: FixedClock;
  collect: RecordingMessageQueue<CollectSubscriptionMessage>;
  finalize: RecordingMessageQueue<FinalizeRunMessage>;
  runs: TableRunRepository;
  clusters: TableClusterStateRepository;
  history: TableHistoryRepository;
  summaries: TableSummaryRepository;
  exceptions: TableExceptionRepository;
  /** The events the run published, its evidence and the control-plane watch it read through. */
  outputs: EvaluationTestOutputs;
  service: EvaluationTestServices;
}
let world: World;

beforeEach(async () => {
  const store = await TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: uniquePrefix() });
  const clock = new FixedClock(new Date('2026-05-01T02:00:00.000Z'));
  const inventory = new FakeInventory(() => clock.now());
  inventory.addCluster(S1, 'edge-rg', 'store-001', { env: 'prod' });
  inventory.addCluster(S1, 'edge-rg', 'store-002', { env: 'prod', rbac: false });
  inventory.addCluster(S2, 'lab', 'lab-a/b#c?d', { env: 'dev' });
  inventory.addCluster(S3, 'rg', 'x1', { env: 'test' });
  inventory.addCluster(S3, 'rg', 'x2');
  const collect = new RecordingMessageQueue<CollectSubscriptionMessage>();
  const finalize = new RecordingMessageQueue<FinalizeRunMessage>();
  let n = 0;
  const repos = {
    runs: new TableRunRepository(store),
    clusters: new TableClusterStateRepository(store),
    history: new TableHistoryRepository(store),
    summaries: new TableSummaryRepository(store),
    exceptions: new TableExceptionRepository(store),
  };
  const outputs = evaluationOutputs({ runs: repos.runs, clusters: repos.clusters, inventory, clock });
  const service = evaluationServices({
    inventory,
    ...repos,
    events: outputs.events,
    evidence: outputs.evidence,
    controlPlane: outputs.controlPlane,
    collectQueue: collect,
    finalizeQueue: finalize,
    clock,
    newRunId: () => {
      n += 1;
      return `run-${n}`;
    },
    settings: { subscriptionIds: undefined, armMaxConcurrency: 2, historyRetentionDays: 90 },
  });
  world = { inventory, clock, collect, finalize, ...repos, outputs, service };
});

/** Delivers every queued message once (first attempt), like a healthy host. */
async function runToCompletion(trigger: 'timer' | 'on-demand' = 'timer'): Promise<string> {
  const run = await world.service.starter.startRun({ trigger });
  world.clock.advance(60_000);
  for (const message of world.collect.drain()) await world.service.collector.collectSubscription(message, FIRST);
  world.clock.advance(60_000);
  for (const message of world.finalize.drain()) await world.service.finalizer.finalizeRun(message.runId);
  return run.id;
}

describe('Evaluation services against Azurite', () => {
  it('runs a whole evaluation over three subscriptions', async () => {
    const run = await world.service.starter.startRun({ trigger: 'on-demand', requestedBy: 'alice' });
    expect(run).toMatchObject({ status: 'running', subscriptionsTotal: 3, trigger: 'on-demand', requestedBy: 'alice' });
    const messages = world.collect.drain();
    expect(messages.map((m) => m.subscriptionId)).toEqual([S1, S2, S3]);
    expect(messages.every((m) => m.runStartedAt === run.startedAt && m.runId === run.id)).toBe(true);

    const outcomes = [];
    for (const m of messages) outcomes.push(await world.service.collector.collectSubscription(m, FIRST));
    expect(outcomes.map((o) => o.kind)).toEqual(['collected', 'collected', 'collected']);
    expect(world.inventory.policyStateQueries).toBe(3);
    const finals = world.finalize.drain();
    expect(finals).toEqual([{ kind: 'finalize-run', runId: run.id }]);
    await world.service.finalizer.finalizeRun(run.id);

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
    // Each collect read its subscription's Activity Log up to the run start (ARC-TD-04's lookback).
    expect(world.outputs.activityLog.reads.map((r) => r.subscriptionId).sort()).toEqual([S1, S2, S3]);
    expect(world.outputs.activityLog.reads.every((r) => r.from === '2026-04-01T02:00:00.000Z')).toBe(true);
    // Evidence: one blob per subscription, sealed by the run's manifest; one evaluation.completed.
    const blobs = [...world.outputs.evidenceStore.blobs.keys()];
    expect(blobs.filter((b) => b.includes(run.id) && !b.startsWith('manifests/'))).toHaveLength(3);
    expect(blobs.filter((b) => b.startsWith('manifests/') && b.includes(run.id))).toHaveLength(1);
    expect(world.outputs.events.published.map((e) => e.type)).toEqual(['evaluation.completed']);
  });

  it('stores identical results when a collect message is redelivered', async () => {
    const runId = await runToCompletion();
    world.inventory.setRbac(S1, 'store-001', false);
    world.clock.set('2026-05-02T02:00:00.000Z');
    await world.service.starter.startRun({ trigger: 'timer' });
    const [m1] = world.collect.drain();
    if (!m1) throw new Error('no message');
    await world.service.collector.collectSubscription(m1, FIRST);
    const first = { states: await world.clusters.listBySubscription(S1), history: await world.history.list((await world.clusters.get(S1, 'edge-rg', 'store-001'))?.id ?? '', '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z') };
    world.clock.advance(120_000);
    await world.service.collector.collectSubscription(m1, QueueDelivery.of(2, 5));
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
    const run = await world.service.starter.startRun({ trigger: 'timer' });
    const messages = world.collect.drain();
    const s2 = messages.find((m) => m.subscriptionId === S2);
    if (!s2) throw new Error('no S2 message');
    await expect(world.service.collector.collectSubscription(s2, FIRST)).rejects.toThrow(/ARM 503/);
    for (const m of messages.filter((x) => x !== s2)) await world.service.collector.collectSubscription(m, FIRST);
    expect(world.finalize.sent).toEqual([]);
    const outcome = await world.service.collector.collectSubscription(s2, LAST);
    expect(outcome).toMatchObject({ kind: 'failed', staleClusters: 1, runComplete: true });
    for (const m of world.finalize.drain()) await world.service.finalizer.finalizeRun(m.runId);

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

  it('keeps a recorded success when the last redelivery of the same message fails at ARM', async () => {
    await runToCompletion();
    world.clock.set('2026-05-02T02:00:00.000Z');
    const run = await world.service.starter.startRun({ trigger: 'timer' });
    const messages = world.collect.drain();
    const s2 = messages.find((m) => m.subscriptionId === S2);
    if (!s2) throw new Error('no S2 message');
    for (const m of messages.filter((x) => x !== s2)) await world.service.collector.collectSubscription(m, FIRST);
    // S2 is stored and recorded, then the delivery fails enqueueing finalize: the host redelivers it.
    world.finalize.failWith = new Error('queue unavailable');
    await expect(world.service.collector.collectSubscription(s2, QueueDelivery.of(4, 5))).rejects.toThrow(/queue unavailable/);
    world.finalize.failWith = undefined;
    const fresh = await world.clusters.listBySubscription(S2);
    expect(fresh.map((s) => [s.stale, s.lastSeenAt])).toEqual([[false, run.startedAt]]);

    world.inventory.failingSubscriptions.add(S2);
    const outcome = await world.service.collector.collectSubscription(s2, LAST);
    expect(outcome).toMatchObject({ kind: 'collected', clusters: 1, runComplete: true });
    for (const m of world.finalize.drain()) await world.service.finalizer.finalizeRun(m.runId);
    expect(await world.runs.get(run.id)).toMatchObject({ status: 'succeeded', subscriptionsSucceeded: 3, subscriptionsFailed: 0, clustersEvaluated: 5 });
    expect(await world.clusters.listBySubscription(S2)).toEqual(fresh);
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
    const run = await world.service.starter.startRun({ trigger: 'timer' });
    for (const m of world.collect.drain()) await world.service.collector.collectSubscription(m, LAST);
    for (const m of world.finalize.drain()) await world.service.finalizer.finalizeRun(m.runId);
    expect((await world.runs.get(run.id))?.status).toBe('failed');
  });

  it('finalizes idempotently', async () => {
    const runId = await runToCompletion();
    const run1 = await world.runs.get(runId);
    const summary1 = await world.summaries.getLatest();
    world.clock.advance(3_600_000);
    const again = await world.service.finalizer.finalizeRun(runId);
    expect(again?.run).toEqual(run1);
    expect(await world.runs.get(runId)).toEqual(run1);
    expect(await world.summaries.getLatest()).toEqual(summary1);
    expect(await world.summaries.listTrends('2026-01-01T00:00:00Z')).toHaveLength(1);
    expect(await world.service.finalizer.finalizeRun('no-such-run')).toBeUndefined();
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
    // The drift is published, for that cluster only, in the second run.
    const changed = world.outputs.events.published.filter((e) => e.type === 'cluster.compliance.changed');
    expect(changed.map((e) => (e.data as { clusterId?: string }).clusterId?.toLowerCase())).toEqual([state?.id.toLowerCase()]);
    expect((await world.summaries.listTrends('2026-01-01T00:00:00Z')).map((t) => t.runId)).toEqual([r1, r2]);
  });

  it('keeps a cluster whose extensions cannot be collected, with unknown extension controls, and counts it on the run', async () => {
    const record = world.inventory.clusters.get(S3)?.[0];
    world.inventory.failingExtensions.add(record?.id.toLowerCase() ?? '');
    const runId = await runToCompletion();
    const state = await world.clusters.get(S3, 'rg', 'x1');
    expect(state?.evaluation.controls.find((c) => c.controlId === 'ARC-PL-01')?.status).toBe('unknown');
    expect((await world.clusters.get(S3, 'rg', 'x2'))?.evaluation.controls.find((c) => c.controlId === 'ARC-PL-01')?.status).toBe('pass');
    expect(await world.runs.get(runId)).toMatchObject({ status: 'succeeded', clustersEvaluated: 5, clustersIncomplete: 1, eventsNotPublished: 0 });
    // A redelivered collect replaces the subscription's outcome: the count is not doubled.
    world.inventory.failingExtensions.clear();
    world.clock.set('2026-05-02T02:00:00.000Z');
    expect((await world.runs.get(await runToCompletion()))?.clustersIncomplete).toBe(0);
  });

  it('succeeds immediately with no subscriptions, and purges history past retention', async () => {
    await runToCompletion();
    world.inventory.subscriptions.splice(0);
    world.clock.set('2026-09-01T02:00:00.000Z');
    const run = await world.service.starter.startRun({ trigger: 'timer' });
    expect(run).toMatchObject({ status: 'succeeded', subscriptionsTotal: 0 });
    expect(world.collect.sent).toEqual([]);
    expect((await world.summaries.getLatest())?.runId).toBe(run.id);
    const state = await world.clusters.get(S1, 'edge-rg', 'store-001');
    expect(await world.history.list(state?.id ?? '', '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z')).toEqual([]);
  });
});

/** The world's service with some dependencies replaced (its own run ids). */
function serviceWith(overrides: Partial<EvaluationTestDeps>): EvaluationTestServices {
  let n = 0;
  return evaluationServices({
    inventory: world.inventory,
    runs: world.runs,
    clusters: world.clusters,
    history: world.history,
    summaries: world.summaries,
    exceptions: world.exceptions,
    collectQueue: world.collect,
    finalizeQueue: world.finalize,
    clock: world.clock,
    events: world.outputs.events,
    evidence: world.outputs.evidence,
    controlPlane: world.outputs.controlPlane,
    newRunId: () => {
      n += 1;
      return `variant-${n}`;
    },
    settings: { subscriptionIds: undefined, armMaxConcurrency: 2, historyRetentionDays: 90 },
    ...overrides,
  });
}

/** A publisher that refuses events of the given types and records the others. */
function publisherRefusing(...types: string[]): EventPublisher & { published: OutboundEvent[] } {
  const published: OutboundEvent[] = [];
  return {
    published,
    publish: async (event) => {
      if (types.includes(event.type)) throw new Error(`webhook store down (${event.type})`);
      published.push(event);
    },
  };
}

describe('faults end in a visible partial state', () => {
  it('records a collect message the host poisoned without an outcome: partial run, the reason, stale clusters', async () => {
    await runToCompletion();
    const before = await world.clusters.listBySubscription(S2);
    world.clock.set('2026-05-02T02:00:00.000Z');
    const run = await world.service.starter.startRun({ trigger: 'timer' });
    const messages = world.collect.drain();
    const s2 = messages.find((m) => m.subscriptionId === S2);
    if (!s2) throw new Error('no S2 message');
    for (const m of messages.filter((x) => x !== s2)) await world.service.collector.collectSubscription(m, FIRST);
    expect(world.finalize.sent).toEqual([]);
    expect((await world.runs.get(run.id))?.status).toBe('running');

    // Every delivery of S2 timed out (no catch ran): the host moved the message to the poison queue.
    const outcome = await world.service.collector.collectPoisoned(s2, 'poison: timed out');
    expect(outcome).toMatchObject({ kind: 'failed', staleClusters: 1, runComplete: true });
    for (const m of world.finalize.drain()) await world.service.finalizer.finalizeRun(m.runId);

    const stored = await world.runs.get(run.id);
    expect(stored).toMatchObject({ status: 'partial', subscriptionsSucceeded: 2, subscriptionsFailed: 1, clustersEvaluated: 4 });
    expect(stored?.failures).toEqual([{ subscriptionId: S2, error: 'poison: timed out (evaluation-collect-poison)', at: '2026-05-02T02:00:00.000Z' }]);
    expect(await world.clusters.listBySubscription(S2)).toEqual(before.map((s) => ({ ...s, stale: true })));
    expect((await world.summaries.getLatest())?.totals).toMatchObject({ clusters: 5, stale: 1 });

    // The poison message delivered again: the completed run is left as it is.
    expect(await world.service.collector.collectPoisoned(s2, 'poison: timed out')).toMatchObject({ kind: 'skipped' });
    expect(await world.runs.get(run.id)).toEqual(stored);
  });

  it('keeps an outcome recorded before the delivery was poisoned', async () => {
    await runToCompletion();
    world.clock.set('2026-05-02T02:00:00.000Z');
    world.inventory.failingSubscriptions.add(S2);
    const run = await world.service.starter.startRun({ trigger: 'timer' });
    const messages = world.collect.drain();
    const [m1, m2, m3] = [S1, S2, S3].map((sub) => messages.find((m) => m.subscriptionId === sub)!);
    await world.service.collector.collectSubscription(m1!, FIRST);
    // S1 recorded its success, then (say) the finalize check crashed on every delivery.
    expect(await world.service.collector.collectPoisoned(m1!, 'poison: crashed')).toEqual({ kind: 'already-recorded', ok: true, runComplete: false });
    expect(await world.runs.getSubscriptionOutcome(run.id, S1)).toMatchObject({ ok: true, clusters: 2 });
    expect((await world.clusters.listBySubscription(S1)).map((s) => s.stale)).toEqual([false, false]);
    // S2 recorded its own failure on the last attempt; its poison copy keeps that error.
    await world.service.collector.collectSubscription(m2!, LAST);
    expect(await world.service.collector.collectPoisoned(m2!, 'poison: crashed')).toEqual({ kind: 'already-recorded', ok: false, runComplete: false });
    await world.service.collector.collectSubscription(m3!, FIRST);
    for (const m of world.finalize.drain()) await world.service.finalizer.finalizeRun(m.runId);
    const stored = await world.runs.get(run.id);
    expect(stored).toMatchObject({ status: 'partial', subscriptionsSucceeded: 2, subscriptionsFailed: 1 });
    expect(stored?.failures[0]?.error).toMatch(/ARM 503/);
  });

  it('records subscriptions whose collect message could not be enqueued, and completes the run without them', async () => {
    await runToCompletion();
    world.clock.set('2026-05-02T02:00:00.000Z');
    world.collect.failWith = new Error('queue service unavailable');
    const run = await world.service.starter.startRun({ trigger: 'timer' });
    expect(world.collect.sent).toEqual([]);
    // Nothing would ever collect them: recorded as failed, clusters stale, finalized at once.
    expect(run).toMatchObject({ status: 'failed', subscriptionsTotal: 3, subscriptionsFailed: 3, completedAt: '2026-05-02T02:00:00.000Z' });
    expect(run.failures.map((f) => f.subscriptionId)).toEqual([S1, S2, S3]);
    for (const f of run.failures) expect(f.error).toBe('collect message not enqueued: Error: queue service unavailable');
    expect((await world.clusters.list({ stale: true, top: 10 })).items).toHaveLength(5);
    expect((await world.summaries.getLatest())?.runId).toBe(run.id);
  });

  it('keeps the outcome of a collect message whose send failed after the queue had taken it', async () => {
    await runToCompletion();
    world.clock.set('2026-05-02T02:00:00.000Z');
    const send = world.collect.send.bind(world.collect);
    // An ambiguous failure (the client timed out after the service stored the message): S1 is
    // collected and recorded before the start sees the error.
    world.collect.send = async (message, options) => {
      if (message.subscriptionId !== S1) return send(message, options);
      await world.service.collector.collectSubscription(message, FIRST);
      throw new Error('queue request timed out');
    };
    const run = await world.service.starter.startRun({ trigger: 'timer' });
    expect(await world.runs.getSubscriptionOutcome(run.id, S1)).toEqual({ ok: true, clusters: 2, clustersIncomplete: 0, eventsNotPublished: 0 });
    expect((await world.clusters.listBySubscription(S1)).map((s) => s.stale)).toEqual([false, false]);
    for (const m of world.collect.drain()) await world.service.collector.collectSubscription(m, FIRST);
    for (const m of world.finalize.drain()) await world.service.finalizer.finalizeRun(m.runId);
    expect(await world.runs.get(run.id)).toMatchObject({ status: 'succeeded', subscriptionsSucceeded: 3, subscriptionsFailed: 0 });
  });

  it('finalizes a run whose finalize message was poisoned, or ends it failed when finalize keeps failing', async () => {
    // Collected, but every finalize delivery timed out.
    const ok = await world.service.starter.startRun({ trigger: 'timer' });
    for (const m of world.collect.drain()) await world.service.collector.collectSubscription(m, FIRST);
    world.finalize.drain();
    expect((await world.runs.get(ok.id))?.status).toBe('running');
    const finalized = await world.service.finalizer.finalizePoisoned(ok.id, 'poison: timed out');
    expect(finalized).toMatchObject({ kind: 'finalized', run: { status: 'succeeded' } });
    expect((await world.summaries.getLatest())?.runId).toBe(ok.id);

    // The summary store keeps failing: the run is ended failed, with the reason, never left running.
    world.clock.set('2026-05-02T02:00:00.000Z');
    const broken = serviceWith({
      summaries: { ...world.summaries, put: () => Promise.reject(new Error('summary table unavailable')), getLatest: () => world.summaries.getLatest(), listTrends: (since) => world.summaries.listTrends(since), putTrendSlices: (x) => world.summaries.putTrendSlices(x), listTrendSlices: (since) => world.summaries.listTrendSlices(since) },
    });
    const run = await broken.starter.startRun({ trigger: 'timer' });
    for (const m of world.collect.drain()) await broken.collector.collectSubscription(m, FIRST);
    for (const m of world.finalize.drain()) await expect(broken.finalizer.finalizeRun(m.runId)).rejects.toThrow(/summary table unavailable/);
    const failed = await broken.finalizer.finalizePoisoned(run.id, 'poison: 5 deliveries');
    expect(failed).toMatchObject({ kind: 'failed', run: { status: 'failed', completedAt: '2026-05-02T02:00:00.000Z', subscriptionsSucceeded: 3 } });
    const stored = await world.runs.get(run.id);
    expect(stored?.status).toBe('failed');
    expect(stored?.failures).toHaveLength(1);
    expect(stored?.failures[0]).toMatchObject({ subscriptionId: '*' });
    expect(stored?.failures[0]?.error).toMatch(/^finalize failed on every delivery \(poison: 5 deliveries, evaluation-finalize-poison\): Error: summary table unavailable$/);
    // Idempotent: handled again, the run keeps its status and its one run-level failure.
    world.clock.advance(60_000);
    expect(await broken.finalizer.finalizePoisoned(run.id, 'poison: 5 deliveries')).toMatchObject({ kind: 'failed', run: { status: 'failed' } });
    expect(await world.runs.get(run.id)).toEqual(stored);
    expect(await world.service.finalizer.finalizePoisoned('no-such-run', 'x')).toMatchObject({ kind: 'skipped' });
  });

  it('counts evaluation.completed lost on the last finalize attempt, and clears it once published', async () => {
    const refusing = publisherRefusing('evaluation.completed');
    const service = serviceWith({ events: refusing });
    const run = await service.starter.startRun({ trigger: 'timer' });
    for (const m of world.collect.drain()) await service.collector.collectSubscription(m, FIRST);
    const [final] = world.finalize.drain();
    await expect(service.finalizer.finalizeRun(final!.runId)).rejects.toThrow(/webhook store down/);
    const last = await service.finalizer.finalizeRun(final!.runId, QueueDelivery.final());
    expect(last?.run).toMatchObject({ status: 'succeeded', eventsNotPublished: 1, evaluationCompletedNotPublished: true });
    expect(await world.runs.get(run.id)).toMatchObject({ eventsNotPublished: 1 });
    const healthy = serviceWith({ events: publisherRefusing() });
    expect((await healthy.finalizer.finalizeRun(run.id))?.run).toMatchObject({ status: 'succeeded', eventsNotPublished: 0, evaluationCompletedNotPublished: undefined });
  });

  it('counts cluster.compliance.changed events lost on the last collect attempt, keeping the results', async () => {
    await runToCompletion();
    world.inventory.setRbac(S1, 'store-001', false);
    world.clock.set('2026-05-02T02:00:00.000Z');
    const refusing = publisherRefusing('cluster.compliance.changed');
    const service = serviceWith({ events: refusing });
    const run = await service.starter.startRun({ trigger: 'timer' });
    const messages = world.collect.drain();
    const s1 = messages.find((m) => m.subscriptionId === S1)!;
    await expect(service.collector.collectSubscription(s1, FIRST)).rejects.toThrow(/webhook store down/);
    expect(await service.collector.collectSubscription(s1, LAST)).toMatchObject({ kind: 'collected', clusters: 2, eventsNotPublished: 1 });
    for (const m of messages.filter((x) => x !== s1)) await service.collector.collectSubscription(m, FIRST);
    for (const m of world.finalize.drain()) await service.finalizer.finalizeRun(m.runId);
    expect(await world.runs.get(run.id)).toMatchObject({ status: 'succeeded', eventsNotPublished: 1, clustersIncomplete: 0 });
    expect((await world.clusters.get(S1, 'edge-rg', 'store-001'))?.evaluation.failedControls).toContain('ARC-AC-01');
    expect(refusing.published.map((e) => e.type)).toEqual(['evaluation.completed']);
  });

  it('defers a throttled collect by at least its Retry-After and keeps counting attempts across the copies', async () => {
    world.inventory.throttledSubscriptions.set(S2, 7.2);
    const run = await world.service.starter.startRun({ trigger: 'timer' });
    const s2 = world.collect.drain().find((m) => m.subscriptionId === S2)!;
    expect(await world.service.collector.collectSubscription(s2, FIRST)).toEqual({ kind: 'deferred', retryAfterSeconds: 8, attempt: 1 });
    expect(world.collect.sent).toEqual([{ message: { ...s2, previousAttempts: 1 }, visibilityDelaySeconds: 8 }]);
    expect(await world.runs.getSubscriptionOutcome(run.id, S2)).toBeUndefined();

    // The copy failed three more deliveries through the host's own retries (attempts 2-4)...
    const copy = world.collect.drain()[0]!;
    expect(await world.service.collector.collectSubscription(copy, QueueDelivery.of(3, 5))).toEqual({ kind: 'deferred', retryAfterSeconds: 8, attempt: 4 });
    const copy2 = world.collect.drain()[0]!;
    expect(copy2.previousAttempts).toBe(4);
    // ...so its first delivery is attempt 5 of 5: the failure is recorded, not deferred again.
    expect(await world.service.collector.collectSubscription(copy2, FIRST)).toMatchObject({ kind: 'failed', error: expect.stringMatching(/ARM 429/) });
    expect(world.collect.sent).toEqual([]);
    expect(await world.runs.getSubscriptionOutcome(run.id, S2)).toMatchObject({ ok: false });
  });

  it('collects a throttled subscription on its deferred copy once the throttling ends', async () => {
    world.inventory.throttledSubscriptions.set(S3, 2);
    const run = await world.service.starter.startRun({ trigger: 'timer' });
    for (const m of world.collect.drain()) await world.service.collector.collectSubscription(m, FIRST);
    world.inventory.throttledSubscriptions.clear();
    const [copy] = world.collect.drain();
    expect(copy).toMatchObject({ subscriptionId: S3, previousAttempts: 1 });
    expect(await world.service.collector.collectSubscription(copy!, FIRST)).toMatchObject({ kind: 'collected', clusters: 2, runComplete: true });
    for (const m of world.finalize.drain()) await world.service.finalizer.finalizeRun(m.runId);
    expect(await world.runs.get(run.id)).toMatchObject({ status: 'succeeded', clustersEvaluated: 5 });
  });

  it('marks stale and reports the clusters of a subscription no longer discovered, until it is again', async () => {
    await runToCompletion();
    const before = await world.clusters.listBySubscription(S3);
    const s3 = world.inventory.subscriptions.splice(world.inventory.subscriptions.findIndex((s) => s.subscriptionId === S3), 1)[0] as SubscriptionRef;
    world.clock.set('2026-05-02T02:00:00.000Z');
    const second = await world.runs.get(await runToCompletion());
    // Still a complete run of what it was asked to collect; the dropped subscription is listed.
    expect(second).toMatchObject({ status: 'succeeded', subscriptionsTotal: 2, clustersEvaluated: 3, subscriptionsNotDiscovered: [{ subscriptionId: S3, clusters: 2 }] });
    expect(await world.clusters.listBySubscription(S3)).toEqual(before.map((s) => ({ ...s, stale: true })));
    const summary = await world.summaries.getLatest();
    expect(summary?.runId).toBe(second?.id);
    expect(summary?.totals).toMatchObject({ clusters: 5, stale: 2 });
    expect(summary?.perSubscription[S3]?.stale).toBe(2);

    // A subscription no longer configured is the same case.
    world.clock.set('2026-05-03T02:00:00.000Z');
    world.inventory.subscriptions.push(s3);
    const configured = serviceWith({ settings: { subscriptionIds: [S1, S3], armMaxConcurrency: 2, historyRetentionDays: 90 } });
    const run = await configured.starter.startRun({ trigger: 'timer' });
    for (const m of world.collect.drain()) await configured.collector.collectSubscription(m, FIRST);
    for (const m of world.finalize.drain()) await configured.finalizer.finalizeRun(m.runId);
    expect(await world.runs.get(run.id)).toMatchObject({ status: 'succeeded', subscriptionsNotDiscovered: [{ subscriptionId: S2, clusters: 1 }] });
    expect((await world.clusters.list({ stale: true, top: 10 })).items.map((s) => s.subscriptionId)).toEqual([S2]);

    // Discovered again: nothing stale, nothing listed.
    world.clock.set('2026-05-04T02:00:00.000Z');
    const fourth = await world.runs.get(await runToCompletion());
    expect(fourth?.subscriptionsNotDiscovered).toBeUndefined();
    expect((await world.clusters.list({ stale: true, top: 10 })).items).toEqual([]);
  });

  it('leaves alone the clusters a newer run has seen when an older run finishes without their subscription', async () => {
    await runToCompletion();
    const s3 = world.inventory.subscriptions.splice(world.inventory.subscriptions.findIndex((s) => s.subscriptionId === S3), 1)[0] as SubscriptionRef;
    world.clock.set('2026-05-02T02:00:00.000Z');
    const older = await world.service.starter.startRun({ trigger: 'timer' });
    const olderMessages = world.collect.drain();
    world.inventory.subscriptions.push(s3);
    world.clock.set('2026-05-02T03:00:00.000Z');
    await runToCompletion('on-demand');
    for (const m of olderMessages) await world.service.collector.collectSubscription(m, FIRST);
    for (const m of world.finalize.drain()) await world.service.finalizer.finalizeRun(m.runId);
    // The older run reports what it did not discover, without marking the newer results stale.
    expect(await world.runs.get(older.id)).toMatchObject({ status: 'succeeded', subscriptionsNotDiscovered: [{ subscriptionId: S3, clusters: 2 }] });
    expect((await world.clusters.listBySubscription(S3)).map((s) => s.stale)).toEqual([false, false]);
  });
});

describe('a partial-estate run (on demand, some subscriptions)', () => {
  it('updates only the requested subscriptions\' clusters, marks nothing else stale or not discovered, and summarises every cluster', async () => {
    await runToCompletion();
    const before = { s2: await world.clusters.listBySubscription(S2), s3: await world.clusters.listBySubscription(S3) };
    world.inventory.setRbac(S1, 'store-001', false);
    world.clock.set('2026-05-02T02:00:00.000Z');
    const run = await world.service.starter.startRun({ trigger: 'on-demand', requestedBy: 'alice', subscriptionIds: [S1.toUpperCase()] });
    expect(run).toMatchObject({ scope: 'partial-estate', scopeSubscriptionIds: [S1], subscriptionsTotal: 1 });
    const messages = world.collect.drain();
    expect(messages.map((m) => m.subscriptionId)).toEqual([S1]);
    for (const m of messages) await world.service.collector.collectSubscription(m, FIRST);
    for (const m of world.finalize.drain()) await world.service.finalizer.finalizeRun(m.runId);

    const stored = await world.runs.get(run.id);
    expect(stored).toMatchObject({ status: 'succeeded', scope: 'partial-estate', scopeSubscriptionIds: [S1], clustersEvaluated: 2 });
    expect(stored?.subscriptionsNotDiscovered).toBeUndefined();
    expect((await world.clusters.get(S1, 'edge-rg', 'store-001'))?.evaluation).toMatchObject({ runId: run.id });
    expect((await world.clusters.get(S1, 'edge-rg', 'store-001'))?.evaluation.failedControls).toContain('ARC-AC-01');
    // The other subscriptions are exactly as the full run left them: current, not stale.
    expect(await world.clusters.listBySubscription(S2)).toEqual(before.s2);
    expect(await world.clusters.listBySubscription(S3)).toEqual(before.s3);
    const summary = await world.summaries.getLatest();
    expect(summary?.runId).toBe(run.id);
    expect(summary?.totals).toMatchObject({ clusters: 5, stale: 0 });
    expect(Object.keys(summary?.perSubscription ?? {}).sort()).toEqual([S1, S2, S3]);
  });

  it('refuses subscriptions the app does not evaluate, naming each, before anything is written', async () => {
    const unknown = '99999999-9999-9999-9999-999999999999';
    const disabled = 'ffffffff-0000-0000-0000-000000000000';
    const refused = world.service.starter.startRun({ trigger: 'on-demand', subscriptionIds: [S1, unknown, disabled] });
    await expect(refused).rejects.toMatchObject({
      code: 'InvalidRequest',
      target: 'subscriptionIds',
      details: [
        { code: 'UnknownSubscription', target: 'subscriptionIds[1]' },
        { code: 'UnknownSubscription', target: 'subscriptionIds[2]' },
      ],
    });
    await expect(refused).rejects.toThrow(new RegExp(`${unknown}, ${disabled}`));
    expect((await world.runs.list(10)).items).toEqual([]);
    expect(world.collect.drain()).toEqual([]);
  });
});

describe('runs a crashed start left unfinished are swept', () => {
  /** A start killed after sending only S1's collect message: S2 and S3 never get one. */
  async function crashedStart(at: string): Promise<string> {
    world.clock.set(at);
    const run = await world.service.starter.startRun({ trigger: 'timer' });
    const [s1] = world.collect.drain();
    if (!s1) throw new Error('no message');
    await world.service.collector.collectSubscription(s1, FIRST);
    expect(world.finalize.drain()).toEqual([]);
    return run.id;
  }

  it('ends an overdue run at the next start: missing subscriptions failed with the reason, clusters stale, partial', async () => {
    await runToCompletion();
    const runId = await crashedStart('2026-05-02T02:00:00.000Z');
    world.clock.set('2026-05-02T07:59:59.999Z');
    expect(await world.service.starter.sweepOverdueRuns()).toEqual([]);
    expect((await world.runs.get(runId))?.status).toBe('running');

    world.clock.set('2026-05-02T08:00:00.000Z');
    const next = await world.service.starter.startRun({ trigger: 'on-demand' });
    const swept = await world.runs.get(runId);
    expect(swept).toMatchObject({ status: 'partial', subscriptionsSucceeded: 1, subscriptionsFailed: 2, completedAt: '2026-05-02T08:00:00.000Z' });
    expect(swept?.failures.map((f) => [f.subscriptionId, f.error])).toEqual([
      [S2, 'run overdue: no outcome after 6 h'],
      [S3, 'run overdue: no outcome after 6 h'],
    ]);
    expect((await world.clusters.list({ stale: true, top: 10 })).items.map((s) => s.subscriptionId).sort()).toEqual([S2, S3, S3]);
    expect((await world.runs.get(next.id))?.status).toBe('running');
    // Idempotent: nothing left to sweep, the run unchanged.
    world.clock.advance(3_600_000);
    expect(await world.service.starter.sweepOverdueRuns()).toEqual([]);
    expect(await world.runs.get(runId)).toEqual(swept);
  });

  it('leaves current the clusters a newer run has seen since the overdue run started', async () => {
    await runToCompletion();
    const runId = await crashedStart('2026-05-02T02:00:00.000Z');
    world.clock.set('2026-05-02T03:00:00.000Z');
    const newer = await runToCompletion('on-demand');
    world.clock.set('2026-05-02T09:00:00.000Z');
    expect(await world.service.starter.sweepOverdueRuns()).toEqual([{ runId, status: 'partial', subscriptionsRecorded: 2 }]);
    expect((await world.clusters.list({ stale: true, top: 10 })).items).toEqual([]);
    expect((await world.clusters.get(S2, 'lab', 'lab-a/b#c?d'))?.evaluation.runId).toBe(newer);
  });

  it('fails a run never started, and one whose missing subscriptions cannot be told apart', async () => {
    const runId = await crashedStart('2026-05-02T02:00:00.000Z');
    // Killed after opening the run, before discovery ended: still `queued`.
    await world.runs.create(queuedRun('never-started', 'timer', undefined, '2026-05-01T20:00:00.000Z'));
    // A subscription added since the run started: three discovered without an outcome for two missing.
    world.inventory.addCluster('44444444-4444-4444-4444-444444444444', 'rg', 'new');
    world.clock.set('2026-05-02T08:00:00.000Z');
    const outcomes = await world.service.starter.sweepOverdueRuns();
    expect(outcomes).toEqual([
      { runId: 'never-started', status: 'failed', subscriptionsRecorded: 0 },
      { runId, status: 'failed', subscriptionsRecorded: 0 },
    ]);
    expect((await world.runs.get('never-started'))?.failures).toEqual([{ subscriptionId: '*', error: 'run overdue: not started after 6 h', at: '2026-05-02T08:00:00.000Z' }]);
    expect((await world.runs.get(runId))?.failures.map((f) => f.error)).toEqual([
      'run overdue: no outcome after 6 h for 2 subscription(s) not identified (3 discovered subscription(s) without an outcome for 2 missing)',
    ]);
  });
});

describe('evaluation.completed', () => {
  it('says whether the run covered the whole estate, and which subscriptions a partial-estate run evaluated, in the documented shape', async () => {
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
    addFormats(ajv);
    const validate = ajv.compile(webhookSchemas['EvaluationCompletedEvent']!);
    const events: OutboundEvent[] = [];
    const service = serviceWith({ events: { publish: async (e) => void events.push(e) } });
    const finish = async (request: Parameters<typeof service.starter.startRun>[0]): Promise<string> => {
      const run = await service.starter.startRun(request);
      for (const m of world.collect.drain()) await service.collector.collectSubscription(m, FIRST);
      for (const m of world.finalize.drain()) await service.finalizer.finalizeRun(m.runId);
      return run.id;
    };
    const full = await finish({ trigger: 'timer' });
    world.clock.set('2026-05-02T02:00:00.000Z');
    const partial = await finish({ trigger: 'on-demand', requestedBy: 'alice', subscriptionIds: [S3.toUpperCase(), S1] });
    const completed = events.filter((e) => e.type === 'evaluation.completed');
    expect(completed.map((e) => (e.data as { runId: string }).runId)).toEqual([full, partial]);
    const [fullEvent, partialEvent] = completed;
    expect(fullEvent?.data).toMatchObject({ scope: 'full-estate', clustersEvaluated: 5 });
    expect(fullEvent?.data).not.toHaveProperty('scopeSubscriptionIds');
    // A full-estate run concerns no one subscription: it passes every subscription filter.
    expect(fullEvent?.scope).toBeUndefined();
    expect(partialEvent?.data).toMatchObject({ scope: 'partial-estate', scopeSubscriptionIds: [S1, S3].sort(), clustersEvaluated: 4, subscriptionsNotDiscovered: 0 });
    expect(partialEvent?.scope).toEqual({ subscriptionIds: [S1, S3].sort() });
    // Exactly the documented fields (the schema allows no others).
    for (const e of completed) expect(validate(e.data), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...(fullEvent?.data as object), scopeOf: 'x' })).toBe(false);
  });

  it('carries the run\'s clustersIncomplete and subscriptionsNotDiscovered counts', async () => {
    await runToCompletion();
    const events: OutboundEvent[] = [];
    const service = serviceWith({ events: { publish: async (e) => void events.push(e) } });
    world.inventory.subscriptions.splice(world.inventory.subscriptions.findIndex((s) => s.subscriptionId === S3), 1);
    world.inventory.failingExtensions.add(world.inventory.clusters.get(S1)?.[0]?.id.toLowerCase() ?? '');
    world.clock.set('2026-05-02T02:00:00.000Z');
    const run = await service.starter.startRun({ trigger: 'timer' });
    for (const m of world.collect.drain()) await service.collector.collectSubscription(m, FIRST);
    for (const m of world.finalize.drain()) await service.finalizer.finalizeRun(m.runId);
    const completed = events.filter((e) => e.type === 'evaluation.completed');
    expect(completed.map((e) => e.data)).toEqual([
      expect.objectContaining({ runId: run.id, status: 'succeeded', clustersEvaluated: 3, clustersIncomplete: 1, subscriptionsNotDiscovered: 1, subscriptionsFailed: 0 }),
    ]);
  });
});

/**
 * What a collect reads of its run's outcomes: after recording its own, a collector asks whether the
 * run is complete. Reading every outcome to answer made a run's reads grow with the square of its
 * subscriptions; the answer now comes from a few counter rows, and must stay exact under redelivery
 * and concurrent collectors. Reads are counted on the wire (a pipeline policy on the `runs` client),
 * not timed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableStore } from '../../../adapters/storage/table-store.js';
import { TableClusterStateRepository } from '../../../adapters/storage/table-cluster-state-repository.js';
import { TableRunRepository, runKeys } from '../../../adapters/storage/table-run-repository.js';
import { TableHistoryRepository } from '../../../adapters/storage/table-history-repository.js';
import { TableSummaryRepository } from '../../../adapters/storage/table-summary-repository.js';
import { TableExceptionRepository } from '../../../adapters/storage/table-exception-repository.js';
import { QueueDelivery } from '../../../application/queue-delivery.js';
import { progressStep } from '../../../application/evaluation-subscription-collector.js';
import { evaluationOutputs, evaluationServices } from '../../support/evaluation-services.js';
import type { CollectSubscriptionMessage, FinalizeRunMessage } from '../../../application/messages.js';
import type { EvaluationRun } from '../../../application/ports.js';
import { FakeInventory } from './fake-inventory.js';
import { uniquePrefix } from './fixtures.js';
import { FixedClock, RecordingMessageQueue } from '../../support/in-memory-ports.js';

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

const FIRST = QueueDelivery.of(1, 5);
const sub = (i: number): string => `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`;

/** Outcome rows and counter shards the Table service returned to the client. */
function countingReads(store: TableStore): { outcomes: number; counters: number } {
  const reads = { outcomes: 0, counters: 0 };
  const policy: PipelinePolicy = {
    name: 'count-outcome-rows-read',
    async sendRequest(request, next) {
      const response = await next(request);
      if (request.method === 'GET' && response.status === 200 && response.bodyAsText) {
        const body = JSON.parse(response.bodyAsText) as { value?: unknown };
        const rows = (Array.isArray(body.value) ? body.value : [body]) as { PartitionKey?: unknown; RowKey?: unknown }[];
        for (const row of rows) {
          if (typeof row.PartitionKey !== 'string') continue;
          if (row.PartitionKey.startsWith('outcome-counts|')) reads.counters += 1;
          else if (row.PartitionKey.startsWith('outcomes|')) reads.outcomes += 1;
        }
      }
      return response;
    },
  };
  store.client('runs').pipeline.addPolicy(policy);
  return reads;
}

it('reads no outcome row per collect however many are recorded, and enqueues finalize once, at the last', async () => {
  const store = await TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: uniquePrefix() });
  const reads = countingReads(store);
  const clock = new FixedClock(new Date('2026-05-01T02:00:00.000Z'));
  const inventory = new FakeInventory(() => clock.now());
  const subscriptions = 30;
  for (let i = 1; i <= subscriptions; i += 1) inventory.addCluster(sub(i), 'rg', `c${i}`);
  const collect = new RecordingMessageQueue<CollectSubscriptionMessage>();
  const finalize = new RecordingMessageQueue<FinalizeRunMessage>();
  const runs = new TableRunRepository(store);
  const clusters = new TableClusterStateRepository(store);
  const outputs = evaluationOutputs({ runs, clusters, inventory, clock });
  const service = evaluationServices({
    inventory,
    runs,
    clusters,
    history: new TableHistoryRepository(store),
    summaries: new TableSummaryRepository(store),
    exceptions: new TableExceptionRepository(store),
    collectQueue: collect,
    finalizeQueue: finalize,
    clock,
    newRunId: () => 'run-1',
    settings: { subscriptionIds: undefined, armMaxConcurrency: 2, historyRetentionDays: 90 },
    events: outputs.events,
    evidence: outputs.evidence,
    controlPlane: outputs.controlPlane,
  });
  const run = await service.starter.startRun({ trigger: 'timer' });
  const messages = collect.drain();
  expect(messages).toHaveLength(subscriptions);

  const perCollect: { outcomes: number; counters: number }[] = [];
  const deliver = async (message: CollectSubscriptionMessage): Promise<void> => {
    const before = { ...reads };
    expect(await service.collector.collectSubscription(message, FIRST)).toMatchObject({ kind: 'collected' });
    perCollect.push({ outcomes: reads.outcomes - before.outcomes, counters: reads.counters - before.counters });
  };
  for (const message of messages.slice(0, -1)) await deliver(message);
  // Redeliveries (a host that lost its lease) record the same outcome again: counted once, no early finalize.
  await deliver(messages[0]!);
  await deliver(messages[5]!);
  expect(await runs.countSubscriptionOutcomes(run.id)).toBe(subscriptions - 1);
  expect(finalize.drain()).toEqual([]);
  // The running run shows progress as of its last tenth.
  const running = await runs.get(run.id);
  expect(running?.status).toBe('running');
  expect(running?.subscriptionsSucceeded).toBe(Math.floor((subscriptions - 1) / progressStep(subscriptions)) * progressStep(subscriptions));
  await deliver(messages[messages.length - 1]!);
  expect(finalize.drain()).toEqual([{ kind: 'finalize-run', runId: run.id }]);

  // Under the old refresh, collect k read k outcome rows (over 400 in this run); now only the
  // collects that reach a tenth of the estate read them (progress for a running run), the others
  // none, and each at most its own counter shard plus each shard's count once.
  const step = progressStep(subscriptions);
  const reading = perCollect.filter((r) => r.outcomes > 0);
  expect(reading.length).toBeGreaterThan(0);
  expect(reading.length).toBeLessThanOrEqual(Math.ceil(subscriptions / step));
  expect(perCollect.reduce((n, r) => n + r.outcomes, 0)).toBeLessThanOrEqual(Math.ceil(subscriptions / step) * subscriptions);
  for (const r of perCollect) expect(r.counters).toBeLessThanOrEqual(runKeys.counterShards + 1);

  // Finalize aggregates every outcome once.
  const before = reads.outcomes;
  const done = await service.finalizer.finalizeRun(run.id);
  expect(done?.run).toMatchObject({ status: 'succeeded', subscriptionsSucceeded: subscriptions, subscriptionsFailed: 0, clustersEvaluated: subscriptions });
  expect(reads.outcomes - before).toBeGreaterThanOrEqual(subscriptions);
  expect(outputs.events.published.filter((e) => e.type === 'evaluation.completed')).toHaveLength(1);
});

it('counts each subscription exactly once under concurrent and repeated recording', async () => {
  const store = await TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: uniquePrefix() });
  const runs = new TableRunRepository(store);
  const total = 160;
  const run: EvaluationRun = {
    id: 'r/1#x',
    trigger: 'timer',
    status: 'running',
    requestedBy: undefined,
    createdAt: '2026-05-01T02:00:00.000Z',
    startedAt: '2026-05-01T02:00:00.000Z',
    completedAt: undefined,
    subscriptionsTotal: total,
    subscriptionsSucceeded: 0,
    subscriptionsFailed: 0,
    failures: [],
    clustersEvaluated: 0,
  };
  await runs.create(run);
  const at = '2026-05-01T02:01:00.000Z';
  // Every subscription recorded and counted three ways at once: a success, a redelivered success, a
  // poisoned copy; the shards (fewer than the subscriptions) take concurrent ETag updates.
  const record = async (s: string, write: () => Promise<unknown>): Promise<void> => {
    await write();
    await runs.countSubscriptionOutcome(run.id, s);
  };
  await Promise.all(
    Array.from({ length: total }, (_, i) => sub(i)).flatMap((s) => [
      record(s, () => runs.recordSubscriptionOutcome(run.id, s, { ok: true, clusters: 2 }, at)),
      record(s, () => runs.recordSubscriptionOutcome(run.id, s, { ok: true, clusters: 2 }, at)),
      record(s, () => runs.recordSubscriptionOutcomeIfAbsent(run.id, s, { ok: false, error: 'poisoned' }, at)),
    ]),
  );
  expect(await runs.countSubscriptionOutcomes(run.id)).toBe(total);
  expect(await runs.subscriptionsWithOutcome(run.id)).toEqual(Array.from({ length: total }, (_, i) => sub(i)));
  // Counter rows are not outcomes: the aggregate sees exactly the recorded subscriptions.
  const refreshed = await runs.refresh(run.id, at, { final: true });
  expect((refreshed?.subscriptionsSucceeded ?? 0) + (refreshed?.subscriptionsFailed ?? 0)).toBe(total);
  expect(refreshed?.completedAt).toBe(at);
});

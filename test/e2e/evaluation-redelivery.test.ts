/**
 * At-least-once delivery of `evaluation-collect`: the same message sent again (base64 JSON, as the
 * host's output binding writes it) leaves the stored cluster states, index and history exactly as the
 * first delivery left them — whether it arrives while its run is still open (rewritten, with the same
 * drift) or after the run finished (skipped).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TableEntity } from '@azure/data-tables';
import { clusterPath, COLLECT_QUEUE, startE2eStack, waitFor, type E2eStack } from '../support/e2e-stack.js';
import { encodeQueueMessage } from '../../adapters/storage/storage-queue.js';
import type { CollectSubscriptionMessage } from '../../application/messages.js';
import type { ClusterHistoryView, ClusterView, EvaluationView } from '../../application/compliance-query-service.js';
import { DEMO_SUBSCRIPTIONS } from '../../local/arm-emulator/fleet/demo-fleet.js';

const RETAIL = DEMO_SUBSCRIPTIONS.retail;
const SLOW = DEMO_SUBSCRIPTIONS.branches;
/** Holds the run open long enough for the duplicate to be processed before the run completes. */
const SLOW_LISTING_MS = 8_000;

let e: E2eStack;
let first: EvaluationView;

beforeAll(async () => {
  e = await startE2eStack();
  first = await e.timerRun();
});
afterAll(async () => {
  await e?.stop();
});

const collectMessage = (run: EvaluationView, subscriptionId: string): CollectSubscriptionMessage => ({
  kind: 'collect-subscription',
  runId: run.id,
  subscriptionId,
  runStartedAt: run.startedAt!,
});

/** Everything a collect writes for clusters, the index and history (timestamps/etags stripped). */
async function storedResults(): Promise<Record<string, TableEntity[]>> {
  return { clusters: await e.entities('clusters'), clusterindex: await e.entities('clusterindex'), history: await e.historyEntities() };
}

const collectedLines = (run: EvaluationView, subscriptionId: string): number =>
  e.logs.filter((l) => l.functionName === 'evaluationCollectSubscription' && l.message.startsWith(`run ${run.id}: subscription ${subscriptionId}:`) && /cluster\(s\)$/.test(l.message)).length;

it('rewrites identical rows, with the same drift, when the message is redelivered during its run', async () => {
  expect(first.status).toBe('succeeded');
  const emulator = e.stack.emulator!;
  // A change since the first run, so the second run stores drift the redelivery must reproduce.
  const flipped = emulator.fleet.clusters.find((c) => c.resource.name === 'store-ams-001')!;
  (flipped.resource['properties'] as { aadProfile: { enableAzureRBAC: boolean } }).aadProfile.enableAzureRBAC = false;
  emulator.faults.latency({ route: 'connectedClusters.listBySubscription', subscriptionId: SLOW, ms: SLOW_LISTING_MS });

  await e.stack.host.invokeTimer('evaluationTimer');
  const runs = (await e.api<{ value: EvaluationView[] }>('/v1/evaluations?top=10')).body.value;
  const second = runs.find((r) => r.id !== first.id)!;
  expect(second).toBeDefined();

  // Retail is collected; the run still waits for the slow subscription.
  await waitFor('retail collected', async () => (collectedLines(second, RETAIL) === 1 ? true : undefined));
  const afterFirstDelivery = await storedResults();
  expect((await e.api<EvaluationView>(`/v1/evaluations/${second.id}`)).body.completedAt).toBeNull();

  await e.queue(COLLECT_QUEUE).sendMessage(encodeQueueMessage(collectMessage(second, RETAIL)));
  await waitFor('the duplicate to be collected', async () => (collectedLines(second, RETAIL) === 2 ? true : undefined));
  const afterRedelivery = await storedResults();
  expect((await e.api<EvaluationView>(`/v1/evaluations/${second.id}`)).body.completedAt, 'the duplicate ran while the run was open').toBeNull();
  expect(afterRedelivery).toEqual(afterFirstDelivery);

  const done = await e.waitForRun(second.id);
  expect(done.status).toBe('succeeded');
  // The duplicate outcome is counted once.
  expect(done.subscriptions).toEqual({ total: 3, succeeded: 3, failed: 0 });
  expect(done.clustersEvaluated).toBe(emulator.fleet.clusters.length);

  const history = (await e.api<ClusterHistoryView>(`${clusterPath(flipped)}/history`)).body.value;
  expect(history.map((h) => h.runId)).toEqual([first.id, second.id]);
  expect(history[1]!.drift).toEqual([{ controlId: 'ARC-AC-01', from: 'pass', to: 'fail' }]);
});

it('leaves every stored result unchanged when the message is redelivered after its run finished', async () => {
  const runs = (await e.api<{ value: EvaluationView[] }>('/v1/evaluations?top=10')).body.value;
  const latest = runs[0]!;
  expect(latest.status).toBe('succeeded');
  const before = { ...(await storedResults()), summaries: await e.entities('summaries'), runs: await e.entities('runs') };
  const viewBefore = (await e.api<ClusterView>(clusterPath(e.cluster('store-ams-001')))).body;

  await e.queue(COLLECT_QUEUE).sendMessage(encodeQueueMessage(collectMessage(latest, RETAIL)));
  await waitFor('the duplicate to be handled', async () =>
    e.logs.some((l) => l.functionName === 'evaluationCollectSubscription' && l.message.includes(`run ${latest.id}: subscription ${RETAIL} skipped`)) ? true : undefined,
  );
  await e.waitForQueueEmpty(COLLECT_QUEUE);

  const after = { ...(await storedResults()), summaries: await e.entities('summaries'), runs: await e.entities('runs') };
  expect(after).toEqual(before);
  expect((await e.api<ClusterView>(clusterPath(e.cluster('store-ams-001')))).body).toEqual(viewBefore);
  const poison = e.queue(`${COLLECT_QUEUE}-poison`);
  if (await poison.exists()) expect((await poison.getProperties()).approximateMessagesCount).toBe(0);
});

/**
 * A subscription whose every ARM call fails through all queue deliveries: the run ends `partial` with
 * the failure recorded (not a silently poisoned message), that subscription's clusters keep their last
 * results marked stale; once ARM heals, the next run succeeds and nothing is stale.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clusterPath, COLLECT_QUEUE, startE2eStack, type E2eStack } from '../support/e2e-stack.js';
import type { ClusterSummaryView, ClusterView, EvaluationView } from '../../application/compliance-query-service.js';
import type { FleetSummary } from '../../domain/model.js';
import { MAX_DEQUEUE_COUNT } from '../../application/messages.js';
import { DEMO_SUBSCRIPTIONS } from '../../local/arm-emulator/fleet/demo-fleet.js';

const FAILING = DEMO_SUBSCRIPTIONS.factories;
/**
 * The failing run is slow by construction: every delivery spends ~7 s in the SDK's own retries of the
 * 500s (3 retries, exponential), and the collector records the failure only on delivery
 * MAX_DEQUEUE_COUNT (5, pinned to host.json), so ~35-40 s before the run can finish.
 */
const FAILING_RUN_TIMEOUT_MS = 75_000;

let e: E2eStack;
let first: EvaluationView;
const before = new Map<string, ClusterView>();

beforeAll(async () => {
  e = await startE2eStack();
  first = await e.timerRun();
  for (const c of e.stack.emulator!.fleet.clusters) before.set(c.resource.id.toLowerCase(), (await e.api<ClusterView>(clusterPath(c))).body);
});
afterAll(async () => {
  await e?.stop();
});

async function clusters(query = ''): Promise<ClusterSummaryView[]> {
  const res = await e.api<{ value: ClusterSummaryView[] }>(`/v1/clusters?top=1000${query}`);
  expect(res.status).toBe(200);
  return res.body.value;
}

async function poisonCount(): Promise<number> {
  const q = e.queue(`${COLLECT_QUEUE}-poison`);
  return (await q.exists()) ? ((await q.getProperties()).approximateMessagesCount ?? 0) : 0;
}

it('records a subscription that fails every delivery and marks its clusters stale with their last results', async () => {
  expect(first.status).toBe('succeeded');
  const fleet = e.stack.emulator!.fleet;
  const failingIds = new Set(fleet.clusters.filter((c) => c.resource.id.toLowerCase().startsWith(`/subscriptions/${FAILING}/`)).map((c) => c.resource.id.toLowerCase()));
  expect(failingIds.size).toBeGreaterThan(0);

  e.stack.emulator!.faults.failSubscription(FAILING);
  const second = await e.timerRun(FAILING_RUN_TIMEOUT_MS - 5_000);

  expect(second.status).toBe('partial');
  expect(second.subscriptions).toEqual({ total: 3, succeeded: 2, failed: 1 });
  expect(second.failures).toHaveLength(1);
  expect(second.failures[0]!.subscriptionId).toBe(FAILING);
  // The error text says what ARM answered.
  expect(second.failures[0]!.error).toMatch(/500|InternalServerError/);
  expect(second.failures[0]!.error).toContain('is failing (emulator fault)');
  expect(second.clustersEvaluated).toBe(fleet.clusters.length - failingIds.size);
  // The message was not dead-lettered: the run recorded the failure itself (the poison handler,
  // which drains the poison queue, never ran).
  expect(await poisonCount()).toBe(0);
  expect(e.logs.some((l) => l.functionName === 'evaluationCollectPoison')).toBe(false);
  expect(e.stack.emulator!.faults.injected.subscriptionFailure).toBeGreaterThan(0);
  // Every delivery up to the last one was tried (the failure was not recorded early).
  const attempts = e.logs.filter((l) => l.functionName === 'evaluationCollectSubscription' && l.message.startsWith(`Executed`) && l.message.includes('Failed')).length;
  expect(attempts).toBe(MAX_DEQUEUE_COUNT - 1);

  for (const c of fleet.clusters) {
    const id = c.resource.id.toLowerCase();
    const view = (await e.api<ClusterView>(clusterPath(c))).body;
    const previous = before.get(id)!;
    if (failingIds.has(id)) {
      expect(view.stale, c.resource.name).toBe(true);
      expect(view.lastEvaluatedAt).toBe(first.startedAt);
      expect(view.runId).toBe(first.id);
      expect(view.lastSeenAt).toBe(previous.lastSeenAt);
      expect(view.controls).toEqual(previous.controls);
      expect(view.score).toBe(previous.score);
    } else {
      expect(view.stale, c.resource.name).toBe(false);
      expect(view.lastEvaluatedAt).toBe(second.startedAt);
      expect(view.runId).toBe(second.id);
    }
  }
  const stale = await clusters('&stale=true');
  expect(new Set(stale.map((c) => c.id.toLowerCase()))).toEqual(failingIds);

  const summary = (await e.api<FleetSummary>('/v1/summary')).body;
  expect(summary.runId).toBe(second.id);
  expect(summary.totals.clusters).toBe(fleet.clusters.length);
  expect(summary.totals.stale).toBe(failingIds.size);
  expect(summary.perSubscription[FAILING]!.stale).toBe(failingIds.size);
}, FAILING_RUN_TIMEOUT_MS);

it('succeeds again once the subscription heals, with nothing stale', async () => {
  e.stack.emulator!.faults.healSubscription(FAILING);
  const third = await e.timerRun();
  expect(third.status).toBe('succeeded');
  expect(third.subscriptions).toEqual({ total: 3, succeeded: 3, failed: 0 });
  expect(third.failures).toEqual([]);
  const all = await clusters();
  expect(all).toHaveLength(e.stack.emulator!.fleet.clusters.length);
  for (const c of all) {
    expect(c.stale, c.name).toBe(false);
    expect(c.lastEvaluatedAt).toBe(third.startedAt);
  }
  expect(await clusters('&stale=true')).toEqual([]);
  expect((await e.api<FleetSummary>('/v1/summary')).body.totals.stale).toBe(0);
  expect(await poisonCount()).toBe(0);
});

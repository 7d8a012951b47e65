/**
 * ARM throttling (429 + Retry-After) during a whole run: the run still succeeds, and every throttled
 * request is retried exactly once (the SDK pipeline honours Retry-After; nothing else retries, and
 * no queue redelivery re-reads the subscription). A subscription still throttled after the SDK's
 * retries has its collect deferred by at least Retry-After (not the queue's fixed visibility delay),
 * once, and is then collected.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startE2eStack, type E2eStack } from '../support/e2e-stack.js';
import type { EvaluationView } from '../../application/compliance-query-service.js';
import { DEMO_SUBSCRIPTIONS } from '../../local/arm-emulator/fleet/demo-fleet.js';

const THROTTLED: Readonly<Record<string, number>> = {
  'subscriptions.list': 1,
  'connectedClusters.listBySubscription': 2,
  'policyStates.queryResults': 2,
  'policyAssignments.list': 1,
  'extensions.list': 4,
  'fluxConfigurations.list': 3,
};

let e: E2eStack;
let baseline: Record<string, number>;
let baselineRun: EvaluationView;

beforeAll(async () => {
  e = await startE2eStack();
  // An unthrottled run gives the request count of each route for this fleet.
  baselineRun = await e.timerRun();
  baseline = { ...e.stack.emulator!.requests.snapshot() };
});
afterAll(async () => {
  await e?.stop();
});

it('succeeds under 429s with exactly one retry per throttled request', async () => {
  const emulator = e.stack.emulator!;
  expect(baselineRun.status).toBe('succeeded');
  for (const route of Object.keys(THROTTLED)) expect(baseline[route], route).toBeGreaterThan(0);

  emulator.requests.reset();
  for (const [route, count] of Object.entries(THROTTLED)) emulator.faults.throttle({ route, count, retryAfterSeconds: 1 });
  const throttledBefore = emulator.faults.injected.throttle;

  const run = await e.timerRun();
  expect(run.status).toBe('succeeded');
  expect(run.failures).toEqual([]);
  expect(run.clustersEvaluated).toBe(baselineRun.clustersEvaluated);

  const total = Object.values(THROTTLED).reduce((n, c) => n + c, 0);
  expect(emulator.faults.injected.throttle - throttledBefore).toBe(total);
  const throttledLog = emulator.requests.log.filter((r) => r.fault === 'throttle');
  expect(throttledLog).toHaveLength(total);
  for (const r of throttledLog) expect(r.status).toBe(429);

  const after = emulator.requests.snapshot();
  for (const route of new Set([...Object.keys(baseline), ...Object.keys(after)])) {
    if (route.startsWith('unauthenticated:') || route === 'identity.token') continue;
    // The same reads as the clean run, plus one retry per 429 and not one request more.
    expect(after[route] ?? 0, route).toBe((baseline[route] ?? 0) + (THROTTLED[route] ?? 0));
  }
  // Each throttled request was answered on its retry: no 429 is the last word on any path.
  const byPath = new Map<string, number[]>();
  for (const r of emulator.requests.log) {
    const statuses = byPath.get(`${r.method} ${r.path}`) ?? [];
    statuses.push(r.status);
    byPath.set(`${r.method} ${r.path}`, statuses);
  }
  for (const [path, statuses] of byPath) expect(statuses[statuses.length - 1], path).not.toBe(429);
});

it('defers a subscription still throttled after the SDK retries by its Retry-After, then collects it', async () => {
  const emulator = e.stack.emulator!;
  const RETAIL = DEMO_SUBSCRIPTIONS.retail;
  /** Longer than the test host's 1 s queue visibility timeout, so only Retry-After explains the wait. */
  const RETRY_AFTER_SECONDS = 3;
  const LISTING = 'connectedClusters.listBySubscription';
  emulator.faults.clear();
  emulator.requests.reset();
  // Four answers: the first attempt and the SDK's three retries all see 429, so the listing gives up once.
  emulator.faults.throttle({ route: LISTING, subscriptionId: RETAIL, count: 4, retryAfterSeconds: RETRY_AFTER_SECONDS });

  const run = await e.timerRun(60_000);
  expect(run.status).toBe('succeeded');
  expect(run.subscriptions).toEqual({ total: 3, succeeded: 3, failed: 0 });
  expect(run.clustersEvaluated).toBe(baselineRun.clustersEvaluated);

  const listings = emulator.requests.log.filter((r) => r.route === LISTING && r.subscriptionId?.toLowerCase() === RETAIL);
  expect(listings.map((r) => r.status)).toEqual([429, 429, 429, 429, 200]);
  // The collect came back no sooner than Retry-After after the last 429 (the queue alone: 1 s).
  expect(listings[4]!.at - listings[3]!.at).toBeGreaterThanOrEqual(RETRY_AFTER_SECONDS * 1000);
  const collectLogs = e.logs.filter((l) => l.functionName === 'evaluationCollectSubscription');
  expect(collectLogs.filter((l) => l.message.includes(`run ${run.id}: subscription ${RETAIL} throttled on attempt 1; deferred by ${RETRY_AFTER_SECONDS} s`))).toHaveLength(1);
  // Deferred, not failed: the host never redelivered (no failed execution) and nothing was poisoned.
  expect(collectLogs.filter((l) => l.message.startsWith('Executed') && l.message.includes('Failed'))).toHaveLength(0);
  expect(e.logs.some((l) => l.functionName === 'evaluationCollectPoison')).toBe(false);
  // Not amplified: the deferred attempt re-read only the subscription-level queries; clusters once.
  const retailClusters = emulator.fleet.clusters.filter((c) => c.resource.id.toLowerCase().startsWith(`/subscriptions/${RETAIL}/`)).length;
  expect(emulator.requests.count('policyStates.queryResults', RETAIL)).toBe(2);
  expect(emulator.requests.count('policyAssignments.list', RETAIL)).toBe(1);
  expect(emulator.requests.count('extensions.list', RETAIL)).toBe(retailClusters);
  expect(emulator.requests.count('fluxConfigurations.list', RETAIL)).toBe(retailClusters);
}, 90_000);

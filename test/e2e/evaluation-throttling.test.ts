/**
 * ARM throttling (429 + Retry-After) during a whole run: the run still succeeds, and every throttled
 * request is retried exactly once (the SDK pipeline honours Retry-After; nothing else retries, and
 * no queue redelivery re-reads the subscription).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startE2eStack, type E2eStack } from '../support/e2e-stack.js';
import type { EvaluationView } from '../../application/compliance-query-service.js';

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

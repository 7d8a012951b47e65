/**
 * Overlapping runs (a nightly run still waiting on a slow subscription while an on-demand run
 * completes): the older run's late collector must not roll the newer run's cluster states back, and
 * its history entry sorts before the newer one with drift measured against the run before it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clusterPath, startE2eStack, waitFor, type E2eStack } from '../support/e2e-stack.js';
import type { ClusterHistoryView, ClusterView, EvaluationView } from '../../application/compliance-query-service.js';
import { DEMO_SUBSCRIPTIONS } from '../../local/arm-emulator/fleet/demo-fleet.js';

const SLOW = DEMO_SUBSCRIPTIONS.branches;
const SLOW_LISTING_MS = 10_000;

let e: E2eStack;
let first: EvaluationView;

beforeAll(async () => {
  e = await startE2eStack();
  first = await e.timerRun();
});
afterAll(async () => {
  await e?.stop();
});

it('keeps the newer run\'s results when an older run\'s collector finishes last', async () => {
  expect(first.status).toBe('succeeded');
  const emulator = e.stack.emulator!;
  const slowCluster = emulator.fleet.clusters.find((c) => c.resource.id.toLowerCase().startsWith(`/subscriptions/${SLOW}/`))!;

  emulator.faults.latency({ route: 'connectedClusters.listBySubscription', subscriptionId: SLOW, ms: SLOW_LISTING_MS });
  const older = (await e.api<EvaluationView>('/v1/evaluations', { method: 'POST', roles: ['Compliance.Evaluate'] })).body;
  // The two fast subscriptions collected: the slow listing (same batch of messages) is in flight.
  await waitFor('the fast subscriptions of the older run', async () =>
    e.logs.filter((l) => l.functionName === 'evaluationCollectSubscription' && l.message.startsWith(`run ${older.id}: subscription`) && l.message.endsWith('cluster(s)')).length === 2
      ? true
      : undefined,
  );
  emulator.faults.clear();
  const newer = (await e.api<EvaluationView>('/v1/evaluations', { method: 'POST', roles: ['Compliance.Evaluate'] })).body;
  const newerDone = await e.waitForRun(newer.id);
  expect(newerDone.status).toBe('succeeded');
  expect((await e.api<EvaluationView>(`/v1/evaluations/${older.id}`)).body.completedAt, 'the older run is still open').toBeNull();
  const olderDone = await e.waitForRun(older.id);
  expect(olderDone.status).toBe('succeeded');

  // Current state: the newer run's, for every cluster.
  for (const c of emulator.fleet.clusters) {
    const view = (await e.api<ClusterView>(clusterPath(c))).body;
    expect(view.runId, c.resource.name).toBe(newer.id);
    expect(view.lastEvaluatedAt).toBe(newerDone.startedAt);
    expect(view.stale).toBe(false);
  }
  // History: one entry per run, in run order, no spurious drift.
  const h = (await e.api<ClusterHistoryView>(`${clusterPath(slowCluster)}/history`)).body.value;
  expect(h.map((x) => x.runId)).toEqual([first.id, older.id, newer.id]);
  for (const entry of h) expect(entry.drift).toEqual([]);
}, 45_000);

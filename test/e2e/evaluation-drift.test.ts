/**
 * Drift between consecutive runs: the fleet changes between two timer runs, the second run's history
 * entries record exactly the controls that changed (pass→fail and fail→pass), and the cluster history
 * API returns them; unchanged clusters record no drift.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clusterPath, startE2eStack, type E2eStack } from '../support/e2e-stack.js';
import type { ClusterHistoryView, ClusterSummaryView, ClusterView, EvaluationView } from '../../application/compliance-query-service.js';
import type { FleetCluster } from '../../local/arm-emulator/fleet-model.js';

let e: E2eStack;
let first: EvaluationView;
let second: EvaluationView;
let regressed: FleetCluster;
let improved: FleetCluster;

const setRbac = (c: FleetCluster, enabled: boolean): void => {
  (c.resource['properties'] as { aadProfile: { enableAzureRBAC: boolean } }).aadProfile.enableAzureRBAC = enabled;
};

beforeAll(async () => {
  e = await startE2eStack();
  first = await e.timerRun();
  regressed = e.cluster('store-ams-001');
  improved = e.cluster('store-dub-003');
  setRbac(regressed, false);
  setRbac(improved, true);
  second = await e.timerRun();
});
afterAll(async () => {
  await e?.stop();
});

const history = async (c: FleetCluster, query = ''): Promise<ClusterHistoryView> => {
  const res = await e.api<ClusterHistoryView>(`${clusterPath(c)}/history${query}`);
  expect(res.status).toBe(200);
  return res.body;
};

it('records pass→fail and fail→pass drift for the changed control in the second run', async () => {
  expect(first.status).toBe('succeeded');
  expect(second.status).toBe('succeeded');

  const down = await history(regressed);
  expect(down.clusterId.toLowerCase()).toBe(regressed.resource.id.toLowerCase());
  expect(down.value.map((h) => h.runId)).toEqual([first.id, second.id]);
  expect(down.value[0]!.drift).toEqual([]);
  expect(down.value[0]!.statuses['ARC-AC-01']).toBe('pass');
  expect(down.value[1]!.statuses['ARC-AC-01']).toBe('fail');
  expect(down.value[1]!.drift).toEqual([{ controlId: 'ARC-AC-01', from: 'pass', to: 'fail' }]);
  expect(down.value[1]!.score).toBeLessThan(down.value[0]!.score);

  const up = await history(improved);
  expect(up.value.map((h) => h.runId)).toEqual([first.id, second.id]);
  expect(up.value[1]!.drift).toEqual([{ controlId: 'ARC-AC-01', from: 'fail', to: 'pass' }]);

  // The current state agrees with the latest history entry.
  const view = (await e.api<ClusterView>(clusterPath(regressed))).body;
  expect(view.runId).toBe(second.id);
  expect(view.failedControls).toContain('ARC-AC-01');
  const failing = (await e.api<{ value: ClusterSummaryView[] }>('/v1/clusters?controlId=ARC-AC-01&top=1000')).body.value.map((c) => c.name);
  expect(failing).toContain(regressed.resource.name);
  expect(failing).not.toContain(improved.resource.name);
});

it('records no drift for clusters that did not change', async () => {
  for (const c of e.stack.emulator!.fleet.clusters) {
    if (c === regressed || c === improved) continue;
    const h = await history(c);
    expect(h.value.map((x) => x.runId), c.resource.name).toEqual([first.id, second.id]);
    expect(h.value[1]!.drift, c.resource.name).toEqual([]);
    expect(h.value[1]!.statuses).toEqual(h.value[0]!.statuses);
  }
});

it('limits the history to the requested range', async () => {
  const onlySecond = await history(regressed, `?from=${encodeURIComponent(second.startedAt!)}`);
  expect(onlySecond.value.map((h) => h.runId)).toEqual([second.id]);
  expect(onlySecond.value[0]!.drift).toEqual([{ controlId: 'ARC-AC-01', from: 'pass', to: 'fail' }]);
});

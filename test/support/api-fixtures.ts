/** A small evaluated fleet for API tests: 3 clusters in 2 subscriptions, two runs of history, summaries. */
import { listControls } from '../../domain/control-catalog.js';
import { RunSummaryBuilder } from '../../domain/run-summary.js';
import type { ControlResult } from '../../domain/model.js';
import type { ClusterState } from '../../application/ports.js';
import type { Ports } from './api-harness.js';

export const SUB_A = '00000000-0000-0000-0000-00000000000a';
export const SUB_B = '00000000-0000-0000-0000-00000000000b';
export const FAILING_CONTROL = 'ARC-AC-01';

export function clusterId(sub: string, rg: string, name: string): string {
  return `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Kubernetes/connectedClusters/${name}`;
}

function controls(failing: readonly string[]): ControlResult[] {
  return listControls().map((c) => ({
    controlId: c.id,
    status: (failing.includes(c.id) ? 'fail' : 'pass'),
    severity: c.severity,
    evidence: failing.includes(c.id) ? `${c.id} failed: "quoted", with comma` : 'ok',
    ...(failing.includes(c.id) ? { reason: 'observed' } : {}),
  }));
}

function state(sub: string, rg: string, name: string, failing: string[], evaluatedAt: string, extra: Partial<ClusterState> = {}): ClusterState {
  const id = clusterId(sub, rg, name);
  return {
    id,
    name,
    subscriptionId: sub,
    resourceGroup: rg,
    location: 'westeurope',
    kind: undefined,
    tags: { environment: 'prod' },
    environment: 'prod',
    distribution: 'k3s',
    kubernetesVersion: '1.30.4',
    connectivityStatus: 'Connected',
    evaluation: { clusterId: id, evaluatedAt, runId: 'run-2', controls: controls(failing), score: failing.length === 0 ? 100 : 80, failedControls: failing },
    stale: false,
    lastSeenAt: evaluatedAt,
    ...extra,
  };
}

export async function seedFleet(ports: Ports): Promise<{ clusters: ClusterState[] }> {
  const now = ports.clock.now();
  const t1 = new Date(now.getTime() - 2 * 86_400_000).toISOString();
  const t2 = new Date(now.getTime() - 86_400_000).toISOString();
  const clusters = [
    state(SUB_A, 'rg-edge', 'store-001', [FAILING_CONTROL], t2),
    state(SUB_A, 'rg-edge', 'store-002', [], t2),
    state(SUB_B, 'rg-plant', 'plant-001', [FAILING_CONTROL], t2, { environment: 'dev', stale: true }),
  ];
  await ports.clusters.upsertMany(clusters);
  const first = clusters[0];
  if (first !== undefined) {
    await ports.history.appendMany([
      { clusterId: first.id.toLowerCase(), runId: 'run-1', evaluatedAt: t1, score: 100, statuses: { [FAILING_CONTROL]: 'pass' }, drift: [] },
      { clusterId: first.id.toLowerCase(), runId: 'run-2', evaluatedAt: t2, score: 80, statuses: { [FAILING_CONTROL]: 'fail' }, drift: [{ controlId: FAILING_CONTROL, from: 'pass', to: 'fail' }] },
    ]);
  }
  // As finalize stores them: each run's summary and its trend slices (from the clusters' dimensions then).
  const runs = [
    { id: 'run-1', at: t1, inputs: clusters.map((c) => ({ subscriptionId: c.subscriptionId, stale: false, evaluation: { controls: controls([]), score: 100 }, dimensions: { environment: 'prod', location: c.location, tags: { environment: 'prod' } } })) },
    { id: 'run-2', at: t2, inputs: clusters.map((c) => ({ ...c, dimensions: { environment: c.environment ?? null, location: c.location, tags: c.tags } })) },
  ];
  for (const run of runs) {
    const builder = new RunSummaryBuilder();
    for (const input of run.inputs) builder.add(input);
    await ports.summaries.putTrendSlices(builder.trendSlices(run.id, run.at));
    await ports.summaries.put(builder.build(run.id, run.at));
  }
  await ports.runs.create({
    id: 'run-2',
    trigger: 'timer',
    status: 'partial',
    requestedBy: undefined,
    createdAt: t2,
    startedAt: t2,
    completedAt: t2,
    subscriptionsTotal: 2,
    subscriptionsSucceeded: 1,
    subscriptionsFailed: 1,
    failures: [{ subscriptionId: SUB_B, error: 'AuthorizationFailed', at: t2 }],
    clustersEvaluated: 2,
  });
  return { clusters };
}

/**
 * Framework reports at fleet scale: what one report reads from Table Storage and what judging every
 * requirement costs, for every framework.
 *
 *   npm run bench:framework-report                    # 2,000 clusters (≈ 1 min on the shared VM)
 *   npm run bench:framework-report -- --clusters 500  # quick try
 *
 * Azurite runs in process. The clusters carry every catalog control with evidence of a realistic size
 * (~1 KB each, as offender lists make them), so the comparison of `listControlStatuses` (what a report
 * reads) with `list` (whole states) is the saving in bytes and time of reading statuses only. The domain
 * part runs `frameworkReport` over the statuses read, for each of the nine frameworks. Last, the control
 * matrix (`GET /api/v1/control-matrix`'s first request of a run): `ControlMatrixService`'s build, which
 * reads the statuses, against the same aggregation over whole states (how it was built before), checked
 * to give the same bytes.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { TableClusterStateRepository } from '../adapters/storage/table-cluster-state-repository.js';
import { TableStore } from '../adapters/storage/table-store.js';
import { ControlMatrixService } from '../application/control-matrix-service.js';
import type { ClusterQuery, ClusterState } from '../application/ports.js';
import { controlMatrix } from '../domain/control-matrix.js';
import { listControls } from '../domain/control-catalog.js';
import { frameworkReport, type ReportCluster } from '../domain/framework-report.js';
import { FRAMEWORK_IDS, frameworkRequirements } from '../domain/frameworks.js';
import type { ControlResult, ControlStatus, FleetSummary } from '../domain/model.js';
import { startAzurite } from '../local/azurite.js';

const { values } = parseArgs({ options: { clusters: { type: 'string', default: '2000' } } });
const CLUSTERS = Number(values.clusters);
const STATUSES: readonly ControlStatus[] = ['pass', 'pass', 'pass', 'fail', 'exempt', 'unknown', 'not_applicable'];

function state(i: number): ClusterState {
  const sub = `00000000-0000-0000-0000-${String(i % 20).padStart(12, '0')}`;
  const name = `c${String(i).padStart(6, '0')}`;
  const id = `/subscriptions/${sub}/resourceGroups/rg${i % 7}/providers/Microsoft.Kubernetes/connectedClusters/${name}`;
  const controls: ControlResult[] = listControls().map((c, k) => ({
    controlId: c.id,
    status: STATUSES[(i * 7 + k * 3) % STATUSES.length] ?? 'pass',
    severity: c.severity,
    evidence: `${c.id}: ${'observed detail '.repeat(60)}`.slice(0, 1024),
  }));
  return {
    id,
    name,
    subscriptionId: sub,
    resourceGroup: `rg${i % 7}`,
    location: i % 3 === 0 ? 'eastus' : 'westeurope',
    kind: undefined,
    tags: { environment: i % 4 === 0 ? 'prod' : 'dev' },
    environment: i % 4 === 0 ? 'prod' : 'dev',
    distribution: 'k3s',
    kubernetesVersion: '1.30.4',
    connectivityStatus: 'Connected',
    evaluation: { clusterId: id.toLowerCase(), evaluatedAt: '2026-05-01T02:00:00.000Z', runId: 'bench', controls, score: 80, failedControls: controls.filter((c) => c.status === 'fail').map((c) => c.controlId) },
    stale: false,
    lastSeenAt: '2026-05-01T02:00:00.000Z',
  };
}

async function readAll<T>(read: (q: ClusterQuery) => Promise<{ readonly items: readonly T[]; readonly continuationToken: string | undefined }>, query: Omit<ClusterQuery, 'top'>): Promise<{ items: T[]; ms: number }> {
  const started = performance.now();
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await read({ ...query, top: 1000, continuationToken: token });
    items.push(...page.items);
    token = page.continuationToken;
  } while (token !== undefined);
  return { items, ms: performance.now() - started };
}

const azurite = await startAzurite();
try {
  const repo = new TableClusterStateRepository(await TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: `bench${process.pid}` }));
  const seeding = performance.now();
  for (let i = 0; i < CLUSTERS; i += 500) await repo.upsertMany(Array.from({ length: Math.min(500, CLUSTERS - i) }, (_, k) => state(i + k)));
  console.log(`seeded ${CLUSTERS} clusters in ${((performance.now() - seeding) / 1000).toFixed(1)} s`);

  for (const [label, query] of [['whole fleet', {}], ['environment=prod', { environment: 'prod' }]] as const) {
    const whole = await readAll((q) => repo.list(q), query);
    const statuses = await readAll((q) => repo.listControlStatuses(q), query);
    const bytes = (x: unknown): number => Buffer.byteLength(JSON.stringify(x));
    console.log(
      `${label}: ${statuses.items.length} clusters; statuses ${statuses.ms.toFixed(0)} ms (${(bytes(statuses.items) / 1024).toFixed(0)} KiB) vs whole states ${whole.ms.toFixed(0)} ms (${(bytes(whole.items) / 1024).toFixed(0)} KiB): ${(whole.ms / statuses.ms).toFixed(1)}× faster`,
    );
    if (label === 'whole fleet') {
      const clusters: ReportCluster[] = statuses.items;
      for (const f of FRAMEWORK_IDS) {
        const started = performance.now();
        const rows = frameworkReport(f, clusters, new Map());
        console.log(`  frameworkReport ${f}: ${rows.length} requirements (${frameworkRequirements(f).filter((r) => r.controls.length > 0).length} automated) in ${(performance.now() - started).toFixed(1)} ms`);
      }
    }
  }

  // Best of three each way: the first build of a run is what a user waits for, and the shared VM is noisy.
  const generatedAt = new Date().toISOString();
  const summaries = { getLatest: async (): Promise<FleetSummary> => ({ runId: 'bench', generatedAt }) as unknown as FleetSummary };
  const timings = { statuses: [] as number[], whole: [] as number[] };
  let matrixBytes = 0;
  for (let round = 0; round < 3; round += 1) {
    let started = performance.now();
    const view = await new ControlMatrixService({ clusters: repo, summaries }).getMatrix();
    timings.statuses.push(performance.now() - started);
    started = performance.now();
    const whole = await readAll((q) => repo.list(q), {});
    const inputs = whole.items.map((c) => ({ subscriptionId: c.subscriptionId, environment: c.environment, controls: c.evaluation.controls.map((r) => ({ controlId: r.controlId, status: r.status })) }));
    const reference = JSON.stringify({ runId: 'bench', generatedAt, clusters: inputs.length, ...controlMatrix(inputs) });
    timings.whole.push(performance.now() - started);
    const body = JSON.stringify(view);
    if (body !== reference) throw new Error('the control matrix differs from the one built from whole states');
    matrixBytes = Buffer.byteLength(body);
  }
  const best = (xs: readonly number[]): number => Math.min(...xs);
  console.log(
    `control matrix build: ${CLUSTERS} clusters, ${(matrixBytes / 1024).toFixed(0)} KiB body (identical both ways); statuses ${best(timings.statuses).toFixed(0)} ms vs whole states ${best(timings.whole).toFixed(0)} ms (best of 3; ${timings.statuses.map((t) => t.toFixed(0)).join('/')} vs ${timings.whole.map((t) => t.toFixed(0)).join('/')}): ${(best(timings.whole) / best(timings.statuses)).toFixed(1)}× faster`,
  );
} finally {
  await azurite.stop();
}

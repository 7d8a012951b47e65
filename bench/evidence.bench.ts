/**
 * Evidence benchmark: peak RSS growth of verifying and of exporting (OCSF NDJSON) a 10,000-cluster run.
 *
 * Azurite (blob service, in memory) runs in its own process (bench/evaluation/azurite-process.ts), so
 * this process holds only what verify and export hold. Setup writes `--runs` chained runs (default 2)
 * through the production path (EvidenceRecorder: one gzipped NDJSON blob per subscription, then the
 * manifest) from real evaluations of generated clusters; verify is asked about the last run and walks
 * the chain back, re-hashing every run's blobs; export reads the last run. For each operation the RSS
 * is sampled every 2 ms and the peak growth over the post-GC baseline reported. Target: < 64 MiB each.
 *
 *   npm run bench:evidence                                                # 2 runs × 10 subscriptions × 1,000 clusters
 *   npm run bench:evidence -- --subscriptions 4 --clusters 250 --runs 2   # quick try
 */
import { randomBytes } from 'node:crypto';
import { BlobEvidenceStore } from '../adapters/storage/blob-evidence-store.js';
import { EvidenceReader } from '../application/evidence-reader.js';
import { EvidenceRecorder } from '../application/evidence-recorder.js';
import { FindingsExporter } from '../application/findings-export.js';
import type { EvaluationRun } from '../application/ports.js';
import { listControls } from '../domain/control-catalog.js';
import { evaluateCluster } from '../domain/evaluate-cluster.js';
import { buildClusterEvidence, CATALOG_VERSION, type ClusterEvidenceRecord } from '../domain/evidence-record.js';
import { RUN_START, snapshot } from '../test/unit/domain/builders.js';
import { BenchChild } from './evaluation/ipc.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isInteger(v) && v > 0 ? v : fallback;
};
const SUBSCRIPTIONS = arg('subscriptions', 10);
const CLUSTERS = arg('clusters', 1000);
const RUNS = arg('runs', 2);
const TARGET_MIB = 64;
const MiB = 1024 * 1024;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench:evidence does)');

const subscriptionId = (i: number): string => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const stamp = Date.now();
const runOf = (r: number): EvaluationRun => ({
  id: `bench-${stamp}-${r}`,
  trigger: 'timer',
  status: 'succeeded',
  requestedBy: undefined,
  createdAt: new Date(RUN_START.getTime() + r * 86_400_000).toISOString(),
  startedAt: new Date(RUN_START.getTime() + r * 86_400_000).toISOString(),
  completedAt: new Date(RUN_START.getTime() + r * 86_400_000 + 600_000).toISOString(),
  subscriptionsTotal: SUBSCRIPTIONS,
  subscriptionsSucceeded: SUBSCRIPTIONS,
  subscriptionsFailed: 0,
  failures: [],
  clustersEvaluated: SUBSCRIPTIONS * CLUSTERS,
});
const runs = Array.from({ length: RUNS }, (_, r) => runOf(r));
const last = runs[runs.length - 1]!;
const runId = last.id;

async function measure<T>(what: string, work: () => Promise<T>): Promise<{ result: T; baselineMiB: number; peakGrowthMiB: number; seconds: number }> {
  gc!();
  await new Promise((r) => setTimeout(r, 200));
  gc!();
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 2);
  const started = performance.now();
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, baselineMiB: baseline / MiB, peakGrowthMiB: (peak - baseline) / MiB, seconds: (performance.now() - started) / 1000 };
  } finally {
    clearInterval(timer);
    console.log(`  ${what} done`);
  }
}

const azurite = BenchChild.start('azurite', new URL('./evaluation/azurite-process.ts', import.meta.url));
try {
  const { connectionString } = (await azurite.ready) as { connectionString: string };
  const store = new BlobEvidenceStore({ connectionString }, `evidence${Date.now()}`);
  const repository = {
    get: async (id: string) => runs.find((r) => r.id === id),
    subscriptionsWithOutcome: async () => Array.from({ length: SUBSCRIPTIONS }, (_, i) => subscriptionId(i)),
    getSubscriptionOutcome: async () => ({ ok: true as const, clusters: CLUSTERS }),
  };
  const recorder = new EvidenceRecorder({ store, runs: repository, appVersion: 'bench', catalogVersion: CATALOG_VERSION });
  const reader = new EvidenceReader({ store, runs: repository, retentionDays: 400 });
  const exporter = new FindingsExporter({ reader, store, product: { name: 'arc-compliance', vendorName: 'arc-compliance', version: 'bench' } });

  console.log(`writing ${RUNS} run(s) of ${SUBSCRIPTIONS} × ${CLUSTERS} clusters of evidence …`);
  const setupStarted = performance.now();
  let storedBytes = 0;
  for (const run of runs) {
    for (let s = 0; s < SUBSCRIPTIONS; s++) {
      const sub = subscriptionId(s);
      const records: ClusterEvidenceRecord[] = [];
      for (let c = 0; c < CLUSTERS; c++) {
        const name = `edge-${s}-${c}`;
        const rg = `rg-${c % 20}`;
        // 1 KiB of incompressible text per cluster (a hex "asset" tag), so blobs are not the near-identical
        // records generated clusters would otherwise be (≈ 0.6 KB gzipped per cluster instead of ≈ 60 bytes).
        const asset = randomBytes(512).toString('hex');
        const snap = snapshot({ name, resourceGroup: rg, id: `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Kubernetes/connectedClusters/${name}`, subscriptionId: sub, tags: { environment: c % 3 === 0 ? 'prod' : 'dev', site: `store-${c}`, asset } });
        const evaluation = evaluateCluster(snap, { runId: run.id, runStartedAt: RUN_START, resourceGroupPeers: [snap], exceptions: [] });
        records.push(buildClusterEvidence(snap, evaluation, []));
      }
      await recorder.recordSubscription(run.id, sub, records);
    }
    const sealed = await recorder.sealRun(run);
    const view = await reader.getEvidence(run.id, '');
    for (const b of view.blobs) storedBytes += b.bytes;
    console.log(`  sealed ${sealed.name}: ${view.blobs.length} blobs`);
  }
  const setupSeconds = (performance.now() - setupStarted) / 1000;
  console.log(`  ${RUNS} run(s), ${(storedBytes / MiB).toFixed(1)} MiB gzipped in all, ${setupSeconds.toFixed(1)} s`);

  const verify = await measure('verify', () => reader.verify(runId, undefined));
  if (!verify.result.valid) throw new Error(`verify found problems: ${JSON.stringify(verify.result.problems)}`);
  if (verify.result.checkedRuns !== RUNS) throw new Error(`verify re-hashed ${verify.result.checkedRuns} run(s), expected ${RUNS}`);
  const exported = await measure('export', async () => {
    const { stream } = await exporter.exportOcsf(runId);
    let bytes = 0;
    let lines = 0;
    for await (const chunk of stream) {
      bytes += chunk.byteLength;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
    }
    return { bytes, lines };
  });
  const expectedFindings = SUBSCRIPTIONS * CLUSTERS * listControls().length;
  if (exported.result.lines !== expectedFindings) throw new Error(`export wrote ${exported.result.lines} findings, expected ${expectedFindings}`);

  const row = (what: string, m: { baselineMiB: number; peakGrowthMiB: number; seconds: number }, extra: string): string =>
    `| ${what} | ${m.baselineMiB.toFixed(0)} | ${m.peakGrowthMiB.toFixed(1)} | ${m.peakGrowthMiB < TARGET_MIB ? 'yes' : '**no**'} | ${m.seconds.toFixed(1)} | ${extra} |`;
  console.log(`\n${RUNS} run(s) × ${SUBSCRIPTIONS * CLUSTERS} clusters, ${(storedBytes / MiB).toFixed(1)} MiB of gzipped evidence in ${RUNS * SUBSCRIPTIONS} blobs (target: peak RSS growth < ${TARGET_MIB} MiB)\n`);
  console.log('| operation | baseline RSS MiB | peak RSS growth MiB | < 64 MiB | seconds | output |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  console.log(row('verify the last run, chain walked back, every run\'s blobs re-hashed', verify, `valid, ${verify.result.checkedRuns} run(s) checked`));
  console.log(row('export OCSF NDJSON (last run)', exported, `${exported.result.lines} findings, ${(exported.result.bytes / MiB).toFixed(0)} MiB`));
  process.exitCode = verify.peakGrowthMiB < TARGET_MIB && exported.peakGrowthMiB < TARGET_MIB ? 0 : 1;
} finally {
  await azurite.stop();
}

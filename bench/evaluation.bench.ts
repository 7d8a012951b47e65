/**
 * `npm run bench:evaluation` — a full evaluation of a scale-mode fleet through the production path
 * (evaluation timer → evaluation-collect queue → evaluation-finalize queue → Table Storage), then the
 * same Azurite's batched-write ceiling, so the result reads as a ratio to the storage limit.
 *
 * Four processes, so the app's memory is the app's and the two cores are shared the way they would
 * be between an app and its dependencies:
 *   - this one: orchestration, the ceiling measurement and the report;
 *   - `azurite-process.ts`: Azurite in memory (tables + queues);
 *   - `arm-emulator-process.ts`: the HTTPS ARM emulator + managed-identity endpoint with the fleet;
 *   - `app-process.ts`: the local Functions runtime running the real `functions/*.ts` (peak RSS measured).
 *
 * Options: --subscriptions N (200) --clusters M per subscription (50) --states S per cluster (40)
 * --extensions E per cluster (4) --ceiling-entities K (20000) --cpu-prof app,azurite,arm-emulator|all
 * (V8 CPU profiles of those processes in bench/.profiles/) --app-max-old-space MiB (V8 old-space
 * limit of the app process, as a memory-capped instance would run it; default V8's own) --heap-prof (V8
 * sampling heap profile of the app into bench/.profiles/) --scale N1,N2,… (one evaluation per fleet size of
 * N clusters, --clusters per subscription, each in fresh processes). The last line printed is one JSON
 * object with the headline figures; with --scale, `{ "scale": [ {clusters, wallSeconds, peakRssMiB,
 * armRequests, tableEntitiesWritten}, … ] }`.
 */
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { BenchChild } from './evaluation/ipc.js';
import { measureAzuriteCeiling } from './evaluation/azurite-ceiling.js';

const { values } = parseArgs({
  options: {
    subscriptions: { type: 'string', default: '200' },
    clusters: { type: 'string', default: '50' },
    states: { type: 'string', default: '40' },
    extensions: { type: 'string', default: '4' },
    'ceiling-entities': { type: 'string', default: '20000' },
    'cpu-prof': { type: 'string' },
    'app-max-old-space': { type: 'string' },
    scale: { type: 'string' },
    'heap-prof': { type: 'boolean', default: false },
  },
});
const int = (name: string, raw: string | undefined, min: number): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}`);
  return n;
};
interface Fleet {
  readonly subscriptions: number;
  readonly clustersPerSubscription: number;
  readonly policyStatesPerCluster: number;
  readonly extensionsPerCluster: number;
}
const baseFleet: Fleet = {
  subscriptions: int('subscriptions', values.subscriptions, 1),
  clustersPerSubscription: int('clusters', values.clusters, 0),
  policyStatesPerCluster: int('states', values.states, 0),
  extensionsPerCluster: int('extensions', values.extensions, 0),
};
// --scale 10000,50000: one fresh set of processes per fleet size (total clusters, --clusters per
// subscription), so each size's app peak RSS is its own; the fleets differ only in subscriptions.
const scales = (values.scale ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '')
  .map((s) => {
    const total = int('scale', s, 1);
    if (baseFleet.clustersPerSubscription === 0 || total % baseFleet.clustersPerSubscription !== 0) throw new Error(`--scale ${s} must be a multiple of --clusters (${baseFleet.clustersPerSubscription})`);
    return { ...baseFleet, subscriptions: total / baseFleet.clustersPerSubscription };
  });
const profiled = new Set((values['cpu-prof'] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''));
const profileArgs = (name: string): string[] =>
  profiled.has(name) || profiled.has('all') ? ['--cpu-prof', `--cpu-prof-dir=${new URL('./.profiles/', import.meta.url).pathname}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [];
// --heap-prof: V8 sampling heap profile of the app process (bench/.profiles/), to see what it holds.
const heapProfileArgs = values['heap-prof'] === true ? ['--heap-prof', `--heap-prof-dir=${new URL('./.profiles/', import.meta.url).pathname}`] : [];
const withCeiling = scales.length === 0;
const ceilingEntities = Math.ceil(int('ceiling-entities', values['ceiling-entities'], 100) / 100) * 100;

interface SubscriptionStats {
  readonly subscriptionId: string;
  readonly clusters: number;
  readonly policyStates: number;
  readonly requests: number;
  readonly budget: number;
}
interface ArmStats {
  readonly total: number;
  readonly byRoute: Record<string, number>;
  readonly identityTokens: number;
  readonly subscriptions: SubscriptionStats[];
}
interface RunResult {
  readonly wallSeconds: number;
  readonly appCpuSeconds: number;
  readonly run: { status: string; clustersEvaluated: number; subscriptionsSucceeded: number; subscriptionsFailed: number; subscriptionsTotal: number } | undefined;
  readonly writes: { entities: number; deletes: number; transactions: number; bytes: number };
  readonly invocations: Record<string, number>;
  readonly problems: string[];
  readonly maxRssMiB: number;
  readonly rssTimeline: number[];
  readonly peakSample: { rssMiB: number; heapUsedMiB: number; externalMiB: number; phase: string };
  readonly peakHeapUsedMiB: number;
}

const log = (line: string): void => console.log(line);
const fmt = (n: number, digits = 1): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const children: BenchChild[] = [];
const stopAll = async (): Promise<void> => {
  await Promise.allSettled(children.reverse().map((c) => c.stop()));
};
process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));

/** The headline figures of one evaluation (the JSON of a single run; the `--scale` entries keep five of them). */
interface Headline {
  readonly clusters: number;
  readonly wallSeconds: number;
  readonly clustersPerSecond: number;
  readonly peakRssMiB: number;
  readonly armRequests: number;
  readonly tableEntitiesWritten: number;
  readonly azuriteCeilingEntitiesPerSecond: number | null;
  readonly succeeded: boolean;
  /** Largest V8 heap used sampled in the app (MiB): what the app holds, apart from code, buffers and the loader. */
  readonly heapUsedPeakMiB: number;
}

/** One evaluation of `fleet` in fresh processes (Azurite, ARM emulator, app), stopped afterwards. */
async function measureFleet(fleet: Fleet): Promise<Headline> {
  const clusters = fleet.subscriptions * fleet.clustersPerSubscription;
  log(`fleet: ${fleet.subscriptions} subscriptions × ${fleet.clustersPerSubscription} clusters = ${clusters} clusters, ${fleet.policyStatesPerCluster} policy states and ${fleet.extensionsPerCluster} extensions per cluster`);

  const setupStarted = performance.now();
  const azurite = BenchChild.start('azurite', new URL('./evaluation/azurite-process.ts', import.meta.url), {}, profileArgs('azurite'));
  const arm = BenchChild.start('arm-emulator', new URL('./evaluation/arm-emulator-process.ts', import.meta.url), { BENCH_FLEET: JSON.stringify(fleet) }, profileArgs('arm-emulator'));
  children.push(azurite, arm);
  const [storage, armEnv] = await Promise.all([azurite.ready, arm.ready]);
  const connectionString = String(storage['connectionString']);
  const appEnv: Record<string, string> = {
    AzureWebJobsStorage: connectionString,
    AZURE_RESOURCE_MANAGER_ENDPOINT: String(armEnv['AZURE_RESOURCE_MANAGER_ENDPOINT']),
    IDENTITY_ENDPOINT: String(armEnv['IDENTITY_ENDPOINT']),
    IDENTITY_HEADER: String(armEnv['IDENTITY_HEADER']),
    NODE_EXTRA_CA_CERTS: String(armEnv['NODE_EXTRA_CA_CERTS']),
  };
  const app = BenchChild.start('app', new URL('./evaluation/app-process.ts', import.meta.url), appEnv, [
    ...profileArgs('app'),
    ...heapProfileArgs,
    ...(values['app-max-old-space'] !== undefined ? [`--max-old-space-size=${int('app-max-old-space', values['app-max-old-space'], 64)}`] : []),
  ]);
  children.push(app);
  await app.ready;
  log(`set-up (processes started, fleet generated, app cold start): ${fmt((performance.now() - setupStarted) / 1000, 2)} s`);

  // Ceiling on the empty Azurite before the run (small entities of the app's typical size are not
  // known yet: ~900 B, the mean the run writes), then again after the run on the loaded Azurite.
  // Skipped with --scale (minutes of the shared machine per size; the scale figures do not use it).
  const ceilingBefore = withCeiling ? await measureAzuriteCeiling({ connectionString, entities: ceilingEntities, entityBytes: 900, concurrency: 4 }) : undefined;
  if (ceilingBefore !== undefined) log(`Azurite ceiling before the run (empty Azurite): ${fmt(ceilingBefore.entitiesPerSecond, 0)} entities/s`);

  const cpuBefore = children.map((c) => c.cpuSeconds() ?? 0);
  const result = await app.request<RunResult>('run');
  const cpuDuring = children.map((c, i) => (c.cpuSeconds() ?? 0) - (cpuBefore[i] ?? 0));
  const appPeakRss = app.peakRssMiB() ?? result.maxRssMiB;
  const armStats = await arm.request<ArmStats>('stats');
  const azuritePeak = azurite.peakRssMiB();
  const armPeak = arm.peakRssMiB();

  // The ceiling, measured on the same Azurite right after the run, with entities of the run's mean size.
  const meanEntityBytes = result.writes.entities > 0 ? Math.round(result.writes.bytes / result.writes.entities) : 500;
  const ceiling = withCeiling ? await measureAzuriteCeiling({ connectionString, entities: ceilingEntities, entityBytes: meanEntityBytes, concurrency: 4 }) : undefined;

  const run = result.run;
  const overBudget = armStats.subscriptions.filter((s) => s.requests > s.budget);
  const budgetTotal = armStats.subscriptions.reduce((n, s) => n + s.budget, 0);
  const perSub = armStats.subscriptions.map((s) => s.requests);
  const entitiesPerSecond = result.writes.entities / result.wallSeconds;
  const clustersPerSecond = (run?.clustersEvaluated ?? 0) / result.wallSeconds;

  log('');
  log(`run: ${run?.status ?? 'missing'} — ${run?.subscriptionsSucceeded ?? 0}/${run?.subscriptionsTotal ?? 0} subscriptions succeeded, ${run?.subscriptionsFailed ?? 0} failed, ${run?.clustersEvaluated ?? 0} clusters evaluated`);
  log(`wall time: ${fmt(result.wallSeconds, 2)} s (timer invocation → finalize done) — target ≤ 60 s`);
  log(`throughput: ${fmt(clustersPerSecond)} clusters/s; app CPU ${fmt(result.appCpuSeconds)} s (${fmt((100 * result.appCpuSeconds) / result.wallSeconds, 0)} % of one core)`);
  log(`app peak RSS: ${fmt(appPeakRss)} MiB — target ≤ 512 MiB (Azurite process ${fmt(azuritePeak ?? NaN)} MiB, ARM emulator process ${fmt(armPeak ?? NaN)} MiB)`);
  log(
    `ARM requests: ${armStats.total} (budget ${budgetTotal} = Σ 3 + clusters×2 + policy pages; ${armStats.identityTokens} managed-identity token requests not counted); ` +
      `per subscription min ${Math.min(...perSub)} / max ${Math.max(...perSub)}, budget ${armStats.subscriptions[0]?.budget ?? 0}; ${overBudget.length === 0 ? 'every subscription within budget' : `${overBudget.length} subscription(s) OVER budget`}`,
  );
  log(`  by route: ${Object.entries(armStats.byRoute).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  log(
    `Table entities written: ${result.writes.entities} (+ ${result.writes.deletes} deletes) in ${result.writes.transactions} transactions, mean ${meanEntityBytes} B/entity → ${fmt(entitiesPerSecond, 0)} entities/s over the run`,
  );
  if (ceiling !== undefined) {
    log(
      `Azurite ceiling (same run, same Azurite): ${fmt(ceiling.entitiesPerSecond, 0)} entities/s (${ceiling.entities} entities of ~${ceiling.entityBytes} B, batches of 100, 4 in flight, ${fmt(ceiling.seconds, 2)} s) → run at ${fmt((100 * entitiesPerSecond) / ceiling.entitiesPerSecond, 0)} % of the ceiling; ` +
        `storage-bound floor for this run ≈ ${fmt(result.writes.entities / ceiling.entitiesPerSecond, 1)} s`,
    );
  }
  log(`CPU seconds during the run: ${children.map((c, i) => `${c.name} ${fmt(cpuDuring[i] ?? 0)}`).join(', ')} (2 cores × ${fmt(result.wallSeconds, 1)} s = ${fmt(2 * result.wallSeconds, 0)} core-seconds available)`);
  log(`app RSS timeline (MiB, every 2 s): ${result.rssTimeline.map((r) => r.toFixed(0)).join(' ')}`);
  const ps = result.peakSample;
  log(`app largest RSS sample (every 250 ms): ${fmt(ps.rssMiB)} MiB during ${ps.phase} (V8 heap used ${fmt(ps.heapUsedMiB)} MiB, external ${fmt(ps.externalMiB)} MiB)`);
  if (ceilingBefore !== undefined) log(`Azurite ceiling before the run: ${fmt(ceilingBefore.entitiesPerSecond, 0)} entities/s (the JSON reports the after-run figure)`);
  log(`invocations: ${Object.entries(result.invocations).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (result.problems.length > 0) log(`warnings/errors logged by the app: ${result.problems.length} (first: ${result.problems[0] ?? ''})`);

  await stopAll();
  children.length = 0;
  return {
    clusters: run?.clustersEvaluated ?? 0,
    wallSeconds: Number(result.wallSeconds.toFixed(2)),
    clustersPerSecond: Number(clustersPerSecond.toFixed(1)),
    peakRssMiB: Number(appPeakRss.toFixed(1)),
    armRequests: armStats.total,
    tableEntitiesWritten: result.writes.entities,
    azuriteCeilingEntitiesPerSecond: ceiling === undefined ? null : Math.round(ceiling.entitiesPerSecond),
    succeeded: run?.status === 'succeeded',
    heapUsedPeakMiB: Number(result.peakHeapUsedMiB.toFixed(1)),
  };
}

try {
  log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${fmt(totalmem() / 2 ** 30)} GiB RAM (${fmt(freemem() / 2 ** 30)} GiB free), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, Node ${process.version}`);
  if (scales.length === 0) {
    const { succeeded, heapUsedPeakMiB: _heap, ...headline } = await measureFleet(baseFleet);
    console.log(JSON.stringify(headline));
    if (!succeeded) process.exitCode = 1;
  } else {
    const measured: Headline[] = [];
    for (const fleet of scales) {
      log(`\n=== scale point ${measured.length + 1}/${scales.length}: ${fleet.subscriptions * fleet.clustersPerSubscription} clusters (load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}) ===`);
      measured.push(await measureFleet(fleet));
    }
    const first = measured[0];
    log('');
    for (const m of measured) {
      log(
        `${m.clusters} clusters: ${fmt(m.wallSeconds, 2)} s (${fmt(m.clustersPerSecond)} clusters/s), app peak RSS ${fmt(m.peakRssMiB)} MiB (V8 heap used ≤ ${fmt(m.heapUsedPeakMiB)} MiB)` +
          (first !== undefined && m !== first ? ` — ${fmt(m.clusters / first.clusters, 1)}× the clusters: wall ${fmt(m.wallSeconds / first.wallSeconds, 2)}× (goal ≤ 5.5× for 5×), peak RSS ${fmt(m.peakRssMiB / first.peakRssMiB, 2)}× (goal ≤ 1.25×)` : ''),
      );
    }
    console.log(JSON.stringify({ scale: measured.map((m) => ({ clusters: m.clusters, wallSeconds: m.wallSeconds, peakRssMiB: m.peakRssMiB, armRequests: m.armRequests, tableEntitiesWritten: m.tableEntitiesWritten })) }));
    if (measured.some((m) => !m.succeeded)) process.exitCode = 1;
  }
} catch (error) {
  console.error(error);
  await stopAll();
  process.exitCode = 1;
}

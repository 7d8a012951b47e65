/**
 * `npm run bench:coldstart` — what the app adds to a cold start: the built deployment package (the
 * esbuild bundle `npm run package:azure` stages) answering an authenticated `GET /api/v1/summary`,
 * against a hello-world v4 app (one anonymous HTTP function, the same `@azure/functions`, bundled by the
 * same `infra/scripts/bundle-app.ts`), each in fresh Node processes (`bench/coldstart/cold-process.ts`,
 * bundled with the local runtime and run with plain `node`: no tsx loader in the measured process).
 * The hello-world app is what `npm run package:azure` would build for it: one bundled entry, same options.
 * A third app, the dependency floor (`bench/coldstart/deps-floor/`), answers the same authenticated
 * summary request with the same libraries and nothing else (jose, `@azure/data-tables`, HTTP streaming):
 * `app / floor` is what the app's own code adds to the cold start, `floor / hello` what its dependencies do.
 *
 * Outside the measured processes: Azurite (its own process, a summary stored), the token issuer (JWKS
 * over http, in this process). Samples alternate app, hello, floor, app, hello, floor…; the figures are medians.
 *
 * Options: --runs N samples of each (7); --cpu-prof-dir DIR (V8 CPU profiles of the app's samples); --compile-cache also measures both with Node's module compile
 * cache (`NODE_COMPILE_CACHE`, filled by one priming run per app, as a deployment could ship it).
 * The last line printed is one JSON object: `{ appColdMs, helloColdMs, ratio, depsFloorColdMs,
 * ratioToDepsFloor }` (+ the compile-cache
 * figures when asked for).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { BenchChild } from './evaluation/ipc.js';
import { bundleApp } from '../infra/scripts/bundle-app.js';
import { stagePackage } from '../infra/scripts/stage-package.js';
import { createTokenIssuer } from '../local/token-issuer.js';
import { TableStore } from '../adapters/storage/table-store.js';
import { TableSummaryRepository } from '../adapters/storage/table-summary-repository.js';
import { summarizeFleet } from '../domain/fleet-summary.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, 'compile-cache': { type: 'boolean', default: false }, 'cpu-prof-dir': { type: 'string' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
const log = (m: string): void => void process.stderr.write(`${m}\n`);
const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'arc-coldstart-'));

interface Sample {
  readonly ms: number;
  /** CPU time of the process in the timed window (user + system). */
  readonly cpuMs: number;
  readonly status: number;
  readonly bytes: number;
  readonly functions: number;
  readonly phases: { readonly loadMs: number; readonly appStartMs: number; readonly firstInvocationMs: number };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
};
const round = (n: number): number => Number(n.toFixed(1));

function runChild(script: string, env: Record<string, string>, execArgv: readonly string[] = []): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...execArgv, script], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`cold process exited ${String(code)}: ${err.slice(-2000)}${out.slice(-500)}`));
      else resolve(JSON.parse(last) as Sample);
    });
  });
}

const azurite = BenchChild.start('azurite', new URL('./evaluation/azurite-process.ts', import.meta.url));
let issuer: Awaited<ReturnType<typeof createTokenIssuer>> | undefined;
const issuerServer = createServer((req, res) => {
  if (issuer?.handle(req, res) !== true) res.writeHead(404).end();
});
try {
  await new Promise<void>((resolve) => issuerServer.listen(0, '127.0.0.1', resolve));
  issuer = await createTokenIssuer({ baseUrl: `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}` });

  log('building: the deployment package (bundle), the hello-world app, the cold-start process…');
  const appRoot = join(work, 'app');
  await stagePackage({ root, out: appRoot, typecheck: false });
  const helloRoot = join(work, 'hello');
  mkdirSync(helloRoot, { recursive: true });
  const helloSource = join(root, 'bench', 'coldstart', 'hello');
  await bundleApp({ root: helloSource, entries: ['functions/hello.ts'], outdir: join(helloRoot, 'dist', 'functions') });
  writeFileSync(join(helloRoot, 'package.json'), JSON.stringify({ name: 'hello', version: '1.0.0', type: 'module', main: 'dist/functions/*.js' }));
  writeFileSync(join(helloRoot, 'host.json'), JSON.stringify({ version: '2.0' }));
  const floorRoot = join(work, 'deps-floor');
  await bundleApp({ root: join(root, 'bench', 'coldstart', 'deps-floor'), entries: ['functions/summary.ts'], outdir: join(floorRoot, 'dist', 'functions') });
  writeFileSync(join(floorRoot, 'package.json'), JSON.stringify({ name: 'deps-floor', version: '1.0.0', type: 'module', main: 'dist/functions/*.js' }));
  writeFileSync(join(floorRoot, 'host.json'), JSON.stringify({ version: '2.0' }));
  const coldScript = join(work, 'cold-process.mjs');
  await build({
    entryPoints: [join(root, 'bench', 'coldstart', 'cold-process.ts')],
    outfile: coldScript,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
    logLevel: 'silent',
  });

  const storage = await azurite.ready;
  const connectionString = String(storage['connectionString']);
  const storagePort = new URL(String(storage['tableEndpoint'])).port;
  // A stored summary, so the app answers 200 with a real body.
  const tables = await TableStore.open({ connectionString });
  await new TableSummaryRepository(tables).put(summarizeFleet('coldstart-seed', new Date().toISOString(), []));

  const token = await issuer.mintToken({ roles: ['Compliance.Read'], expiresIn: 3600 });
  const common = { COLD_STORAGE_PORT: storagePort, COLD_JWKS_URI: issuer.jwksUri };
  const appEnv = {
    ...common,
    COLD_APP_ROOT: appRoot,
    COLD_PATH: '/api/v1/summary',
    COLD_FUNCTION: 'getSummary',
    COLD_TOKEN: token,
    AzureWebJobsStorage: connectionString,
    AUTH_ISSUER: issuer.issuer,
    AUTH_AUDIENCE: issuer.audience,
    AUTH_JWKS_URI: issuer.jwksUri,
  };
  const helloEnv = { ...common, COLD_APP_ROOT: helloRoot, COLD_PATH: '/api/hello', COLD_FUNCTION: 'hello' };
  const floorEnv = { ...appEnv, COLD_APP_ROOT: floorRoot, COLD_FUNCTION: 'floorSummary' };

  const measure = async (label: string, extra: Record<string, string>): Promise<{ app: number[]; hello: number[]; floor: number[] }> => {
    const app: number[] = [];
    const hello: number[] = [];
    const floor: number[] = [];
    const phases: Sample['phases'][] = [];
    const cpu = { app: [] as number[], hello: [] as number[], floor: [] as number[] };
    for (let i = 0; i < runs; i += 1) {
      const profile = values['cpu-prof-dir'] !== undefined ? ['--cpu-prof', '--cpu-prof-interval', '200', '--cpu-prof-dir', values['cpu-prof-dir']] : [];
      const a = await runChild(coldScript, { ...appEnv, ...extra }, profile);
      if (a.status !== 200) throw new Error(`the app answered ${a.status}`);
      const h = await runChild(coldScript, { ...helloEnv, ...extra });
      if (h.status !== 200) throw new Error(`the hello-world app answered ${h.status}`);
      const f = await runChild(coldScript, { ...floorEnv, ...extra });
      if (f.status !== 200 || f.bytes !== a.bytes) throw new Error(`the dependency floor answered ${f.status} with ${f.bytes} bytes (the app: ${a.bytes})`);
      floor.push(f.ms);
      cpu.floor.push(f.cpuMs);
      app.push(a.ms);
      phases.push(a.phases);
      hello.push(h.ms);
      cpu.app.push(a.cpuMs);
      cpu.hello.push(h.cpuMs);
      log(`${label} run ${i + 1}/${runs}: app ${a.ms.toFixed(1)} ms, CPU ${a.cpuMs.toFixed(1)} ms (${a.functions} functions, ${a.bytes} bytes); hello ${h.ms.toFixed(1)} ms, CPU ${h.cpuMs.toFixed(1)} ms; floor ${f.ms.toFixed(1)} ms, CPU ${f.cpuMs.toFixed(1)} ms`);
    }
    log(
      `${label}, app phases (medians): loading the entry files ${median(phases.map((p) => p.loadMs)).toFixed(1)} ms, appStart hooks ${median(phases.map((p) => p.appStartMs)).toFixed(1)} ms, ` +
        `first invocation (composition, token, storage read, response) ${median(phases.map((p) => p.firstInvocationMs)).toFixed(1)} ms`,
    );
    log(`${label}, CPU time in the timed window (medians): app ${median(cpu.app).toFixed(1)} ms, hello ${median(cpu.hello).toFixed(1)} ms, floor ${median(cpu.floor).toFixed(1)} ms, ratio ${(median(cpu.app) / median(cpu.hello)).toFixed(2)}`);
    return { app, hello, floor };
  };

  // One unmeasured pair first: the page cache holds both packages for every measured sample.
  await runChild(coldScript, appEnv);
  await runChild(coldScript, helloEnv);
  await runChild(coldScript, floorEnv);
  const plain = await measure('cold', {});
  const spread = (xs: number[]): string => `median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})`;
  log(`app: ${spread(plain.app)}; hello: ${spread(plain.hello)}; dependency floor: ${spread(plain.floor)}`);
  const result: Record<string, number> = {
    appColdMs: round(median(plain.app)),
    helloColdMs: round(median(plain.hello)),
    ratio: Number((median(plain.app) / median(plain.hello)).toFixed(2)),
    depsFloorColdMs: round(median(plain.floor)),
    ratioToDepsFloor: Number((median(plain.app) / median(plain.floor)).toFixed(2)),
  };

  if (values['compile-cache']) {
    const cacheDir = join(work, 'compile-cache');
    const cached = { NODE_COMPILE_CACHE: cacheDir };
    await runChild(coldScript, { ...appEnv, ...cached });
    await runChild(coldScript, { ...helloEnv, ...cached });
    const withCache = await measure('compile cache', cached);
    log(`with NODE_COMPILE_CACHE: app ${spread(withCache.app)}; hello ${spread(withCache.hello)}`);
    result['appColdMsCompileCache'] = round(median(withCache.app));
    result['helloColdMsCompileCache'] = round(median(withCache.hello));
    result['ratioCompileCache'] = Number((median(withCache.app) / median(withCache.hello)).toFixed(2));
  }
  log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);
  console.log(JSON.stringify(result));
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await azurite.stop();
  issuerServer.close();
  rmSync(work, { recursive: true, force: true });
}

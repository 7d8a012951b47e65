/**
 * `npm run bench:api` — read throughput and latency of the API on the local Functions runtime with a
 * 10,000-cluster fleet evaluated: the summary, the cluster list, a cluster's detail, a framework report
 * (NIST SP 800-53, the largest) and the dashboard's aggregates (control matrix, trends). Each endpoint
 * is measured in interleaved rounds — app, no-op floor function, bare `node:http` server, then again —
 * with autocannon (50 connections × 5 s per target, 3 rounds), and reported as medians with min–max.
 * Then the mixed run: the same load (every endpoint in turn on each connection) while the evaluation
 * timer evaluates the whole fleet through the pipeline in the same host, against the same evaluation
 * without API load.
 *
 * Processes (the evaluation benchmark's children are reused for the dependencies):
 *   - this one: the local token issuer (JWKS over http), autocannon and the report;
 *   - `evaluation/azurite-process.ts`: Azurite in memory; `evaluation/arm-emulator-process.ts`: the
 *     ARM emulator with the scale fleet;
 *   - this file with `BENCH_API_ROLE=app`: the local Functions runtime running the real `functions/*.ts`
 *     (plus the floor function `bench/evaluation/floor-function.ts`). By default the fleet is evaluated
 *     in process and written through the real Table repositories (`seedEvaluatedFleet`, reported as
 *     `tables: "seeded"`); `--pipeline` evaluates it through the production pipeline instead;
 *   - this file with `BENCH_API_ROLE=bare`: the bare server.
 *
 * Options: --subscriptions N (200) --clusters M per subscription (50) --duration S (5) --rounds R (3)
 * --connections C (50) --pipeline --no-mixed --mixed-rate R (also a mixed run at R requests per second
 * overall, reported as `mixedAtRate`) --paths a,b (other paths) --cpu-prof-dir DIR (profile the
 * app) --app-flags "…" --ladder (also the fetch-objects reference and the library alone, per round).
 * The last line printed is one JSON object keyed by endpoint (`GET <path>`: rps, p99Ms, ratioToFloor,
 * spread {rps, p99Ms, ratioToFloor: [min, max]}, rounds, floorRps, bareRps, ratio, CPU µs per request,
 * bytes, errors) plus `mixed: { p99Ms, evaluationSlowdown, evaluationSeconds, evaluationAloneSeconds, … }`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const ROLE = process.env['BENCH_API_ROLE'];
/** Endpoints measured by default; the cluster detail path is completed with the fleet's first cluster. */
const ENDPOINTS = [
  '/api/v1/summary',
  '/api/v1/clusters?top=100',
  'cluster-detail',
  '/api/v1/frameworks/nist-800-53-r5/report',
  '/api/v1/control-matrix',
  '/api/v1/trends?days=30',
] as const;

interface CapturedResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly bodyBase64: string;
}

if (ROLE === 'app') await appRole();
else if (ROLE === 'bare') await bareRole();
else await main();

/** The app: the local Functions runtime against the other children's Azurite and ARM emulator. */
async function appRole(): Promise<void> {
  const { serveParent } = await import('./evaluation/ipc.js');
  const { startLocalStack } = await import('../local/local-stack.js');
  const { getContainer } = await import('../bootstrap/composition-root.js');
  console.info = () => undefined; // one line per subscription from the evaluation service
  const hostJson = fileURLToPath(new URL('./evaluation/host.json', import.meta.url));
  const stack = await startLocalStack({
    port: 0,
    hostJson,
    logger: () => undefined,
    settings: { EVALUATION_SCHEDULE: '0 0 3 1 1 *', CONTROLPLANE_WATCH_SCHEDULE: '0 0 3 1 1 *' },
    // The app's functions plus the benchmark's floor function (same runtime, same library path).
    entry: ['functions/*.ts', 'bench/evaluation/floor-function.ts'],
  });
  // Imported only now, so the runtime (which installed @azure/functions-core first) registered it.
  const { setFloorResponses } = await import('./evaluation/floor-function.js');
  if (stack.azurite !== undefined || stack.emulator !== undefined) throw new Error('the app process must use the Azurite and ARM emulator of the other processes');
  const container = await getContainer();
  serveParent({ apiUrl: stack.apiUrl }, {
    floor: (args) => setFloorResponses(args as Record<string, CapturedResponse>),
    libraryCost: async (args) => measureLibraryCost(stack.host, args as { path: string; invocations: number }),
    seed: async (args) => {
      const { generateFleet } = await import('../local/arm-emulator/fleet/index.js');
      const { seedEvaluatedFleet } = await import('./evaluation/seed-fleet.js');
      const now = new Date();
      return seedEvaluatedFleet(container.repositories, generateFleet({ mode: 'scale', ...(args as ScaleFleet) }, now), now);
    },
    evaluate: async () => {
      const started = performance.now();
      await stack.host.invokeTimer('evaluationTimer');
      const runId = (await container.repositories.runs.list(1)).items[0]?.id;
      if (runId === undefined) throw new Error('the timer opened no run');
      for (;;) {
        const run = await container.repositories.runs.get(runId);
        if (run?.completedAt !== undefined) return { seconds: (performance.now() - started) / 1000, status: run.status, clusters: run.clustersEvaluated };
        await new Promise((r) => setTimeout(r, 500));
      }
    },
  }, () => stack.stop());
}

/**
 * The floor function invoked back to back in this process through the runtime's `invokeFunction` — the
 * worker-side sequence of the library (`getInvocationModel` → `getArguments` → handler → `getResponse`) with
 * the input the HTTP listener builds — without the runtime's front server, HTTP parsing of the client or
 * concurrency: what the programming model alone costs per invocation on this machine (wall and process CPU,
 * µs). The app enables HTTP streaming, so each invocation also takes the library's proxy hop, as behind the
 * host: a proxied-invocation input plus the request forwarded to the library's server (`workerHttpUri`).
 */
async function measureLibraryCost(
  host: { readonly registrations: readonly import('../local/functions-runtime/index.js').FunctionRegistration[]; readonly workerHttpUri: string | undefined },
  { path, invocations }: { path: string; invocations: number },
): Promise<{ wallUs: number; cpuUs: number }> {
  const { buildRoutes } = await import('../local/functions-runtime/http-listener.js');
  const { invokeFunction } = await import('../local/functions-runtime/invocation.js');
  const { proxiedTriggerMetadata } = await import('../local/functions-runtime/http-stream-proxy.js');
  const { Agent, request: httpRequest } = await import('node:http');
  const { randomUUID } = await import('node:crypto');
  const route = buildRoutes(host.registrations).find((r) => r.registration.name === 'benchFloor');
  if (route === undefined) throw new Error('the floor function is not registered');
  const pathAndQuery = `/api/bench-floor?p=${encodeURIComponent(path)}`;
  const headers = { host: '127.0.0.1', 'user-agent': 'autocannon' };
  const quiet = (): void => undefined;
  const workerUri = host.workerHttpUri === undefined ? undefined : new URL(host.workerHttpUri);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const once = async (): Promise<void> => {
    if (workerUri === undefined) {
      await invokeFunction(route.registration, {
        inputData: [{ name: route.triggerName, data: { http: { method: 'GET', url: `http://127.0.0.1${pathAndQuery}`, headers, params: {}, query: { p: path }, body: null } } }],
        reason: 'bench',
      }, quiet);
      return;
    }
    const invocationId = randomUUID();
    const forwarded = new Promise<void>((resolve, reject) => {
      httpRequest({ host: workerUri.hostname, port: workerUri.port, path: pathAndQuery, agent, headers: { ...headers, 'x-ms-invocation-id': invocationId, 'x-forwarded-host': '127.0.0.1', 'x-forwarded-proto': 'http' } }, (res) => {
        res.resume();
        res.on('end', resolve);
        res.on('error', reject);
      })
        .on('error', reject)
        .end();
    });
    await Promise.all([
      invokeFunction(route.registration, { inputData: [{ name: route.triggerName, data: { http: {} } }], triggerMetadata: proxiedTriggerMetadata(headers, { p: path }, {}), invocationId, reason: 'bench' }, quiet),
      forwarded,
    ]);
  };
  try {
    for (let i = 0; i < 2000; i += 1) await once(); // JIT warm-up
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < invocations; i += 1) await once();
    const used = process.cpuUsage(cpu);
    return { wallUs: Number((((performance.now() - started) * 1000) / invocations).toFixed(1)), cpuUs: Number(((used.user + used.system) / invocations).toFixed(1)) };
  } finally {
    agent.destroy();
  }
}

interface ScaleFleet {
  readonly subscriptions: number;
  readonly clustersPerSubscription: number;
  readonly policyStatesPerCluster: number;
  readonly extensionsPerCluster: number;
}

/**
 * The references, in one child process:
 *   - `url`: node:http answering each path with the captured status, headers and body bytes (the bare server);
 *   - `shapedUrl`: the same server, plus only the fetch objects `@azure/functions` v4 builds for every HTTP
 *     invocation in its default (non-streaming) mode — `new Request(url, { method, headers })` for the
 *     trigger input (`HttpRequest`), `new Response(body, { status, headers })` for the result
 *     (`HttpResponse`), its `headers.entries()` and `await arrayBuffer()` (`toRpcHttp`) — with the body as
 *     the one-chunk stream the app hands over (the cheapest form measured). No invocation model, context,
 *     hooks, runtime or app: an upper bound for any function behind that library on this machine.
 */
async function bareRole(): Promise<void> {
  const { serveParent } = await import('./evaluation/ipc.js');
  const routes = new Map<string, { status: number; headers: Record<string, string>; body: Buffer }>();
  const server = createServer((req, res) => {
    const r = routes.get(req.url ?? '');
    if (r === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(r.status, r.headers);
    res.end(r.body);
  });
  const shaped = createServer((req, res) => {
    const r = routes.get(req.url ?? '');
    if (r === undefined) {
      res.writeHead(404).end();
      return;
    }
    void answerThroughFetchObjects(req, r).then(
      (answer) => res.writeHead(answer.status, answer.headers).end(answer.bytes),
      () => res.writeHead(500).end(),
    );
  });
  await Promise.all([server, shaped].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
  const urlOf = (s: typeof server): string => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  serveParent({ url: urlOf(server), shapedUrl: urlOf(shaped) }, {
    routes: (args) => {
      for (const [path, r] of Object.entries(args as Record<string, CapturedResponse>)) routes.set(path, { status: r.status, headers: r.headers, body: Buffer.from(r.bodyBase64, 'base64') });
      return routes.size;
    },
  }, () => Promise.all([server, shaped].map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => undefined));
}

async function answerThroughFetchObjects(
  req: import('node:http').IncomingMessage,
  r: { status: number; headers: Record<string, string>; body: Buffer },
): Promise<{ status: number; headers: Record<string, string | number>; bytes: Uint8Array }> {
  const requestHeaders: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) requestHeaders.push([req.rawHeaders[i] ?? '', req.rawHeaders[i + 1] ?? '']);
  new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers: requestHeaders });
  const body = r.body;
  const response = new Response(
    new ReadableStream<Uint8Array>({
      pull(controller) {
        if (body.byteLength > 0) controller.enqueue(body);
        controller.close();
      },
    }),
    { status: r.status, headers: r.headers },
  );
  const headers: Record<string, string | number> = {};
  for (const [name, value] of response.headers.entries()) headers[name] = value;
  const bytes = new Uint8Array(await response.arrayBuffer());
  headers['content-length'] = bytes.byteLength;
  return { status: response.status, headers, bytes };
}

async function main(): Promise<void> {
  const { BenchChild } = await import('./evaluation/ipc.js');
  const { createTokenIssuer } = await import('../local/token-issuer.js');
  const { values } = parseArgs({
    options: {
      subscriptions: { type: 'string', default: '200' },
      clusters: { type: 'string', default: '50' },
      duration: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '50' },
      // Fill the tables through the production pipeline (evaluation timer → queues → tables) instead
      // of seeding them through the repositories; minutes instead of seconds at 10,000 clusters.
      pipeline: { type: 'boolean', default: false },
      // The mixed run (API load during an evaluation of the whole fleet); --no-mixed skips it.
      mixed: { type: 'boolean', default: true },
      // Also a mixed run at a fixed overall request rate (requests per second), e.g. a dashboard audience,
      // reported as `mixedAtRate`.
      'mixed-rate': { type: 'string' },
      // Diagnostics: other paths to measure (comma-separated), and a V8 CPU profile of the app process.
      paths: { type: 'string' },
      'cpu-prof-dir': { type: 'string' },
      // Extra Node/V8 flags for the app process (space-separated), e.g. "--max-semi-space-size=16".
      'app-flags': { type: 'string' },
      // Also measure, each round, the bare server plus the fetch objects the library builds, and the
      // library alone in process (the reference ladder of docs/benchmarks.md).
      ladder: { type: 'boolean', default: false },
    },
    allowNegative: true,
  });
  const fleet = { subscriptions: Number(values.subscriptions), clustersPerSubscription: Number(values.clusters), policyStatesPerCluster: 40, extensionsPerCluster: 4 };
  const duration = Number(values.duration);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const log = (m: string): void => void process.stderr.write(`${m}\n`);
  const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

  // Entra ID stand-in for the app: JWKS over plain http from this process (fetched once by the app).
  const issuerServer = createServer((req, res) => {
    if (!issuer.handle(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => issuerServer.listen(0, '127.0.0.1', resolve));
  const issuer = await createTokenIssuer({ baseUrl: `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}` });

  const self = new URL(import.meta.url);
  const azurite = BenchChild.start('azurite', new URL('./evaluation/azurite-process.ts', import.meta.url));
  const arm = BenchChild.start('arm-emulator', new URL('./evaluation/arm-emulator-process.ts', import.meta.url), { BENCH_FLEET: JSON.stringify(fleet) });
  const children = [azurite, arm];
  try {
    log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${new Date().toISOString()}, load average ${load()}; ${connections} connections, ${rounds} rounds × ${duration} s per target`);
    const [storage, armEnv] = await Promise.all([azurite.ready, arm.ready]);
    const env: Record<string, string> = { BENCH_API_ROLE: 'app', AzureWebJobsStorage: String(storage['connectionString']), AUTH_ISSUER: issuer.issuer, AUTH_AUDIENCE: issuer.audience, AUTH_JWKS_URI: issuer.jwksUri };
    for (const [k, v] of Object.entries(armEnv)) if (typeof v === 'string') env[k] = v;
    const profileDir = values['cpu-prof-dir'];
    const appFlags = [...(values['app-flags']?.split(' ').filter((f) => f !== '') ?? []), ...(profileDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [])];
    const app = BenchChild.start('app', self, env, appFlags);
    children.push(app);
    const apiUrl = String((await app.ready)['apiUrl']);
    const source = values.pipeline ? 'evaluated through the pipeline (evaluation timer → queues → tables)' : 'seeded: evaluated in process, written through the Table repositories (not the pipeline)';
    log(`${String(armEnv['clusters'])} clusters in ${String(armEnv['subscriptions'])} subscriptions: ${source}…`);
    const evaluation = values.pipeline
      ? await app.request<{ seconds: number; status: string; clusters: number }>('evaluate')
      : await app.request<{ seconds: number; status: string; clusters: number }>('seed', fleet);
    log(`run ${evaluation.status}: ${evaluation.clusters} clusters in ${evaluation.seconds.toFixed(1)} s`);

    const token = await issuer.mintToken({ roles: ['Compliance.Read'], expiresIn: 3600 });
    const origin = new URL(apiUrl).origin;
    const get = async (path: string): Promise<Response> => fetch(`${origin}${path}`, { headers: { authorization: `Bearer ${token}` } });
    let endpoints: string[] = values.paths !== undefined ? values.paths.split(',') : [...ENDPOINTS];
    if (endpoints.includes('cluster-detail')) {
      const first = ((await (await get('/api/v1/clusters?top=1')).json()) as { value?: { subscriptionId: string; resourceGroup: string; name: string }[] }).value?.[0];
      if (first === undefined) throw new Error('no cluster to read the detail of');
      const detail = `/api/v1/clusters/${first.subscriptionId}/${first.resourceGroup}/${first.name}`;
      endpoints = endpoints.map((e) => (e === 'cluster-detail' ? detail : e));
    }
    const captured: Record<string, CapturedResponse> = {};
    for (const path of endpoints) {
      const started = performance.now();
      const res = await get(path);
      const body = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${body.toString('utf8').slice(0, 300)}`);
      const headers: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        if (!['date', 'connection', 'keep-alive', 'transfer-encoding'].includes(k)) headers[k] = v;
      });
      captured[path] = { status: res.status, headers, bodyBase64: body.toString('base64') };
      log(`${path}: ${body.length} bytes, first request ${(performance.now() - started).toFixed(0)} ms`);
    }

    const bare = BenchChild.start('bare', self, { BENCH_API_ROLE: 'bare' });
    children.push(bare);
    const bareReady = await bare.ready;
    const bareUrl = String(bareReady['url']);
    const shapedUrl = String(bareReady['shapedUrl']);
    await bare.request('routes', captured);
    await app.request('floor', captured);

    interface Measured {
      rps: number;
      p99Ms: number;
      non2xx: number;
      errors: number;
      total: number;
      cpuUs: number;
    }
    const measure = (url: string, auth: boolean, seconds: number): Promise<Omit<Measured, 'cpuUs'>> =>
      autocannon({ url, connections, duration: seconds, headers: auth ? { authorization: `Bearer ${token}` } : {} }).then((r) => ({
        rps: r.requests.average,
        p99Ms: r.latency.p99,
        non2xx: r.non2xx,
        errors: r.errors + r.timeouts,
        total: r.requests.total,
      }));
    /** A run of `measure` with the CPU the serving process spent per request, µs. */
    const measureWithCpu = async (url: string, auth: boolean, server: { cpuSeconds(): number | undefined }): Promise<Measured> => {
      const before = server.cpuSeconds() ?? 0;
      const r = await measure(url, auth, duration);
      return { ...r, cpuUs: Math.round((((server.cpuSeconds() ?? 0) - before) * 1e6) / Math.max(1, r.total)) };
    };
    const floorUrl = (path: string): string => `${origin}/api/bench-floor?p=${encodeURIComponent(path)}`;

    // Interleaved rounds: app, floor, bare for each endpoint, then again, so a change in the other
    // engineers' load hits every target of a round alike; medians over rounds, with min–max.
    for (const path of endpoints) await measure(`${origin}${path}`, true, 2); // warm-up (JIT, caches, connection pools)
    const perRound = new Map<string, { app: Measured; floor: Measured; bare: Measured; shaped?: Measured; library?: { wallUs: number; cpuUs: number } }[]>();
    for (let round = 1; round <= rounds; round += 1) {
      log(`round ${round}/${rounds} (load average ${load()})`);
      for (const path of endpoints) {
        const appRun = await measureWithCpu(`${origin}${path}`, true, app);
        const floor = await measureWithCpu(floorUrl(path), false, app);
        const bareRun = await measureWithCpu(`${bareUrl}${path}`, false, bare);
        const shaped = values.ladder ? await measureWithCpu(`${shapedUrl}${path}`, false, bare) : undefined;
        const library = values.ladder ? await app.request<{ wallUs: number; cpuUs: number }>('libraryCost', { path, invocations: 20_000 }) : undefined;
        if (appRun.non2xx > 0 || floor.non2xx > 0 || bareRun.non2xx > 0) throw new Error(`${path}: non-2xx responses under load (app ${appRun.non2xx}, floor ${floor.non2xx}, bare ${bareRun.non2xx})`);
        const list = perRound.get(path) ?? [];
        list.push({ app: appRun, floor, bare: bareRun, ...(shaped !== undefined ? { shaped } : {}), ...(library !== undefined ? { library } : {}) });
        perRound.set(path, list);
        log(
          `  GET ${path}: app ${Math.round(appRun.rps)} rps, p99 ${appRun.p99Ms} ms, ${appRun.cpuUs} µs CPU/request | floor ${Math.round(floor.rps)} rps, p99 ${floor.p99Ms} ms, ${floor.cpuUs} µs | bare ${Math.round(bareRun.rps)} rps, ${bareRun.cpuUs} µs` +
            ` | app/floor ${(appRun.rps / floor.rps).toFixed(2)}` +
            (shaped !== undefined ? ` | bare + fetch objects ${Math.round(shaped.rps)} rps, ${shaped.cpuUs} µs` : '') +
            (library !== undefined ? ` | library alone ${library.wallUs} µs wall, ${library.cpuUs} µs CPU` : ''),
        );
      }
    }

    const results: Record<string, unknown> = {};
    for (const path of endpoints) {
      const runs = perRound.get(path) ?? [];
      const stat = (pick: (r: (typeof runs)[number]) => number, digits = 0): { median: number; min: number; max: number } => {
        const xs = runs.map(pick).sort((a, b) => a - b);
        const round = (x: number): number => Number(x.toFixed(digits));
        return { median: round(median(xs)), min: round(xs[0] ?? NaN), max: round(xs[xs.length - 1] ?? NaN) };
      };
      const rps = stat((r) => r.app.rps);
      const p99 = stat((r) => r.app.p99Ms);
      const toFloor = stat((r) => r.app.rps / r.floor.rps, 3);
      const toBare = stat((r) => r.app.rps / r.bare.rps, 3);
      results[`GET ${path}`] = {
        rps: rps.median,
        p99Ms: p99.median,
        ratioToFloor: toFloor.median,
        spread: { rps: [rps.min, rps.max], p99Ms: [p99.min, p99.max], ratioToFloor: [toFloor.min, toFloor.max] },
        rounds: runs.length,
        floorRps: stat((r) => r.floor.rps).median,
        floorP99Ms: stat((r) => r.floor.p99Ms).median,
        bareRps: stat((r) => r.bare.rps).median,
        ratio: toBare.median,
        cpuUsPerRequest: stat((r) => r.app.cpuUs).median,
        floorCpuUsPerRequest: stat((r) => r.floor.cpuUs).median,
        bareCpuUsPerRequest: stat((r) => r.bare.cpuUs).median,
        ...(values.ladder ? { fetchShapedRps: stat((r) => r.shaped?.rps ?? NaN).median, libraryWallUsPerInvocation: stat((r) => r.library?.wallUs ?? NaN, 1).median } : {}),
        bytes: Buffer.from(captured[path]?.bodyBase64 ?? '', 'base64').length,
        errors: runs.reduce((n, r) => n + r.app.errors, 0),
        tables: values.pipeline ? 'pipeline' : 'seeded',
      };
    }

    if (values.mixed) {
      // The same API load (every endpoint in turn on each connection) while the evaluation timer runs a
      // full evaluation of the fleet in the same host; against the same evaluation without API load.
      log(`mixed run: evaluation of ${String(armEnv['clusters'])} clusters without API load (load average ${load()})…`);
      const alone = await app.request<{ seconds: number; status: string; clusters: number }>('evaluate');
      log(`  alone: ${alone.status}, ${alone.clusters} clusters in ${alone.seconds.toFixed(1)} s; now with API load (load average ${load()})…`);
      const requests = endpoints.map((path) => ({ method: 'GET' as const, path }));
      /** One evaluation of the fleet under API load (every endpoint in turn on each connection), at most `rate` requests per second overall. */
      const underLoad = async (rate: number | undefined): Promise<Record<string, unknown>> => {
        let stopLoad: (() => void) | undefined;
        const loadDone = new Promise<autocannon.Result>((resolve, reject) => {
          const instance = autocannon(
            { url: origin, connections, duration: 24 * 3600, requests, headers: { authorization: `Bearer ${token}` }, ...(rate !== undefined ? { overallRate: rate } : {}) },
            (err: unknown, result: autocannon.Result) => (err !== null && err !== undefined ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(result)),
          );
          stopLoad = () => instance.stop();
        });
        await new Promise((r) => setTimeout(r, 1000)); // the load is on before the timer fires
        const loaded = await app.request<{ seconds: number; status: string; clusters: number }>('evaluate').finally(() => stopLoad?.());
        const during = await loadDone;
        const slowdown = loaded.seconds / alone.seconds;
        log(
          `  with API load${rate !== undefined ? ` at ${rate} rps` : ''}: ${loaded.status}, ${loaded.clusters} clusters in ${loaded.seconds.toFixed(1)} s (${slowdown.toFixed(2)}× alone); API during it: ${Math.round(during.requests.average)} rps, ` +
            `p50 ${during.latency.p50} ms, p99 ${during.latency.p99} ms, max ${during.latency.max} ms, ${during.non2xx} non-2xx, ${during.errors + during.timeouts} errors (load average ${load()})`,
        );
        return {
          p99Ms: during.latency.p99,
          evaluationSlowdown: Number(slowdown.toFixed(3)),
          evaluationSeconds: Number(loaded.seconds.toFixed(1)),
          evaluationAloneSeconds: Number(alone.seconds.toFixed(1)),
          clusters: loaded.clusters,
          ...(rate !== undefined ? { rate } : {}),
          rps: Math.round(during.requests.average),
          p50Ms: during.latency.p50,
          maxMs: during.latency.max,
          non2xx: during.non2xx,
          errors: during.errors + during.timeouts,
        };
      };
      results['mixed'] = await underLoad(undefined);
      if (values['mixed-rate'] !== undefined) {
        const rate = Number(values['mixed-rate']);
        if (!Number.isInteger(rate) || rate < 1) throw new Error('--mixed-rate must be a positive integer (requests per second)');
        results['mixedAtRate'] = await underLoad(rate);
      }
    }
    log(`done at ${new Date().toISOString()}, load average ${load()}`);
    console.log(JSON.stringify(results));
  } finally {
    for (const c of children.reverse()) await c.stop();
    issuerServer.close();
  }
}

function median(sorted: readonly number[]): number {
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

/**
 * One cold start, in a fresh Node process (`npm run bench:coldstart` bundles this file with the local
 * runtime and runs it with plain `node`, one process per sample).
 *
 * Not timed: loading the local runtime's invocation layer (what the Functions worker has loaded before it
 * loads an app), and reaching storage and the token issuer that run outside this process (one TCP
 * connection to each, and the JWKS fetched once with this process's `fetch`, so loading `fetch` itself is
 * not charged to either app).
 *
 * Timed: from the import of the built package's entry files (package.json `main`, in order, as the
 * worker does) through the library's capabilities answer and the `appStart` hooks to the first
 * invocation's response being complete, invoked in process through the runtime (`invokeFunction`: the
 * library's invocation model, the handler, the response read back; with HTTP streaming, as the app
 * enables it, the proxied invocation plus the request forwarded to the library's own server, as the host
 * does it). Prints one JSON line: `{ ms, cpuMs, status, bytes, functions, phases }` (`cpuMs`: CPU time of the
 * process in the timed window, user + system, all threads).
 *
 * Environment: COLD_APP_ROOT (the package folder), COLD_PATH (request path), COLD_FUNCTION (function
 * name), COLD_TOKEN (bearer token, optional), COLD_STORAGE_PORT, COLD_JWKS_URI; the app's settings.
 */
import { connect } from 'node:net';
import { coreState, installCoreModule, runAppStartHooks } from '../../local/functions-runtime/core-api.js';
import { loadEntryFiles, resolveEntryFiles } from '../../local/functions-runtime/entry-points.js';
import { buildRoutes } from '../../local/functions-runtime/http-listener.js';
import { invokeFunction } from '../../local/functions-runtime/invocation.js';
import { proxiedTriggerMetadata } from '../../local/functions-runtime/http-stream-proxy.js';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';

const env = (name: string): string => {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`${name} is not set`);
  return v;
};
const appRoot = env('COLD_APP_ROOT');
const path = env('COLD_PATH');
const functionName = env('COLD_FUNCTION');
const token = process.env['COLD_TOKEN'];

// Outside the timed window: the dependencies answer.
installCoreModule();
await new Promise<void>((resolve, reject) => {
  const socket = connect(Number(env('COLD_STORAGE_PORT')), '127.0.0.1', () => {
    socket.end();
    resolve();
  });
  socket.once('error', reject);
});
const jwks = await fetch(env('COLD_JWKS_URI'));
if (!jwks.ok) throw new Error(`the token issuer answered ${jwks.status}`);
await jwks.arrayBuffer();
const quiet = (): void => undefined;

const cpuAtStart = process.cpuUsage();
const hrMarks: number[] = [];
const mark = (): number => hrMarks.push(Number(process.hrtime.bigint() / 1000n));
mark();
const started = performance.now();
const registrations = await loadEntryFiles(resolveEntryFiles({ appRoot }));
const loaded = performance.now();
mark();
const state = coreState();
// As the worker's init ends: registration is over, the library answers the capabilities (with
// `app.setup({ enableHttpStream: true })` it starts its HTTP proxy server and names it in `HttpUri`),
// then the host runs the appStart hooks.
state.startupFinished = true;
const capabilities = await state.programmingModel?.getCapabilities?.({});
const workerHttpUri = capabilities?.['HttpUri'];
await runAppStartHooks(appRoot);
const appStarted = performance.now();
mark();
const route = buildRoutes(registrations).find((r) => r.registration.name === functionName);
if (route === undefined) throw new Error(`no HTTP function ${functionName} in ${appRoot}`);
const headers: Record<string, string> = { host: '127.0.0.1:7071', 'user-agent': 'bench-coldstart', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) };
let status = 0;
let bytes = 0;
if (workerHttpUri === undefined) {
  const url = `http://127.0.0.1:7071${path}`;
  const response = await invokeFunction(
    route.registration,
    { inputData: [{ name: route.triggerName, data: { http: { method: 'GET', url, headers, params: {}, query: {}, body: null } } }], reason: 'bench' },
    quiet,
  );
  const data = route.outputName === '$return' ? response.returnValue : response.outputData?.find((o) => o.name === route.outputName)?.data;
  const http = data?.http;
  status = Number(http?.statusCode ?? 0);
  bytes = http?.body?.bytes?.byteLength ?? (typeof http?.body?.string === 'string' ? Buffer.byteLength(http.body.string) : 0);
} else {
  // HTTP streaming, as the host does it: the invocation (empty `http` input, headers and query as
  // trigger metadata) and, at the same time, the request forwarded to the library's server, whose
  // response is the function's; complete when its body has been read to the end.
  const worker = new URL(workerHttpUri);
  // The host's side of the proxy runs in this process only because the host is simulated here: give it
  // the loopback address, so resolving the library's `localhost` (and Node compiling its IPv6 address
  // pattern for it) is not charged to the app.
  const workerHost = worker.hostname === 'localhost' ? '127.0.0.1' : worker.hostname;
  const invocationId = randomUUID();
  const forwarded = new Promise<void>((resolve, reject) => {
    httpRequest(
      { host: workerHost, port: worker.port, path, headers: { ...headers, 'x-ms-invocation-id': invocationId, 'x-forwarded-host': '127.0.0.1:7071', 'x-forwarded-proto': 'http' } },
      (res) => {
        status = res.statusCode ?? 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.byteLength));
        res.on('end', resolve);
        res.on('error', reject);
      },
    )
      .on('error', reject)
      .end();
  });
  await Promise.all([
    invokeFunction(route.registration, { inputData: [{ name: route.triggerName, data: { http: {} } }], triggerMetadata: proxiedTriggerMetadata(headers, {}, {}), invocationId, reason: 'bench' }, quiet),
    forwarded,
  ]);
}
mark();
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpuAtStart);
const cpuMs = (cpu.user + cpu.system) / 1000;
const phases = { loadMs: loaded - started, appStartMs: appStarted - loaded, firstInvocationMs: performance.now() - appStarted };
process.stdout.write(`${JSON.stringify({ ms, cpuMs, status, bytes, streaming: workerHttpUri !== undefined, functions: registrations.length, phases, hrMarks })}\n`);
// Open sockets (storage keep-alive) would hold the process; the sample is taken.
process.exit(0);

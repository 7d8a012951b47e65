/**
 * Child-process helper for package-registration.test.ts: starts the local runtime on a BUILT package
 * (its own package.json `main`, its own node_modules) and sends it real HTTP requests, recording every
 * file Node loads, so the test sees what a cold instance reads to answer an API request. It starts
 * what the package talks to itself (Azurite with a stored summary, the local token issuer) and prints
 * one JSON object.
 */
import { createRequire, registerHooks } from 'node:module';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';

const loaded: string[] = [];
registerHooks({
  load(url, context, nextLoad) {
    if (url.startsWith('file:')) loaded.push(url);
    return nextLoad(url, context);
  },
});
// CommonJS files the package requires itself (its stored-record validators) are not seen by the load
// hook here; the CommonJS loader's cache lists them.
const requireCache = createRequire(import.meta.url).cache;
const required = (): string[] => Object.keys(requireCache).map((f) => `file://${f}`);
console.log = console.info = (...args: unknown[]) => console.error(...args);

const { startFunctionsHost } = await import('../../local/functions-runtime/index.js');
const { startAzurite } = await import('../../local/azurite.js');
const { createTokenIssuer } = await import('../../local/token-issuer.js');
const { TableStore } = await import('../../adapters/storage/table-store.js');
const { TableSummaryRepository } = await import('../../adapters/storage/table-summary-repository.js');
const { summarizeFleet } = await import('../../domain/fleet-summary.js');

const azurite = await startAzurite();
const tables = await TableStore.open({ connectionString: azurite.connectionString });
await new TableSummaryRepository(tables).put(summarizeFleet('package-test-run', new Date().toISOString(), []));
let issuer: Awaited<ReturnType<typeof createTokenIssuer>> | undefined;
const issuerServer = createServer((req, res) => {
  if (issuer?.handle(req, res) !== true) res.writeHead(404).end();
});
await new Promise<void>((r) => issuerServer.listen(0, '127.0.0.1', r));
issuer = await createTokenIssuer({ baseUrl: `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}` });
const token = await issuer.mintToken({ roles: ['Compliance.Read'], expiresIn: 600 });
Object.assign(process.env, {
  AzureWebJobsStorage: azurite.connectionString,
  AUTH_ISSUER: issuer.issuer,
  AUTH_AUDIENCE: issuer.audience,
  AUTH_JWKS_URI: issuer.jwksUri,
  EVALUATION_SCHEDULE: '0 0 3 1 1 *',
  CONTROLPLANE_WATCH_SCHEDULE: '0 0 3 1 1 *',
});

const appRoot = resolve(process.argv[2] ?? '.');
const host = await startFunctionsHost({ appRoot, port: 0, logger: () => undefined });
try {
  const auth = { authorization: `Bearer ${token}` };
  const beforeRequests = loaded.length;
  const requiredBefore = new Set(required());
  const summary = await fetch(`${host.url}/api/v1/summary`, { headers: auth });
  const summaryBody = (await summary.json()) as Record<string, unknown>;
  const afterSummary = [...loaded.slice(beforeRequests), ...required().filter((f) => !requiredBefore.has(f))];
  const invalid = await fetch(`${host.url}/api/v1/clusters?top=abc`, { headers: auth });
  const invalidBody = (await invalid.json()) as Record<string, unknown>;
  process.stdout.write(
    JSON.stringify({
      summary: { status: summary.status, runId: summaryBody['runId'] },
      invalid: { status: invalid.status, body: invalidBody },
      loadedAtStart: loaded.slice(0, beforeRequests).filter((u) => u.includes(appRoot)),
      loadedForSummary: afterSummary.filter((u) => u.includes(appRoot)),
    }),
  );
} finally {
  // Bounded: with HTTP streaming a kept-alive proxy connection can hold the host's stop; the result is out.
  await Promise.race([Promise.all([host.stop(), azurite.stop()]), new Promise((r) => setTimeout(r, 5000))]);
  issuerServer.close();
  process.exit(0);
}

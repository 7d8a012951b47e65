import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../../application/messages.js';
import { document as openApiDocument } from '../../openapi/document.js';
import { dependencyClosure, ignoreMatcher, productionPackages, stagePackage, type StageResult } from '../../infra/scripts/stage-package.js';
import { ENTRY_FILE, EXTERNAL_PACKAGES } from '../../infra/scripts/bundle-app.js';

interface CapturedBinding {
  readonly type: string;
  readonly direction: string;
  readonly queueName?: string;
  readonly schedule?: string;
  readonly route?: string;
  readonly methods?: readonly string[];
}
interface Captured {
  readonly name: string;
  readonly entry: string;
  readonly bindings: Readonly<Record<string, CapturedBinding>>;
}

const execFileAsync = promisify(execFile);
const npmEnv = { ...process.env, npm_config_update_notifier: 'false' };

/** What the host would index for a package's entry files (`capture-dist-registrations.ts` in a child process). */
async function captureIn(args: readonly string[]): Promise<Captured[]> {
  const { stdout } = await execFileAsync('npx', ['tsx', 'test/build/capture-dist-registrations.ts', ...args], { env: npmEnv, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as Captured[];
}

/** Operation ids of the OpenAPI document: every one is an HTTP function. */
function documentedOperationIds(): string[] {
  const ids: string[] = [];
  for (const item of Object.values(openApiDocument.paths ?? {})) {
    for (const op of Object.values(item ?? {})) {
      if (op !== null && typeof op === 'object' && 'operationId' in op && typeof op.operationId === 'string') ids.push(op.operationId);
    }
  }
  return ids;
}

/** Non-HTTP functions, read from the sources: `app.timer('name'` / `app.storageQueue('name'`. */
function sourceTriggerFunctions(): string[] {
  const names: string[] = [];
  for (const file of readdirSync('functions').filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(`functions/${file}`, 'utf8');
    for (const m of text.matchAll(/app\.(?:timer|storageQueue)\(\s*'([\w-]+)'/g)) if (m[1]) names.push(m[1]);
  }
  return names;
}

/**
 * The catch-all HTTP function (404/405 in the API's error shape for unmatched routes), read from its
 * source: it is registered next to the operations but is not an operation of the OpenAPI document.
 */
function catchAllFunctions(): string[] {
  const m = /export const UNMATCHED_ROUTE_FUNCTION = '([\w-]+)'/.exec(readFileSync('adapters/http/azure-functions.ts', 'utf8'));
  return m?.[1] !== undefined ? [m[1]] : [];
}

/** Every function the host must index: one per OpenAPI operation, the catch-all, and the queue and timer triggers. */
function expectedFunctionNames(): string[] {
  return [...documentedOperationIds(), ...catchAllFunctions(), ...sourceTriggerFunctions()].sort();
}

// Outside the repository, so a module missing from the package cannot be found in the repository's
// node_modules by Node's upward lookup. Staged once for the describes below, without the type check
// (`npm test` runs it on its own).
const stagedOut = join(mkdtempSync(join(tmpdir(), 'arc-package-')), 'package');
let staging: Promise<StageResult> | undefined;
const stageOnce = (): Promise<StageResult> => (staging ??= stagePackage({ root: '.', out: stagedOut, typecheck: false }));
afterAll(() => rmSync(join(stagedOut, '..'), { recursive: true, force: true }));

describe('the staged deployment package (npm run package:azure, what azd deploys)', () => {
  const out = stagedOut;
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  let staged: StageResult;
  let captured: Captured[];

  let fromSources: Captured[];

  beforeAll(async () => {
    // The unbundled app (every functions/*.ts under tsx) is captured while the package is built.
    const sources = captureIn(['--sources']);
    staged = await stageOnce();
    [captured, fromSources] = await Promise.all([captureIn([out]), sources]);
  }, 240_000);

  it('registers every function from its own package.json main, with only its own node_modules', () => {
    const expected = expectedFunctionNames();
    expect(captured.map((c) => c.name).sort()).toEqual(expected);
    for (const c of captured) expect(c.entry.startsWith(join(out, 'dist', 'functions'))).toBe(true);
  });

  it('registers exactly what the unbundled functions/*.ts register: the same names, triggers and bindings', () => {
    const shape = (list: readonly Captured[]): [string, Captured['bindings']][] => list.map((c): [string, Captured['bindings']] => [c.name, c.bindings]).sort(([a], [b]) => a.localeCompare(b));
    expect(fromSources.length).toBe(expectedFunctionNames().length);
    expect(shape(captured)).toEqual(shape(fromSources));
    // Every source file registers something, so a file the bundle dropped would show up above.
    const files = readdirSync('functions').filter((f) => f.endsWith('.ts') && f !== 'app-start.ts');
    expect(new Set(fromSources.map((c) => c.entry.split(/[/\\]/).pop())).size).toBe(files.length);
  });

  it('binds queue triggers to the queues the app sends to, and the timer to its app setting', () => {
    const queueNames = captured.flatMap((c) => Object.values(c.bindings)).filter((b) => b.type === 'queueTrigger').map((b) => b.queueName);
    for (const q of [QUEUES.collectSubscription, QUEUES.finalizeRun]) expect(queueNames).toContain(q);
    const timer = captured.find((c) => c.name === 'evaluationTimer');
    expect(Object.values(timer?.bindings ?? {}).find((b) => b.type === 'timerTrigger')?.schedule).toBe('%EVALUATION_SCHEDULE%');
  });

  it('serves HTTP functions anonymously at the host, because the app verifies Entra ID tokens itself', () => {
    const http = captured.flatMap((c) => Object.values(c.bindings)).filter((b) => b.type === 'httpTrigger');
    expect(http.length).toBe(documentedOperationIds().length + catchAllFunctions().length);
    for (const b of http) expect((b as { authLevel?: string }).authLevel).toBe('anonymous');
    // The catch-all lists no methods, so the host hands it every method no operation serves.
    const catchAll = captured.find((c) => catchAllFunctions().includes(c.name));
    expect(Object.values(catchAll?.bindings ?? {}).find((b) => b.type === 'httpTrigger')).toMatchObject({ route: '{*path}' });
    expect(Object.values(catchAll?.bindings ?? {}).find((b) => b.type === 'httpTrigger')?.methods).toBeUndefined();
  });

  it('holds host.json and package.json at its root, bundled minified ES modules, and nothing .funcignore excludes', () => {
    const ignored = ignoreMatcher(readFileSync('.funcignore', 'utf8'));
    expect(staged.files).toContain('host.json');
    expect(staged.files).toContain('package.json');
    // One entry file that registers every function, and chunks behind dynamic imports: no tree of compiled
    // modules; beside the chunks, one CommonJS stored-record validator per schema (required synchronously).
    const js = staged.files.filter((f) => f.startsWith('dist/functions/'));
    expect(js.filter((f) => !f.includes('/chunks/'))).toEqual([`dist/functions/${ENTRY_FILE}`]);
    expect(js.every((f) => /^dist\/functions\/chunks\/record-validator-[\w-]+\.cjs$|^dist\/functions\/(?:chunks\/)?[\w.-]+\.js$/.test(f)), js.join(', ')).toBe(true);
    expect(js.filter((f) => f.endsWith('.cjs')).length).toBeGreaterThan(10);
    expect(js.filter((f) => f.includes('/chunks/')).length).toBeGreaterThan(0);
    const entry = readFileSync(join(out, 'dist', 'functions', ENTRY_FILE), 'utf8');
    expect(entry).toMatch(/^import\{/); // ES module
    expect(entry.length / entry.split('\n').length).toBeGreaterThan(2000); // minified (line breaks only inside template literals)
    expect(staged.files.filter((f) => f !== '.funcignore' && ignored(f))).toEqual([]);
    // no sources, tests, local runtime or maps slipped through
    expect(staged.files.filter((f) => /\.ts$|\.map$|^(?:test|local|bench|docs|infra)\//.test(f) && !f.startsWith('node_modules/'))).toEqual([]);
    // the staged .funcignore excludes nothing more (azd applies the package folder's own file)
    expect(readFileSync(join(out, '.funcignore'), 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'))).toEqual([]);
  });

  it('carries the dashboard assets the app serves: built by esbuild into dist/dashboard, as its manifest lists them', () => {
    const manifest = JSON.parse(readFileSync(join(out, 'dist', 'dashboard', 'manifest.json'), 'utf8')) as { script: string; style: string; files: Record<string, string> };
    expect(Object.keys(manifest.files)).toContain(manifest.script);
    expect(Object.keys(manifest.files)).toContain(manifest.style);
    for (const file of Object.keys(manifest.files)) expect(staged.files).toContain(`dist/dashboard/${file}`);
    // bundled from npm packages at build time: MSAL is inside, nothing is fetched from a CDN
    const js = Object.keys(manifest.files).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(out, 'dist', 'dashboard', f), 'utf8')).join('\n');
    expect(js).toContain('msal');
    expect(js).not.toMatch(/https:\/\/(?:cdn|unpkg|cdnjs|jsdelivr)/);
  });

  it('ships only what the bundle leaves external, and only production dependencies', () => {
    const production = productionPackages(lock);
    const external = dependencyClosure(lock, EXTERNAL_PACKAGES);
    expect(staged.packages).toEqual(external);
    for (const key of external) {
      expect(production, key).toContain(key);
      expect(existsSync(join(out, key, 'package.json')), key).toBe(true);
    }
    // The SDKs are in the bundle, not beside it.
    for (const name of ['@azure/functions', '@azure/identity', '@azure/data-tables', 'ajv']) expect(existsSync(join(out, 'node_modules', name)), name).toBe(false);
    const dev = Object.entries(lock.packages).filter(([key, e]) => key.startsWith('node_modules/') && e.dev === true).map(([key]) => key);
    expect(dev.length).toBeGreaterThan(50);
    expect(dev.filter((key) => existsSync(join(out, key))), 'dev dependencies in the package').toEqual([]);
    for (const name of ['typescript', 'vitest', 'azurite', 'tsx']) expect(existsSync(join(out, 'node_modules', name)), name).toBe(false);
  });
});

describe('the staged deployment package answering requests (bundle, ahead-of-time validators, lazy loading)', () => {
  const out = stagedOut;
  let result: {
    summary: { status: number; runId: unknown };
    invalid: { status: number; body: { error?: { code?: string; target?: string } } };
    loadedAtStart: string[];
    loadedForSummary: string[];
  };

  beforeAll(async () => {
    await stageOnce();
    // The child starts Azurite and the token issuer itself: everything the package talks to is in it.
    const { stdout } = await execFileAsync('npx', ['tsx', 'test/build/serve-package.ts', out], { env: npmEnv, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    result = JSON.parse(stdout) as typeof result;
  }, 240_000);

  it('answers an authenticated GET /api/v1/summary from the stored summary', () => {
    expect(result.summary).toEqual({ status: 200, runId: 'package-test-run' });
  });

  it('refuses an invalid query with the validators compiled at build time (400 naming the parameter)', () => {
    expect(result.invalid.status).toBe(400);
    expect(result.invalid.body.error?.target).toBe('top');
  });

  it("reads only the validators of what it serves: the summary operation's chunk and a few stored-record validators", () => {
    const name = (url: string): string => url.split('/').pop() ?? url;
    const requestChunks = readdirSync(join(out, 'dist', 'functions', 'chunks')).filter((f) => /^[a-z]+[A-Z]\w*-[A-Z0-9]+\.js$/.test(f));
    // One chunk per operation, named after it; the summary read loads its own and no other operation's.
    expect(requestChunks.length).toBeGreaterThan(40);
    const loadedRequestChunks = [...result.loadedAtStart, ...result.loadedForSummary].map(name).filter((f) => requestChunks.includes(f));
    expect(loadedRequestChunks.map((f) => f.replace(/-\w+\.js$/, ''))).toEqual(['getSummary']);
    // The invalid query then loaded listClusters' validators (the 400 above named the parameter).
    const records = readdirSync(join(out, 'dist', 'functions', 'chunks')).filter((f) => f.endsWith('.cjs'));
    const loadedRecords = result.loadedForSummary.map(name).filter((f) => f.endsWith('.cjs'));
    expect(loadedRecords.length).toBeGreaterThan(0);
    expect(loadedRecords.length).toBeLessThan(records.length / 2);
  });

  it('loads neither the ARM SDKs, the credential, the Storage queues, the webhook stack nor the evaluation services to answer the summary', () => {
    const read = (url: string): string => readFileSync(new URL(url), 'utf8');
    const loaded = [...result.loadedAtStart, ...result.loadedForSummary];
    expect(loaded.length).toBeGreaterThan(0);
    // keepNames keeps class names in the bundle: each heavy dependency is recognisable by one of its classes.
    const markers = ['"DefaultAzureCredential"', '"MonitorClient"', '"PolicyInsightsClient"', '"PolicyClient"', '"QueueClient"', '"GuardedHttpClient"', '"ServiceNowClient"'];
    // …nor the evaluation, the control-plane watch, the evidence recorder or the remediation service.
    markers.push('"SubscriptionCollector"', '"EvaluationRunFinalizer"', '"ControlPlaneWatchService"', '"EvidenceRecorder"', '"RemediationService"');
    for (const url of loaded) for (const marker of markers) expect(read(url).includes(marker), `${url} holds ${marker}`).toBe(false);
    // …and they are in the package, behind dynamic imports.
    const all = readdirSync(join(out, 'dist', 'functions', 'chunks')).map((f) => readFileSync(join(out, 'dist', 'functions', 'chunks', f), 'utf8'));
    for (const marker of markers) expect(all.some((text) => text.includes(marker)), marker).toBe(true);
    // The document is served by its own operation: neither registering the functions nor answering the summary walks it.
    for (const url of loaded) expect(read(url).includes('arc-compliance API'), `${url} holds the OpenAPI document`).toBe(false);
    // Request and stored-record validators were compiled at build time: ajv's compiler is not in the package at all.
    expect(all.some((text) => text.includes('schema with key or id')), 'ajv compiler in the package').toBe(false);
    expect(readFileSync(join(out, 'dist', 'functions', ENTRY_FILE), 'utf8').includes('schema with key or id')).toBe(false);
  });
});

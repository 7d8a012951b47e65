import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../../application/messages.js';
import { document as openApiDocument } from '../../openapi/document.js';
import { ignoreMatcher, productionPackages, stagePackage, type StageResult } from '../../infra/scripts/stage-package.js';

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

const npmEnv = { ...process.env, npm_config_update_notifier: 'false' };

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

describe('the deployment package (npm run build)', () => {
  let captured: Captured[];

  beforeAll(() => {
    execFileSync('npm', ['run', '-s', 'build'], { env: npmEnv, stdio: 'pipe' });
    const out = execFileSync('npx', ['tsx', 'test/build/capture-dist-registrations.ts'], { env: npmEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    captured = JSON.parse(out) as Captured[];
  }, 240_000);

  it("registers every function from package.json's main, from compiled JavaScript", () => {
    const expected = expectedFunctionNames();
    expect(captured.map((c) => c.name).sort()).toEqual(expected);
    for (const c of captured) expect(c.entry).toMatch(/[/\\]dist[/\\]functions[/\\][\w-]+\.js$/);
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
});

describe('the staged deployment package (npm run package:azure, what azd deploys)', () => {
  // Outside the repository, so a module missing from the package cannot be found in the repository's
  // node_modules by Node's upward lookup.
  const out = join(mkdtempSync(join(tmpdir(), 'arc-package-')), 'package');
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  let staged: StageResult;
  let captured: Captured[];

  beforeAll(() => {
    staged = stagePackage({ root: '.', out });
    const json = execFileSync('npx', ['tsx', 'test/build/capture-dist-registrations.ts', out], { env: npmEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    captured = JSON.parse(json) as Captured[];
  }, 240_000);
  afterAll(() => rmSync(join(out, '..'), { recursive: true, force: true }));

  it('registers every function from its own package.json main, with only its own node_modules', () => {
    const expected = expectedFunctionNames();
    expect(captured.map((c) => c.name).sort()).toEqual(expected);
    for (const c of captured) expect(c.entry.startsWith(join(out, 'dist', 'functions'))).toBe(true);
  });

  it('holds host.json and package.json at its root, compiled JavaScript, and nothing .funcignore excludes', () => {
    const ignored = ignoreMatcher(readFileSync('.funcignore', 'utf8'));
    expect(staged.files).toContain('host.json');
    expect(staged.files).toContain('package.json');
    expect(staged.files).toContain('dist/functions/api-clusters.js');
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

  it('ships exactly the production dependencies of package-lock.json', () => {
    const production = productionPackages(lock);
    expect(staged.packages).toEqual(production);
    for (const key of production) expect(existsSync(join(out, key, 'package.json')), key).toBe(true);
    const dev = Object.entries(lock.packages).filter(([key, e]) => key.startsWith('node_modules/') && e.dev === true).map(([key]) => key);
    expect(dev.length).toBeGreaterThan(50);
    expect(dev.filter((key) => existsSync(join(out, key))), 'dev dependencies in the package').toEqual([]);
    for (const name of ['typescript', 'vitest', 'azurite', 'tsx']) expect(existsSync(join(out, 'node_modules', name)), name).toBe(false);
  });
});

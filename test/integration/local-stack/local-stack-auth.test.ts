/**
 * The local stack's `AUTH_*` precedence (each setting respected on its own, local tokens offered only
 * when the API will accept them), what `npm start` prints, and what the anonymous health check tells.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyLocalAuthSettings, startLocalStack, type LocalStack } from '../../../local/local-stack.js';
import { LOCAL_AUDIENCE } from '../../../local/token-issuer.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const LOCAL = { issuer: 'https://127.0.0.1:9/tenant/v2.0', audience: LOCAL_AUDIENCE, jwksUri: 'https://127.0.0.1:9/tenant/discovery/v2.0/keys' };
const REAL_ISSUER = 'https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0';
/** Settings startLocalStack / npm start fill in: removed so each start decides them afresh. */
const STACK_SETTINGS = ['AzureWebJobsStorage', 'AZURE_RESOURCE_MANAGER_ENDPOINT', 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'AUTH_ISSUER', 'AUTH_AUDIENCE', 'AUTH_JWKS_URI', 'PORT'];

describe('applyLocalAuthSettings: each AUTH_* setting on its own', () => {
  it('fills all three with the local issuer when none is set', () => {
    const env: NodeJS.ProcessEnv = {};
    expect(applyLocalAuthSettings(env, LOCAL)).toBe(true);
    expect(env).toEqual({ AUTH_ISSUER: LOCAL.issuer, AUTH_AUDIENCE: LOCAL.audience, AUTH_JWKS_URI: LOCAL.jwksUri });
  });

  it('keeps AUTH_AUDIENCE set alone (local tokens accepted only when minted for it)', () => {
    const env: NodeJS.ProcessEnv = { AUTH_AUDIENCE: 'api://team-api' };
    expect(applyLocalAuthSettings(env, LOCAL)).toBe(false);
    expect(env).toEqual({ AUTH_ISSUER: LOCAL.issuer, AUTH_AUDIENCE: 'api://team-api', AUTH_JWKS_URI: LOCAL.jwksUri });
    expect(applyLocalAuthSettings({ AUTH_AUDIENCE: 'api://team-api' }, { ...LOCAL, audience: 'api://team-api' })).toBe(true);
  });

  it('keeps AUTH_JWKS_URI set alone, and then local tokens are not offered', () => {
    const env: NodeJS.ProcessEnv = { AUTH_JWKS_URI: 'https://keys.example/jwks' };
    expect(applyLocalAuthSettings(env, LOCAL)).toBe(false);
    expect(env).toEqual({ AUTH_ISSUER: LOCAL.issuer, AUTH_AUDIENCE: LOCAL.audience, AUTH_JWKS_URI: 'https://keys.example/jwks' });
  });

  it('with another issuer, borrows neither the local audience nor the local keys', () => {
    const env: NodeJS.ProcessEnv = { AUTH_ISSUER: REAL_ISSUER };
    expect(applyLocalAuthSettings(env, LOCAL)).toBe(false);
    // AUTH_AUDIENCE stays unset so the app's settings check names it; keys are discovered from the issuer.
    expect(env).toEqual({ AUTH_ISSUER: REAL_ISSUER });
    const withAudience: NodeJS.ProcessEnv = { AUTH_ISSUER: REAL_ISSUER, AUTH_AUDIENCE: 'api://arc-compliance' };
    expect(applyLocalAuthSettings(withAudience, LOCAL)).toBe(false);
    expect(withAudience).toEqual({ AUTH_ISSUER: REAL_ISSUER, AUTH_AUDIENCE: 'api://arc-compliance' });
  });
});

describe('startLocalStack with AUTH_AUDIENCE set alone', () => {
  let stack: LocalStack;
  const saved = new Map<string, string | undefined>();

  beforeAll(async () => {
    for (const name of STACK_SETTINGS) {
      saved.set(name, process.env[name]);
      delete process.env[name];
    }
    stack = await startLocalStack({ port: 0, settings: { AUTH_AUDIENCE: 'api://team-api', EVALUATION_SCHEDULE: '0 0 3 1 1 *' }, logger: () => undefined });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('keeps the audience and mints local tokens for it, which the API accepts', async () => {
    expect(process.env['AUTH_AUDIENCE']).toBe('api://team-api');
    expect(stack.issuer?.audience).toBe('api://team-api');
    expect(process.env['AUTH_ISSUER']).toBe(stack.issuer?.issuer);
    const token = await stack.issuer!.mintToken({ roles: ['Compliance.Read'] });
    const ok = await fetch(`${stack.apiUrl}/v1/summary`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).not.toBe(401);
    // A token for the default local audience is refused: the configured audience is the one in force.
    const other = await stack.issuer!.mintToken({ roles: ['Compliance.Read'], aud: LOCAL_AUDIENCE });
    expect((await fetch(`${stack.apiUrl}/v1/summary`, { headers: { authorization: `Bearer ${other}` } })).status).toBe(401);
  });

  it('binds the Functions host to 127.0.0.1 and guards its admin API with the master key', async () => {
    expect(stack.host.hostname).toBe('127.0.0.1');
    const admin = `${stack.host.url}/admin/functions/evaluationTimer`;
    expect((await fetch(admin, { method: 'POST', body: '{}' })).status).toBe(401);
    expect(stack.host.masterKey.length).toBeGreaterThanOrEqual(32);
  });

  it('tells health callers that ARM is reachable, never where it is (details only with Compliance.Read)', async () => {
    type Checks = { checks: { name: string; status: string; detail?: string }[] };
    const anonymous = await (await fetch(`${stack.apiUrl}/health`)).text();
    const arm = (JSON.parse(anonymous) as Checks).checks.find((c) => c.name === 'azure-resource-manager');
    expect(arm).toMatchObject({ status: 'healthy' });
    expect(arm?.detail).toBeUndefined();
    const token = await stack.issuer!.mintToken({ roles: ['Compliance.Read'] });
    const reader = await (await fetch(`${stack.apiUrl}/health`, { headers: { authorization: `Bearer ${token}` } })).text();
    expect((JSON.parse(reader) as Checks).checks.find((c) => c.name === 'azure-resource-manager')).toMatchObject({ status: 'healthy', detail: 'reachable' });
    for (const text of [anonymous, reader]) {
      expect(text).not.toContain(stack.emulator!.url);
      expect(text).not.toMatch(/127\.0\.0\.1:\d+/);
    }
  });
});

/** Runs `npm start`'s script until it has printed its banner, then stops it. */
async function startOutput(env: NodeJS.ProcessEnv, args: readonly string[] = []): Promise<string> {
  const child: ChildProcess = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), ['local/start.ts', '--no-evaluation', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start printed no banner in time:\n${out}`)), 150_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        if (out.includes('Press Ctrl+C to stop.')) {
          clearTimeout(timer);
          resolve(out);
        }
      });
      child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited (${String(code)}):\n${out}`));
      });
    });
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
}

describe('npm start banner', () => {
  const cleanEnv = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0' };
    for (const name of STACK_SETTINGS.filter((n) => n !== 'PORT')) delete env[name];
    return env;
  };

  // One start (it takes a while): the default banner's tokens are covered by `stack.issuer` above.
  it('prints no local tokens when AUTH_ISSUER names another issuer and says how to get real ones; prints the admin API and its key', async () => {
    const out = await startOutput({ ...cleanEnv(), AUTH_ISSUER: REAL_ISSUER, AUTH_AUDIENCE: 'api://arc-compliance' });
    expect(out).not.toMatch(/export TOKEN='ey/); // a minted JWT
    expect(out).toContain(`No local tokens: the API trusts AUTH_ISSUER=${REAL_ISSUER}`);
    expect(out).toContain('az account get-access-token --scope "api://arc-compliance/.default"');
    expect(out).toMatch(/Master key {5}\S{32,}/);
    expect(out).toMatch(/Admin API {6}POST http:\/\/127\.0\.0\.1:\d+\/admin\/functions\/\{name\} with header x-functions-key \(listening on 127\.0\.0\.1\)/);
  }, 180_000);
});

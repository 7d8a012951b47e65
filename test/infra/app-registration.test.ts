import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ALL_APP_ROLES } from '../../adapters/http/app-roles.js';
import { createAzStub, type AzState, type AzStub } from './az-stub.js';
import { ROOT, readJson, readText } from './infra-files.js';

interface AppRole { value: string; id: string; displayName: string; description: string }
const { roles } = readJson('infra/app-roles.json') as { roles: AppRole[] };

/** The app roles the API, rollouts and webhooks check (least privilege: one role per kind of access). */
const EXPECTED_ROLES = [
  'Compliance.Read',
  'Compliance.Evaluate',
  'Compliance.Exempt',
  'Remediation.Run',
  'Enforcement.Manage',
  'Enforcement.Approve',
  'Webhooks.Manage',
  'Audit.Read',
];
const ROLE_LIKE = /\b(?:Compliance|Remediation|Enforcement|Webhooks|Audit)\.[A-Z][A-Za-z]+\b/g;

describe('infra/app-roles.json', () => {
  it('declares exactly the API roles, with unique stable GUIDs and descriptions', () => {
    expect(roles.map((r) => r.value)).toEqual(EXPECTED_ROLES);
    expect(new Set(roles.map((r) => r.id)).size).toBe(roles.length);
    for (const r of roles) {
      expect(r.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(r.displayName.length).toBeGreaterThan(0);
      expect(r.description.length).toBeGreaterThan(10);
    }
  });

  it('is the same set of roles the API authorizes against (adapters/http/app-roles.ts)', () => {
    expect([...ALL_APP_ROLES].sort()).toEqual(roles.map((r) => r.value).sort());
  });

  it('covers every role name the API source mentions', () => {
    const sourceDirs = ['functions', 'adapters', 'application', 'openapi', 'bootstrap'];
    const files: string[] = [];
    const walk = (dir: string): void => {
      let names: string[];
      try { names = readdirSync(dir); } catch { return; }
      for (const n of names) {
        const full = join(dir, n);
        if (statSync(full).isDirectory()) walk(full);
        else if (full.endsWith('.ts')) files.push(full);
      }
    };
    for (const d of sourceDirs) walk(join(ROOT, d));
    const declared = new Set(roles.map((r) => r.value));
    const unknown = files.flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(ROLE_LIKE)].map((m) => m[0]).filter((v) => !declared.has(v)).map((v) => `${f}: ${v}`));
    expect(unknown, 'role names used by the API but missing from infra/app-roles.json').toEqual([]);
  });
});

const scripts = join(ROOT, 'infra', 'scripts');
let stub: AzStub | undefined;
afterEach(() => {
  if (stub) rmSync(stub.binDir, { recursive: true, force: true });
  stub = undefined;
});

function run(script: string, args: string[], s: AzStub, env: Record<string, string> = {}) {
  const result = spawnSync('bash', [join(scripts, script), ...args], {
    encoding: 'utf8',
    env: {
      PATH: `${s.binDir}:${dirname(process.execPath)}:/usr/bin:/bin`,
      HOME: s.binDir,
      AZ_STUB_STATE: s.stateFile,
      ...env,
    },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const base: Omit<AzState, 'calls'> = { tenantId: TENANT, principals: [], assignments: [] };

describe('create-app-registration.sh', () => {
  it('creates the registration with the declared roles for users and applications, and prints the auth settings', () => {
    stub = createAzStub(base);
    const result = run('create-app-registration.sh', [], stub);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const state = stub.read();
    const app = state.app!;
    expect(app.displayName).toBe('arc-compliance-api');
    expect(app.appRoles).toEqual(roles.map((r) => ({
      allowedMemberTypes: ['User', 'Application'],
      description: r.description,
      displayName: r.displayName,
      id: r.id,
      isEnabled: true,
      value: r.value,
    })));
    expect(app.identifierUris).toEqual([`api://${app.appId}`]);
    expect(app.tokenVersion).toBe(2);
    expect(state.servicePrincipal?.appRoleAssignmentRequired).toBe(true);
    expect(result.stdout).toContain(`AUTH_ISSUER=https://login.microsoftonline.com/${TENANT}/v2.0`);
    expect(result.stdout).toContain(`AUTH_AUDIENCE=${app.appId}`);
  });

  it('is idempotent: a rerun updates the same registration and keeps undeclared roles disabled', () => {
    stub = createAzStub(base);
    expect(run('create-app-registration.sh', [], stub).status).toBe(0);
    // someone added a role by hand
    const state = stub.read();
    const manual = { allowedMemberTypes: ['User'], description: 'x', displayName: 'x', id: '0b9d5b8a-4b8f-4c55-9a39-0f3a2f0f4e01', isEnabled: true, value: 'Legacy.Role' };
    state.app!.appRoles.push(manual);
    state.calls = [];
    writeFileSync(stub.stateFile, JSON.stringify(state));

    const again = run('create-app-registration.sh', [], stub);
    expect(again.status).toBe(0);
    const after = stub.read();
    expect(after.calls.some((c) => c[0] === 'ad' && c[1] === 'app' && c[2] === 'create')).toBe(false);
    expect(after.calls.some((c) => c[0] === 'ad' && c[1] === 'sp' && c[2] === 'create')).toBe(false);
    const appRoles = after.app!.appRoles as { value: string; isEnabled: boolean }[];
    expect(appRoles.filter((r) => r.isEnabled).map((r) => r.value)).toEqual(EXPECTED_ROLES);
    expect(appRoles.find((r) => r.value === 'Legacy.Role')?.isEnabled).toBe(false);
  });

  it('registers the dashboard\'s SPA redirect URI, keeping those already there, and refuses a non-https origin', () => {
    stub = createAzStub(base);
    expect(run('create-app-registration.sh', [], stub).status).toBe(0);
    expect(stub.read().app!.spaRedirectUris).toBeUndefined();
    const state = stub.read();
    state.app!.spaRedirectUris = ['https://other.example/callback'];
    writeFileSync(stub.stateFile, JSON.stringify(state));
    const result = run('create-app-registration.sh', ['--dashboard-url', 'https://func-arc.azurewebsites.net'], stub);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`DASHBOARD_CLIENT_ID=${state.app!.appId}`);
    expect(stub.read().app!.spaRedirectUris).toEqual(['https://other.example/callback', 'https://func-arc.azurewebsites.net/api/dashboard']);
    const insecure = run('create-app-registration.sh', ['--dashboard-url', 'http://func-arc.azurewebsites.net'], stub);
    expect(insecure.status).toBe(2);
    expect(insecure.stderr).toContain('https');
  });

  it('reads the role list from app-roles.json instead of repeating it', () => {
    const text = readText('infra/scripts/create-app-registration.sh');
    expect(text).toContain('app-roles.json');
    expect([...text.matchAll(ROLE_LIKE)].map((m) => m[0])).toEqual([]);
  });
});

describe('grant-caller.sh', () => {
  const API_APP = '11111111-2222-4333-8444-555555555555';
  const API_SP = 'aaaaaaaa-0000-4000-8000-000000000001';
  const PIPELINE = { kind: 'sp' as const, id: 'bbbbbbbb-0000-4000-8000-000000000002', appId: 'cccccccc-0000-4000-8000-000000000003' };
  const USER = { kind: 'user' as const, id: 'dddddddd-0000-4000-8000-000000000004', upn: 'ops@contoso.example' };
  const withApi = (): Omit<AzState, 'calls'> => ({
    ...base,
    app: { appId: API_APP, displayName: 'arc-compliance-api', appRoles: [], identifierUris: [] },
    servicePrincipal: { id: API_SP },
    principals: [PIPELINE, USER],
  });

  it('assigns the role id of app-roles.json to a service principal given by app id, once', () => {
    stub = createAzStub(withApi());
    const first = run('grant-caller.sh', ['--role', 'Compliance.Evaluate', '--principal', PIPELINE.appId, '--api-app-id', API_APP], stub);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const evaluate = roles.find((r) => r.value === 'Compliance.Evaluate')!;
    expect(stub.read().assignments).toEqual([{ principalId: PIPELINE.id, resourceId: API_SP, appRoleId: evaluate.id }]);
    const second = run('grant-caller.sh', ['--role', 'Compliance.Evaluate', '--principal', PIPELINE.appId, '--api-app-id', API_APP], stub);
    expect(second.status).toBe(0);
    expect(second.stdout).toContain('already holds');
    expect(stub.read().assignments).toHaveLength(1);
  });

  it('resolves a user by UPN and takes the API from AUTH_AUDIENCE', () => {
    stub = createAzStub(withApi());
    const result = run('grant-caller.sh', ['--role', 'Enforcement.Approve', '--principal', USER.upn], stub, { AUTH_AUDIENCE: API_APP });
    expect(result.status).toBe(0);
    expect(stub.read().assignments[0]?.principalId).toBe(USER.id);
  });

  it('refuses a role the API does not define and changes nothing', () => {
    stub = createAzStub(withApi());
    const result = run('grant-caller.sh', ['--role', 'Compliance.Admin', '--principal', USER.upn, '--api-app-id', API_APP], stub);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('unknown role Compliance.Admin');
    expect(stub.read().assignments).toEqual([]);
  });
});

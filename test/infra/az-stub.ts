/**
 * A stand-in `az` executable for running the infra scripts without Azure: it answers the calls the
 * scripts make from a JSON state file and records every call. Tests put its directory first on PATH.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AzState {
  tenantId: string;
  app?: { appId: string; displayName: string; appRoles: unknown[]; identifierUris: string[]; tokenVersion?: number; spaRedirectUris?: string[] };
  servicePrincipal?: { id: string; appRoleAssignmentRequired?: boolean };
  /** Other principals the tenant knows: by object id, app id or UPN. */
  principals: { kind: 'sp' | 'user' | 'group'; id: string; appId?: string; upn?: string }[];
  assignments: { principalId: string; resourceId: string; appRoleId: string }[];
  calls: string[][];
}

// Runs under the same Node as the tests (no TypeScript, no dependencies).
const STUB = String.raw`#!/usr/bin/env node
const fs = require('node:fs');
const file = process.env.AZ_STUB_STATE;
const state = JSON.parse(fs.readFileSync(file, 'utf8'));
const args = process.argv.slice(2);
state.calls.push(args);
const save = () => fs.writeFileSync(file, JSON.stringify(state, null, 2));
const opt = (name) => { const i = args.indexOf(name); return i === -1 ? undefined : args[i + 1]; };
const has = (...words) => words.every((w, i) => args[i] === w);
const out = (s) => { save(); process.stdout.write(s + '\n'); process.exit(0); };
const fail = (msg) => { save(); process.stderr.write(msg + '\n'); process.exit(3); };
const findPrincipal = (kind, id) => state.principals.find((p) => p.kind === kind && (p.id === id || p.appId === id || p.upn === id));

if (has('account', 'show')) out(state.tenantId);
if (has('ad', 'app', 'list')) out(state.app && state.app.displayName === opt('--display-name') ? state.app.appId : '');
if (has('ad', 'app', 'create')) {
  state.app = { appId: '11111111-2222-4333-8444-555555555555', displayName: opt('--display-name'), appRoles: [], identifierUris: [] };
  out(state.app.appId);
}
if (has('ad', 'app', 'show')) {
  if (!state.app) fail('no app');
  if (opt('--query') === 'spa.redirectUris') out(JSON.stringify(state.app.spaRedirectUris || []));
  out(JSON.stringify(state.app.appRoles));
}
if (has('ad', 'app', 'update')) {
  if (!state.app || opt('--id') !== state.app.appId) fail('no such app');
  const roles = opt('--app-roles');
  if (roles) state.app.appRoles = JSON.parse(fs.readFileSync(roles.replace(/^@/, ''), 'utf8'));
  const uris = opt('--identifier-uris');
  if (uris) state.app.identifierUris = [uris];
  const set = opt('--set');
  if (set === 'api.requestedAccessTokenVersion=2') state.app.tokenVersion = 2;
  out('');
}
if (has('ad', 'sp', 'show')) {
  const id = opt('--id');
  if (state.app && id === state.app.appId) { if (state.servicePrincipal) out(state.servicePrincipal.id); fail('sp not found'); }
  const p = findPrincipal('sp', id);
  if (p) out(p.id);
  fail('sp not found');
}
if (has('ad', 'sp', 'create')) { state.servicePrincipal = { id: 'aaaaaaaa-0000-4000-8000-000000000001' }; out(''); }
if (has('ad', 'sp', 'update')) {
  if (opt('--set') === 'appRoleAssignmentRequired=true') state.servicePrincipal.appRoleAssignmentRequired = true;
  out('');
}
if (has('ad', 'user', 'show')) { const p = findPrincipal('user', opt('--id')); if (p) out(p.id); fail('user not found'); }
if (has('ad', 'group', 'show')) { const p = findPrincipal('group', opt('--group')); if (p) out(p.id); fail('group not found'); }
if (has('rest') && /\/applications\(appId='([^']+)'\)$/.test(opt('--uri'))) {
  const appId = /\/applications\(appId='([^']+)'\)$/.exec(opt('--uri'))[1];
  if (opt('--method') !== 'PATCH' || !state.app || appId !== state.app.appId) fail('unexpected application call');
  const body = JSON.parse(opt('--body'));
  if (body.spa) state.app.spaRedirectUris = body.spa.redirectUris;
  out('');
}
if (has('rest')) {
  const method = opt('--method');
  const resourceId = /servicePrincipals\/([^/]+)\/appRoleAssignedTo/.exec(opt('--uri'))[1];
  if (method === 'GET') {
    const q = opt('--query');
    const principalId = /principalId=='([^']+)'/.exec(q)[1];
    const appRoleId = /appRoleId=='([^']+)'/.exec(q)[1];
    out(String(state.assignments.filter((a) => a.resourceId === resourceId && a.principalId === principalId && a.appRoleId === appRoleId).length));
  }
  if (method === 'POST') { state.assignments.push(JSON.parse(opt('--body'))); out(''); }
}
fail('az stub: unexpected call: ' + args.join(' '));
`;

export interface AzStub {
  readonly binDir: string;
  readonly stateFile: string;
  read(): AzState;
}

export function createAzStub(initial: Omit<AzState, 'calls'>): AzStub {
  const binDir = mkdtempSync(join(tmpdir(), 'az-stub-'));
  const stateFile = join(binDir, 'state.json');
  writeFileSync(join(binDir, 'az'), STUB);
  chmodSync(join(binDir, 'az'), 0o755);
  writeFileSync(stateFile, JSON.stringify({ ...initial, calls: [] }));
  return { binDir, stateFile, read: () => JSON.parse(readFileSync(stateFile, 'utf8')) as AzState };
}

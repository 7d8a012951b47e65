/**
 * Change approval end to end: a rollout created through the API with `requireApproval` waits for approval;
 * a signed ServiceNow `approved` change event (`POST /api/v1/integrations/servicenow/change-events`)
 * satisfies the gate with the ServiceNow approver recorded, and the rollout runs to completion.
 * Forged, stale and replayed inbound calls are refused with 401 and change nothing; every call, accepted
 * or refused, is in the audit log (`GET /api/v1/audit-log`). The rollout's
 * `rollout.*` events reach a loopback `standard` webhook.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AuditRecordView } from '../../application/audit-service.js';
import type { RolloutView } from '../../application/rollout-service.js';
import { DEMO_SUBSCRIPTIONS } from '../../local/arm-emulator/fleet/demo-fleet.js';
import { startE2eStack, waitFor, type ApiResponse, type E2eStack } from '../support/e2e-stack.js';
import { referenceSign, referenceVerify } from '../unit/webhooks/standard-webhooks-reference.js';

const SUB = DEMO_SUBSCRIPTIONS.retail;
const ASSIGNMENT = `/subscriptions/${SUB}/providers/Microsoft.Authorization/policyAssignments/pss-baseline`;
const REQUEST = {
  policyAssignmentId: ASSIGNMENT,
  waves: [{ name: 'west-europe', locations: ['westeurope'] }],
  // Non-compliance tolerated: the approval is the only thing the gate waits for.
  gates: { bakeMinutes: 0, maxNonCompliant: 100, requireApproval: true },
};

const received: { headers: Record<string, string | undefined>; body: string; at: number }[] = [];
let receiver: Server;
let e: E2eStack;
let secret: string;
let hookSecret: string;

async function call<T>(roles: readonly string[], method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
  const token = await e.stack.issuer!.mintToken({ roles, oid: roles.join('-') });
  const res = await fetch(`${e.stack.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T, headers: res.headers };
}

const rollout = async (id: string): Promise<RolloutView> => {
  const res = await call<RolloutView>(['Enforcement.Manage', 'Compliance.Read'], 'GET', `/v1/rollouts/${id}`);
  expect(res.status).toBe(200);
  return res.body;
};

/** A change event as ServiceNow sends it, signed with `signWith` (the independent reference signer). */
async function changeEvent(data: Record<string, string>, options: { signWith?: string; id?: string; timestamp?: number; requestId?: string } = {}): Promise<{ status: number; body: unknown; request: { id: string; timestamp: number; body: string } }> {
  const id = options.id ?? `msg_${randomUUID()}`;
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const body = JSON.stringify({ type: 'change.updated', timestamp: new Date(timestamp * 1000).toISOString(), data });
  return send({ id, timestamp, body }, options.signWith ?? secret, options.requestId);
}

async function send(request: { id: string; timestamp: number; body: string }, signWith: string, requestId?: string): Promise<{ status: number; body: unknown; request: typeof request }> {
  const res = await fetch(`${e.stack.apiUrl}/v1/integrations/servicenow/change-events`, {
    method: 'POST',
    headers: {
      ...(requestId !== undefined ? { 'x-request-id': requestId } : {}),
      'content-type': 'application/json',
      'webhook-id': request.id,
      'webhook-timestamp': String(request.timestamp),
      'webhook-signature': await referenceSign(signWith, request.id, request.timestamp, request.body),
    },
    body: request.body,
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown), request };
}

const rolloutEvents = (): { type: string; data: Record<string, unknown> }[] => received.map((r) => JSON.parse(r.body) as { type: string; data: Record<string, unknown> });

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v])), body: Buffer.concat(chunks).toString('utf8'), at: Math.floor(Date.now() / 1000) });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as AddressInfo;
  e = await startE2eStack({ settings: { WEBHOOK_ALLOWLIST: `127.0.0.1:${port}`, ROLLOUT_GATE_RECHECK_SECONDS: '1' } });
  secret = e.stack.changeWebhookSecret!.split(' ')[0]!;
  expect(secret).toMatch(/^whsec_/);
  const hook = await call<{ secret: string }>(['Webhooks.Manage'], 'POST', '/v1/webhooks', {
    url: `http://127.0.0.1:${port}/rollouts`,
    events: ['rollout.wave.awaiting_approval', 'rollout.wave.completed', 'rollout.completed', 'rollout.failed', 'rollout.rolled_back'],
    format: 'standard',
  });
  expect(hook.status, JSON.stringify(hook.body)).toBe(201);
  hookSecret = hook.body.secret;
  expect((await e.timerRun()).status).toBe('succeeded');
}, 60_000);

afterAll(async () => {
  await e?.stop();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
});

it('refuses forged, stale and replayed change events and lets a signed approval advance the waiting wave', async () => {
  const created = await call<RolloutView>(['Enforcement.Manage'], 'POST', '/v1/rollouts', REQUEST);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.id;
  const waiting = await waitFor('the wave to await approval', async () => {
    const r = await rollout(id);
    return r.state === 'awaiting_approval' ? r : undefined;
  });
  expect(waiting.waves[0]!.state).toBe('awaiting_approval');
  expect(waiting.waves[0]!.approval).toBeUndefined();

  // The awaiting_approval event reached the subscriber, signed.
  const awaiting = await waitFor('rollout.wave.awaiting_approval', async () => rolloutEvents().find((x) => x.type === 'rollout.wave.awaiting_approval' && x.data['rolloutId'] === id));
  expect(awaiting.data).toMatchObject({ rolloutId: id, wave: 'west-europe', waveIndex: 0, policyAssignmentId: ASSIGNMENT });

  const approve = { number: 'CHG0030001', state: 'approved', rolloutId: id, waveId: 'west-europe', approvedBy: 'jane.doe' };
  const tag = `sn-${randomUUID()}`;
  const unchanged = async (): Promise<void> => {
    const r = await rollout(id);
    expect(r.state).toBe('awaiting_approval');
    expect(r.waves[0]!.approval).toBeUndefined();
    expect(r.events).toEqual(waiting.events);
  };

  // Forged: signed with another secret.
  const forged = await changeEvent(approve, { signWith: `whsec_${Buffer.alloc(32, 1).toString('base64')}`, requestId: `${tag}-forged` });
  expect(forged.status).toBe(401);
  await unchanged();
  // Unsigned.
  const unsigned = await fetch(`${e.stack.apiUrl}/v1/integrations/servicenow/change-events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': `${tag}-unsigned` },
    body: JSON.stringify({ type: 'change.updated', timestamp: new Date().toISOString(), data: approve }),
  });
  expect(unsigned.status).toBe(401);
  // A signed rejection pauses the rollout (pauseFromChange); an operator resumes it.
  const valid = await changeEvent({ ...approve, state: 'rejected' }, { requestId: `${tag}-rejected` });
  expect(valid.status).toBe(200);
  expect(valid.body).toMatchObject({ action: 'paused', rolloutId: id });
  expect((await rollout(id)).state).toBe('paused');
  const resumed = await call<RolloutView>(['Enforcement.Manage'], 'POST', `/v1/rollouts/${id}/resume`);
  expect(resumed.status).toBe(200);
  const waitingAgain = await waitFor('awaiting approval again', async () => {
    const r = await rollout(id);
    return r.state === 'awaiting_approval' ? r : undefined;
  });
  // A body that is not the one signed.
  const tampered = await fetch(`${e.stack.apiUrl}/v1/integrations/servicenow/change-events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-request-id': `${tag}-tampered`,
      'webhook-id': 'msg_tampered',
      'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
      'webhook-signature': await referenceSign(secret, 'msg_tampered', Math.floor(Date.now() / 1000), JSON.stringify({ data: { ...approve, approvedBy: 'someone' } })),
    },
    body: JSON.stringify({ type: 'change.updated', timestamp: new Date().toISOString(), data: approve }),
  });
  expect(tampered.status).toBe(401);
  // Stale: correctly signed, but 10 minutes old.
  const stale = await changeEvent(approve, { timestamp: Math.floor(Date.now() / 1000) - 600, requestId: `${tag}-stale` });
  expect(stale.status).toBe(401);
  // Replayed: the id of the (accepted) rejection again, now carrying an approval.
  const replayed = await changeEvent(approve, { id: valid.request.id, requestId: `${tag}-replayed` });
  expect(replayed.status).toBe(401);
  const afterRefusals = await rollout(id);
  expect(afterRefusals.state).toBe('awaiting_approval');
  expect(afterRefusals.waves[0]!.approval).toBeUndefined();
  expect(afterRefusals.events).toEqual(waitingAgain.events);

  // The genuine approval: the gate is satisfied with the ServiceNow approver recorded.
  const accepted = await changeEvent(approve, { requestId: `${tag}-approved` });
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
  expect(accepted.body).toMatchObject({ action: 'approved', rolloutId: id, waveId: 'west-europe', changeNumber: 'CHG0030001' });
  const approved = await rollout(id);
  expect(approved.waves[0]!.approval?.by).toBe('servicenow:jane.doe');
  expect(approved.events!.filter((x) => x.type === 'approved').map((x) => x.actor)).toEqual(['servicenow:jane.doe']);

  // Replaying the approval is refused and changes nothing.
  const again = await send(accepted.request, secret, `${tag}-approval-replayed`);
  expect(again.status).toBe(401);
  // Authentic, but for a rollout that does not exist: failed, with the signed approver as caller.
  const missing = await changeEvent({ ...approve, rolloutId: 'ro-does-not-exist' }, { requestId: `${tag}-missing` });
  expect(missing.status).toBe(404);

  // Every call is in the audit log, as the API's own mutating calls are.
  const audit = await call<{ value: AuditRecordView[] }>(['Audit.Read'], 'GET', '/v1/audit-log?top=1000');
  expect(audit.status).toBe(200);
  const mine = new Map(audit.body.value.filter((r) => r.requestId.startsWith(`${tag}-`)).map((r) => [r.requestId.slice(tag.length + 1), r]));
  const target = `rollouts/${id}/waves/west-europe`;
  const expected: Record<string, Pick<AuditRecordView, 'outcome' | 'callerAppId' | 'target'> & { detail: string }> = {
    forged: { outcome: 'denied', callerAppId: 'servicenow:unverified', target, detail: 'Unauthorized: bad-signature' },
    unsigned: { outcome: 'denied', callerAppId: 'servicenow:unverified', target, detail: 'Unauthorized: missing-headers' },
    rejected: { outcome: 'succeeded', callerAppId: 'servicenow:jane.doe', target, detail: 'paused (change CHG0030001)' },
    tampered: { outcome: 'denied', callerAppId: 'servicenow:unverified', target, detail: 'Unauthorized: bad-signature' },
    stale: { outcome: 'denied', callerAppId: 'servicenow:unverified', target, detail: 'Unauthorized: stale' },
    replayed: { outcome: 'denied', callerAppId: 'servicenow:unverified', target, detail: 'Unauthorized: replayed' },
    approved: { outcome: 'succeeded', callerAppId: 'servicenow:jane.doe', target, detail: 'approved (change CHG0030001)' },
    'approval-replayed': { outcome: 'denied', callerAppId: 'servicenow:unverified', target, detail: 'Unauthorized: replayed' },
    missing: { outcome: 'failed', callerAppId: 'servicenow:jane.doe', target: 'rollouts/ro-does-not-exist/waves/west-europe', detail: 'NotFound' },
  };
  expect([...mine.keys()].sort()).toEqual(Object.keys(expected).sort());
  for (const [name, want] of Object.entries(expected)) {
    expect(mine.get(name), name).toMatchObject({ ...want, operation: 'receiveServiceNowChangeEvent', callerObjectId: null, roles: [] });
  }

  const done = await waitFor('the rollout to finish', async () => {
    const r = await rollout(id);
    return ['completed', 'failed', 'rolled_back'].includes(r.state) ? r : undefined;
  }, 45_000);
  expect(done.state, JSON.stringify(done.events?.slice(-3))).toBe('completed');
  expect(done.waves[0]!.approval?.by).toBe('servicenow:jane.doe');
  expect(done.events!.filter((x) => x.type === 'approved')).toHaveLength(1);

  // rollout.wave.completed and rollout.completed were published after the transitions were stored.
  await waitFor('rollout.completed', async () => rolloutEvents().find((x) => x.type === 'rollout.completed' && x.data['rolloutId'] === id));
  const types = rolloutEvents().filter((x) => x.data['rolloutId'] === id).map((x) => x.type);
  expect(types).toContain('rollout.wave.completed');
  expect(types).not.toContain('rollout.failed');
  for (const r of received) expect(await referenceVerify(hookSecret, r.headers, r.body, r.at)).toBe(true);
}, 60_000);

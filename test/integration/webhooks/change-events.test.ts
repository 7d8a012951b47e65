/**
 * Inbound ServiceNow change events over HTTP (loopback): a signed `approved` approves the rollout wave
 * through the approvals port; `rejected` pauses; forged, stale, replayed and unsigned calls get 401 and
 * change nothing. Requests are signed with the independent reference implementation.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChangeEventReceiver } from '../../../application/servicenow-change-events.js';
import type { AuditRecord, ChangeApprovalRequest, RolloutApprovals } from '../../../application/ports.js';
import { ConflictError } from '../../../domain/errors.js';
import { formatSecret } from '../../../domain/webhook-signature.js';
import { changeEventEndpoint } from './support.js';
import { InMemoryInboundMessageIdStore, FixedClock } from '../../support/in-memory-ports.js';
import { referenceSign } from '../../unit/webhooks/standard-webhooks-reference.js';

const secret = formatSecret(Buffer.alloc(32, 3));
const forger = formatSecret(Buffer.alloc(32, 4));
const NOW = Date.parse('2026-05-01T12:00:00Z');

class RecordingApprovals implements RolloutApprovals {
  readonly calls: { kind: 'approve' | 'pause'; request: ChangeApprovalRequest }[] = [];
  async approveFromChange(request: ChangeApprovalRequest): Promise<void> {
    if (request.waveId === 'done') throw new ConflictError('The wave is not awaiting approval.', 'waveId');
    this.calls.push({ kind: 'approve', request });
  }
  async pauseFromChange(request: ChangeApprovalRequest): Promise<void> {
    this.calls.push({ kind: 'pause', request });
  }
}

let server: Server;
let base: string;
let approvals: RecordingApprovals;
let ids: InMemoryInboundMessageIdStore;
let audit: AuditRecord[];
const clock = new FixedClock(NOW);

beforeAll(async () => {
  server = createServer((req, res) => {
    const receiver = new ChangeEventReceiver({ secrets: [secret], ids, approvals, clock });
    void changeEventEndpoint(receiver, { maxBodyBytes: 4096, clock, audit })({ headers: { get: (n) => (req.headers[n.toLowerCase()] as string | undefined) ?? null }, body: req }).then((r) => {
      res.writeHead(r.status, r.headers);
      res.end(r.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/integrations/servicenow/change-events`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  approvals = new RecordingApprovals();
  ids = new InMemoryInboundMessageIdStore();
  audit = [];
});

const body = (state: string, waveId = 'wave-2') =>
  JSON.stringify({ type: 'change.updated', timestamp: '2026-05-01T11:59:59Z', data: { number: 'CHG0030001', state, rolloutId: 'ro-1', waveId, approvedBy: 'jane.doe' } });

async function post(payload: string, opts: { id?: string; timestamp?: number; key?: string; headers?: Record<string, string> } = {}) {
  const id = opts.id ?? `msg_${Math.random().toString(36).slice(2)}`;
  const ts = opts.timestamp ?? NOW / 1000;
  const headers = opts.headers ?? {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': await referenceSign(opts.key ?? secret, id, ts, payload),
  };
  const res = await fetch(base, { method: 'POST', headers, body: payload });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

describe('ServiceNow change events', () => {
  it('approves the waiting wave, recorded as the ServiceNow approver', async () => {
    const r = await post(body('approved'));
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ action: 'approved', rolloutId: 'ro-1', waveId: 'wave-2', changeNumber: 'CHG0030001' });
    expect(approvals.calls).toEqual([
      { kind: 'approve', request: { rolloutId: 'ro-1', waveId: 'wave-2', changeNumber: 'CHG0030001', changeState: 'approved', actor: 'servicenow:jane.doe', receivedAt: '2026-05-01T12:00:00.000Z' } },
    ]);
  });

  it('pauses on rejected and canceled; ignores other states', async () => {
    expect((await post(body('rejected'))).json).toMatchObject({ action: 'paused' });
    expect((await post(body('canceled'))).json).toMatchObject({ action: 'paused' });
    expect((await post(body('assess'))).json).toMatchObject({ action: 'ignored' });
    expect(approvals.calls.map((c) => c.kind)).toEqual(['pause', 'pause']);
  });

  it('refuses forged, tampered, stale, future and unsigned calls with 401 and changes nothing', async () => {
    const forged = await post(body('approved'), { key: forger });
    expect(forged.status).toBe(401);
    expect(forged.json).toMatchObject({ error: { code: 'Unauthorized' } });
    expect(forged.headers.get('www-authenticate')).toBeNull();
    expect((await post(body('approved'), { timestamp: NOW / 1000 - 301 })).status).toBe(401);
    expect((await post(body('approved'), { timestamp: NOW / 1000 + 301 })).status).toBe(401);
    expect((await post(body('approved'), { headers: { 'content-type': 'application/json' } })).status).toBe(401);
    const id = 'msg_tamper';
    const signed = await referenceSign(secret, id, NOW / 1000, body('rejected'));
    const tampered = await post(body('approved'), { headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(NOW / 1000), 'webhook-signature': signed } });
    expect(tampered.status).toBe(401);
    expect(approvals.calls).toEqual([]);
    expect(ids.claims.size).toBe(0);
  });

  it('refuses a replayed id with 401 and acts once', async () => {
    const payload = body('approved');
    expect((await post(payload, { id: 'msg_once' })).status).toBe(200);
    const replay = await post(payload, { id: 'msg_once' });
    expect(replay.status).toBe(401);
    expect(approvals.calls).toHaveLength(1);
  });

  it('audits every call through the operation: the verified approver, or an unverified caller with the claimed target', async () => {
    const target = 'rollouts/ro-1/waves/wave-2';
    const requestIds: string[] = [];
    const send = async (payload: string, opts: Parameters<typeof post>[1] = {}) => {
      const r = await post(payload, opts);
      requestIds.push(r.headers.get('x-request-id') ?? '');
      return r.status;
    };
    expect(await send(body('approved'), { key: forger })).toBe(401);
    expect(await send(body('approved'))).toBe(200);
    expect(await send(body('approved', 'done'))).toBe(409);
    expect(await send('x'.repeat(5000))).toBe(413);
    expect(audit.map((a) => a.requestId)).toEqual(requestIds);
    expect(audit.map(({ operation, outcome, callerAppId, callerObjectId, target: t, detail }) => ({ operation, outcome, callerAppId, callerObjectId, target: t, detail }))).toEqual([
      { operation: 'receiveServiceNowChangeEvent', outcome: 'denied', callerAppId: 'servicenow:unverified', callerObjectId: undefined, target, detail: 'Unauthorized: bad-signature' },
      { operation: 'receiveServiceNowChangeEvent', outcome: 'succeeded', callerAppId: 'servicenow:jane.doe', callerObjectId: undefined, target, detail: 'approved (change CHG0030001)' },
      { operation: 'receiveServiceNowChangeEvent', outcome: 'failed', callerAppId: 'servicenow:jane.doe', callerObjectId: undefined, target: 'rollouts/ro-1/waves/done', detail: 'Conflict' },
      { operation: 'receiveServiceNowChangeEvent', outcome: 'failed', callerAppId: 'servicenow:unverified', callerObjectId: undefined, target: '/api/v1/integrations/servicenow/change-events', detail: 'PayloadTooLarge' },
    ]);
  });

  it('answers 400 for a signed but malformed body and 409 when the wave cannot be approved', async () => {
    expect((await post(JSON.stringify({ data: { number: 'CHG1' } }))).status).toBe(400);
    const conflict = await post(body('approved', 'done'));
    expect(conflict.status).toBe(409);
    expect(approvals.calls).toEqual([]);
  });
});

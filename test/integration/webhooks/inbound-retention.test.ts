/**
 * Retention of the `webhookinbound` table against Azurite: claims are forgotten by UTC day of the
 * claim, a row-key range of one partition, and only once they are older than the retention. The
 * once-only check does not depend on the day: a duplicate just after midnight meets the claim made
 * just before. Inbound change events stay once-only after their ids are forgotten because a captured
 * message is stale (401, nothing written) long before: that is the retention argument, tested here.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import {
  TableInboundMessageIdStore,
  TableWebhookDeliveryRepository,
  TableWebhookSubscriptionRepository,
  WebhookTables,
} from '../../../adapters/storage/table-webhook-store.js';
import { AesGcmSecretProtector } from '../../../adapters/webhooks/secret-protector.js';
import { GuardedHttpClient } from '../../../adapters/webhooks/guarded-http-client.js';
import { ATTEMPT_CLAIMS, WEBHOOK_INBOUND_RETENTION_DAYS, WebhookService, type WebhookServiceDeps } from '../../../application/webhook-service.js';
import { CHANGE_EVENT_SOURCE, ChangeEventReceiver } from '../../../application/servicenow-change-events.js';
import type { ChangeApprovalRequest, RolloutApprovals } from '../../../application/ports.js';
import type { WebhookDeadLetterMessage, WebhookDeliveryMessage } from '../../../application/messages.js';
import { formatSecret } from '../../../domain/webhook-signature.js';
import { parseAllowlist } from '../../../domain/webhook-ssrf.js';
import { changeEventEndpoint, startReceiver } from './support.js';
import { referenceSign } from '../../unit/webhooks/standard-webhooks-reference.js';
import { silentLogger } from '../../../application/logger.js';
import { FixedClock, RecordingMessageQueue } from '../../support/in-memory-ports.js';

let azurite: RunningAzurite;
let prefixCounter = 0;

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

const DAY = 86_400;

async function openTables(): Promise<WebhookTables> {
  prefixCounter += 1;
  return WebhookTables.open({ connectionString: azurite.connectionString }, { tablePrefix: `whin${process.pid}x${prefixCounter}` });
}

/** Every row of `webhookinbound` as `partition row`, sorted. */
async function rows(tables: WebhookTables): Promise<string[]> {
  const out: string[] = [];
  for await (const e of tables.inbound.listEntities()) out.push(`${e.partitionKey} ${e.rowKey}`);
  return out.sort();
}

function service(tables: WebhookTables, clock: FixedClock, overrides: Partial<WebhookServiceDeps> = {}): WebhookService {
  let n = 0;
  return new WebhookService({
    subscriptions: new TableWebhookSubscriptionRepository(tables),
    deliveries: new TableWebhookDeliveryRepository(tables),
    queue: new RecordingMessageQueue<WebhookDeliveryMessage>(),
    deadLetters: new RecordingMessageQueue<WebhookDeadLetterMessage>(),
    secrets: new AesGcmSecretProtector(randomBytes(32)),
    http: new GuardedHttpClient({ allowlist: parseAllowlist(['127.0.0.1']).allowlist }),
    serviceNow: undefined,
    clock,
    newId: () => `hook${(n += 1)}`,
    randomBytes: (size) => randomBytes(size),
    random: () => 0.5,
    log: silentLogger,
    attemptClaims: new TableInboundMessageIdStore(tables),
    ...overrides,
  });
}

describe('inbound id store: claims and expiry', () => {
  it('refuses a duplicate across the UTC day boundary and concurrently, whatever the day', async () => {
    const ids = new TableInboundMessageIdStore(await openTables());
    expect(await ids.claim('src', 'msg-1', '2026-03-01T23:59:59.000Z')).toBe(true);
    // The claim is keyed by the id alone: a day later the duplicate still meets it.
    expect(await ids.claim('src', 'msg-1', '2026-03-02T00:00:01.000Z')).toBe(false);
    expect(await ids.claim('src', 'msg-1', '2026-03-01T23:59:59.000Z')).toBe(false);
    const racing = await Promise.all([
      ids.claim('src', 'msg-2', '2026-03-01T23:59:59.999Z'),
      ids.claim('src', 'msg-2', '2026-03-02T00:00:00.000Z'),
    ]);
    expect(racing.sort()).toEqual([false, true]);
  });

  it('stores who claimed an id in the claim itself; a duplicate claim does not change it', async () => {
    const ids = new TableInboundMessageIdStore(await openTables());
    expect(await ids.claim('src', 'owned', '2026-03-01T10:00:00.000Z', 'queue-message-1')).toBe(true);
    expect(await ids.claim('src', 'owned', '2026-03-01T10:00:01.000Z', 'queue-message-2')).toBe(false);
    expect(await ids.ownerOf('src', 'owned')).toBe('queue-message-1');
    expect(await ids.claim('src', 'anonymous', '2026-03-01T10:00:00.000Z')).toBe(true);
    expect(await ids.ownerOf('src', 'anonymous')).toBeUndefined();
    expect(await ids.ownerOf('src', 'never-claimed')).toBeUndefined();
    await ids.release('src', 'owned');
    expect(await ids.ownerOf('src', 'owned')).toBeUndefined();
  });

  it('forgets whole UTC days before the cutoff\'s day only, per source, claim and expiry entry together', async () => {
    const tables = await openTables();
    const ids = new TableInboundMessageIdStore(tables);
    await ids.claim('src', 'old-1', '2026-02-27T08:00:00.000Z');
    await ids.claim('src', 'old-2', '2026-02-28T23:59:59.999Z');
    await ids.claim('src', 'edge', '2026-03-01T00:00:00.000Z');
    await ids.claim('src', 'new', '2026-03-02T10:00:00.000Z');
    await ids.claim('other', 'old-other', '2026-02-27T08:00:00.000Z');
    // An id shaped like an expiry entry is escaped (`|` → %7C) and stays a claim row.
    await ids.claim('src', '~|2026-01-01|x', '2026-03-02T10:00:00.000Z');
    expect(await rows(tables)).toEqual([
      'other old-other',
      'other ~|2026-02-27|old-other',
      'src edge',
      'src new',
      'src old-1',
      'src old-2',
      'src ~%7C2026-01-01%7Cx',
      'src ~|2026-02-27|old-1',
      'src ~|2026-02-28|old-2',
      'src ~|2026-03-01|edge',
      'src ~|2026-03-02|new',
      'src ~|2026-03-02|~%7C2026-01-01%7Cx',
    ]);

    // The cutoff falls inside 03-01: that day is kept whole (nothing younger than the cutoff goes).
    expect(await ids.forgetClaimedBefore('src', '2026-03-01T12:00:00.000Z')).toBe(2);
    expect(await rows(tables)).toEqual([
      'other old-other',
      'other ~|2026-02-27|old-other',
      'src edge',
      'src new',
      'src ~%7C2026-01-01%7Cx',
      'src ~|2026-03-01|edge',
      'src ~|2026-03-02|new',
      'src ~|2026-03-02|~%7C2026-01-01%7Cx',
    ]);
    expect(await ids.forgetClaimedBefore('src', '2026-03-01T23:59:59.999Z')).toBe(0);
    // A forgotten id can be claimed again; a kept one still cannot.
    expect(await ids.claim('src', 'old-2', '2026-03-09T00:00:00.000Z')).toBe(true);
    expect(await ids.claim('src', 'edge', '2026-03-09T00:00:00.000Z')).toBe(false);
    expect(await ids.forgetClaimedBefore('src', '2026-03-02T00:00:00.000Z')).toBe(1);
    expect(await rows(tables)).toEqual([
      'other old-other',
      'other ~|2026-02-27|old-other',
      'src new',
      'src old-2',
      'src ~%7C2026-01-01%7Cx',
      'src ~|2026-03-02|new',
      'src ~|2026-03-02|~%7C2026-01-01%7Cx',
      'src ~|2026-03-09|old-2',
    ]);
  });

  it('releases claim and expiry entry; a leftover expiry entry never turns a fresh claim into a duplicate', async () => {
    const tables = await openTables();
    const ids = new TableInboundMessageIdStore(tables);
    await ids.claim('src', 'a/b#c', '2026-03-01T10:00:00.000Z');
    await ids.release('src', 'a/b#c');
    expect(await rows(tables)).toEqual([]);
    await ids.release('src', 'never-claimed');

    await tables.inbound.createEntity({ partitionKey: 'src', rowKey: '~|2026-03-01|left-over' });
    expect(await ids.claim('src', 'left-over', '2026-03-01T11:00:00.000Z')).toBe(true);
    expect(await ids.claim('src', 'left-over', '2026-03-01T11:00:01.000Z')).toBe(false);

    // A claim written before expiry entries existed: released normally, never pruned by a range.
    await tables.inbound.createEntity({ partitionKey: 'src', rowKey: 'legacy', at: '2025-01-01T00:00:00.000Z' });
    expect(await ids.forgetClaimedBefore('src', '2026-03-01T12:00:00.000Z')).toBe(0);
    expect(await ids.claim('src', 'legacy', '2026-03-01T12:00:00.000Z')).toBe(false);
    await ids.release('src', 'legacy');
    expect(await rows(tables)).toEqual(['src left-over', 'src ~|2026-03-01|left-over']);
  });
});

describe('delivery-attempt claims', () => {
  it('keep a taken attempt refused across midnight and for the retention, then are forgotten by the nightly publish', async () => {
    const tables = await openTables();
    const receiver = await startReceiver((_req, _i, res) => res.writeHead(204).end());
    try {
      const clock = new FixedClock(Date.parse('2026-03-01T23:59:00.000Z'));
      const queue = new RecordingMessageQueue<WebhookDeliveryMessage>();
      const s = service(tables, clock, { queue });
      const ids = new TableInboundMessageIdStore(tables);
      const { webhook } = await s.create({ url: `${receiver.url}/hook`, events: ['rollout.completed'] }, 'u');
      await s.publish({ id: 'evt-1', type: 'rollout.completed', timestamp: clock.now().toISOString(), data: {} });
      const message = queue.take()!.message;
      // Another message of the same attempt took it at 23:59:30 and is still calling the receiver.
      expect(await ids.claim(ATTEMPT_CLAIMS, `${webhook.id}:${message.deliveryId}:1`, '2026-03-01T23:59:30.000Z')).toBe(true);

      clock.advance(90_000); // 00:00:30 the next day
      expect((await s.processDelivery(message))!.attempts).toEqual([]);
      expect(receiver.received).toHaveLength(0);

      // 7 days later: a nightly run prunes, the claim (from 03-01) is within the retention and stays.
      clock.advance(7 * DAY * 1000); // 2026-03-09T00:00:30Z, cutoff 03-01T00:00:30Z
      await s.publish({ id: 'run-a', type: 'evaluation.completed', timestamp: clock.now().toISOString(), data: {} });
      expect(await rows(tables)).toContain(`webhook-attempt ~|2026-03-01|${webhook.id}:${message.deliveryId}:1`);
      expect((await s.processDelivery(message))!.attempts).toEqual([]);
      expect(receiver.received).toHaveLength(0);

      // Past the retention no queue message of that attempt can exist any more: the claim goes, and a
      // message arriving now would perform the never-recorded attempt (at-least-once).
      clock.advance(12 * 3_600_000); // 2026-03-09T12:00:30Z, cutoff 03-01T12:00:30Z: day 03-01 is still kept
      await s.publish({ id: 'run-b', type: 'evaluation.completed', timestamp: clock.now().toISOString(), data: {} });
      expect(await rows(tables)).toHaveLength(2);
      clock.advance(12 * 3_600_000); // 2026-03-10T00:00:30Z, cutoff 03-02T00:00:30Z
      await s.publish({ id: 'run-c', type: 'evaluation.completed', timestamp: clock.now().toISOString(), data: {} });
      expect(await rows(tables)).toEqual([]);
      const done = await s.processDelivery(message);
      expect(done).toMatchObject({ status: 'delivered', attempts: [{ outcome: 'delivered', statusCode: 204 }] });
      expect(receiver.received).toHaveLength(1);
      // Its own claim is written on the day of the attempt; a duplicate is now refused by the record.
      expect(await rows(tables)).toEqual([`webhook-attempt ${webhook.id}:${message.deliveryId}:1`, `webhook-attempt ~|2026-03-10|${webhook.id}:${message.deliveryId}:1`]);
      await s.processDelivery(message);
      expect(receiver.received).toHaveLength(1);
    } finally {
      await receiver.stop();
    }
  });

  it('the nightly publish prunes every source of the table, and a pruning failure does not fail the publish', async () => {
    const tables = await openTables();
    const clock = new FixedClock(Date.parse('2026-04-20T02:00:00.000Z'));
    const s = service(tables, clock);
    const ids = new TableInboundMessageIdStore(tables);
    await ids.claim(CHANGE_EVENT_SOURCE, 'msg-old', '2026-04-11T09:00:00.000Z');
    await ids.claim(CHANGE_EVENT_SOURCE, 'msg-kept', '2026-04-12T00:00:00.000Z');
    await ids.claim(ATTEMPT_CLAIMS, 'hook:delivery:1', '2026-04-11T23:59:59.000Z');
    await ids.claim(ATTEMPT_CLAIMS, 'hook:delivery:2', '2026-04-12T00:00:00.000Z');
    expect(WEBHOOK_INBOUND_RETENTION_DAYS).toBe(8);
    await s.publish({ id: 'run-1', type: 'rollout.completed', timestamp: clock.now().toISOString(), data: {} });
    expect(await rows(tables)).toHaveLength(8);
    await s.publish({ id: 'run-1', type: 'evaluation.completed', timestamp: clock.now().toISOString(), data: {} });
    expect(await rows(tables)).toEqual([
      'servicenow-change msg-kept',
      'servicenow-change ~|2026-04-12|msg-kept',
      'webhook-attempt hook:delivery:2',
      'webhook-attempt ~|2026-04-12|hook:delivery:2',
    ]);

    const warnings: string[] = [];
    const broken = service(tables, clock, {
      attemptClaims: { claim: async () => true, ownerOf: async () => undefined, release: async () => undefined, forgetClaimedBefore: async () => Promise.reject(new Error('storage down')) },
      log: { ...silentLogger, warn: (m) => warnings.push(m) },
    });
    await broken.publish({ id: 'run-2', type: 'evaluation.completed', timestamp: clock.now().toISOString(), data: {} });
    expect(warnings).toEqual(['webhook inbound id retention failed: storage down']);
  });
});

describe('inbound change events: once-only after the ids are forgotten', () => {
  const secret = formatSecret(Buffer.alloc(32, 7));

  class RecordingApprovals implements RolloutApprovals {
    readonly calls: ChangeApprovalRequest[] = [];
    async approveFromChange(request: ChangeApprovalRequest): Promise<void> {
      this.calls.push(request);
    }
    async pauseFromChange(request: ChangeApprovalRequest): Promise<void> {
      this.calls.push(request);
    }
  }

  interface Captured {
    readonly id: string;
    readonly timestamp: number;
    readonly body: string;
    readonly signature: string;
  }

  async function sign(id: string, timestamp: number): Promise<Captured> {
    const body = JSON.stringify({ type: 'change.updated', timestamp: new Date(timestamp * 1000).toISOString(), data: { number: 'CHG0040001', state: 'approved', rolloutId: 'ro-9', waveId: 'wave-1', approvedBy: 'sam' } });
    return { id, timestamp, body, signature: await referenceSign(secret, id, timestamp, body) };
  }

  async function deliver(receiver: ChangeEventReceiver, m: Captured): Promise<{ status: number; body: unknown }> {
    const headers = new Map<string, string>([
      ['content-type', 'application/json'],
      ['webhook-id', m.id],
      ['webhook-timestamp', String(m.timestamp)],
      ['webhook-signature', m.signature],
    ]);
    const res = await changeEventEndpoint(receiver, { maxBodyBytes: 4096 })(
      {
        headers: { get: (n) => headers.get(n.toLowerCase()) ?? null },
        body: (async function* () {
          yield Buffer.from(m.body, 'utf8');
        })(),
      },
    );
    return { status: res.status, body: JSON.parse(res.body) as unknown };
  }

  const UNAUTHORIZED = { error: { code: 'Unauthorized', message: 'The change event is not authentic (signature, timestamp or id).' } };

  it('refuses a replay across midnight and within the retention, and refuses the captured message as stale once its id is forgotten', async () => {
    const tables = await openTables();
    const clock = new FixedClock(Date.parse('2026-05-01T23:59:58.000Z'));
    const approvals = new RecordingApprovals();
    const receiver = new ChangeEventReceiver({ secrets: [secret], ids: new TableInboundMessageIdStore(tables), approvals, clock });
    const nowSeconds = (): number => Math.floor(clock.now().getTime() / 1000);
    const pruner = service(tables, clock);

    const captured = await sign('msg_A', nowSeconds());
    expect(await deliver(receiver, captured)).toEqual({ status: 200, body: { action: 'approved', rolloutId: 'ro-9', waveId: 'wave-1', changeNumber: 'CHG0040001' } });
    expect(approvals.calls).toHaveLength(1);

    // Four seconds later, the next UTC day: the captured message and a fresh re-signing of its id.
    clock.advance(4_000);
    expect(await deliver(receiver, captured)).toEqual({ status: 401, body: UNAUTHORIZED });
    expect(await deliver(receiver, await sign('msg_A', nowSeconds()))).toEqual({ status: 401, body: UNAUTHORIZED });

    // A stale message (older than the 5-minute tolerance) is refused before anything is written.
    const before = await rows(tables);
    expect(before).toEqual(['servicenow-change msg_A', 'servicenow-change ~|2026-05-01|msg_A']);
    expect(await deliver(receiver, await sign('msg_B', nowSeconds() - 301))).toEqual({ status: 401, body: UNAUTHORIZED });
    expect(await rows(tables)).toEqual(before);

    // Within the retention a nightly prune keeps the id: a re-signed retry is still refused.
    clock.advance((8 * DAY - 3600) * 1000); // 2026-05-09T23:00:02Z
    expect(await pruner.pruneInboundIds()).toBe(0);
    expect(await deliver(receiver, await sign('msg_A', nowSeconds()))).toEqual({ status: 401, body: UNAUTHORIZED });

    // Past the retention the id is forgotten; the captured message is 8 days stale and refused anyway,
    // without claiming its id again.
    clock.advance(3_600_000); // 2026-05-10T00:00:02Z: day 05-01 lies wholly before the cutoff
    expect(await pruner.pruneInboundIds()).toBe(1);
    expect(await rows(tables)).toEqual([]);
    expect(await deliver(receiver, captured)).toEqual({ status: 401, body: UNAUTHORIZED });
    expect(await rows(tables)).toEqual([]);
    expect(approvals.calls).toHaveLength(1);
  });
});

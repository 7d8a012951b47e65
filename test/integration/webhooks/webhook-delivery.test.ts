/**
 * Webhook subscriptions and deliveries against Azurite tables and loopback receivers: signatures checked
 * by an independent implementation, retries with backoff and Retry-After, dead letter, 410, rotation,
 * redelivery, SSRF refusals (private IP, DNS name resolving to loopback, redirect not followed).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import {
  TableInboundMessageIdStore,
  TableWebhookDeliveryRepository,
  TableWebhookSubscriptionRepository,
  WebhookTables,
} from '../../../adapters/storage/table-webhook-store.js';
import { AesGcmSecretProtector } from '../../../adapters/webhooks/secret-protector.js';
import { GuardedHttpClient, type HostResolver } from '../../../adapters/webhooks/guarded-http-client.js';
import { SECRET_ROTATION_IN_PROGRESS, WebhookService } from '../../../application/webhook-service.js';
import { toErrorResponse } from '../../../adapters/http/error-mapping.js';
import type { WebhookDeadLetterMessage, WebhookDeliveryMessage } from '../../../application/messages.js';
import { parseAllowlist } from '../../../domain/webhook-ssrf.js';
import { RETRY_SCHEDULE_SECONDS } from '../../../domain/webhook-retry.js';
import type { OutboundEvent } from '../../../domain/webhook-events.js';
import { startReceiver, type Receiver } from './support.js';
import { referenceVerify } from '../../unit/webhooks/standard-webhooks-reference.js';
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

interface Harness {
  service: WebhookService;
  tables: WebhookTables;
  queue: RecordingMessageQueue<WebhookDeliveryMessage>;
  deadLetters: RecordingMessageQueue<WebhookDeadLetterMessage>;
  clock: FixedClock;
  resolver: { map: Record<string, string[]> };
  /** Processes queued messages until none is left (delays are simulated by advancing the clock). */
  drain(max?: number): Promise<number>;
}

async function harness(allowlist: string[]): Promise<Harness> {
  prefixCounter += 1;
  const tables = await WebhookTables.open({ connectionString: azurite.connectionString }, { tablePrefix: `wh${process.pid}x${prefixCounter}` });
  const clock = new FixedClock(Date.parse('2026-03-01T10:00:00Z'));
  const queue = new RecordingMessageQueue<WebhookDeliveryMessage>();
  const deadLetters = new RecordingMessageQueue<WebhookDeadLetterMessage>();
  const resolver = { map: {} as Record<string, string[]> };
  const resolve: HostResolver = async (host) => {
    const found = resolver.map[host];
    if (found === undefined) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return found;
  };
  let n = 0;
  const service = new WebhookService({
    subscriptions: new TableWebhookSubscriptionRepository(tables),
    deliveries: new TableWebhookDeliveryRepository(tables),
    queue,
    deadLetters,
    secrets: new AesGcmSecretProtector(randomBytes(32)),
    http: new GuardedHttpClient({ allowlist: parseAllowlist(allowlist).allowlist, resolve, connectTimeoutMs: 2000, responseTimeoutMs: 5000 }),
    serviceNow: undefined,
    clock,
    newId: () => `wh${(n += 1)}`,
    randomBytes: (size) => randomBytes(size),
    random: () => 0.5,
    attemptClaims: new TableInboundMessageIdStore(tables),
    log: silentLogger,
  });
  return {
    service,
    tables,
    queue,
    deadLetters,
    clock,
    resolver,
    async drain(max = 20) {
      let processed = 0;
      for (let next = queue.take(); next !== undefined && processed < max; next = queue.take()) {
        clock.advance(next.visibilityDelaySeconds * 1000);
        await service.processDelivery(next.message);
        processed += 1;
      }
      return processed;
    },
  };
}

const event = (id: string, data: unknown = { runId: 'run-1', clustersEvaluated: 3 }): OutboundEvent => ({
  id,
  type: 'evaluation.completed',
  timestamp: '2026-03-01T09:59:00.000Z',
  data,
});

describe('webhook subscriptions', () => {
  let receiver: Receiver;
  beforeEach(async () => {
    receiver = await startReceiver((_req, _i, res) => res.writeHead(204).end());
    return () => receiver.stop();
  });

  it('returns the secret once and stores it only encrypted', async () => {
    const h = await harness(['127.0.0.1']);
    const created = await h.service.create({ url: `${receiver.url}/hook`, events: ['*'] }, 'user-1');
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(JSON.stringify(await h.service.get(created.webhook.id))).not.toContain('whsec_');
    expect(JSON.stringify(await h.service.list(10))).not.toContain(created.secret!.slice(6, 20));
    const raw = await h.tables.webhooks.getEntity('webhook', created.webhook.id);
    expect(JSON.stringify(raw)).not.toContain(created.secret!.slice(6));
    expect(String(raw['secretCurrent'])).toMatch(/^v1\./);
  });

  it('delivers signed { type, timestamp, data } that an independent verifier accepts', async () => {
    const h = await harness(['127.0.0.1']);
    const { webhook, secret } = await h.service.create({ url: `${receiver.url}/hook`, events: ['evaluation.completed'] }, 'user-1');
    await h.service.publish(event('evt-1'));
    await h.service.publish({ ...event('evt-x'), type: 'rollout.completed' });
    expect(h.queue.sent).toHaveLength(1);
    await h.drain();
    expect(receiver.received).toHaveLength(1);
    const got = receiver.received[0]!;
    expect(JSON.parse(got.body)).toEqual({ type: 'evaluation.completed', timestamp: '2026-03-01T09:59:00.000Z', data: { runId: 'run-1', clustersEvaluated: 3 } });
    expect(got.headers['webhook-id']).toBe('evt-1');
    expect(got.headers['webhook-timestamp']).toBe(String(Date.parse('2026-03-01T10:00:00Z') / 1000));
    expect(await referenceVerify(secret!, got.headers, got.body, Date.parse('2026-03-01T10:00:00Z') / 1000)).toBe(true);
    const deliveries = await h.service.listDeliveries(webhook.id, 10);
    expect(deliveries.items.map((d) => [d.status, d.attempts.length, d.attempts[0]?.statusCode])).toEqual([['delivered', 1, 204]]);
    // Publishing the same event again queues nothing new.
    await h.service.publish(event('evt-1'));
    expect(h.queue.sent).toHaveLength(0);
  });

  it('delivers an ocsf webhook as the signed array of OCSF findings of the changed controls', async () => {
    const h = await harness(['127.0.0.1']);
    const { secret } = await h.service.create({ url: `${receiver.url}/siem`, events: ['cluster.compliance.changed'], format: 'ocsf' }, 'user-1');
    expect(secret).toMatch(/^whsec_/);
    const clusterId = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/c1';
    const data = {
      clusterId, clusterName: 'c1', subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg', location: 'westeurope',
      runId: 'run-9', evaluatedAt: '2026-03-01T02:00:00.000Z', score: 80, previousScore: 100,
      changes: [{ controlId: 'ARC-AC-01', from: 'pass', to: 'fail', kind: 'regression', severity: 'high', evidence: 'aadProfile.enableAzureRBAC is false' }],
      failing: [{ controlId: 'ARC-AC-01', severity: 'high', evidence: 'aadProfile.enableAzureRBAC is false' }],
    };
    await h.service.publish({ id: 'evt-ocsf', type: 'cluster.compliance.changed', timestamp: data.evaluatedAt, data });
    await h.drain();
    const got = receiver.received[0]!;
    expect(await referenceVerify(secret!, got.headers, got.body, Date.parse('2026-03-01T10:00:00Z') / 1000)).toBe(true);
    const findings = JSON.parse(got.body) as Record<string, unknown>[];
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ class_uid: 2003, type_uid: 200301, compliance: { control: 'ARC-AC-01', status_id: 3 }, cloud: { region: 'westeurope' }, resources: [{ uid: clusterId }] });
    const { OcsfSchema } = await import('../../support/ocsf-validator.js');
    expect(new OcsfSchema().validate(findings[0], 'compliance_finding')).toEqual([]);
  });

  it('signs with both secrets for 24 h after a rotation', async () => {
    const h = await harness(['127.0.0.1']);
    const { webhook, secret: oldSecret } = await h.service.create({ url: `${receiver.url}/hook`, events: ['*'] }, 'user-1');
    const { secret: newSecret } = await h.service.rotateSecret(webhook.id);
    expect(newSecret).not.toBe(oldSecret);
    await h.service.publish(event('evt-r1'));
    await h.drain();
    const first = receiver.received[0]!;
    const now1 = Date.parse('2026-03-01T10:00:00Z') / 1000;
    expect(first.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(await referenceVerify(oldSecret!, first.headers, first.body, now1)).toBe(true);
    expect(await referenceVerify(newSecret!, first.headers, first.body, now1)).toBe(true);
    h.clock.advance((24 * 3600 + 1) * 1000);
    await h.service.publish(event('evt-r2'));
    await h.drain();
    const second = receiver.received[1]!;
    const now2 = now1 + 24 * 3600 + 1;
    expect(second.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(await referenceVerify(oldSecret!, second.headers, second.body, now2)).toBe(false);
    expect(await referenceVerify(newSecret!, second.headers, second.body, now2)).toBe(true);
  });
});

describe('secret rotation', () => {
  let receiver: Receiver;
  beforeEach(async () => {
    receiver = await startReceiver((_req, _i, res) => res.writeHead(204).end());
    return () => receiver.stop();
  });

  it('refuses a second rotation (409) while the previous secret still signs, and changes nothing', async () => {
    const h = await harness(['127.0.0.1']);
    const { webhook, secret: first } = await h.service.create({ url: `${receiver.url}/hook`, events: ['*'] }, 'user-1');
    const { secret: second } = await h.service.rotateSecret(webhook.id);
    const stored = await h.tables.webhooks.getEntity('webhook', webhook.id);

    h.clock.advance(3_600_000);
    const error = await h.service.rotateSecret(webhook.id).then(() => undefined, (e: unknown) => e);
    const mapped = toErrorResponse(error);
    expect(mapped.status).toBe(409);
    expect(mapped.body.error).toMatchObject({ code: 'Conflict', target: 'webhookId', details: [{ code: SECRET_ROTATION_IN_PROGRESS }] });
    expect(mapped.body.error.message).toContain('2026-03-02T10:00:00.000Z');
    const after = await h.tables.webhooks.getEntity('webhook', webhook.id);
    expect([after['secretCurrent'], after['secretPrevious'], after['secretPreviousExpiresAt']]).toEqual([stored['secretCurrent'], stored['secretPrevious'], stored['secretPreviousExpiresAt']]);
    // Receivers still on the first secret keep verifying for the rest of the 24 h.
    await h.service.publish(event('evt-rot-1'));
    await h.drain();
    const now = Date.parse('2026-03-01T11:00:00Z') / 1000;
    expect(await referenceVerify(first!, receiver.received[0]!.headers, receiver.received[0]!.body, now)).toBe(true);
    expect(await referenceVerify(second!, receiver.received[0]!.headers, receiver.received[0]!.body, now)).toBe(true);

    // Once the overlap is over, rotating works again.
    h.clock.advance(23 * 3_600_000);
    const { secret: third } = await h.service.rotateSecret(webhook.id);
    expect(third).not.toBe(second);
  });
});

describe('retries', () => {
  it('backs off, honours Retry-After and keeps a short response excerpt', async () => {
    const flaky = await startReceiver((_req, i, res) => {
      if (i === 0) res.writeHead(503, { 'retry-after': '120' }).end('busy'.repeat(200));
      else if (i === 1) res.writeHead(500).end('oops');
      else res.writeHead(200).end('ok');
    });
    try {
      const h = await harness([`127.0.0.1:${flaky.port}`]);
      const { webhook, secret } = await h.service.create({ url: `${flaky.url}/x`, events: ['*'] }, 'u');
      await h.service.publish(event('evt-flaky'));
      const first = h.queue.take()!;
      await h.service.processDelivery(first.message);
      const retry1 = h.queue.sent[0]!;
      expect(retry1).toEqual({ message: { ...first.message, attempt: 2 }, visibilityDelaySeconds: 120 });
      h.clock.advance(120_000);
      await h.service.processDelivery(h.queue.take()!.message);
      const retry2 = h.queue.sent[0]!;
      expect(retry2.visibilityDelaySeconds).toBe(RETRY_SCHEDULE_SECONDS[1]);
      h.clock.advance(retry2.visibilityDelaySeconds * 1000);
      await h.service.processDelivery(h.queue.take()!.message);
      expect(h.queue.sent).toHaveLength(0);
      const [d] = (await h.service.listDeliveries(webhook.id, 10)).items;
      expect(d!.status).toBe('delivered');
      expect(d!.attempts.map((a) => [a.attempt, a.outcome, a.statusCode])).toEqual([[1, 'failed', 503], [2, 'failed', 500], [3, 'delivered', 200]]);
      expect(d!.attempts[0]!.responseExcerpt!.length).toBe(256);
      // Every attempt carried the same webhook-id and a signature valid at its own timestamp.
      expect(new Set(flaky.received.map((r) => r.headers['webhook-id']))).toEqual(new Set(['evt-flaky']));
      for (const r of flaky.received) expect(await referenceVerify(secret!, r.headers, r.body, Number(r.headers['webhook-timestamp']))).toBe(true);
      // A duplicate of an already-performed attempt message does nothing.
      await h.service.processDelivery(first.message);
      expect(flaky.received).toHaveLength(3);
    } finally {
      await flaky.stop();
    }
  });

  it('dead-letters after the last attempt with the reason', async () => {
    const down = await startReceiver((_req, _i, res) => res.writeHead(500).end('down'));
    try {
      const h = await harness(['127.0.0.1']);
      const { webhook } = await h.service.create({ url: `${down.url}/x`, events: ['*'] }, 'u');
      await h.service.publish(event('evt-dead'));
      const delays: number[] = [];
      for (let next = h.queue.take(); next !== undefined; next = h.queue.take()) {
        delays.push(next.visibilityDelaySeconds);
        h.clock.advance(next.visibilityDelaySeconds * 1000);
        await h.service.processDelivery(next.message);
      }
      expect(delays).toEqual([0, ...RETRY_SCHEDULE_SECONDS]);
      expect(down.received).toHaveLength(8);
      const [d] = (await h.service.listDeliveries(webhook.id, 10)).items;
      expect(d!.status).toBe('dead-lettered');
      expect(d!.reason).toBe('gave up after 8 attempts; last: HTTP 500');
      expect(h.deadLetters.sent.map((m) => m.message)).toMatchObject([{ kind: 'webhook-dead-letter', webhookId: webhook.id, deliveryId: d!.id, eventId: 'evt-dead', attempts: 8, reason: d!.reason }]);
    } finally {
      await down.stop();
    }
  });

  it('disables the subscription on 410 Gone', async () => {
    const gone = await startReceiver((_req, _i, res) => res.writeHead(410).end());
    try {
      const h = await harness(['127.0.0.1']);
      const { webhook } = await h.service.create({ url: `${gone.url}/x`, events: ['*'] }, 'u');
      await h.service.publish(event('evt-gone'));
      await h.drain();
      expect(h.queue.sent).toHaveLength(0);
      const view = await h.service.get(webhook.id);
      expect(view).toMatchObject({ enabled: false, disabledReason: expect.stringMatching(/410/) });
      await h.service.publish(event('evt-after'));
      expect(h.queue.sent).toHaveLength(0);
      expect(gone.received).toHaveLength(1);
      await expect(h.service.redeliver(webhook.id, (await h.service.listDeliveries(webhook.id, 1)).items[0]!.id)).rejects.toMatchObject({ code: 'Conflict' });
    } finally {
      await gone.stop();
    }
  });

  it('redelivers an event as a new delivery with the same webhook-id', async () => {
    const ok = await startReceiver((_req, _i, res) => res.writeHead(200).end());
    try {
      const h = await harness(['127.0.0.1']);
      const { webhook } = await h.service.create({ url: `${ok.url}/x`, events: ['*'] }, 'u');
      await h.service.publish(event('evt-re'));
      await h.drain();
      const original = (await h.service.listDeliveries(webhook.id, 10)).items[0]!;
      h.clock.advance(60_000);
      const again = await h.service.redeliver(webhook.id, original.id);
      expect(again).toMatchObject({ redeliveryOf: original.id, eventId: 'evt-re', status: 'pending' });
      await h.drain();
      expect(ok.received.map((r) => r.headers['webhook-id'])).toEqual(['evt-re', 'evt-re']);
      const all = (await h.service.listDeliveries(webhook.id, 10)).items;
      expect(all.map((d) => d.id)).toEqual([again.id, original.id]);
      await expect(h.service.redeliver(webhook.id, 'nope')).rejects.toMatchObject({ code: 'NotFound' });
    } finally {
      await ok.stop();
    }
  });
});

describe('SSRF', () => {
  it('refuses private and metadata addresses and plain http without the allowlist', async () => {
    const h = await harness([]);
    for (const url of ['https://10.1.2.3/hook', 'https://169.254.169.254/latest/meta-data', 'https://[::ffff:127.0.0.1]/', 'http://example.com/hook']) {
      await expect(h.service.create({ url, events: ['*'] }, 'u')).rejects.toMatchObject({ code: 'InvalidRequest', target: 'url' });
    }
  });

  it('refuses a DNS name that resolves to loopback, at creation and at delivery (rebinding)', async () => {
    const victim = await startReceiver((_req, _i, res) => res.writeHead(200).end('internal'));
    try {
      const h = await harness([]);
      h.resolver.map['evil.example'] = ['127.0.0.1'];
      await expect(h.service.create({ url: `https://evil.example:${victim.port}/x`, events: ['*'] }, 'u')).rejects.toMatchObject({ code: 'InvalidRequest', message: expect.stringMatching(/loopback/) });
      // Public at creation, loopback at delivery time.
      h.resolver.map['rebind.example'] = ['93.184.216.34'];
      const { webhook } = await h.service.create({ url: `https://rebind.example:${victim.port}/x`, events: ['*'] }, 'u');
      h.resolver.map['rebind.example'] = ['93.184.216.34', '127.0.0.1'];
      await h.service.publish(event('evt-rebind'));
      await h.service.processDelivery(h.queue.take()!.message);
      const [d] = (await h.service.listDeliveries(webhook.id, 10)).items;
      expect(d!.attempts[0]).toMatchObject({ outcome: 'refused', error: expect.stringMatching(/loopback/) });
      expect(victim.received).toHaveLength(0);
    } finally {
      await victim.stop();
    }
  });

  it('does not follow redirects', async () => {
    const target = await startReceiver((_req, _i, res) => res.writeHead(200).end());
    const redirector = await startReceiver((_req, _i, res) => res.writeHead(302, { location: `${target.url}/stolen` }).end());
    try {
      const h = await harness(['127.0.0.1']);
      const { webhook } = await h.service.create({ url: `${redirector.url}/x`, events: ['*'] }, 'u');
      await h.service.publish(event('evt-redirect'));
      await h.service.processDelivery(h.queue.take()!.message);
      expect(redirector.received).toHaveLength(1);
      expect(target.received).toHaveLength(0);
      const [d] = (await h.service.listDeliveries(webhook.id, 10)).items;
      expect(d).toMatchObject({ status: 'retrying', attempts: [{ outcome: 'failed', statusCode: 302 }] });
    } finally {
      await redirector.stop();
      await target.stop();
    }
  });
});

describe('inbound id store', () => {
  it('claims an id once, atomically, and can release it', async () => {
    const h = await harness([]);
    const ids = new TableInboundMessageIdStore(h.tables);
    const at = '2026-03-01T10:00:00.000Z';
    const results = await Promise.all([ids.claim('s', 'msg/1#?', at), ids.claim('s', 'msg/1#?', at)]);
    expect(results.sort()).toEqual([false, true]);
    await ids.release('s', 'msg/1#?');
    expect(await ids.claim('s', 'msg/1#?', at)).toBe(true);
  });
});

/**
 * The Table Storage watermarks that keep ServiceNow actions in evaluation order, against Azurite: they
 * never move back, kinds are independent, hostile correlation ids round-trip, and concurrent advances
 * leave the latest time; retention forgets only watermarks older than the cutoff, keeping one advanced
 * meanwhile, and runs after the nightly `evaluation.completed` publish.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableServiceNowWatermarks } from '../../../adapters/webhooks/table-servicenow-watermarks.js';
import { incidentCorrelationId } from '../../../domain/servicenow-mapping.js';
import { randomBytes } from 'node:crypto';
import { WebhookTables, TableWebhookDeliveryRepository, TableWebhookSubscriptionRepository, TableInboundMessageIdStore } from '../../../adapters/storage/table-webhook-store.js';
import { AesGcmSecretProtector } from '../../../adapters/webhooks/secret-protector.js';
import { GuardedHttpClient } from '../../../adapters/webhooks/guarded-http-client.js';
import { ServiceNowDelivery, type ServiceNowApi } from '../../../application/servicenow-delivery.js';
import { WebhookService } from '../../../application/webhook-service.js';
import { parseAllowlist } from '../../../domain/webhook-ssrf.js';
import type { WebhookDeadLetterMessage, WebhookDeliveryMessage } from '../../../application/messages.js';
import { silentLogger } from '../../../application/logger.js';
import { FixedClock, RecordingMessageQueue } from '../../support/in-memory-ports.js';

let azurite: RunningAzurite;
let n = 0;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

const open = () => TableServiceNowWatermarks.open({ connectionString: azurite.connectionString }, { tablePrefix: `snw${process.pid}x${(n += 1)}` });
const id = incidentCorrelationId('/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/edge-01', 'ARC-AC-01');

describe('ServiceNow watermarks (Table Storage)', () => {
  it('advances, never moves back, and keeps kinds apart', async () => {
    const w = await open();
    expect(await w.get('incident', id)).toBeUndefined();
    await w.advance('incident', id, '2026-04-02T02:00:00.000Z');
    await w.advance('incident', id, '2026-04-01T02:00:00.000Z');
    expect(await w.get('incident', id)).toBe('2026-04-02T02:00:00.000Z');
    await w.advance('incident', id, '2026-04-03T02:00:00.000Z');
    expect(await w.get('incident', id)).toBe('2026-04-03T02:00:00.000Z');
    expect(await w.get('event', id)).toBeUndefined();
    const hostile = 'a/b#c?d|e%f\\g';
    await w.advance('event', hostile, '2026-04-01T00:00:00.000Z');
    expect(await w.get('event', hostile)).toBe('2026-04-01T00:00:00.000Z');
  });

  it('leaves the latest time when advances race', async () => {
    const w = await open();
    // At most MAX_RACES writers: each loses only to another one that then stops, so none runs out of retries.
    const times = Array.from({ length: 5 }, (_, i) => `2026-04-0${i + 1}T02:00:00.000Z`);
    await Promise.all([...times].reverse().map((t) => w.advance('incident', id, t)));
    expect(await w.get('incident', id)).toBe('2026-04-05T02:00:00.000Z');
  });
});

describe('ServiceNow watermark retention', () => {
  const other = incidentCorrelationId('/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/edge-02', 'ARC-TD-01');

  it('forgets only watermarks before the cutoff, in both kinds', async () => {
    const w = await open();
    await w.advance('incident', id, '2026-01-01T02:00:00.000Z');
    await w.advance('event', id, '2026-01-01T02:00:00.000Z');
    await w.advance('incident', other, '2026-02-01T02:00:00.000Z');
    await w.advance('event', 'a/b#c?d', '2026-01-31T23:59:59.999Z');
    expect(await w.forgetOlderThan('2026-02-01T02:00:00.000Z')).toBe(3);
    expect(await w.get('incident', id)).toBeUndefined();
    expect(await w.get('event', id)).toBeUndefined();
    expect(await w.get('event', 'a/b#c?d')).toBeUndefined();
    // At the cutoff: kept.
    expect(await w.get('incident', other)).toBe('2026-02-01T02:00:00.000Z');
    expect(await w.forgetOlderThan('2026-02-01T02:00:00.000Z')).toBe(0);
  });

  it('prunes after a nightly evaluation.completed publish, at delivery retention + 8 days, not after on-demand runs', async () => {
    const tables = await WebhookTables.open({ connectionString: azurite.connectionString }, { tablePrefix: `snwsvc${process.pid}x${(n += 1)}` });
    const watermarks = await open();
    const clock = new FixedClock(Date.parse('2026-03-10T03:00:00.000Z'));
    const api: ServiceNowApi = {
      findActiveIncident: async () => undefined,
      createIncident: async () => ({ sysId: 's', number: 'INC0' }),
      updateIncident: async () => undefined,
      sendEvents: async () => undefined,
    };
    const service = new WebhookService({
      subscriptions: new TableWebhookSubscriptionRepository(tables),
      deliveries: new TableWebhookDeliveryRepository(tables),
      queue: new RecordingMessageQueue<WebhookDeliveryMessage>(),
      deadLetters: new RecordingMessageQueue<WebhookDeadLetterMessage>(),
      secrets: new AesGcmSecretProtector(randomBytes(32)),
      http: new GuardedHttpClient({ allowlist: parseAllowlist([]).allowlist }),
      serviceNow: new ServiceNowDelivery(api, { category: 'security' }, { instanceUrl: 'https://sn.example', watermarks }),
      clock,
      newId: () => 'unused',
      randomBytes: (size) => randomBytes(size),
      random: () => 0.5,
      attemptClaims: new TableInboundMessageIdStore(tables),
      log: silentLogger,
      deliveryRetentionDays: 30,
    });
    // Cutoff: 2026-03-10T03:00 − (30 + 8) days = 2026-01-31T03:00.
    await watermarks.advance('incident', id, '2026-01-31T02:59:59.999Z');
    await watermarks.advance('incident', other, '2026-01-31T03:00:00.000Z');
    const publish = (runId: string, trigger: string, type: 'evaluation.completed' | 'rollout.completed' = 'evaluation.completed'): Promise<void> =>
      service.publish({ id: runId, type, timestamp: clock.now().toISOString(), data: { runId, trigger } });

    await publish('rollout-1', 'timer', 'rollout.completed');
    await publish('run-on-demand', 'on-demand');
    expect(await watermarks.get('incident', id)).toBe('2026-01-31T02:59:59.999Z');
    await publish('run-nightly', 'timer');
    expect(await watermarks.get('incident', id)).toBeUndefined();
    expect(await watermarks.get('incident', other)).toBe('2026-01-31T03:00:00.000Z');
  });
});

/**
 * Webhook delivery retention against Azurite: finished deliveries older than the window are deleted
 * per webhook by a row-key range of its partition; recent and unfinished ones, and other webhooks'
 * deliveries, stay.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableWebhookDeliveryRepository, TableWebhookSubscriptionRepository, WebhookTables, TableInboundMessageIdStore } from '../../../adapters/storage/table-webhook-store.js';
import { AesGcmSecretProtector } from '../../../adapters/webhooks/secret-protector.js';
import { GuardedHttpClient } from '../../../adapters/webhooks/guarded-http-client.js';
import { invertedTime } from '../../../adapters/storage/table-keys.js';
import { WebhookService } from '../../../application/webhook-service.js';
import { parseAllowlist } from '../../../domain/webhook-ssrf.js';
import type { WebhookDeadLetterMessage, WebhookDeliveryMessage } from '../../../application/messages.js';
import type { DeliveryStatus, WebhookDelivery, WebhookSubscription } from '../../../domain/webhook-subscription.js';
import type { OutboundEvent } from '../../../domain/webhook-events.js';
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
const T0 = '2026-03-01T10:00:00.000Z';

async function openTables(): Promise<WebhookTables> {
  prefixCounter += 1;
  return WebhookTables.open({ connectionString: azurite.connectionString }, { tablePrefix: `whret${process.pid}x${prefixCounter}` });
}

function subscription(id: string, events: string[]): WebhookSubscription {
  return { id, url: 'https://receiver.example/hook', events, format: 'standard', filters: {}, enabled: true, createdAt: T0, createdBy: 'test', secrets: { current: '' } };
}

function delivery(webhookId: string, at: string, suffix: string, status: DeliveryStatus): WebhookDelivery {
  return { id: `${invertedTime(at)}-${suffix}`, webhookId, eventId: `e-${suffix}`, eventType: 'rollout.completed', createdAt: at, status, attempts: [], event: '{}' };
}

async function ids(repo: TableWebhookDeliveryRepository, webhookId: string): Promise<string[]> {
  return (await repo.list(webhookId, 100)).items.map((d) => d.eventId).sort();
}

describe('delivery retention (repository)', () => {
  it('deletes only the webhook\'s finished deliveries at or before the cutoff', async () => {
    const repo = new TableWebhookDeliveryRepository(await openTables());
    for (const d of [
      delivery('hook/a', '2026-01-01T00:00:00.000Z', 'old-delivered', 'delivered'),
      delivery('hook/a', '2026-01-02T00:00:00.000Z', 'old-dead', 'dead-lettered'),
      delivery('hook/a', '2026-01-31T23:59:59.999Z', 'edge-failed', 'failed'),
      delivery('hook/a', '2026-01-03T00:00:00.000Z', 'old-retrying', 'retrying'),
      delivery('hook/a', '2026-02-01T00:00:00.001Z', 'recent', 'delivered'),
      delivery('hook/b', '2026-01-01T00:00:00.000Z', 'b-old', 'delivered'),
    ]) {
      await repo.create(d);
    }
    expect(await repo.deleteFinishedBefore('hook/a', '2026-02-01T00:00:00.000Z')).toBe(3);
    expect(await ids(repo, 'hook/a')).toEqual(['e-old-retrying', 'e-recent']);
    expect(await ids(repo, 'hook/b')).toEqual(['e-b-old']);
    expect(await repo.deleteFinishedBefore('hook/a', '2026-02-01T00:00:00.000Z')).toBe(0);
  });
});

describe('delivery retention (service)', () => {
  it('prunes every webhook after an evaluation.completed publish, keeping the window and unfinished deliveries', async () => {
    const tables = await openTables();
    const subscriptions = new TableWebhookSubscriptionRepository(tables);
    const deliveries = new TableWebhookDeliveryRepository(tables);
    const clock = new FixedClock(Date.parse(T0));
    const queue = new RecordingMessageQueue<WebhookDeliveryMessage>();
    const service = new WebhookService({
      subscriptions,
      deliveries,
      queue,
      deadLetters: new RecordingMessageQueue<WebhookDeadLetterMessage>(),
      secrets: new AesGcmSecretProtector(randomBytes(32)),
      http: new GuardedHttpClient({ allowlist: parseAllowlist([]).allowlist }),
      serviceNow: undefined,
      clock,
      newId: () => 'unused',
      randomBytes: (size) => randomBytes(size),
      random: () => 0.5,
      attemptClaims: new TableInboundMessageIdStore(tables),
      log: silentLogger,
      deliveryRetentionDays: 30,
    });
    await subscriptions.create(subscription('a', ['*']));
    await subscriptions.create(subscription('b', ['rollout.completed']));
    const publish = (id: string, type: OutboundEvent['type']): Promise<void> => service.publish({ id, type, timestamp: clock.now().toISOString(), data: {} });
    const finish = async (webhookId: string, eventId: string): Promise<void> => {
      const d = (await deliveries.list(webhookId, 100)).items.find((x) => x.eventId === eventId);
      if (d === undefined) throw new Error(`no delivery of ${eventId} for ${webhookId}`);
      await deliveries.update({ ...d, status: 'delivered' });
    };

    await publish('run-old', 'evaluation.completed');
    await publish('rollout-old', 'rollout.completed');
    await finish('a', 'run-old');
    await finish('b', 'rollout-old');
    // a's rollout-old stays pending: a queue message may still be on its way.
    clock.advance(29 * DAY * 1000);
    await publish('rollout-recent', 'rollout.completed');
    await finish('a', 'rollout-recent');
    await finish('b', 'rollout-recent');
    clock.advance(2 * DAY * 1000);

    await publish('rollout-new', 'rollout.completed');
    expect(await ids(deliveries, 'a')).toEqual(['rollout-new', 'rollout-old', 'rollout-recent', 'run-old']);
    await publish('run-new', 'evaluation.completed');
    expect(await ids(deliveries, 'a')).toEqual(['rollout-new', 'rollout-old', 'rollout-recent', 'run-new']);
    expect(await ids(deliveries, 'b')).toEqual(['rollout-new', 'rollout-recent']);
  });
});

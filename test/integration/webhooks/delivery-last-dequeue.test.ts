/**
 * A delivery whose queue message keeps failing (storage or secret-key trouble) is not lost silently:
 * earlier deliveries of the message rethrow for the queue to retry, and on its last delivery
 * (`MAX_DEQUEUE_COUNT`, after which the host moves it to the poison queue) the delivery is dead-lettered
 * with the cause, on the record and on the dead-letter queue.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_DEQUEUE_COUNT, type WebhookDeadLetterMessage, type WebhookDeliveryMessage } from '../../../application/messages.js';
import type { OutboundHttp, SecretProtector } from '../../../application/ports.js';
import { WebhookService } from '../../../application/webhook-service.js';
import { AesGcmSecretProtector } from '../../../adapters/webhooks/secret-protector.js';
import { InMemoryInboundMessageIdStore, InMemoryWebhookDeliveryRepository, InMemoryWebhookSubscriptionRepository, FixedClock, RecordingMessageQueue } from '../../support/in-memory-ports.js';
import { QueueDelivery } from '../../../application/queue-delivery.js';
import { silentLogger } from '../../../application/logger.js';

/** A protector whose key can be made unavailable (a Key Vault reference that stopped resolving). */
class FlakyProtector implements SecretProtector {
  private readonly inner = new AesGcmSecretProtector(randomBytes(32));
  broken = false;
  protect(plain: string, context: string): Promise<string> {
    return this.inner.protect(plain, context);
  }
  async reveal(stored: string, context: string): Promise<string> {
    if (this.broken) throw new Error('the secret key is unavailable');
    return this.inner.reveal(stored, context);
  }
}

function harness(answer: { status?: number; networkError?: string } = {}) {
  const clock = new FixedClock(Date.parse('2026-05-01T10:00:00Z'));
  const queue = new RecordingMessageQueue<WebhookDeliveryMessage>();
  const deadLetters = new RecordingMessageQueue<WebhookDeadLetterMessage>();
  const deliveries = new InMemoryWebhookDeliveryRepository();
  const secrets = new FlakyProtector();
  const calls: string[] = [];
  const http: OutboundHttp = {
    vet: async () => undefined,
    request: async (r) => {
      calls.push(r.url);
      if (answer.networkError !== undefined) return { kind: 'network', error: answer.networkError };
      return { kind: 'response', status: answer.status ?? 204, retryAfter: undefined, contentType: undefined, body: '' };
    },
  };
  let n = 0;
  const claims = new InMemoryInboundMessageIdStore();
  const service = new WebhookService({
    subscriptions: new InMemoryWebhookSubscriptionRepository(),
    deliveries,
    queue,
    deadLetters,
    secrets,
    http,
    serviceNow: undefined,
    clock,
    newId: () => `ld${(n += 1)}`,
    randomBytes: (size) => randomBytes(size),
    random: () => 0.5,
    log: silentLogger,
    attemptClaims: claims,
  });
  return { service, queue, deadLetters, deliveries, secrets, calls, claims };
}

/** Makes the next `times` record writes (`deliveries.update`) fail; later ones go through. */
function failRecordWrites(deliveries: InMemoryWebhookDeliveryRepository, times: number): void {
  const update = deliveries.update.bind(deliveries);
  let left = times;
  deliveries.update = async (d) => {
    if (left > 0) {
      left -= 1;
      throw new Error('the delivery table is throttling (503)');
    }
    return update(d);
  };
}

const event = { id: 'evt-ld', type: 'evaluation.completed', timestamp: '2026-05-01T09:59:00.000Z', data: { runId: 'run-ld' } } as const;

describe('the last delivery of a failing queue message', () => {
  it('retries through the queue until the last delivery, then dead-letters with the cause', async () => {
    const h = harness();
    const { webhook } = await h.service.create({ url: 'https://hooks.example.com/x', events: ['*'] }, 'u');
    await h.service.publish(event);
    const message = h.queue.take()!.message;
    h.secrets.broken = true;

    for (let dequeueCount = 1; dequeueCount < MAX_DEQUEUE_COUNT; dequeueCount += 1) {
      await expect(h.service.processDelivery(message, QueueDelivery.of(dequeueCount))).rejects.toThrow('the secret key is unavailable');
      const [pending] = (await h.service.listDeliveries(webhook.id, 10)).items;
      expect(pending).toMatchObject({ status: 'pending', attempts: [] });
    }
    expect(h.deadLetters.sent).toEqual([]);

    const view = await h.service.processDelivery(message, QueueDelivery.of(MAX_DEQUEUE_COUNT));
    expect(view).toMatchObject({ status: 'dead-lettered', reason: expect.stringContaining('the secret key is unavailable') });
    const [stored] = (await h.service.listDeliveries(webhook.id, 10)).items;
    expect(stored).toMatchObject({ status: 'dead-lettered', reason: expect.stringContaining(`failed ${MAX_DEQUEUE_COUNT} times`) });
    expect(stored!.attempts).toEqual([{ attempt: 1, at: '2026-05-01T10:00:00.000Z', outcome: 'failed', error: stored!.reason }]);
    expect(h.deadLetters.sent.map((m) => m.message)).toEqual([
      expect.objectContaining({ kind: 'webhook-dead-letter', webhookId: webhook.id, deliveryId: stored!.id, eventId: 'evt-ld', attempts: 1, reason: stored!.reason }),
    ]);
    expect(h.calls).toEqual([]);

    // A later copy of the message finds it finished; a redelivery still works once the key is back.
    h.secrets.broken = false;
    expect(await h.service.processDelivery(message, QueueDelivery.of(1))).toMatchObject({ status: 'dead-lettered' });
    expect(h.calls).toEqual([]);
    await h.service.redeliver(webhook.id, stored!.id);
    await h.service.processDelivery(h.queue.take()!.message);
    expect(h.calls).toEqual(['https://hooks.example.com/x']);
  });

  it('delivers normally when the trouble is over before the last delivery', async () => {
    const h = harness();
    const { webhook } = await h.service.create({ url: 'https://hooks.example.com/y', events: ['*'] }, 'u');
    await h.service.publish(event);
    const message = h.queue.take()!.message;
    h.secrets.broken = true;
    await expect(h.service.processDelivery(message, QueueDelivery.of(1))).rejects.toThrow();
    h.secrets.broken = false;
    expect(await h.service.processDelivery(message, QueueDelivery.of(2))).toMatchObject({ status: 'delivered' });
    expect(h.deadLetters.sent).toEqual([]);
    expect((await h.service.listDeliveries(webhook.id, 10)).items[0]!.attempts).toHaveLength(1);
  });

  it('still throws (the message goes to the poison queue) when the record cannot be read either', async () => {
    const h = harness();
    await h.service.create({ url: 'https://hooks.example.com/z', events: ['*'] }, 'u');
    await h.service.publish(event);
    const message = h.queue.take()!.message;
    h.deliveries.get = async () => {
      throw new Error('storage is down');
    };
    await expect(h.service.processDelivery(message, QueueDelivery.of(MAX_DEQUEUE_COUNT))).rejects.toThrow('storage is down');
    expect(h.deadLetters.sent).toEqual([]);
  });

  it('keeps a delivery the receiver answered 2xx to as delivered when only its record write failed', async () => {
    const h = harness({ status: 204 });
    const { webhook } = await h.service.create({ url: 'https://hooks.example.com/ok', events: ['*'] }, 'u');
    await h.service.publish(event);
    const message = h.queue.take()!.message;
    failRecordWrites(h.deliveries, 1);

    const view = await h.service.processDelivery(message, QueueDelivery.of(MAX_DEQUEUE_COUNT));
    expect(view).toMatchObject({ status: 'delivered' });
    const [stored] = (await h.service.listDeliveries(webhook.id, 10)).items;
    expect(stored).toMatchObject({ status: 'delivered', attempts: [{ attempt: 1, statusCode: 204, outcome: 'delivered' }] });
    expect(stored!.reason).toBeUndefined();
    expect(h.deadLetters.sent).toEqual([]);
    expect(h.calls).toEqual(['https://hooks.example.com/ok']);
    // A later copy of the message finds the attempt recorded and calls no one.
    await h.service.processDelivery(message, QueueDelivery.of(1));
    expect(h.calls).toHaveLength(1);
  });

  it('records a failed attempt whose retry is already queued as retrying, not dead-lettered', async () => {
    const h = harness({ status: 503 });
    const { webhook } = await h.service.create({ url: 'https://hooks.example.com/busy', events: ['*'] }, 'u');
    await h.service.publish(event);
    const message = h.queue.take()!.message;
    failRecordWrites(h.deliveries, 1);

    expect(await h.service.processDelivery(message, QueueDelivery.of(MAX_DEQUEUE_COUNT))).toMatchObject({ status: 'retrying' });
    const [stored] = (await h.service.listDeliveries(webhook.id, 10)).items;
    expect(stored).toMatchObject({ status: 'retrying', attempts: [{ attempt: 1, statusCode: 503, outcome: 'failed', nextAttemptAt: stored!.nextAttemptAt }] });
    expect(stored!.nextAttemptAt).toBeDefined();
    expect(h.queue.sent.map((m) => m.message)).toEqual([{ ...message, attempt: 2 }]);
    expect(h.deadLetters.sent).toEqual([]);
  });

  it('dead-letters an attempt made but not followed through with a cause that says its outcome was not recorded', async () => {
    const h = harness({ status: 500 });
    const { webhook } = await h.service.create({ url: 'https://hooks.example.com/down', events: ['*'] }, 'u');
    await h.service.publish(event);
    const message = h.queue.take()!.message;
    h.queue.send = async () => {
      throw new Error('the queue is unavailable');
    };

    const view = await h.service.processDelivery(message, QueueDelivery.of(MAX_DEQUEUE_COUNT));
    expect(view).toMatchObject({ status: 'dead-lettered' });
    const [stored] = (await h.service.listDeliveries(webhook.id, 10)).items;
    expect(stored!.reason).toMatch(/^attempt 1 was made \(the receiver answered HTTP 500\) but its outcome could not be recorded .*the queue is unavailable$/);
    expect(stored!.attempts).toEqual([{ attempt: 1, at: '2026-05-01T10:00:00.000Z', statusCode: 500, outcome: 'failed' }]);
    expect(h.deadLetters.sent.map((m) => m.message.reason)).toEqual([stored!.reason]);
  });

  it('says the attempt may have been made when another message holds its claim', async () => {
    const h = harness();
    const { webhook } = await h.service.create({ url: 'https://hooks.example.com/held', events: ['*'] }, 'u');
    await h.service.publish(event);
    const message = h.queue.take()!.message;
    await h.claims.claim('webhook-attempt', `${message.webhookId}:${message.deliveryId}:1`, '2026-01-01T00:00:00.000Z');
    // The first read fails (before the claim is tried); the re-read on the last dequeue works.
    const get = h.deliveries.get.bind(h.deliveries);
    let reads = 0;
    h.deliveries.get = async (w, d) => {
      reads += 1;
      if (reads === 1) throw new Error('read timed out');
      return get(w, d);
    };

    await h.service.processDelivery(message, QueueDelivery.of(MAX_DEQUEUE_COUNT));
    const [stored] = (await h.service.listDeliveries(webhook.id, 10)).items;
    expect(stored).toMatchObject({ status: 'dead-lettered', reason: expect.stringMatching(/^attempt 1 may have been made by another message, but its outcome could not be recorded/) });
    expect(h.calls).toEqual([]);
  });

  it('records the cause with secrets redacted, on the delivery and the dead-letter queue', async () => {
    const h = harness();
    const { webhook } = await h.service.create({ url: 'https://hooks.example.com/s', events: ['*'] }, 'u');
    await h.service.publish(event);
    const message = h.queue.take()!.message;
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    h.secrets.reveal = async () => {
      throw new Error(`key vault: DefaultEndpointsProtocol=https;AccountName=st;AccountKey=c2VjcmV0a2V5;EndpointSuffix=x Authorization: Bearer ${token} secret whsec_dGhlc2VjcmV0`);
    };

    await h.service.processDelivery(message, QueueDelivery.of(MAX_DEQUEUE_COUNT));
    const [stored] = (await h.service.listDeliveries(webhook.id, 10)).items;
    const recorded = [stored!.reason!, stored!.attempts[0]!.error!, h.deadLetters.sent[0]!.message.reason];
    for (const text of recorded) {
      expect(text).toContain('AccountKey=[REDACTED]');
      expect(text).toContain('Bearer [REDACTED]');
      expect(text).toContain('whsec_[REDACTED]');
      for (const secret of ['c2VjcmV0a2V5', token, 'c2lnbmF0dXJl', 'dGhlc2VjcmV0']) expect(text).not.toContain(secret);
    }
  });

  it('records network errors of attempts with secrets redacted', async () => {
    const h = harness({ networkError: 'connect failed to https://x.blob.core.windows.net/c?sv=2024&sig=c2FzLXNpZw%3D%3D' });
    const { webhook } = await h.service.create({ url: 'https://hooks.example.com/n', events: ['*'] }, 'u');
    await h.service.publish(event);
    await h.service.processDelivery(h.queue.take()!.message);
    const [stored] = (await h.service.listDeliveries(webhook.id, 10)).items;
    expect(stored!.attempts[0]).toMatchObject({ outcome: 'failed', error: 'connect failed to https://x.blob.core.windows.net/c?sv=2024&sig=[REDACTED]' });
  });
});

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
import { CapturingQueue, FakeClock, MemoryInboundIds } from './support.js';
import { MemoryDeliveries, MemorySubscriptions } from './memory-repositories.js';

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

function harness() {
  const clock = new FakeClock(Date.parse('2026-05-01T10:00:00Z'));
  const queue = new CapturingQueue<WebhookDeliveryMessage>();
  const deadLetters = new CapturingQueue<WebhookDeadLetterMessage>();
  const deliveries = new MemoryDeliveries();
  const secrets = new FlakyProtector();
  const calls: string[] = [];
  const http: OutboundHttp = {
    vet: async () => undefined,
    request: async (r) => {
      calls.push(r.url);
      return { kind: 'response', status: 204, retryAfter: undefined, contentType: undefined, body: '' };
    },
  };
  let n = 0;
  const service = new WebhookService({
    subscriptions: new MemorySubscriptions(),
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
    log: { info: () => undefined, warn: () => undefined },
    attemptClaims: new MemoryInboundIds(),
  });
  return { service, queue, deadLetters, deliveries, secrets, calls };
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
      await expect(h.service.processDelivery(message, { dequeueCount })).rejects.toThrow('the secret key is unavailable');
      const [pending] = (await h.service.listDeliveries(webhook.id, 10)).items;
      expect(pending).toMatchObject({ status: 'pending', attempts: [] });
    }
    expect(h.deadLetters.sent).toEqual([]);

    const view = await h.service.processDelivery(message, { dequeueCount: MAX_DEQUEUE_COUNT });
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
    expect(await h.service.processDelivery(message, { dequeueCount: 1 })).toMatchObject({ status: 'dead-lettered' });
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
    await expect(h.service.processDelivery(message, { dequeueCount: 1 })).rejects.toThrow();
    h.secrets.broken = false;
    expect(await h.service.processDelivery(message, { dequeueCount: 2 })).toMatchObject({ status: 'delivered' });
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
    await expect(h.service.processDelivery(message, { dequeueCount: MAX_DEQUEUE_COUNT })).rejects.toThrow('storage is down');
    expect(h.deadLetters.sent).toEqual([]);
  });
});

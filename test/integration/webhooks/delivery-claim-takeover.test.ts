/**
 * A host killed mid-send leaves the attempt's claim behind, unrecorded. The queue redelivers the very
 * message that took the claim (same message id, a higher dequeue count): it takes the claim over and
 * makes the attempt again (delivered at least once, recorded once). Any other message of the same
 * attempt (a republish, a copy) stays out, first delivery or not, and takes nothing over.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { WebhookDeadLetterMessage, WebhookDeliveryMessage } from '../../../application/messages.js';
import type { OutboundHttp } from '../../../application/ports.js';
import { QueueDelivery } from '../../../application/queue-delivery.js';
import { ATTEMPT_CLAIMS, WebhookService } from '../../../application/webhook-service.js';
import { AesGcmSecretProtector } from '../../../adapters/webhooks/secret-protector.js';
import { InMemoryInboundMessageIdStore, InMemoryWebhookDeliveryRepository, InMemoryWebhookSubscriptionRepository, FixedClock, RecordingMessageQueue } from '../../support/in-memory-ports.js';
import { silentLogger } from '../../../application/logger.js';

function harness() {
  const queue = new RecordingMessageQueue<WebhookDeliveryMessage>();
  const calls: { webhookId: string | undefined }[] = [];
  /** While set, the receiver never answers: the send stays in flight, as when the host dies mid-send. */
  let hang = false;
  const http: OutboundHttp = {
    vet: async () => undefined,
    request: async (r) => {
      calls.push({ webhookId: r.headers['webhook-id'] });
      if (hang) return new Promise(() => undefined);
      return { kind: 'response', status: 204, retryAfter: undefined, contentType: undefined, body: '' };
    },
  };
  let n = 0;
  const claims = new InMemoryInboundMessageIdStore();
  const service = new WebhookService({
    subscriptions: new InMemoryWebhookSubscriptionRepository(),
    deliveries: new InMemoryWebhookDeliveryRepository(),
    queue,
    deadLetters: new RecordingMessageQueue<WebhookDeadLetterMessage>(),
    secrets: new AesGcmSecretProtector(randomBytes(32)),
    http,
    serviceNow: undefined,
    clock: new FixedClock(Date.parse('2026-05-01T10:00:00Z')),
    newId: () => `ct${(n += 1)}`,
    randomBytes: (size) => randomBytes(size),
    random: () => 0.5,
    log: silentLogger,
    attemptClaims: claims,
  });
  return { service, queue, calls, claims, setHang: (v: boolean) => (hang = v) };
}

const event = { id: 'evt-ct', type: 'evaluation.completed', timestamp: '2026-05-01T09:59:00.000Z', data: { runId: 'run-ct' } } as const;

/** A delivery whose first attempt was claimed by queue message `msg-1` on a host that then died mid-send. */
async function killedMidSend() {
  const h = harness();
  const { webhook } = await h.service.create({ url: 'https://hooks.example.com/ct', events: ['*'] }, 'u');
  await h.service.publish(event);
  const message = h.queue.take()!.message;
  h.setHang(true);
  // Never settles: the host is gone with the send in flight.
  void h.service.processDelivery(message, QueueDelivery.of(1, 5, 'msg-1'));
  await new Promise((r) => setTimeout(r, 10));
  expect(h.calls).toHaveLength(1);
  h.setHang(false);
  return { ...h, webhookId: webhook.id, message };
}

describe('a delivery attempt claimed by a host that died mid-send', () => {
  it('is made again by the redelivered message that claimed it, and recorded once', async () => {
    const h = await killedMidSend();
    const view = await h.service.processDelivery(h.message, QueueDelivery.of(2, 5, 'msg-1'));
    expect(view).toMatchObject({ status: 'delivered' });
    expect(h.calls).toHaveLength(2);
    expect(h.calls[1]!.webhookId).toBe(h.calls[0]!.webhookId);
    const deliveries = (await h.service.listDeliveries(h.webhookId, 10)).items;
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ status: 'delivered' });
    expect(deliveries[0]!.attempts).toHaveLength(1);
    // Recorded: a further copy of the message does nothing.
    await h.service.processDelivery(h.message, QueueDelivery.of(3, 5, 'msg-1'));
    expect(h.calls).toHaveLength(2);
  });

  it('is not taken over by a different message of the same attempt, on its first or a later delivery', async () => {
    const h = await killedMidSend();
    for (const dequeueCount of [1, 2, 3]) {
      const view = await h.service.processDelivery(h.message, QueueDelivery.of(dequeueCount, 5, 'msg-2'));
      expect(view).toMatchObject({ status: 'pending' });
    }
    // Without a message id nothing can prove ownership either.
    await h.service.processDelivery(h.message, QueueDelivery.of(2, 5));
    expect(h.calls).toHaveLength(1);
    // The other message's look at the claim left no marker of its own behind: the owner still takes over.
    expect(await h.service.processDelivery(h.message, QueueDelivery.of(2, 5, 'msg-1'))).toMatchObject({ status: 'delivered' });
    expect(h.calls).toHaveLength(2);
  });

  it('is not taken over by the first delivery of the message that claimed it (no crash proven yet)', async () => {
    const h = await killedMidSend();
    expect(await h.service.processDelivery(h.message, QueueDelivery.of(1, 5, 'msg-1'))).toMatchObject({ status: 'pending' });
    expect(h.calls).toHaveLength(1);
  });

  it('names its message on the claim itself, so no crash between two writes can orphan it', async () => {
    const h = await killedMidSend();
    expect(h.claims.claims.size).toBe(1);
    expect(await h.claims.ownerOf(ATTEMPT_CLAIMS, `${h.webhookId}:${h.message.deliveryId}:1`)).toBe('msg-1');
  });

  it('written by the previous release (its message in a separate marker row) is still taken over by that message only', async () => {
    const h = harness();
    const { webhook } = await h.service.create({ url: 'https://hooks.example.com/ct', events: ['*'] }, 'u');
    await h.service.publish(event);
    const message = h.queue.take()!.message;
    const claimId = `${webhook.id}:${message.deliveryId}:1`;
    await h.claims.claim(ATTEMPT_CLAIMS, claimId, '2026-05-01T10:00:00Z');
    await h.claims.claim(ATTEMPT_CLAIMS, `${claimId}@msg-1`, '2026-05-01T10:00:00Z');
    expect(await h.service.processDelivery(message, QueueDelivery.of(2, 5, 'msg-2'))).toMatchObject({ status: 'pending' });
    // Only the two claims written above: msg-2 left no marker of its own.
    expect(h.claims.claims.size).toBe(2);
    expect(h.calls).toHaveLength(0);
    expect(await h.service.processDelivery(message, QueueDelivery.of(2, 5, 'msg-1'))).toMatchObject({ status: 'delivered' });
    expect(h.calls).toHaveLength(1);
  });
});

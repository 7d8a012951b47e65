import { describe, expect, it } from 'vitest';
import type { InvocationContext } from '@azure/functions';
import { QueueDelivery } from '../../../application/queue-delivery.js';
import { MAX_DEQUEUE_COUNT } from '../../../application/messages.js';
import { deliveryOf } from '../../../adapters/functions/queue-delivery.js';

function contextWith(triggerMetadata: Record<string, unknown> | undefined): InvocationContext {
  return { triggerMetadata } as unknown as InvocationContext;
}

describe('QueueDelivery', () => {
  it('is the last delivery from the host limit on, and rethrows only before it', () => {
    const boom = new Error('boom');
    for (let n = 1; n < MAX_DEQUEUE_COUNT; n += 1) {
      expect(QueueDelivery.of(n).isLast).toBe(false);
      expect(() => QueueDelivery.of(n).rethrowUnlessLast(boom)).toThrow(boom);
    }
    expect(QueueDelivery.of(MAX_DEQUEUE_COUNT).isLast).toBe(true);
    expect(() => QueueDelivery.of(MAX_DEQUEUE_COUNT).rethrowUnlessLast(boom)).not.toThrow();
    expect(QueueDelivery.of(MAX_DEQUEUE_COUNT + 1).isLast).toBe(true);
  });

  it('counts the attempts spent on earlier copies of a re-sent message', () => {
    expect(QueueDelivery.of(1, 5).after(3)).toMatchObject({ attempt: 4, maxAttempts: 5, isLast: false });
    expect(QueueDelivery.of(2, 5).after(3)).toMatchObject({ attempt: 5, isLast: true });
    expect(QueueDelivery.of(2, 5).after(undefined)).toMatchObject({ attempt: 2 });
    expect(String(QueueDelivery.of(2, 5).after(1))).toBe('3/5');
  });

  it('treats a call nothing retries as final, and a first delivery as retryable', () => {
    expect(QueueDelivery.final().isLast).toBe(true);
    expect(QueueDelivery.first()).toMatchObject({ attempt: 1, isLast: false });
    // Nonsense counts can only delay last-delivery handling, never skip ahead to it.
    expect(QueueDelivery.of(0).attempt).toBe(1);
    expect(QueueDelivery.of(Number.NaN).attempt).toBe(1);
  });
});

describe('deliveryOf (queue trigger metadata)', () => {
  it('reads the host dequeue count in either casing, as a number or numeric string', () => {
    expect(deliveryOf(contextWith({ dequeueCount: 3 }))).toMatchObject({ attempt: 3, maxAttempts: MAX_DEQUEUE_COUNT });
    expect(deliveryOf(contextWith({ DequeueCount: '5' })).isLast).toBe(true);
  });

  it('counts absent or malformed metadata as a first delivery', () => {
    expect(deliveryOf(contextWith(undefined)).attempt).toBe(1);
    expect(deliveryOf(contextWith({ dequeueCount: 'x' })).attempt).toBe(1);
    expect(deliveryOf(contextWith({ dequeueCount: 2.5 })).attempt).toBe(1);
    expect(deliveryOf(contextWith({ dequeueCount: -1 })).attempt).toBe(1);
  });
});

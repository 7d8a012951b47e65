/** Delivery facts of a Storage queue trigger, read from the host's trigger metadata. */
import type { InvocationContext } from '@azure/functions';
import { MAX_DEQUEUE_COUNT } from '../../application/messages.js';
import { QueueDelivery } from '../../application/queue-delivery.js';

/**
 * The delivery of the current message. The host sends `dequeueCount` (1-based); casing and type have
 * varied across host versions, so both spellings and numeric strings are accepted. Absent or malformed
 * metadata counts as a first delivery, which can only delay — never skip — last-delivery handling.
 * The limit is host.json's `maxDequeueCount`, kept equal to `MAX_DEQUEUE_COUNT` by a unit test.
 */
export function deliveryOf(context: InvocationContext): QueueDelivery {
  const meta = context.triggerMetadata ?? {};
  const raw = meta['dequeueCount'] ?? meta['DequeueCount'];
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : NaN;
  const id = meta['id'] ?? meta['Id'];
  return QueueDelivery.of(Number.isInteger(n) && n > 0 ? n : 1, MAX_DEQUEUE_COUNT, typeof id === 'string' ? id : undefined);
}

/** Delivery facts of a Storage queue trigger, read from the host's trigger metadata. */
import type { InvocationContext } from '@azure/functions';

/**
 * The delivery attempt of the current message (1-based). The host sends `dequeueCount`; casing and type
 * have varied across host versions, so both spellings and numeric strings are accepted. Absent or
 * malformed metadata counts as a first attempt, which can only delay — never skip — last-attempt handling.
 */
export function dequeueCountOf(context: InvocationContext): number {
  const meta = context.triggerMetadata ?? {};
  const raw = meta['dequeueCount'] ?? meta['DequeueCount'];
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : NaN;
  return Number.isInteger(n) && n > 0 ? n : 1;
}

/**
 * Bounded offender lists and evidence text. A cluster can have hundreds of non-compliant in-cluster
 * resources; results are stored in Table Storage (64 KiB per property, 1 MiB per entity), so every
 * list is cut to a fixed number of items and every string to a fixed length, with the true total kept.
 * With the defaults a result holds at most 20 × 256 + 1,024 characters of text, whatever the input.
 */
import type { OffenderList } from './model.js';

/** Items kept per offender list. */
export const MAX_OFFENDER_ITEMS = 20;
/** Characters kept per offender item. */
export const MAX_OFFENDER_ITEM_LENGTH = 256;
/** Characters kept of an evidence sentence. */
export const MAX_EVIDENCE_LENGTH = 1024;

/** Cuts `text` to `max` characters, marking the cut with an ellipsis. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return text.slice(0, Math.max(0, max));
  return `${text.slice(0, max - 1)}…`;
}

/**
 * A bounded offender list: distinct items in first-seen order, at most `maxItems` of them (each cut
 * to {@link MAX_OFFENDER_ITEM_LENGTH}), and `total` = the number of distinct offenders.
 */
export function boundedOffenders(items: Iterable<string>, maxItems: number = MAX_OFFENDER_ITEMS): OffenderList {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const item of items) {
    if (seen.has(item)) continue;
    seen.add(item);
    if (kept.length < maxItems) kept.push(truncateText(item, MAX_OFFENDER_ITEM_LENGTH));
  }
  return { items: kept, total: seen.size };
}

/** Evidence text cut to {@link MAX_EVIDENCE_LENGTH}. */
export function boundedEvidence(text: string): string {
  return truncateText(text, MAX_EVIDENCE_LENGTH);
}

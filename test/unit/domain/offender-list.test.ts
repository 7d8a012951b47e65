import { describe, expect, it } from 'vitest';
import { boundedEvidence, boundedOffenders, MAX_EVIDENCE_LENGTH, MAX_OFFENDER_ITEM_LENGTH, MAX_OFFENDER_ITEMS, truncateText } from '../../../domain/offender-list.js';

describe('bounded offender lists', () => {
  it('keeps distinct items in first-seen order with the distinct total', () => {
    expect(boundedOffenders(['a', 'b', 'a', 'c'])).toEqual({ items: ['a', 'b', 'c'], total: 3 });
  });
  it('keeps at most MAX_OFFENDER_ITEMS items but counts all', () => {
    const list = boundedOffenders(Array.from({ length: 500 }, (_, i) => `pod-${i}`));
    expect(list.items).toHaveLength(MAX_OFFENDER_ITEMS);
    expect(list.items[0]).toBe('pod-0');
    expect(list.total).toBe(500);
  });
  it('cuts long items and long evidence, marking the cut', () => {
    const item = boundedOffenders(['x'.repeat(10_000)]).items[0] ?? '';
    expect(item.length).toBe(MAX_OFFENDER_ITEM_LENGTH);
    expect(item.endsWith('…')).toBe(true);
    expect(boundedEvidence('y'.repeat(5000)).length).toBe(MAX_EVIDENCE_LENGTH);
    expect(truncateText('short', 10)).toBe('short');
  });
});

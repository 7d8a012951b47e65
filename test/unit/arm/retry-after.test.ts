import { describe, expect, it } from 'vitest';
import { createHttpHeaders, RestError } from '@azure/core-rest-pipeline';
import { retryAfterSecondsOf } from '../../../adapters/arm/azure-inventory-reader.js';

function answer(status: number, headers: Record<string, string>): RestError {
  return new RestError('throttled', { statusCode: status, response: { status, headers: createHttpHeaders(headers), request: undefined as never } });
}

describe('retryAfterSecondsOf', () => {
  const now = Date.parse('2026-05-01T02:00:00.000Z');

  it('reads Retry-After in seconds or as an HTTP date, on 429 and 503', () => {
    expect(retryAfterSecondsOf(answer(429, { 'retry-after': '17' }), now)).toBe(17);
    expect(retryAfterSecondsOf(answer(503, { 'Retry-After': '3' }), now)).toBe(3);
    expect(retryAfterSecondsOf(answer(429, { 'retry-after': 'Fri, 01 May 2026 02:00:30 GMT' }), now)).toBe(30);
    expect(retryAfterSecondsOf(answer(429, { 'retry-after': 'Fri, 01 May 2026 01:00:00 GMT' }), now)).toBe(0);
  });

  it('prefers the millisecond headers the SDK also reads', () => {
    expect(retryAfterSecondsOf(answer(429, { 'retry-after-ms': '2500', 'retry-after': '9' }), now)).toBe(2.5);
    expect(retryAfterSecondsOf(answer(429, { 'x-ms-retry-after-ms': '400' }), now)).toBe(0.4);
  });

  it('is undefined without a usable header or for other statuses', () => {
    expect(retryAfterSecondsOf(answer(429, {}), now)).toBeUndefined();
    expect(retryAfterSecondsOf(answer(429, { 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterSecondsOf(answer(500, { 'retry-after': '5' }), now)).toBeUndefined();
    expect(retryAfterSecondsOf(new Error('socket hang up'), now)).toBeUndefined();
    expect(retryAfterSecondsOf(undefined, now)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { decideAfterAttempt, MAX_DELIVERY_ATTEMPTS, parseRetryAfter, retryDelaySeconds, RETRY_SCHEDULE_SECONDS } from '../../../domain/webhook-retry.js';

describe('retry schedule', () => {
  it('follows 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 24 h with ±20 % jitter', () => {
    expect(RETRY_SCHEDULE_SECONDS).toEqual([5, 300, 1800, 7200, 18000, 36000, 86400]);
    expect(MAX_DELIVERY_ATTEMPTS).toBe(8);
    RETRY_SCHEDULE_SECONDS.forEach((base, i) => {
      expect(retryDelaySeconds(i + 1, 0.5)).toBe(base);
      expect(retryDelaySeconds(i + 1, 0)).toBe(Math.round(base * 0.8));
      expect(retryDelaySeconds(i + 1, 0.999999)).toBe(Math.round(base * 1.2));
    });
    expect(retryDelaySeconds(8, 0.5)).toBeUndefined();
  });

  it('honours a longer Retry-After, capped at 24 h', () => {
    expect(retryDelaySeconds(1, 0.5, 120)).toBe(120);
    expect(retryDelaySeconds(2, 0.5, 10)).toBe(300);
    expect(retryDelaySeconds(1, 0.5, 10 * 86400)).toBe(86400);
  });

  it('parses Retry-After seconds and HTTP dates', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('30', now)).toBe(30);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('decides: 2xx delivered, 410 disables, others retry then dead-letter', () => {
    expect(decideAfterAttempt(1, { kind: 'response', status: 204 }, 0.5)).toEqual({ action: 'delivered' });
    expect(decideAfterAttempt(3, { kind: 'response', status: 410 }, 0.5)).toMatchObject({ action: 'disable' });
    expect(decideAfterAttempt(1, { kind: 'response', status: 503, retryAfterSeconds: 60 }, 0.5)).toEqual({ action: 'retry', delaySeconds: 60, reason: 'HTTP 503' });
    expect(decideAfterAttempt(2, { kind: 'network', error: 'ECONNRESET' }, 0.5)).toMatchObject({ action: 'retry', delaySeconds: 300 });
    expect(decideAfterAttempt(1, { kind: 'response', status: 302 }, 0.5)).toMatchObject({ action: 'retry', reason: expect.stringMatching(/redirect/) });
    expect(decideAfterAttempt(8, { kind: 'response', status: 500 }, 0.5)).toEqual({ action: 'dead-letter', reason: 'gave up after 8 attempts; last: HTTP 500' });
  });
});

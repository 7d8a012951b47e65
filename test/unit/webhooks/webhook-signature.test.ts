import { describe, expect, it } from 'vitest';
import { formatSecret, secretKey, signatureHeader, verifyWebhook, webhookHeaders } from '../../../domain/webhook-signature.js';
import { referenceSign, referenceVerify } from './standard-webhooks-reference.js';

const secret = formatSecret(Buffer.alloc(32, 7));
const other = formatSecret(Buffer.alloc(32, 9));
const headersOf = (h: Record<string, string>) => ({ get: (n: string) => h[n] ?? null });

describe('Standard Webhooks signatures', () => {
  it('matches the independent reference implementation', async () => {
    const body = JSON.stringify({ type: 'evaluation.completed', timestamp: '2026-01-01T00:00:00.000Z', data: { ü: 'ß', n: 1 } });
    const headers = webhookHeaders({ id: 'msg_1', timestamp: 1_767_225_600, body }, [secret]);
    expect(headers['webhook-signature']).toBe(await referenceSign(secret, 'msg_1', 1_767_225_600, body));
    expect(await referenceVerify(secret, headers, body, 1_767_225_600 + 10)).toBe(true);
  });

  it('verifies the known test vector of the specification repository', () => {
    // From standard-webhooks' reference libraries' tests.
    const h = {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    };
    const r = verifyWebhook({ headers: headersOf(h), body: '{"test": 2432232314}', secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], nowSeconds: 1614265330 });
    expect(r).toEqual({ ok: true, id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', timestamp: 1614265330 });
  });

  it('sends both signatures during rotation; either secret verifies', async () => {
    const body = '{}';
    const header = signatureHeader({ id: 'm', timestamp: 100, body }, [secret, other]);
    expect(header.split(' ')).toHaveLength(2);
    expect(await referenceVerify(secret, { 'webhook-id': 'm', 'webhook-timestamp': '100', 'webhook-signature': header }, body, 100)).toBe(true);
    expect(await referenceVerify(other, { 'webhook-id': 'm', 'webhook-timestamp': '100', 'webhook-signature': header }, body, 100)).toBe(true);
  });

  it('refuses forged, tampered, stale, future and header-less messages', () => {
    const body = '{"a":1}';
    const good = webhookHeaders({ id: 'm1', timestamp: 1000, body }, [secret]);
    const verify = (h: Record<string, string>, b = body, now = 1000) => verifyWebhook({ headers: headersOf(h), body: b, secrets: [secret], nowSeconds: now });
    expect(verify(good).ok).toBe(true);
    expect(verify(webhookHeaders({ id: 'm1', timestamp: 1000, body }, [other]))).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verify(good, '{"a":2}')).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verify({ ...good, 'webhook-id': 'm2' })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verify(good, body, 1000 + 301)).toEqual({ ok: false, reason: 'stale' });
    expect(verify(good, body, 1000 - 301)).toEqual({ ok: false, reason: 'stale' });
    expect(verify(good, body, 1000 + 300).ok).toBe(true);
    expect(verify({ 'webhook-id': 'm1', 'webhook-timestamp': '1000' })).toEqual({ ok: false, reason: 'missing-headers' });
    expect(verify({ ...good, 'webhook-timestamp': '1e3' })).toEqual({ ok: false, reason: 'malformed-timestamp' });
    expect(verify({ ...good, 'webhook-signature': 'v2,abc v1,' })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('rejects malformed secrets', () => {
    expect(() => secretKey('abc')).toThrow(TypeError);
    expect(() => secretKey('whsec_!!!')).toThrow(TypeError);
    expect(() => secretKey('whsec_AAAA')).toThrow(/24 to 64/);
    expect(secretKey(secret)).toHaveLength(32);
  });
});

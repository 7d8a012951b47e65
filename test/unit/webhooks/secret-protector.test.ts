import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AesGcmSecretProtector, generateSecretKey, parseSecretKey, UnconfiguredSecretProtector } from '../../../adapters/webhooks/secret-protector.js';

describe('secret protection', () => {
  it('round-trips, binds the webhook id and detects tampering without leaking', async () => {
    const p = new AesGcmSecretProtector(parseSecretKey(generateSecretKey()));
    const stored = await p.protect('whsec_abc', 'wh-1');
    expect(stored).not.toContain('whsec_abc');
    expect(await p.reveal(stored, 'wh-1')).toBe('whsec_abc');
    await expect(p.reveal(stored, 'wh-2')).rejects.toThrow(/could not be decrypted/);
    const [v, iv, tag, ct] = stored.split('.');
    const flipped = Buffer.from(ct!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    await expect(p.reveal([v, iv, tag, flipped.toString('base64url')].join('.'), 'wh-1')).rejects.toThrow(/could not be decrypted/);
    await expect(new AesGcmSecretProtector(randomBytes(32)).reveal(stored, 'wh-1')).rejects.toThrow(/could not be decrypted/);
  });
  it('requires a 32-byte key', async () => {
    expect(() => parseSecretKey(Buffer.alloc(16).toString('base64'))).toThrow(/32/);
    await expect(new UnconfiguredSecretProtector().protect()).rejects.toThrow(/WEBHOOK_SECRET_KEY/);
  });
});

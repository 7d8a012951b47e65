/**
 * Webhook signing secrets at rest: AES-256-GCM under the `WEBHOOK_SECRET_KEY` setting (32 random bytes,
 * base64). In Azure the setting is a Key Vault reference (`@Microsoft.KeyVault(SecretUri=…)`) that the
 * platform resolves, so the key lives in Key Vault and never in storage; locally `npm start` generates one.
 * The webhook id is authenticated data: a protected secret copied onto another webhook does not decrypt.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SecretProtector } from '../../application/ports.js';

const VERSION = 'v1';
const IV_BYTES = 12;

export class SecretKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretKeyError';
  }
}

/** Parses the setting: base64 (or base64url) of exactly 32 bytes. */
export function parseSecretKey(value: string): Buffer {
  const key = Buffer.from(value.trim(), /[-_]/.test(value) ? 'base64url' : 'base64');
  if (key.length !== 32) throw new SecretKeyError('WEBHOOK_SECRET_KEY must be the base64 encoding of 32 random bytes');
  return key;
}

/** A fresh key in the setting's format (local development). */
export function generateSecretKey(): string {
  return randomBytes(32).toString('base64');
}

export class AesGcmSecretProtector implements SecretProtector {
  private readonly key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new SecretKeyError('an AES-256 key has 32 bytes');
    this.key = Buffer.from(key);
  }

  async protect(secret: string, context: string): Promise<string> {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
  }

  async reveal(stored: string, context: string): Promise<string> {
    const [version, iv, tag, ct, extra] = stored.split('.');
    if (version !== VERSION || iv === undefined || tag === undefined || ct === undefined || extra !== undefined) throw new SecretKeyError('not a protected secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      // Never echo key material or ciphertext: the message only says that it failed.
      throw new SecretKeyError('the protected secret could not be decrypted (wrong key or tampered value)');
    }
  }
}

/** Stands in when `WEBHOOK_SECRET_KEY` is not configured: creating or using a webhook fails clearly. */
export class UnconfiguredSecretProtector implements SecretProtector {
  async protect(): Promise<string> {
    throw new SecretKeyError('WEBHOOK_SECRET_KEY is not configured');
  }
  async reveal(): Promise<string> {
    throw new SecretKeyError('WEBHOOK_SECRET_KEY is not configured');
  }
}

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, `spec/standard-webhooks.md`).
 *
 * The signed content is `${webhook-id}.${webhook-timestamp}.${body}`; the signature is `v1,` followed by
 * the base64 HMAC-SHA256 of it, keyed with the base64-decoded part of a `whsec_…` secret. While a secret
 * is being rotated several signatures are sent, space-separated, and a receiver accepts any of them.
 *
 * HMAC is a pure computation: nothing here reads the clock, the environment or the network.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
/** Bytes of key material in a generated secret. */
export const SECRET_BYTES = 32;
/** How far `webhook-timestamp` may be from the receiver's clock, either way. */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export interface SignedMessage {
  /** `webhook-id`: unique per message, the same on every retry of it. */
  readonly id: string;
  /** `webhook-timestamp`: integer Unix seconds of this attempt. */
  readonly timestamp: number;
  /** The exact bytes sent as the body (UTF-8). */
  readonly body: string;
}

/** Formats raw key bytes as a `whsec_…` secret. */
export function formatSecret(key: Uint8Array): string {
  return `${SECRET_PREFIX}${Buffer.from(key).toString('base64')}`;
}

/**
 * The HMAC key of a secret: the base64-decoded part after `whsec_`. Throws `TypeError` for anything
 * else, so a malformed secret never silently signs with the wrong key.
 */
export function secretKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new TypeError('webhook secret must start with whsec_');
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw new TypeError('webhook secret is not base64');
  const key = Buffer.from(encoded, 'base64');
  if (key.length < 24 || key.length > 64) throw new TypeError('webhook secret must hold 24 to 64 bytes');
  return key;
}

/** `v1,<base64>` for one secret. */
export function signatureFor(message: SignedMessage, secret: string): string {
  const mac = createHmac('sha256', secretKey(secret)).update(`${message.id}.${message.timestamp}.${message.body}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}

/** The `webhook-signature` header value: one signature per secret, space-separated. */
export function signatureHeader(message: SignedMessage, secrets: readonly string[]): string {
  if (secrets.length === 0) throw new TypeError('at least one secret is required');
  return secrets.map((s) => signatureFor(message, s)).join(' ');
}

/** The three Standard Webhooks headers for one delivery attempt. */
export function webhookHeaders(message: SignedMessage, secrets: readonly string[]): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  return {
    'webhook-id': message.id,
    'webhook-timestamp': String(message.timestamp),
    'webhook-signature': signatureHeader(message, secrets),
  };
}

export type VerificationFailure = 'missing-headers' | 'malformed-timestamp' | 'stale' | 'bad-signature';
export type VerificationResult = { readonly ok: true; readonly id: string; readonly timestamp: number } | { readonly ok: false; readonly reason: VerificationFailure };

export interface VerificationInput {
  readonly headers: { get(name: string): string | null | undefined };
  /** Raw body exactly as received. */
  readonly body: string;
  /** Accepted secrets (current and, during rotation, previous). */
  readonly secrets: readonly string[];
  /** Receiver clock, Unix seconds. */
  readonly nowSeconds: number;
  readonly toleranceSeconds?: number;
}

/**
 * Verifies a received message: headers present, timestamp within tolerance (both directions), and at
 * least one `v1` signature matching one secret (constant-time comparison). Never throws on hostile input.
 */
export function verifyWebhook(input: VerificationInput): VerificationResult {
  const id = input.headers.get('webhook-id') ?? undefined;
  const ts = input.headers.get('webhook-timestamp') ?? undefined;
  const sig = input.headers.get('webhook-signature') ?? undefined;
  if (id === undefined || ts === undefined || sig === undefined || id === '' || sig === '') return { ok: false, reason: 'missing-headers' };
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: 'malformed-timestamp' };
  const timestamp = Number(ts);
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(input.nowSeconds - timestamp) > tolerance) return { ok: false, reason: 'stale' };
  const candidates = sig
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  for (const secret of input.secrets) {
    let expected: Buffer;
    try {
      expected = Buffer.from(signatureFor({ id, timestamp, body: input.body }, secret).slice(3), 'base64');
    } catch {
      continue;
    }
    if (candidates.some((c) => c.length === expected.length && timingSafeEqual(c, expected))) return { ok: true, id, timestamp };
  }
  return { ok: false, reason: 'bad-signature' };
}

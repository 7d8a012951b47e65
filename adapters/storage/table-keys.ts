/**
 * Partition/row key encoding for Table Storage.
 *
 * Keys may not contain `/ \ # ?` or control characters, and are limited to 1 KiB. Every value that
 * reaches a key goes through {@link escapeKey}, so hostile names (`a/b#c?d`) round-trip and can never
 * change which entity a key addresses. `|` separates key parts, so it is escaped too (as is `%`, the
 * escape character itself).
 */
import { createHash } from 'node:crypto';

// eslint-disable-next-line no-control-regex
const UNSAFE = /[%/\\#?|\u0000-\u001f\u007f-\u009f]/g;

export function escapeKey(value: string): string {
  return value.replace(UNSAFE, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export function unescapeKey(key: string): string {
  return key.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Longest key written verbatim; longer keys keep a readable prefix and end in a SHA-256 of the whole. */
const MAX_KEY_CHARS = 700;

/** Joins escaped parts with `|`, bounded to the 1 KiB key limit (deterministically hashed beyond it). */
export function joinKey(...parts: readonly string[]): string {
  const key = parts.map(escapeKey).join('|');
  if (key.length <= MAX_KEY_CHARS) return key;
  const digest = createHash('sha256').update(key).digest('hex');
  return `${key.slice(0, MAX_KEY_CHARS - digest.length - 1)}~${digest}`;
}

/** The largest millisecond timestamp JavaScript dates allow; subtracting from it inverts order. */
const MAX_MS = 8_640_000_000_000_000;

/** Fixed-width key part that sorts newest first (Table Storage returns ascending row keys). */
export function invertedTime(at: string | Date): string {
  const ms = typeof at === 'string' ? Date.parse(at) : at.getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`invalid timestamp: ${String(at)}`);
  return String(MAX_MS - ms).padStart(16, '0');
}

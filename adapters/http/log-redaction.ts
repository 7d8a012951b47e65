/**
 * Removes secrets from what the HTTP pipeline logs (the text rules are in `domain/secret-redaction.ts`).
 * Error messages from SDKs and our own code can carry a connection string, a SAS URL, a caller's bearer
 * token or a webhook signing secret; logs go to Application Insights, which many more people read than
 * hold those secrets.
 */

import { redactSecrets } from '../../domain/secret-redaction.js';

// The rules live in `domain/` so application services can redact what they record, too.
export { redactSecrets };

/** A copy of log properties with every string (at any depth) redacted. */
export function redactProperties(properties: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return redactValue(properties, 0) as Record<string, unknown>;
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  if (value instanceof Error) return redactSecrets(describeError(value));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, depth + 1);
  return out;
}

/** `name: message`, the stack when `withStack`, and the chain of causes: the log's view of an error. */
export function describeError(err: unknown, withStack = true): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (current instanceof Error) {
      const code = (current as { code?: unknown }).code;
      const head = `${current.name}: ${current.message}${typeof code === 'string' ? ` (${code})` : ''}`;
      parts.push(depth === 0 ? head : `caused by ${head}`);
      if (withStack && depth === 0 && current.stack !== undefined) parts.push(current.stack.split('\n').slice(1).join('\n'));
      current = current.cause;
    } else {
      parts.push(depth === 0 ? String(current) : `caused by ${String(current)}`);
      break;
    }
  }
  return parts.join('\n');
}

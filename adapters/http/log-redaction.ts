/**
 * Removes secrets from text the HTTP pipeline logs. Error messages from SDKs and our own code can carry
 * a connection string, a SAS URL, a caller's bearer token or a webhook signing secret; logs go to
 * Application Insights, which many more people read than hold those secrets.
 */

const REDACTED = '[REDACTED]';

const RULES: readonly [RegExp, string][] = [
  // Storage / Service Bus / Event Hubs connection strings and similar `Key=value;` settings.
  [/\b(AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd|ClientSecret|client_secret)=([^;&\s"'<>]+)/gi, `$1=${REDACTED}`],
  // The same settings URL-encoded (a connection string passed in a query string or form body): `%3D`
  // after the name, the value running to the next encoded `;` or `&`.
  // (`\b` alone misses `%3BAccountKey`: the `B` of `%3B` is a word character.)
  [/(?:\b|(?<=%3B|%26|%3F|%20))(AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd|ClientSecret|client_secret)%3D(?:(?!%3B|%26)[^;&\s"'<>])+/gi, `$1%3D${REDACTED}`],
  // The signature of a SAS token in a URL query string (`?sv=…&sig=…`), plain or URL-encoded.
  [/([?&;]sig=)[^&\s"'<>]+/gi, `$1${REDACTED}`],
  [/((?:%3F|%26|%3B)sig%3D)(?:(?!%26|%3B)[^&;\s"'<>])+/gi, `$1${REDACTED}`],
  // `Authorization: Bearer …` (also `Bearer%20…` / `Bearer+…` in URL-encoded text) and bare JWS compact
  // tokens (three base64url parts, the header starting `eyJ`).
  [/\b(Bearer)(?:\s+|%20|\+)(?:%2B|%2F|%3D|[A-Za-z0-9\-._~+/])+=*/gi, `$1 ${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, REDACTED],
  // Standard Webhooks signing secrets.
  [/\bwhsec_[A-Za-z0-9+/=_-]+/g, `whsec_${REDACTED}`],
];

/** The text with every recognised secret replaced by `[REDACTED]`. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  return out;
}

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

/**
 * Removes secrets from free text before it is logged or recorded where more people read it than hold
 * the secrets. Error messages from SDKs and our own code can carry a connection string, a SAS URL, a
 * caller's bearer token or a webhook signing secret: logs go to Application Insights, and webhook
 * delivery records (attempt errors, dead-letter causes) are shown by the deliveries API and the
 * dead-letter queue. Pure string logic, so both the HTTP pipeline and the application services use it.
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

/**
 * The text with every recognised secret replaced by `[REDACTED]`: connection-string keys and
 * passwords (plain and URL-encoded), SAS signatures, bearer tokens, JWS compact tokens and `whsec_`
 * signing secrets. Redact before truncating: a cut can leave a secret's name behind its value.
 *
 * @param text - free text such as an error message.
 * @returns the same text with the secret values replaced; everything else unchanged.
 */
export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  return out;
}

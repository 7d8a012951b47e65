/** The secret-redaction rules, now in `domain/` so services can redact what they record, not only logs. */
import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../../domain/secret-redaction.js';
import { redactSecrets as logRedactSecrets } from '../../../adapters/http/log-redaction.js';

describe('redactSecrets', () => {
  it('replaces connection-string keys, bearer tokens and whsec_ secrets, and leaves the rest', () => {
    const text = 'failed: AccountName=st;AccountKey=abc+/123==;EndpointSuffix=core Authorization: Bearer tok.en-1 whsec_c2VjcmV0 at 10:00';
    expect(redactSecrets(text)).toBe('failed: AccountName=st;AccountKey=[REDACTED];EndpointSuffix=core Authorization: Bearer [REDACTED] whsec_[REDACTED] at 10:00');
  });

  it('is what the HTTP log redaction uses', () => {
    expect(logRedactSecrets).toBe(redactSecrets);
  });
});

import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, generateKeyPair } from 'jose';

export interface IssuedToken {
  readonly accessToken: string;
  /** Seconds since the epoch. */
  readonly expiresOn: number;
}

/** The outcome of checking a bearer token, in the terms of ARM's 401 error codes. */
export type TokenCheck =
  | { readonly ok: true }
  /** Not signed by this emulator, expired, or not a JWT: `InvalidAuthenticationToken`. */
  | { readonly ok: false; readonly reason: 'invalid' }
  /** Valid, but issued for another resource: `InvalidAuthenticationTokenAudience`. */
  | { readonly ok: false; readonly reason: 'audience'; readonly audience: string };

export interface TokenIssuer {
  issue(resource: string, clientId: string | undefined): Promise<IssuedToken>;
  /**
   * Checks that the bearer token was issued by this emulator, has not expired, and was issued for
   * one of `audiences` (exact match, as ARM compares them).
   */
  verify(token: string, audiences: readonly string[]): Promise<TokenCheck>;
  readonly tenantId: string;
}

/**
 * The audiences ARM accepts in public Azure (its own 401 message lists them): what the SDKs request
 * (`https://management.azure.com/.default`, the legacy `https://management.core.windows.net/`).
 * The emulator adds its own URL, which clients pointed at it request as `${endpoint}/.default`.
 */
export const ARM_AUDIENCES: readonly string[] = [
  'https://management.core.windows.net/',
  'https://management.core.windows.net',
  'https://management.azure.com/',
  'https://management.azure.com',
];

const ISSUER_PREFIX = 'https://sts.arm-emulator.local/';

/**
 * Signs managed-identity tokens with a key pair that exists only in this process, so ARM routes
 * can tell an emulator token from anything else (a stale token of an earlier emulator fails too).
 */
export async function createTokenIssuer(tenantId: string, lifetimeSeconds: number): Promise<TokenIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const issuer = `${ISSUER_PREFIX}${tenantId}/`;
  return {
    tenantId,
    async issue(resource, clientId) {
      const nowSeconds = Math.floor(Date.now() / 1000);
      const expiresOn = nowSeconds + lifetimeSeconds;
      const accessToken = await new SignJWT({
        tid: tenantId,
        appid: clientId ?? 'system-assigned',
        oid: clientId ?? 'system-assigned',
        idtyp: 'app',
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(resource)
        .setSubject(clientId ?? 'system-assigned')
        .setIssuedAt(nowSeconds)
        .setNotBefore(nowSeconds - 60)
        .setExpirationTime(expiresOn)
        .setJti(randomUUID())
        .sign(privateKey);
      return { accessToken, expiresOn };
    },
    async verify(token, audiences) {
      let aud: unknown;
      try {
        aud = (await jwtVerify(token, publicKey, { issuer, algorithms: ['ES256'] })).payload.aud;
      } catch {
        return { ok: false, reason: 'invalid' };
      }
      const given = Array.isArray(aud) ? aud.map(String) : typeof aud === 'string' ? [aud] : [];
      return given.some((a) => audiences.includes(a)) ? { ok: true } : { ok: false, reason: 'audience', audience: given.join(',') };
    },
  };
}

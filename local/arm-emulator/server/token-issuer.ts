import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, generateKeyPair } from 'jose';

export interface IssuedToken {
  readonly accessToken: string;
  /** Seconds since the epoch. */
  readonly expiresOn: number;
}

export interface TokenIssuer {
  issue(resource: string, clientId: string | undefined): Promise<IssuedToken>;
  /** Resolves true when the bearer token was issued by this emulator and has not expired. */
  verify(token: string): Promise<boolean>;
  readonly tenantId: string;
}

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
    async verify(token) {
      try {
        await jwtVerify(token, publicKey, { issuer, algorithms: ['ES256'] });
        return true;
      } catch {
        return false;
      }
    },
  };
}

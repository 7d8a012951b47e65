/**
 * Bearer-token authentication for Entra ID v2 access tokens, with jose.
 *
 * Keys come from `AUTH_JWKS_URI`, or from the `jwks_uri` of the issuer's OpenID discovery document.
 * Only asymmetric algorithms are accepted (RS256, ES256): `none` and HMAC tokens are refused before any
 * key lookup, so a public key can never be abused as an HMAC secret.
 *
 * When the keys cannot be fetched (issuer unreachable, JWKS or discovery answering an error or
 * garbage), the token is not judged: {@link AuthenticationUnavailableError} (503), not `invalid_token`.
 */
import { createRemoteJWKSet, customFetch, errors as joseErrors, jwtVerify, type FetchImplementation, type JWTPayload } from 'jose';
import { AuthenticationUnavailableError, UnauthorizedError } from './http-errors.js';

export const ACCEPTED_ALGORITHMS = Object.freeze(['RS256', 'ES256']);
export const DEFAULT_CLOCK_SKEW_SECONDS = 60;

/** The authenticated caller, from the token's claims. */
export interface Principal {
  /** `oid`: object id of the user or service principal. */
  readonly objectId: string | undefined;
  /** `azp` (v2) or `appid` (v1): client application id. */
  readonly appId: string | undefined;
  readonly tenantId: string | undefined;
  readonly roles: readonly string[];
  /** `sub`, or `oid` when absent. Used as `requestedBy`/`createdBy`. */
  readonly subject: string;
}

export interface Authenticator {
  /** Resolves the principal, or throws {@link UnauthorizedError}. */
  authenticate(authorizationHeader: string | null | undefined): Promise<Principal>;
  /**
   * Fetches the signing keys now (discovery and JWKS), so a cold instance's first request does not wait
   * for them after everything else. Never rejects: a failure is retried by the first `authenticate`.
   */
  prefetchKeys?(): Promise<void>;
}

export interface JwtAuthenticatorOptions {
  readonly issuer: string;
  /** One audience, or several (e.g. the client id and the Application ID URI). */
  readonly audience: string | readonly string[];
  readonly jwksUri?: string | undefined;
  readonly clockToleranceSeconds?: number;
  /** For the local emulator's self-signed TLS, or tests. Defaults to global fetch. */
  readonly fetch?: typeof fetch;
  /** Verified tokens kept in memory (LRU); 0 turns the cache off. Default {@link DEFAULT_VERIFIED_TOKEN_CACHE_SIZE}. */
  readonly verifiedTokenCacheSize?: number;
  /** Milliseconds since the epoch; tests pass a fake clock. Only the cache reads it (jose has its own). */
  readonly now?: () => number;
}

export const DEFAULT_VERIFIED_TOKEN_CACHE_SIZE = 1000;

// The auth scheme is case-insensitive (RFC 9110 §11.1), followed by one or more spaces.
const BEARER = /^bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/i;

/** Marks a failure of the key source (JWKS fetch) as it travels through jose's `jwtVerify`. */
class KeySourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeySourceError';
  }
}

function claimString(payload: JWTPayload, name: string): string | undefined {
  const v = payload[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function createJwtAuthenticator(options: JwtAuthenticatorOptions): Authenticator {
  const fetchImpl = options.fetch ?? fetch;
  const audience = typeof options.audience === 'string' ? options.audience.split(',').map((s) => s.trim()).filter((s) => s !== '') : [...options.audience];
  let keySet: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  // jose rethrows what the fetch throws, and turns a non-200 into a generic JOSEError: both are made
  // recognisable here, so an unreachable or failing JWKS is reported as an outage, not a bad token.
  const jwksFetch: FetchImplementation = async (url, init) => {
    let res: Response;
    try {
      res = await fetchImpl(url, init);
    } catch (err) {
      throw new KeySourceError(`JWKS request to ${new URL(url).host} failed`, { cause: err });
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new KeySourceError(`JWKS request to ${new URL(url).host} answered HTTP ${res.status}`);
    }
    return res;
  };

  async function resolveKeySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    let uri = options.jwksUri;
    if (uri === undefined) {
      const discovery = `${options.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
      const res = await fetchImpl(discovery, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`OpenID discovery failed with HTTP ${res.status}`);
      }
      const doc: unknown = await res.json();
      const jwksUri = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)['jwks_uri'] : undefined;
      if (typeof jwksUri !== 'string') throw new Error('OpenID discovery document has no jwks_uri');
      uri = jwksUri;
    }
    return createRemoteJWKSet(new URL(uri), { [customFetch]: jwksFetch, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
  }

  function getKeySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (keySet === undefined) {
      // Cached for the process; a failed discovery is retried on the next request, not cached.
      keySet = resolveKeySet().catch((err: unknown) => {
        keySet = undefined;
        throw err;
      });
    }
    return keySet;
  }

  // A caller sends the same token on every request until it expires; verifying its RSA/ECDSA signature
  // each time was the largest CPU cost of a cheap read. Only successfully verified tokens are kept,
  // keyed by the full token string (header, claims and signature: any change is a different key), and
  // only until their own `exp` — never beyond, and without the clock skew allowance, so an entry never
  // outlives what a fresh verification would accept. Bounded LRU, so garbage tokens cannot grow it.
  const cacheSize = options.verifiedTokenCacheSize ?? DEFAULT_VERIFIED_TOKEN_CACHE_SIZE;
  const now = options.now ?? Date.now;
  const verified = new Map<string, { readonly principal: Principal; readonly expiresAtMs: number }>();

  function cached(token: string): Principal | undefined {
    const hit = verified.get(token);
    if (hit === undefined) return undefined;
    verified.delete(token);
    if (now() >= hit.expiresAtMs) return undefined;
    verified.set(token, hit); // most recently used last
    return hit.principal;
  }

  function remember(token: string, principal: Principal, exp: number | undefined): void {
    if (cacheSize <= 0 || exp === undefined || !Number.isFinite(exp)) return;
    const expiresAtMs = exp * 1000;
    if (now() >= expiresAtMs) return;
    if (verified.size >= cacheSize) {
      const oldest = verified.keys().next();
      if (oldest.done !== true) verified.delete(oldest.value);
    }
    verified.set(token, { principal, expiresAtMs });
  }

  return {
    async prefetchKeys() {
      try {
        await (await getKeySet()).reload();
      } catch {
        // The first authenticate fetches again and reports what fails.
      }
    },
    async authenticate(header) {
      if (header === null || header === undefined || header === '') throw new UnauthorizedError('missing bearer token');
      const match = BEARER.exec(header.trim());
      if (match === null || match[1] === undefined) throw new UnauthorizedError('malformed bearer token');
      const token = match[1];
      const known = cached(token);
      if (known !== undefined) return known;
      let jwks: ReturnType<typeof createRemoteJWKSet>;
      try {
        jwks = await getKeySet();
      } catch (err) {
        throw new AuthenticationUnavailableError(err);
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, jwks, {
          issuer: options.issuer,
          audience,
          algorithms: [...ACCEPTED_ALGORITHMS],
          clockTolerance: options.clockToleranceSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS,
          requiredClaims: ['exp'],
        }));
      } catch (err) {
        if (keySourceFailed(err)) throw new AuthenticationUnavailableError(err);
        throw new UnauthorizedError(describe(err));
      }
      const roles = Array.isArray(payload['roles']) ? payload['roles'].filter((r): r is string => typeof r === 'string') : [];
      const objectId = claimString(payload, 'oid');
      const subject = claimString(payload, 'sub') ?? objectId ?? 'unknown';
      const principal: Principal = Object.freeze({
        objectId,
        appId: claimString(payload, 'azp') ?? claimString(payload, 'appid'),
        tenantId: claimString(payload, 'tid'),
        roles: Object.freeze(roles),
        subject: objectId ?? subject,
      });
      remember(token, principal, payload.exp);
      return principal;
    },
  };
}

/** True when verification failed because the keys could not be had, not because of the token. */
function keySourceFailed(err: unknown): boolean {
  if (err instanceof KeySourceError || err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) return true;
  // A JWKS body that is not JSON (jose's own parse error, no subclass of its own).
  return err instanceof joseErrors.JOSEError && err.code === 'ERR_JOSE_GENERIC' && /JSON Web Key Set/.test(err.message);
}

/** A short reason for `error_description`; never the token or key material. */
function describe(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'token expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'token not yet valid';
    if (err.claim === 'iss') return 'unexpected issuer';
    if (err.claim === 'aud') return 'unexpected audience';
    return `invalid claim ${err.claim}`;
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JOSENotSupported) return 'signing algorithm not accepted';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'invalid signature';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'unknown signing key';
  return 'invalid token';
}

/**
 * Development-only Entra ID look-alike: OpenID discovery, JWKS and a client-credentials token endpoint
 * on the Entra ID v2 paths, plus `mintToken` for tests (including deliberately bad tokens). People sign
 * in to the dashboard through its interactive half (`token-issuer-interactive.ts`): authorize with
 * PKCE, one local identity per role set, code and refresh grants.
 *
 * Mount `handle` on the HTTPS ARM emulator (it answers only its own paths and returns false for others).
 * Keys are generated at start and never leave the process except as public JWKs.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { ALL_APP_ROLES } from '../adapters/http/app-roles.js';
import { createInteractiveIssuer } from './token-issuer-interactive.js';

export const LOCAL_TENANT_ID = '72f988bf-0000-4000-8000-00000000c0de';
export const LOCAL_AUDIENCE = 'api://arc-compliance-local';

export interface DemoClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly roles: readonly string[];
  readonly objectId: string;
}

export interface MintOptions {
  readonly roles?: readonly string[];
  readonly oid?: string;
  readonly appid?: string;
  readonly tid?: string;
  readonly aud?: string;
  readonly iss?: string;
  /** Seconds from now; negative gives an expired token. Default 3600. */
  readonly expiresIn?: number;
  /** Seconds from now for `nbf`; positive gives a not-yet-valid token. Default 0. */
  readonly notBefore?: number;
  /** `RS256` (default), `ES256`, or the refused `none` and `HS256`. */
  readonly alg?: 'RS256' | 'ES256' | 'none' | 'HS256';
  /** Sign with a key that is not in the JWKS. */
  readonly foreignKey?: boolean;
  /** Extra claims. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

export interface TokenIssuer {
  /** `https://host/{tenant}/v2.0`: the value of AUTH_ISSUER. */
  readonly issuer: string;
  readonly jwksUri: string;
  readonly tenantId: string;
  readonly audience: string;
  readonly clients: readonly DemoClient[];
  readonly jwks: { readonly keys: readonly JWK[] };
  mintToken(options?: MintOptions): Promise<string>;
  /** Node request handler for the issuer's paths; returns false when the path is not one of them. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

export interface TokenIssuerOptions {
  /** Origin the issuer is reached at, e.g. the emulator's `https://127.0.0.1:port`. */
  readonly baseUrl: string;
  readonly tenantId?: string;
  readonly audience?: string;
  /** Defaults: one client per app role (`local-<role>`) plus `local-admin` with every role. */
  readonly clients?: readonly DemoClient[];
  /** Lifetime in seconds of access tokens issued to people signing in (default 3600). */
  readonly interactiveTokenLifetime?: number;
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function defaultClients(): DemoClient[] {
  const perRole = ALL_APP_ROLES.map((role) => ({
    clientId: `local-${role.toLowerCase().replace('.', '-')}`,
    clientSecret: `local-secret-${role.toLowerCase().replace('.', '-')}`,
    roles: [role],
    objectId: randomUUID(),
  }));
  return [...perRole, { clientId: 'local-admin', clientSecret: 'local-secret-admin', roles: [...ALL_APP_ROLES], objectId: randomUUID() }];
}

/** Discovery and keys are public; Entra ID lets any origin read them (browser apps fetch them). */
const PUBLIC_CORS = { 'access-control-allow-origin': '*' };

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function createTokenIssuer(options: TokenIssuerOptions): Promise<TokenIssuer> {
  const tenantId = options.tenantId ?? LOCAL_TENANT_ID;
  const audience = options.audience ?? LOCAL_AUDIENCE;
  const origin = options.baseUrl.replace(/\/+$/, '');
  const issuer = `${origin}/${tenantId}/v2.0`;
  const jwksUri = `${origin}/${tenantId}/discovery/v2.0/keys`;
  const tokenEndpoint = `${origin}/${tenantId}/oauth2/v2.0/token`;
  const clients = options.clients ?? defaultClients();

  const rsa = await generateKeyPair('RS256', { extractable: true });
  const ec = await generateKeyPair('ES256', { extractable: true });
  const foreign = await generateKeyPair('RS256');
  const rsaKid = randomUUID();
  const ecKid = randomUUID();
  const jwks = {
    keys: [
      { ...(await exportJWK(rsa.publicKey)), kid: rsaKid, use: 'sig', alg: 'RS256' },
      { ...(await exportJWK(ec.publicKey)), kid: ecKid, use: 'sig', alg: 'ES256' },
    ],
  };

  async function mintToken(o: MintOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = {
      aud: o.aud ?? audience,
      iss: o.iss ?? issuer,
      iat: now,
      nbf: now + (o.notBefore ?? 0),
      exp: now + (o.expiresIn ?? 3600),
      tid: o.tid ?? tenantId,
      oid: o.oid ?? randomUUID(),
      azp: o.appid ?? 'local-client',
      azpacr: '1',
      ver: '2.0',
      roles: [...(o.roles ?? [])],
      ...(o.claims ?? {}),
    };
    payload['sub'] ??= payload['oid'];
    const alg = o.alg ?? 'RS256';
    if (alg === 'none') return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.`;
    if (alg === 'HS256') {
      // The classic confusion attack: HMAC keyed with something public (here the RSA public JWK).
      return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: rsaKid }).sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0])));
    }
    let key: CryptoKey = alg === 'ES256' ? ec.privateKey : rsa.privateKey;
    if (o.foreignKey === true) key = foreign.privateKey;
    return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT', kid: alg === 'ES256' ? ecKid : rsaKid }).sign(key);
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > 16_384) return send(res, 413, { error: 'invalid_request' });
      chunks.push(chunk as Buffer);
    }
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    let clientId = form.get('client_id');
    let clientSecret = form.get('client_secret');
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
    if (basic?.[1] !== undefined) {
      const [id, secret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
      clientId = decodeURIComponent(id ?? '');
      clientSecret = decodeURIComponent(secret ?? '');
    }
    if (interactive.handlesGrant(form.get('grant_type'))) return interactive.grant(form, req, res);
    if (form.get('grant_type') !== 'client_credentials') return send(res, 400, { error: 'unsupported_grant_type' });
    const client = clients.find((c) => c.clientId === clientId);
    if (client === undefined || clientSecret === null || !safeEqual(client.clientSecret, clientSecret)) return send(res, 401, { error: 'invalid_client' });
    const scope = form.get('scope') ?? `${audience}/.default`;
    if (scope !== `${audience}/.default`) return send(res, 400, { error: 'invalid_scope', error_description: `scope must be ${audience}/.default` });
    // Non-standard convenience for local demos: `roles=A B` narrows the client's roles.
    const requested = form.get('roles')?.split(/[\s,]+/).filter((r) => r !== '');
    const roles = requested === undefined ? client.roles : client.roles.filter((r) => requested.includes(r));
    const expiresIn = 3600;
    const accessToken = await mintToken({ roles, oid: client.objectId, appid: client.clientId, expiresIn });
    send(res, 200, { token_type: 'Bearer', expires_in: expiresIn, ext_expires_in: expiresIn, access_token: accessToken });
  }

  // The people who sign in interactively are the demo clients' identities (same object ids and roles).
  const interactive = createInteractiveIssuer({
    issuer,
    tenantId,
    audience,
    users: clients,
    mintToken,
    ...(options.interactiveTokenLifetime !== undefined ? { accessTokenLifetime: options.interactiveTokenLifetime } : {}),
  });

  function handle(req: IncomingMessage, res: ServerResponse): boolean {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (interactive.handle(req, res)) return true;
    if (req.method === 'GET' && path === `/${tenantId}/v2.0/.well-known/openid-configuration`) {
      send(res, 200, {
        issuer,
        jwks_uri: jwksUri,
        token_endpoint: tokenEndpoint,
        ...interactive.metadata,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'none'],
        response_types_supported: ['code', 'token'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        tenant_region_scope: 'local',
      }, PUBLIC_CORS);
      return true;
    }
    if (req.method === 'GET' && path === `/${tenantId}/discovery/v2.0/keys`) {
      send(res, 200, jwks, PUBLIC_CORS);
      return true;
    }
    if (req.method === 'POST' && path === `/${tenantId}/oauth2/v2.0/token`) {
      token(req, res).catch(() => {
        if (!res.headersSent) send(res, 500, { error: 'server_error' });
      });
      return true;
    }
    return false;
  }

  return { issuer, jwksUri, tenantId, audience, clients, jwks, mintToken, handle };
}

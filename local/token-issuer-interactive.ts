/**
 * The interactive half of the local issuer: what a browser app signing a person in with the
 * authorization code flow and PKCE (the dashboard, through `@azure/msal-browser`) needs from Entra ID.
 *
 * - `GET  /{tenant}/oauth2/v2.0/authorize`: checks the request like Entra ID does (registered public
 *   client, redirect URI, `response_type=code`, an S256 `code_challenge`) and shows a page with one
 *   button per local identity, named after its role set as `npm start` prints it;
 * - `POST /{tenant}/oauth2/v2.0/authorize`: the chosen identity; redirects back with a one-time code
 *   (60 s) bound to the client, redirect URI, PKCE challenge and nonce;
 * - the token endpoint's `authorization_code` (verifier checked) and `refresh_token` grants, answered
 *   with CORS headers for the redirect URI's origin, as Entra ID answers single-page apps;
 * - `GET /{tenant}/oauth2/v2.0/logout`: back to a registered `post_logout_redirect_uri`.
 *
 * Redirect URIs of the local dashboard client follow Entra ID's loopback rule: `http://127.0.0.1`,
 * `http://localhost` or `http://[::1]` on any port, at `/api/dashboard`; other URIs must be listed.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DemoClient, MintOptions } from './token-issuer.js';

/** Client id of the local dashboard (public client, SPA platform): `DASHBOARD_CLIENT_ID` locally. */
export const LOCAL_DASHBOARD_CLIENT_ID = 'local-dashboard';

const CODE_TTL_MS = 60_000;
const REFRESH_TTL_MS = 12 * 3600_000;
const MAX_FORM_BYTES = 16_384;

/** The name of a local identity's role set, as `npm start` prints it: the role, or `all roles`. */
export function roleSetName(client: Pick<DemoClient, 'roles'>): string {
  return client.roles.length > 1 ? 'all roles' : (client.roles[0] ?? 'no roles');
}

interface Grant {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly user: DemoClient;
  readonly scope: string;
  readonly nonce: string | undefined;
  readonly codeChallenge: string;
  readonly expiresAt: number;
}

interface Refresh {
  readonly clientId: string;
  readonly user: DemoClient;
  readonly scope: string;
  readonly expiresAt: number;
}

export interface InteractiveIssuerOptions {
  readonly issuer: string;
  readonly tenantId: string;
  readonly audience: string;
  readonly users: readonly DemoClient[];
  /** Extra exact redirect URIs for the dashboard client (beyond the loopback rule). */
  readonly redirectUris?: readonly string[];
  /** Seconds an interactively obtained access token lives (tests shorten it). Default 3600. */
  readonly accessTokenLifetime?: number;
  mintToken(options: MintOptions): Promise<string>;
}

export interface InteractiveIssuer {
  /** Answers the interactive paths and the token endpoint's CORS preflight; false for anything else. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** The token endpoint's `authorization_code` and `refresh_token` grants (the form is already read). */
  grant(form: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** True for the grant types {@link grant} answers. */
  handlesGrant(grantType: string | null): boolean;
  /** The endpoints to add to the OpenID configuration. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

const LOOPBACK_REDIRECT = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?\/api\/dashboard$/;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const PAGE_STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:2rem;background:#f6f7f9;color:#1b1f24}' +
  'main{max-width:32rem;margin:auto;background:#fff;padding:2rem;border-radius:8px;border:1px solid #d0d7de}' +
  'h1{font-size:1.4rem;margin-top:0}ul{list-style:none;padding:0}li{margin:.5rem 0}' +
  'button{width:100%;padding:.6rem 1rem;font:inherit;border:1px solid #0550ae;background:#0969da;color:#fff;border-radius:6px;cursor:pointer;text-align:left}' +
  'button:focus-visible{outline:3px solid #fb8f44;outline-offset:2px}small{color:#57606a}' +
  '@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}main{background:#161b22;border-color:#30363d}small{color:#9da7b3}}';
const PAGE_STYLE_HASH = createHash('sha256').update(PAGE_STYLE).digest('base64');

export function createInteractiveIssuer(options: InteractiveIssuerOptions): InteractiveIssuer {
  const { issuer, tenantId, audience, users } = options;
  const base = `/${tenantId}/oauth2/v2.0`;
  const origin = new URL(issuer).origin;
  const codes = new Map<string, Grant>();
  const refreshTokens = new Map<string, Refresh>();
  const lifetime = options.accessTokenLifetime ?? 3600;

  const redirectAllowed = (uri: string): boolean => LOOPBACK_REDIRECT.test(uri) || (options.redirectUris ?? []).includes(uri);

  function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  }

  function sendPage(res: ServerResponse, status: number, title: string, body: string, formTarget?: string): void {
    const formAction = formTarget === undefined ? "'none'" : `'self' ${new URL(formTarget).origin}`;
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // form-action also governs where the submitted form may redirect: the app's redirect URI.
      'content-security-policy': `default-src 'none'; style-src 'sha256-${PAGE_STYLE_HASH}'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
    });
    res.end(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
        `<title>${escapeHtml(title)}</title><style>${PAGE_STYLE}</style></head><body><main>${body}</main></body></html>`,
    );
  }

  /** The authorization request's parameters, checked; or the page explaining what is wrong. */
  function checkAuthorizeRequest(params: URLSearchParams): { readonly error: string } | { readonly redirectUri: string; readonly params: URLSearchParams } {
    const clientId = params.get('client_id');
    if (clientId !== LOCAL_DASHBOARD_CLIENT_ID) return { error: `Unknown client_id ${clientId ?? '(missing)'}: the local issuer knows the public client ${LOCAL_DASHBOARD_CLIENT_ID}.` };
    const redirectUri = params.get('redirect_uri') ?? '';
    if (!redirectAllowed(redirectUri)) return { error: `The redirect_uri ${redirectUri || '(missing)'} is not registered for ${clientId}.` };
    if (params.get('response_type') !== 'code') return { error: 'Only response_type=code (authorization code flow) is supported.' };
    if (params.get('code_challenge_method') !== 'S256' || !/^[A-Za-z0-9_-]{43,128}$/.test(params.get('code_challenge') ?? '')) {
      return { error: 'PKCE is required: code_challenge with code_challenge_method=S256.' };
    }
    return { redirectUri, params };
  }

  function redirectWith(res: ServerResponse, redirectUri: string, responseMode: string | null, values: Record<string, string>): void {
    const encoded = new URLSearchParams(values).toString();
    const location = responseMode === 'query' ? `${redirectUri}?${encoded}` : `${redirectUri}#${encoded}`;
    res.writeHead(302, { location, 'cache-control': 'no-store' });
    res.end();
  }

  function authorizePage(res: ServerResponse, params: URLSearchParams): void {
    const hidden = [...params.entries()]
      .filter(([k]) => k !== 'identity')
      .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
      .join('');
    const buttons = users
      .map((u) => `<li><button type="submit" name="identity" value="${escapeHtml(u.clientId)}">${escapeHtml(roleSetName(u))}</button></li>`)
      .join('');
    sendPage(
      res,
      200,
      'Sign in: local issuer',
      `<h1>Sign in to arc-compliance (local)</h1><p>Pick the local identity to sign in as. Each holds the app roles named on its button.</p>` +
        `<form method="post" action="${escapeHtml(`${base}/authorize`)}">${hidden}<ul aria-label="Local identities">${buttons}</ul></form>` +
        `<p><small>Development only: the local issuer signs tokens with keys generated at start.</small></p>`,
      params.get('redirect_uri') ?? undefined,
    );
  }

  async function authorize(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const params = req.method === 'POST' ? await readForm(req) : query;
    if (params === undefined) return sendPage(res, 413, 'Request too large', '<h1>Request too large</h1>');
    const checked = checkAuthorizeRequest(params);
    if ('error' in checked) return sendPage(res, 400, 'Sign-in request refused', `<h1>Sign-in request refused</h1><p>${escapeHtml(checked.error)}</p>`);
    const state = params.get('state');
    const responseMode = params.get('response_mode');
    const withState = (values: Record<string, string>): Record<string, string> => (state === null ? values : { ...values, state });
    if (req.method === 'GET') {
      // No session here: silent sign-in always needs the person.
      if (params.get('prompt') === 'none') return redirectWith(res, checked.redirectUri, responseMode, withState({ error: 'login_required', error_description: 'The local issuer keeps no session.' }));
      return authorizePage(res, params);
    }
    const user = users.find((u) => u.clientId === params.get('identity'));
    if (user === undefined) return authorizePage(res, params);
    const code = randomBytes(32).toString('base64url');
    codes.set(code, {
      clientId: LOCAL_DASHBOARD_CLIENT_ID,
      redirectUri: checked.redirectUri,
      user,
      scope: params.get('scope') ?? '',
      nonce: params.get('nonce') ?? undefined,
      codeChallenge: params.get('code_challenge') ?? '',
      expiresAt: Date.now() + CODE_TTL_MS,
    });
    redirectWith(res, checked.redirectUri, responseMode, withState({ code, client_info: clientInfo(user) }));
  }

  function clientInfo(user: DemoClient): string {
    return Buffer.from(JSON.stringify({ uid: user.objectId, utid: tenantId })).toString('base64url');
  }

  async function tokensFor(user: DemoClient, clientId: string, scope: string, nonce: string | undefined): Promise<Record<string, unknown>> {
    const name = `Local user (${roleSetName(user)})`;
    const username = `${user.clientId}@local.test`;
    const accessToken = await options.mintToken({
      roles: user.roles,
      oid: user.objectId,
      appid: clientId,
      expiresIn: lifetime,
      claims: { scp: 'user_impersonation', name, preferred_username: username },
    });
    const idToken = await options.mintToken({
      aud: clientId,
      roles: user.roles,
      oid: user.objectId,
      appid: clientId,
      expiresIn: 3600,
      claims: { name, preferred_username: username, ...(nonce !== undefined ? { nonce } : {}) },
    });
    const refreshToken = randomBytes(32).toString('base64url');
    refreshTokens.set(refreshToken, { clientId, user, scope, expiresAt: Date.now() + REFRESH_TTL_MS });
    const grantedScope = scope.split(/\s+/).filter((s) => s.startsWith(`${audience}/`)).join(' ') || `${audience}/.default`;
    return {
      token_type: 'Bearer',
      scope: grantedScope,
      expires_in: lifetime,
      ext_expires_in: lifetime,
      access_token: accessToken,
      id_token: idToken,
      refresh_token: refreshToken,
      client_info: clientInfo(user),
    };
  }

  /** The token endpoint's grants for the public client. */
  async function token(form: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const cors = corsHeaders(req);
    const clientId = form.get('client_id');
    if (clientId !== LOCAL_DASHBOARD_CLIENT_ID) return sendJson(res, 401, { error: 'invalid_client' }, cors);
    if (form.get('grant_type') === 'authorization_code') {
      const code = form.get('code') ?? '';
      const grant = codes.get(code);
      codes.delete(code);
      if (grant === undefined || grant.expiresAt < Date.now() || grant.clientId !== clientId || grant.redirectUri !== form.get('redirect_uri')) {
        return sendJson(res, 400, { error: 'invalid_grant', error_description: 'The code is unknown, used, expired or for another client or redirect URI.' }, cors);
      }
      if (s256(form.get('code_verifier') ?? '') !== grant.codeChallenge) {
        return sendJson(res, 400, { error: 'invalid_grant', error_description: 'The code_verifier does not match the code_challenge.' }, cors);
      }
      return sendJson(res, 200, await tokensFor(grant.user, clientId, form.get('scope') ?? grant.scope, grant.nonce), cors);
    }
    const refresh = refreshTokens.get(form.get('refresh_token') ?? '');
    if (refresh === undefined || refresh.expiresAt < Date.now() || refresh.clientId !== clientId) {
      return sendJson(res, 400, { error: 'invalid_grant', error_description: 'The refresh token is unknown or expired.' }, cors);
    }
    refreshTokens.delete(form.get('refresh_token') ?? '');
    return sendJson(res, 200, await tokensFor(refresh.user, clientId, form.get('scope') ?? refresh.scope, undefined), cors);
  }

  /** CORS for a browser app on a registered redirect URI's origin (the SPA platform of Entra ID). */
  function corsHeaders(req: IncomingMessage): Record<string, string> {
    const from = req.headers.origin;
    if (from === undefined || !redirectAllowed(`${from}/api/dashboard`)) return {};
    return { 'access-control-allow-origin': from, vary: 'Origin' };
  }

  function handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const fail = (): void => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
    };
    if (path === `${base}/authorize` && (req.method === 'GET' || req.method === 'POST')) {
      authorize(req, res, url.searchParams).catch(fail);
      return true;
    }
    if (path === `${base}/token` && req.method === 'OPTIONS') {
      const cors = corsHeaders(req);
      res.writeHead(204, {
        ...cors,
        ...(cors['access-control-allow-origin'] !== undefined
          ? { 'access-control-allow-methods': 'POST', 'access-control-allow-headers': String(req.headers['access-control-request-headers'] ?? 'content-type'), 'access-control-max-age': '600' }
          : {}),
      });
      res.end();
      return true;
    }
    if (path === `${base}/logout` && req.method === 'GET') {
      const back = url.searchParams.get('post_logout_redirect_uri');
      if (back !== null && redirectAllowed(back)) {
        res.writeHead(302, { location: back, 'cache-control': 'no-store' });
        res.end();
      } else {
        sendPage(res, 200, 'Signed out', '<h1>Signed out</h1><p>You can close this page.</p>');
      }
      return true;
    }
    return false;
  }

  return {
    handle,
    grant: token,
    handlesGrant: (grantType) => grantType === 'authorization_code' || grantType === 'refresh_token',
    metadata: {
      authorization_endpoint: `${origin}${base}/authorize`,
      end_session_endpoint: `${origin}${base}/logout`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      code_challenge_methods_supported: ['S256'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      scopes_supported: ['openid', 'profile', 'offline_access', `${audience}/.default`],
    },
  };
}

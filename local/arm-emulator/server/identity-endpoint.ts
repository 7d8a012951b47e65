/**
 * The App Service managed-identity endpoint (`IDENTITY_ENDPOINT`, api-version 2019-08-01), plain http
 * on loopback as in Azure Functions: `GET /msi/token?resource=…[&client_id=…]` with the
 * `X-IDENTITY-HEADER` secret answers a token for any resource, as the real one does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestCounter } from './request-counter.js';
import type { TokenIssuer } from './token-issuer.js';

/** The system-assigned identity's client id when a caller does not ask for a user-assigned one. */
const SYSTEM_ASSIGNED_CLIENT_ID = '00000000-0000-0000-0000-00000000a4c1';

export function identityTokenHandler(issuer: TokenIssuer, identityHeader: string, requests: RequestCounter): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const receivedAt = Date.now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const reply = (status: number, body: unknown): void => {
      requests.record({ method: req.method ?? 'GET', path: url.pathname, route: 'identity.token', apiVersion: url.searchParams.get('api-version') ?? undefined, subscriptionId: undefined, status, at: receivedAt });
      const payload = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(payload)) }).end(payload);
    };
    for await (const _chunk of req) {
      // drained: the endpoint takes no body
    }
    if (url.pathname !== '/msi/token' || req.method !== 'GET') return reply(404, { statusCode: 404, message: 'Not found' });
    if (req.headers['x-identity-header'] !== identityHeader) return reply(401, { statusCode: 401, message: 'The X-IDENTITY-HEADER header is missing or wrong.' });
    const resource = url.searchParams.get('resource');
    if (!resource) return reply(400, { statusCode: 400, message: 'The resource query parameter is required.' });
    const clientId = url.searchParams.get('client_id') ?? undefined;
    const token = await issuer.issue(resource, clientId);
    return reply(200, {
      access_token: token.accessToken,
      expires_on: String(token.expiresOn),
      resource,
      token_type: 'Bearer',
      client_id: clientId ?? SYSTEM_ASSIGNED_CLIENT_ID,
    });
  };
}

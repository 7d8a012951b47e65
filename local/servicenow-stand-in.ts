/**
 * A tiny in-memory ServiceNow for the local demo and tests: Table API incident CRUD (`sys_id`,
 * `number`, encoded-query lookups on `correlation_id`/`active`), the OAuth token endpoint
 * (`/oauth_token.do`, password and client-credentials grants) and Event Management
 * (`/api/global/em/jsonv2`). Basic and bearer auth are both accepted. Loopback only.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInCredentials {
  readonly username: string;
  readonly password: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface StandInIncident extends Record<string, string> {
  sys_id: string;
  number: string;
  state: string;
  active: string;
}

export interface StandInRequest {
  readonly method: string;
  readonly path: string;
  readonly auth: 'basic' | 'bearer' | 'none';
}

export interface ServiceNowStandIn {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly incidents: Map<string, StandInIncident>;
  /** Work notes per incident sys_id, oldest first. */
  readonly workNotes: Map<string, string[]>;
  readonly events: Record<string, unknown>[];
  readonly requests: StandInRequest[];
  readonly tokensIssued: () => number;
  /** The next `count` API calls (not the token endpoint) answer `status`. */
  failNext(count: number, status: number, headers?: Record<string, string>): void;
  stop(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `a=b^c=d^ORDERBYx` → clauses; `^^` is a literal caret. */
function parseEncodedQuery(query: string): { field: string; value: string }[] {
  const clauses: string[] = [];
  let current = '';
  for (let i = 0; i < query.length; i += 1) {
    const c = query[i];
    if (c === '^' && query[i + 1] === '^') {
      current += '^';
      i += 1;
    } else if (c === '^') {
      clauses.push(current);
      current = '';
    } else current += c;
  }
  clauses.push(current);
  return clauses
    .filter((c) => c !== '' && !c.startsWith('ORDERBY'))
    .map((c) => {
      const eq = c.indexOf('=');
      return { field: c.slice(0, eq), value: c.slice(eq + 1) };
    });
}

export async function startServiceNowStandIn(options: { credentials: StandInCredentials; tokenTtlSeconds?: number; host?: string; port?: number }): Promise<ServiceNowStandIn> {
  const { credentials } = options;
  const incidents = new Map<string, StandInIncident>();
  const workNotes = new Map<string, string[]>();
  const events: Record<string, unknown>[] = [];
  const requests: StandInRequest[] = [];
  const tokens = new Map<string, number>();
  const faults: { status: number; headers: Record<string, string> }[] = [];
  let issued = 0;
  let counter = 10000;
  const ttl = options.tokenTtlSeconds ?? 1800;

  const authOf = (req: IncomingMessage): 'basic' | 'bearer' | 'none' | 'invalid' => {
    const h = req.headers.authorization;
    if (h === undefined) return 'none';
    if (h.startsWith('Basic ')) {
      return Buffer.from(h.slice(6), 'base64').toString('utf8') === `${credentials.username}:${credentials.password}` ? 'basic' : 'invalid';
    }
    if (h.startsWith('Bearer ')) {
      const exp = tokens.get(h.slice(7));
      return exp !== undefined && exp > Date.now() ? 'bearer' : 'invalid';
    }
    return 'invalid';
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    if (url.pathname === '/oauth_token.do' && method === 'POST') {
      const form = new URLSearchParams(body);
      const clientOk = form.get('client_id') === credentials.clientId && form.get('client_secret') === credentials.clientSecret;
      const grant = form.get('grant_type');
      const userOk = grant === 'client_credentials' || (grant === 'password' && form.get('username') === credentials.username && form.get('password') === credentials.password);
      if (!clientOk || !userOk) return send(res, 401, { error: 'access_denied', error_description: 'access_denied' });
      const token = randomBytes(24).toString('base64url');
      tokens.set(token, Date.now() + ttl * 1000);
      issued += 1;
      return send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: ttl, scope: 'useraccount' });
    }
    const auth = authOf(req);
    if (auth === 'none' || auth === 'invalid') {
      return send(res, 401, { error: { message: 'User Not Authenticated', detail: 'Required to provide Auth information' }, status: 'failure' });
    }
    requests.push({ method, path: url.pathname, auth });
    const fault = faults.shift();
    if (fault !== undefined) return send(res, fault.status, { error: { message: 'injected fault' }, status: 'failure' }, fault.headers);

    const json = (): Record<string, unknown> => (body === '' ? {} : (JSON.parse(body) as Record<string, unknown>));
    if (url.pathname === '/api/global/em/jsonv2' && method === 'POST') {
      const records = json()['records'];
      if (!Array.isArray(records)) return send(res, 400, { error: { message: 'records[] is required' }, status: 'failure' });
      events.push(...(records as Record<string, unknown>[]));
      return send(res, 200, { result: { 'Default Bulk Endpoint': `${records.length} events were inserted` } });
    }
    const m = /^\/api\/now\/table\/incident(?:\/([0-9a-f]{32}))?$/.exec(url.pathname);
    if (m === null) return send(res, 404, { error: { message: 'Invalid table' }, status: 'failure' });
    const sysId = m[1];
    if (sysId === undefined && method === 'GET') {
      const clauses = parseEncodedQuery(url.searchParams.get('sysparm_query') ?? '');
      const limit = Number(url.searchParams.get('sysparm_limit') ?? '10000');
      const result = [...incidents.values()].filter((i) => clauses.every((c) => (i[c.field] ?? '') === c.value)).slice(0, limit);
      return send(res, 200, { result });
    }
    if (sysId === undefined && method === 'POST') {
      const fields = json();
      counter += 1;
      const incident: StandInIncident = {
        ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)])),
        sys_id: randomBytes(16).toString('hex'),
        number: `INC00${counter}`,
        state: '1',
        active: 'true',
      };
      incidents.set(incident.sys_id, incident);
      return send(res, 201, { result: incident }, { location: `${url.origin}/api/now/table/incident/${incident.sys_id}` });
    }
    const existing = sysId !== undefined ? incidents.get(sysId) : undefined;
    if (existing === undefined) return send(res, 404, { error: { message: 'No Record found' }, status: 'failure' });
    if (method === 'GET') return send(res, 200, { result: existing });
    if (method === 'PATCH' || method === 'PUT') {
      const { work_notes: note, ...fields } = json();
      if (typeof note === 'string') workNotes.set(existing.sys_id, [...(workNotes.get(existing.sys_id) ?? []), note]);
      const updated: StandInIncident = { ...existing, ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)])) };
      updated.active = ['6', '7', '8'].includes(updated.state) ? 'false' : 'true';
      incidents.set(existing.sys_id, updated);
      return send(res, 200, { result: updated });
    }
    return send(res, 405, { error: { message: 'Method not allowed' }, status: 'failure' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 400, { error: { message: 'bad request' }, status: 'failure' });
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    incidents,
    workNotes,
    events,
    requests,
    tokensIssued: () => issued,
    failNext(count, status, headers = {}) {
      for (let i = 0; i < count; i += 1) faults.push({ status, headers });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

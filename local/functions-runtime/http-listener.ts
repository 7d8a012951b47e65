/**
 * The HTTP front end: routes requests under `routePrefix` to HTTP-triggered functions, hands the
 * library an RPC `http` payload (method, url, headers, route params, query, raw body bytes), and writes
 * the RPC response (status, headers, cookies, body bytes) back. `authLevel` is not enforced for
 * functions locally; the admin API (`/admin/*`) requires the master key, as the real host does.
 * Request bodies are capped like the host's `FUNCTIONS_REQUEST_BODY_SIZE_LIMIT` (413 beyond it).
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { FunctionRegistration } from './core-api.js';
import type { RpcHttpCookie, RpcHttpData, RpcInvocationResponse, RpcTypedData } from './core-types.js';
import { forwardToWorker, proxiedTriggerMetadata } from './http-stream-proxy.js';
import { compareRoutes, compileRoute, matchRoute, splitPath, type CompiledRoute } from './route-table.js';

export interface HttpRoute {
  readonly registration: FunctionRegistration;
  readonly triggerName: string;
  readonly route: CompiledRoute;
  /** Upper-case methods; undefined = every method. */
  readonly methods: ReadonlySet<string> | undefined;
  /** Name of the `http` output binding (`$return` normally). */
  readonly outputName: string | undefined;
}

/** Builds the route table from registrations, most specific first. */
export function buildRoutes(registrations: readonly FunctionRegistration[]): HttpRoute[] {
  const routes: HttpRoute[] = [];
  for (const registration of registrations) {
    const trigger = Object.entries(registration.bindings).find(([, b]) => (b.type ?? '').toLowerCase() === 'httptrigger');
    if (trigger === undefined) continue;
    const [triggerName, binding] = trigger;
    const template = typeof binding['route'] === 'string' && binding['route'] !== '' ? binding['route'] : registration.name;
    const rawMethods = binding['methods'];
    const methods = Array.isArray(rawMethods) && rawMethods.length > 0 ? new Set(rawMethods.map((m) => String(m).toUpperCase())) : undefined;
    const output = Object.entries(registration.bindings).find(([, b]) => b.direction === 'out' && (b.type ?? '').toLowerCase() === 'http');
    routes.push({ registration, triggerName, route: compileRoute(template), methods, outputName: output?.[0] });
  }
  return routes.sort((a, b) => compareRoutes(a.route, b.route));
}

export type RouteLookup =
  | { readonly kind: 'match'; readonly route: HttpRoute; readonly params: Record<string, string> }
  | { readonly kind: 'method-not-allowed'; readonly allow: readonly string[] }
  | { readonly kind: 'not-found' };

/** Finds the function for a method and path (path without the route prefix). */
export function lookupRoute(routes: readonly HttpRoute[], method: string, pathSegments: readonly string[]): RouteLookup {
  const allow = new Set<string>();
  let anyMatch = false;
  for (const route of routes) {
    const params = matchRoute(route.route, pathSegments);
    if (params === undefined) continue;
    anyMatch = true;
    if (route.methods === undefined || route.methods.has(method)) return { kind: 'match', route, params };
    for (const m of route.methods) allow.add(m);
  }
  return anyMatch ? { kind: 'method-not-allowed', allow: [...allow].sort() } : { kind: 'not-found' };
}

/** Strips `/{prefix}` from a path; undefined when the path is outside the prefix. */
export function stripPrefix(pathname: string, routePrefix: string): string | undefined {
  if (routePrefix === '') return pathname;
  const lower = pathname.toLowerCase();
  const prefix = `/${routePrefix.toLowerCase()}`;
  if (lower === prefix || lower === `${prefix}/`) return '/';
  return lower.startsWith(`${prefix}/`) ? pathname.slice(prefix.length) : undefined;
}

const EMPTY = Buffer.alloc(0);

/**
 * A request without `content-length` or `transfer-encoding` has no body (RFC 9112 §6.3): most GETs.
 * Their stream is only resumed (it ends on its own) instead of awaited, which cost every GET an async
 * iterator and a few event-loop turns.
 */
function hasNoBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
}

/** A body beyond the host's request size limit: answered 413 without buffering the rest. */
class RequestBodyTooLargeError extends Error {}

/**
 * Reads the body, at most `limit` bytes. A declared `content-length` over the limit fails before
 * anything is read; a chunked body fails at the chunk that crosses it. The stream is paused rather
 * than destroyed so the 413 can still be written on the same socket.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  if (hasNoBody(req)) {
    req.resume();
    return Promise.resolve(EMPTY);
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new RequestBodyTooLargeError());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(new RequestBodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    // The client went away mid-body: nothing to answer.
    const onClose = (): void => onError(new Error('The client closed the connection before the request body ended.'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** Request headers as the host forwards them: lower-case names, repeated values comma-joined. */
function headerRecord(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? '').toLowerCase();
    const value = req.rawHeaders[i + 1] ?? '';
    const existing = headers[name];
    headers[name] = existing === undefined ? value : `${existing}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return headers;
}

/** Query parameters as the host passes them: repeated names comma-joined. */
function queryRecord(url: URL): Record<string, string> {
  const query: Record<string, string> = {};
  if (url.search !== '') for (const [key, value] of url.searchParams) query[key] = key in query ? `${query[key]},${value}` : value;
  return query;
}

function serializeCookie(cookie: RpcHttpCookie): string {
  const parts = [`${cookie.name ?? ''}=${cookie.value ?? ''}`];
  if (cookie.domain?.value) parts.push(`Domain=${cookie.domain.value}`);
  if (cookie.path?.value) parts.push(`Path=${cookie.path.value}`);
  const seconds = cookie.expires?.value?.seconds;
  if (typeof seconds === 'number') parts.push(`Expires=${new Date(seconds * 1000).toUTCString()}`);
  if (typeof cookie.maxAge?.value === 'number') parts.push(`Max-Age=${cookie.maxAge.value}`);
  if (cookie.secure?.value === true) parts.push('Secure');
  if (cookie.httpOnly?.value === true) parts.push('HttpOnly');
  if (cookie.sameSite === 'lax') parts.push('SameSite=Lax');
  else if (cookie.sameSite === 'strict') parts.push('SameSite=Strict');
  else if (cookie.sameSite === 'explicitNone') parts.push('SameSite=None');
  return parts.join('; ');
}

export interface HttpDispatcher {
  /** Runs the function and its output bindings; rejects when the invocation failed. */
  invoke(route: HttpRoute, rpcHttp: RpcHttpData): Promise<RpcInvocationResponse>;
  /**
   * HTTP streaming: runs the function with the host's proxied-invocation input (an empty RPC `http`, the
   * request described by `triggerMetadata`) under `invocationId`, the id the forwarded request carries.
   */
  invokeProxied(route: HttpRoute, invocationId: string, triggerMetadata: Record<string, RpcTypedData>): Promise<RpcInvocationResponse>;
  /**
   * The host's admin API for non-HTTP functions (`POST /admin/functions/{name}` with `{"input": "…"}`):
   * starts the function in the background; false when no such non-HTTP function exists.
   */
  invokeNonHttp(name: string, input: string | undefined): boolean;
  log(message: string): void;
}

function writeResponse(res: ServerResponse, route: HttpRoute, response: RpcInvocationResponse): void {
  const data = route.outputName === '$return' ? response.returnValue : response.outputData?.find((o) => o.name === route.outputName)?.data;
  const http = data?.http;
  if (http === undefined || http === null) {
    // No response object from the handler: the host answers 204 No Content.
    res.writeHead(204).end();
    return;
  }
  const status = Number(http.statusCode ?? '200') || 200;
  // One header object handed to `writeHead` (no `setHeader` per header): node:http then builds the head
  // straight from it. Names come lower-cased from the library's `Headers`; copied, never mutated.
  const headers: Record<string, string | number | string[]> = {};
  const source = http.headers ?? {};
  for (const name in source) headers[name] = source[name] as string;
  if (http.cookies !== undefined && http.cookies !== null && http.cookies.length > 0) headers['set-cookie'] = http.cookies.map(serializeCookie);
  if (status === 204 || status === 304) {
    res.writeHead(status, headers).end();
    return;
  }
  const body = http.body;
  let bytes: Buffer;
  // A view, not a copy: the library hands over the bytes it read from its Response and keeps none.
  if (body?.bytes !== undefined && body.bytes !== null) bytes = Buffer.isBuffer(body.bytes) ? body.bytes : Buffer.from(body.bytes.buffer, body.bytes.byteOffset, body.bytes.byteLength);
  else if (typeof body?.string === 'string') bytes = Buffer.from(body.string, 'utf8');
  else if (typeof body?.json === 'string') bytes = Buffer.from(body.json, 'utf8');
  else bytes = EMPTY;
  headers['content-length'] = bytes.length;
  // Head and body leave in one `writev` (node:http corks `end`), never as a chunked stream.
  res.writeHead(status, headers).end(bytes);
}

export interface HttpListenerOptions {
  /** The host's master key: required as `x-functions-key` (or `?code=`) on every `/admin/*` request. */
  readonly masterKey: string;
  /** Largest request body accepted (admin API and HTTP triggers); larger ones get 413. */
  readonly maxRequestBodyBytes: number;
  /**
   * The worker's `HttpUri` capability (`app.setup({ enableHttpStream: true })`): HTTP-triggered functions
   * are then invoked as the host does in streaming mode, their requests and responses proxied through
   * the library's own server instead of travelling as RPC bytes.
   */
  readonly workerHttpUri?: string | undefined;
}

const ADMIN_PATH = /^\/admin(?:\/|$)/i;

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Creates (does not start) the HTTP server for a route table. */
export function createHttpServer(routes: readonly HttpRoute[], routePrefix: string, dispatcher: HttpDispatcher, options: HttpListenerOptions): Server {
  // Route lookups by method and path: the table is fixed once the host listens, and matching walks every
  // route (splitting, decoding and lower-casing segments) on each request otherwise. Bounded; a full
  // cache starts over, so arbitrary paths cannot grow it.
  const lookups = new Map<string, RouteLookup>();
  function lookup(method: string, pathname: string): RouteLookup {
    const key = `${method} ${pathname}`;
    let found = lookups.get(key);
    if (found === undefined) {
      const relative = stripPrefix(pathname, routePrefix);
      const segments = relative === undefined ? undefined : splitPath(relative);
      found = segments === undefined ? { kind: 'not-found' } : lookupRoute(routes, method, segments);
      if (pathname.length <= 1024) {
        if (lookups.size >= 2048) lookups.clear();
        lookups.set(key, found);
      }
    }
    return found;
  }

  const workerUri = options.workerHttpUri === undefined ? undefined : new URL(options.workerHttpUri);
  // Connections to the worker's proxy server are kept and reused, as the host's forwarder does.
  const workerAgent = workerUri === undefined ? undefined : new Agent({ keepAlive: true });

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (error instanceof RequestBodyTooLargeError) {
        // Close afterwards: the unread rest of the body must not be parsed as the next request.
        if (!res.headersSent) res.writeHead(413, { connection: 'close' }).end();
        return;
      }
      dispatcher.log(`HTTP pipeline error: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  server.on('close', () => workerAgent?.destroy());
  return server;

  /**
   * Streaming mode: the invocation and the forwarded request go out together, paired by invocation id.
   * A failed invocation ends the exchange (500 before the response started, a cut-off body after);
   * a failed relay is a 500 unless the response had started.
   */
  async function handleProxied(req: IncomingMessage, res: ServerResponse, route: HttpRoute, params: Record<string, string>, url: URL, target: URL, agent: Agent): Promise<void> {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > options.maxRequestBodyBytes) {
      req.resume();
      throw new RequestBodyTooLargeError();
    }
    const invocationId = randomUUID();
    let refused = false;
    const exchange = forwardToWorker(req, res, {
      workerUri: target,
      agent,
      invocationId,
      maxRequestBodyBytes: options.maxRequestBodyBytes,
      onBodyTooLarge: () => {
        refused = true;
        if (!res.headersSent) res.writeHead(413, { connection: 'close' }).end();
      },
    });
    // Awaited below either way; a rejection before then must not count as unhandled.
    exchange.relayed.catch(() => undefined);
    try {
      await dispatcher.invokeProxied(route, invocationId, proxiedTriggerMetadata(headerRecord(req), queryRecord(url), params));
    } catch {
      exchange.abort();
      if (refused) return;
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
      return;
    }
    try {
      await exchange.relayed;
    } catch {
      if (refused || res.writableEnded) return;
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    }
  }

  /** The host's admin API: master key first (401 without it, before any body is read), then the route. */
  async function handleAdmin(req: IncomingMessage, res: ServerResponse, method: string, url: URL): Promise<void> {
    const header = req.headers['x-functions-key'];
    const key = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('code') ?? '';
    if (!sameSecret(key, options.masterKey)) {
      req.resume();
      res.writeHead(401).end();
      return;
    }
    const invoke = method === 'POST' ? /^\/admin\/functions\/([^/]+)\/?$/i.exec(url.pathname) : null;
    if (invoke?.[1] === undefined) {
      req.resume();
      res.writeHead(404).end();
      return;
    }
    const text = (await readBody(req, options.maxRequestBodyBytes)).toString('utf8');
    let input: string | undefined;
    try {
      const parsed = text === '' ? {} : (JSON.parse(text) as { input?: unknown });
      input = typeof parsed.input === 'string' ? parsed.input : parsed.input === undefined ? undefined : JSON.stringify(parsed.input);
    } catch {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(dispatcher.invokeNonHttp(decodeURIComponent(invoke[1]), input) ? 202 : 404).end();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
    if (ADMIN_PATH.test(url.pathname)) {
      await handleAdmin(req, res, method, url);
      return;
    }
    const found = lookup(method, url.pathname);
    // Unmatched requests never reach a function: their bodies are discarded unread.
    if (found.kind === 'not-found') {
      req.resume();
      res.writeHead(404).end();
      return;
    }
    if (found.kind === 'method-not-allowed') {
      req.resume();
      res.writeHead(405, { allow: found.allow.join(', ') }).end();
      return;
    }
    if (workerUri !== undefined && workerAgent !== undefined) {
      await handleProxied(req, res, found.route, { ...found.params }, url, workerUri, workerAgent);
      return;
    }
    // Most requests (GETs) have no body: no await, so no extra turn of the microtask queue.
    const body = hasNoBody(req) ? (req.resume(), EMPTY) : await readBody(req, options.maxRequestBodyBytes);
    const rpcHttp: RpcHttpData = {
      method,
      url: url.href,
      headers: headerRecord(req),
      // A copy: the cached lookup is shared, the library hands `params` to the handler as is.
      params: { ...found.params },
      query: queryRecord(url),
      body: body.length > 0 ? { bytes: body } : null,
    };
    let response: RpcInvocationResponse;
    try {
      response = await dispatcher.invoke(found.route, rpcHttp);
    } catch {
      // The host answers a failed invocation with an empty 500 (details go to the log only).
      res.writeHead(500).end();
      return;
    }
    writeResponse(res, found.route, response);
  }
}

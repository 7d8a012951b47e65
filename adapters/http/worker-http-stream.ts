/**
 * The app's side of HTTP streaming (`app.setup({ enableHttpStream: true })`, see functions/app-start.ts).
 * In that mode the Functions host forwards every HTTP request to a server the `@azure/functions` library
 * runs in the worker (its `HttpUri` capability), and the library writes each handler's response there.
 * Two gaps of the library are closed here, for requests to that server only (identified by its port and
 * the host's `x-ms-invocation-id` header), through Node's `http.server.request.start` diagnostics
 * channel, which sees each request before the library's own request listener does:
 *
 * - **Backpressure.** The library writes a streamed body chunk after chunk without waiting for `drain`,
 *   so a producer faster than the client (a findings export read from storage, sent over a slow link)
 *   would pile the whole body up in the worker's memory. {@link pacedByWorkerProxy} holds each next
 *   chunk back until the response the library writes to has drained.
 * - **Fetch-forbidden methods.** The library builds a WHATWG `Request` from the forwarded request and
 *   throws for CONNECT, TRACE and TRACK before any handler runs (a bare 500). Such a request is handed
 *   on as a bodiless GET and its method kept for {@link takeProxiedForbiddenMethod} (see
 *   fetch-forbidden-methods.ts, which does the same for the non-streaming RPC path).
 */
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

const INVOCATION_ID_HEADER = 'x-ms-invocation-id';
const FETCH_FORBIDDEN_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'TRACE', 'TRACK']);

let proxyPort: number | undefined;
let subscribed = false;
/** Invocation id → the response the library writes that invocation's HTTP response to, until it closes. */
const responses = new Map<string, ServerResponse>();
/** Invocation id → the Fetch-forbidden method the client sent, until the function takes it. */
const forbiddenMethods = new Map<string, string>();

interface RequestStart {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly server: Server;
}

function onRequestStart(message: unknown): void {
  const { request, response, server } = message as RequestStart;
  const address = server.address();
  if (proxyPort === undefined || address === null || typeof address !== 'object' || address.port !== proxyPort) return;
  const invocationId = request.headers[INVOCATION_ID_HEADER];
  if (typeof invocationId !== 'string') return;
  responses.set(invocationId, response);
  response.once('close', () => {
    responses.delete(invocationId);
    forbiddenMethods.delete(invocationId);
  });
  const method = request.method?.toUpperCase();
  if (method !== undefined && FETCH_FORBIDDEN_METHODS.has(method)) {
    forbiddenMethods.set(invocationId, method);
    request.method = 'GET';
  }
}

/**
 * Starts watching the library's proxy server at `httpUri` (the `HttpUri` capability the library
 * reported to the host). Idempotent; the last URI wins (one worker, one proxy server).
 */
export function watchWorkerHttpProxy(httpUri: string): void {
  const port = Number(new URL(httpUri).port);
  if (!Number.isInteger(port) || port <= 0) return;
  proxyPort = port;
  if (subscribed) return;
  subscribed = true;
  subscribe('http.server.request.start', onRequestStart);
}

/** Resolves once the invocation's proxy response can take more (at once when it can, or when there is none). */
function drained(invocationId: string): Promise<void> | undefined {
  const response = responses.get(invocationId);
  if (response === undefined || !response.writableNeedDrain) return undefined;
  return new Promise<void>((resolve) => {
    const done = (): void => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

/**
 * The body, each chunk held back until the response the library writes it to has drained: the
 * producer then runs at the client's pace. Without HTTP streaming (no proxy response) it only passes
 * the chunks on.
 */
export async function* pacedByWorkerProxy(body: AsyncIterable<Uint8Array>, invocationId: string): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) {
    const wait = drained(invocationId);
    if (wait !== undefined) await wait;
    yield chunk;
  }
}

/** The Fetch-forbidden method the client sent with this proxied invocation, once; undefined otherwise. */
export function takeProxiedForbiddenMethod(invocationId: string): string | undefined {
  const method = forbiddenMethods.get(invocationId);
  forbiddenMethods.delete(invocationId);
  return method;
}

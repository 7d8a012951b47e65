/**
 * HTTP streaming (`app.setup({ enableHttpStream: true })`), as the Functions host does it: the library
 * answers the worker's capabilities with `HttpUri`, the URL of an HTTP server it runs itself. For each
 * request to an HTTP-triggered function the host then does two things at once (azure-functions-host
 * `DefaultHttpProxyService`, a YARP forwarder): it sends the invocation with an empty RPC `http` input
 * and the request's `Headers`, `Query` and route parameters as trigger metadata, and it forwards the
 * request itself (method, path and query, headers, body as a stream) to `HttpUri` with
 * `x-ms-invocation-id` and `X-Forwarded-Host`/`-Proto`/`-For`. The library pairs the two by invocation
 * id, builds the `HttpRequest` from the forwarded request (its body unread) and writes the handler's
 * response, status, headers and body chunk by chunk, to the forwarded request's response, which the
 * host copies to the client as it arrives. Nothing is buffered here: bodies are piped both ways with
 * backpressure.
 */
import { Agent, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import type { RpcTypedData } from './core-types.js';

/** Headers that belong to one connection (RFC 9110 §7.6.1); a proxy drops them, as YARP does. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'trailers', 'transfer-encoding', 'upgrade']);

/** Request headers the forwarder sets itself. */
const REPLACED = /^(?:host|x-ms-invocation-id|x-forwarded-(?:host|proto|for))$/i;

/** The forwarder's activity timeout (YARP `ActivityTimeout`, which the host sets to 240 s). */
export const PROXY_ACTIVITY_TIMEOUT_MS = 240_000;

/** The trigger metadata the host sends with a proxied HTTP invocation: headers, query, route parameters. */
export function proxiedTriggerMetadata(headers: Record<string, string>, query: Record<string, string>, params: Record<string, string>): Record<string, RpcTypedData> {
  const metadata: Record<string, RpcTypedData> = { Headers: { json: JSON.stringify(headers) }, Query: { json: JSON.stringify(query) } };
  for (const [name, value] of Object.entries(params)) metadata[name] = { string: value };
  return metadata;
}

function connectionTokens(value: string | string[] | undefined): Set<string> {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(joined.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t !== ''));
}

/** `[name, value, …]` without hop-by-hop headers (nor those named in `Connection`). */
function endToEnd(rawHeaders: readonly string[], connection: string | string[] | undefined): string[] {
  const named = connectionTokens(connection);
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    out.push(name, rawHeaders[i + 1] ?? '');
  }
  return out;
}

export interface ProxiedExchange {
  /** Settles when the worker's response has been relayed to the client completely (rejects when it was not). */
  readonly relayed: Promise<void>;
  /** Stops forwarding (the invocation failed or the request was refused): the worker's side is closed. */
  abort(): void;
}

export interface ForwardOptions {
  readonly workerUri: URL;
  readonly agent: Agent;
  readonly invocationId: string;
  /** Largest request body forwarded; past it `onBodyTooLarge` runs and forwarding stops. */
  readonly maxRequestBodyBytes: number;
  readonly onBodyTooLarge: () => void;
}

/**
 * Forwards the client's request to the worker's proxy server and relays the worker's response to the
 * client as it arrives (status and end-to-end headers first, then the body with backpressure).
 */
export function forwardToWorker(req: IncomingMessage, res: ServerResponse, options: ForwardOptions): ProxiedExchange {
  const { workerUri } = options;
  // End-to-end headers as sent. `Host` becomes the worker's (YARP's default), the original goes in
  // X-Forwarded-Host; the correlation and X-Forwarded-* headers are set here, replacing any the client sent.
  const pairs: string[] = [];
  const raw = endToEnd(req.rawHeaders, req.headers.connection);
  for (let i = 0; i + 1 < raw.length; i += 2) if (!REPLACED.test(raw[i] ?? '')) pairs.push(raw[i] ?? '', raw[i + 1] ?? '');
  pairs.push('x-ms-invocation-id', options.invocationId);
  pairs.push('x-forwarded-host', req.headers.host ?? `${workerUri.host}`);
  pairs.push('x-forwarded-proto', 'http');
  if (req.socket.remoteAddress !== undefined) pairs.push('x-forwarded-for', req.socket.remoteAddress);
  pairs.push('host', workerUri.host);

  const upstream = httpRequest({
    host: workerUri.hostname,
    port: workerUri.port,
    method: req.method,
    path: req.url,
    headers: pairs,
    agent: options.agent,
    timeout: PROXY_ACTIVITY_TIMEOUT_MS,
  });
  let settled = false;
  const relayed = new Promise<void>((resolve, reject) => {
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    upstream.on('timeout', () => upstream.destroy(new Error(`The worker did not answer within ${PROXY_ACTIVITY_TIMEOUT_MS} ms.`)));
    upstream.on('error', fail);
    upstream.on('response', (answer) => {
      // Already answered (a refused body): the worker's answer is dropped.
      if (res.headersSent) {
        upstream.destroy();
        return;
      }
      res.writeHead(answer.statusCode ?? 502, endToEnd(answer.rawHeaders, answer.headers.connection));
      pipeline(answer, res, (error) => {
        if (error !== undefined && error !== null) fail(error);
        else if (!settled) {
          settled = true;
          resolve();
        }
      });
    });
    // The client went away: stop reading from the worker (the library's writes then go nowhere).
    res.on('close', () => {
      if (!res.writableFinished) {
        upstream.destroy();
        fail(new Error('The client closed the connection before the response ended.'));
      }
    });
  });

  // The request body, streamed with backpressure and counted against the host's limit.
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > options.maxRequestBodyBytes) {
      req.pause();
      req.removeAllListeners('data');
      upstream.destroy();
      options.onBodyTooLarge();
      return;
    }
    if (!upstream.write(chunk)) {
      req.pause();
      upstream.once('drain', () => req.resume());
    }
  });
  req.on('end', () => upstream.end());

  return {
    relayed,
    abort() {
      upstream.destroy();
    },
  };
}

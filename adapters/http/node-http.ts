/**
 * Serves the API operations from a `node:http`/`node:https` server: the same `Operation.handle`
 * pipeline the Functions host calls, behind the OpenAPI-path router; what it does not match gets the
 * same answer as the host's catch-all function (`unmatched-route.ts`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ApiRuntime } from './api-runtime.js';
import { isStreamedBody, type ApiRequest, type Operation } from './operation.js';
import { createRouter } from './router.js';
import { handleUnmatchedRoute } from './unmatched-route.js';

export type NodeRequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export function createNodeRequestListener(operations: readonly Operation[], runtime: () => ApiRuntime | Promise<ApiRuntime>): NodeRequestListener {
  const router = createRouter(operations);
  return (req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
    const match = router.match(req.method ?? 'GET', url.pathname);
    void (async () => {
      try {
        const request: ApiRequest = {
          method: req.method ?? 'GET',
          url: url.toString(),
          headers: { get: (name) => { const v = req.headers[name.toLowerCase()]; return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v; } },
          params: match !== undefined && match !== 'method-not-allowed' ? match.params : {},
          body: req,
        };
        const rt = await runtime();
        const response = match !== undefined && match !== 'method-not-allowed' ? await match.operation.handle(request, rt) : await handleUnmatchedRoute(request, router, rt);
        res.writeHead(response.status, response.headers);
        if (isStreamedBody(response.body)) await pipeline(Readable.from(response.body), res);
        else res.end(response.body);
      } catch {
        // A stream that failed after its head was sent can only be cut off (the client sees a truncated body).
        if (res.headersSent) res.destroy();
        else res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: { code: 'InternalError', message: 'An unexpected error occurred.' } }));
      } finally {
        // A body the pipeline refused (413) or never read (unmatched route) may still be arriving; drain
        // it so the socket can be reused.
        if (!req.complete) req.resume();
      }
    })();
  };
}

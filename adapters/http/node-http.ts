/**
 * Serves the API operations from a `node:http`/`node:https` server: the same `Operation.handle`
 * pipeline the Functions host calls, behind the OpenAPI-path router.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ApiRuntime } from './api-runtime.js';
import type { Operation } from './operation.js';
import { createRouter } from './router.js';

export type NodeRequestListener = (req: IncomingMessage, res: ServerResponse) => void;

function notRouted(res: ServerResponse, status: 404 | 405): void {
  const body = JSON.stringify({ error: { code: status === 404 ? 'NotFound' : 'MethodNotAllowed', message: status === 404 ? 'No such route.' : 'Method not allowed on this route.' } });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-request-id': randomUUID(), 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
  res.end(body);
}

export function createNodeRequestListener(operations: readonly Operation[], runtime: () => ApiRuntime | Promise<ApiRuntime>): NodeRequestListener {
  const router = createRouter(operations);
  return (req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
    const match = router.match(req.method ?? 'GET', url.pathname);
    if (match === undefined || match === 'method-not-allowed') {
      req.resume();
      notRouted(res, match === undefined ? 404 : 405);
      return;
    }
    void (async () => {
      try {
        const response = await match.operation.handle(
          {
            method: req.method ?? 'GET',
            url: url.toString(),
            headers: { get: (name) => { const v = req.headers[name.toLowerCase()]; return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v; } },
            params: match.params,
            body: req,
          },
          await runtime(),
        );
        res.writeHead(response.status, response.headers);
        res.end(response.body);
      } catch {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ error: { code: 'InternalError', message: 'An unexpected error occurred.' } }));
      } finally {
        // A body the pipeline refused (413) may still be arriving; drain it so the socket can be reused.
        if (!req.complete) req.resume();
      }
    })();
  };
}

/**
 * Registers API operations with the Azure Functions v4 programming model. Each operation becomes one
 * anonymous HTTP function (authentication is ours, with Entra ID tokens) whose route is derived from
 * the OpenAPI path, so routes and document cannot disagree. One more function, a catch-all, answers
 * what no operation's route takes (`unmatched-route.ts`).
 */
import { app, output, trigger, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import type { ApiRuntime } from './api-runtime.js';
import type { Logger, LogProperties } from '../../application/logger.js';
import { redactProperties, redactSecrets } from './log-redaction.js';
import { isStreamedBody, type ApiRequest, type ApiResponse, type Operation, type StreamedBody } from './operation.js';
import { createRouter, type Router } from './router.js';
import { passFetchForbiddenMethodsTo, takeFetchForbiddenMethod } from './fetch-forbidden-methods.js';
import { handleUnmatchedRoute } from './unmatched-route.js';
import { pacedByWorkerProxy } from './worker-http-stream.js';

const registered: Operation[] = [];

/** Operations registered so far in this process (the contract test compares them with the document). */
export function registeredOperations(): readonly Operation[] {
  return registered;
}

/**
 * The body as a one-chunk stream. The library builds a web `Response` from what the handler returns and
 * reads it back with `arrayBuffer()`: from a `Uint8Array` that is a copy into undici's own byte stream,
 * then a second copy while reading; from a string, an encode and a copy. A plain stream of the bytes
 * costs one copy (the read) and less stream machinery. The chunk may be shared, memoized bytes: readers
 * copy it (`arrayBuffer()` concatenates) and never write to it. A string without a declared content type
 * stays a string, so the library still adds `text/plain;charset=UTF-8` for it.
 */
function bodyStream(body: string | Uint8Array | StreamedBody, headers: Readonly<Record<string, string>>, invocationId: string): string | ReadableStream<Uint8Array> {
  // Streamed bodies reach the client as produced (HTTP streaming), at the client's pace.
  if (isStreamedBody(body)) return ReadableStream.from(pacedByWorkerProxy(body, invocationId));
  if (typeof body === 'string' && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) return body;
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

/**
 * The invocation's logger (so lines carry the function name and invocation id). Whatever reaches it
 * is redacted once more: handlers outside the operation pipeline log through it too.
 */
function invocationLogger(context: InvocationContext): Logger {
  const write = (sink: (...args: unknown[]) => void) => (message: string, properties?: LogProperties) =>
    properties === undefined ? sink(redactSecrets(message)) : sink(redactSecrets(message), redactProperties(properties));
  return { info: write((...a) => context.log(...a)), warn: write((...a) => context.warn(...a)), error: write((...a) => context.error(...a)) };
}

function toApiRequest(request: HttpRequest): ApiRequest {
  return { method: request.method, url: request.url, headers: request.headers, params: request.params, body: request.body as AsyncIterable<Uint8Array> | null };
}

function toResponseInit(response: ApiResponse, context: InvocationContext): HttpResponseInit {
  return { status: response.status, headers: response.headers, ...(response.body !== undefined ? { body: bodyStream(response.body, response.headers, context.invocationId) } : {}) };
}

/**
 * Resolved once and kept: `runtime` usually lazy-imports the composition root, and a dynamic
 * `import()` per request goes through the module loader (and its hooks) every time. A failed build
 * is not kept, so the next request retries it.
 */
function memoRuntime(runtime: () => ApiRuntime | Promise<ApiRuntime>): () => ApiRuntime | Promise<ApiRuntime> {
  let resolved: ApiRuntime | undefined;
  return () => resolved ?? (async () => (resolved = await runtime()))();
}

export function registerOperations(operations: readonly Operation[], runtime: () => ApiRuntime | Promise<ApiRuntime>): void {
  const getRuntime = memoRuntime(runtime);
  for (const operation of operations) {
    registered.push(operation);
    app.http(operation.operationId, {
      methods: [operation.method],
      route: operation.route,
      authLevel: 'anonymous',
      handler: async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
        const pending = getRuntime();
        const base = pending instanceof Promise ? await pending : pending;
        return toResponseInit(await operation.handle(toApiRequest(request), { ...base, logger: invocationLogger(context) }), context);
      },
    });
  }
}

/**
 * Name of the catch-all function. The Functions host tries routes in the order of its function list,
 * which is by name rather than by how specific a route is (azure-functions-host#9876, #3153): a name
 * that sorts after every operation id keeps the catch-all last, so each operation's own function
 * serves it. Should the host ever hand the catch-all a routable request, it still serves it right
 * (`handleUnmatchedRoute` passes it to the operation).
 */
export const UNMATCHED_ROUTE_FUNCTION = 'zzUnmatchedRoute';

/**
 * Registers the catch-all HTTP function (`{*path}` under the route prefix, anonymous). It declares no
 * methods, so the host hands it every method (`app.http` could only list the library's eight): a
 * method no operation serves (PROPFIND, PURGE, TRACE …) reaches it and gets a 405 in the API's shape
 * instead of the host's bare answer. Fetch-forbidden methods (TRACE …) are passed through the library
 * by `fetch-forbidden-methods.ts`. Its router covers every operation registered in the process; it is
 * built at the first request, when every function file has been imported.
 */
export function registerUnmatchedRoute(runtime: () => ApiRuntime | Promise<ApiRuntime>): void {
  const getRuntime = memoRuntime(runtime);
  let router: Router | undefined;
  app.generic(UNMATCHED_ROUTE_FUNCTION, {
    trigger: trigger.generic({ type: 'httpTrigger', name: 'request', route: '{*path}', authLevel: 'anonymous' }),
    return: output.http({}),
    handler: async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
      router ??= createRouter(registered);
      const base = await getRuntime();
      const method = takeFetchForbiddenMethod(context.invocationId) ?? request.method;
      return toResponseInit(await handleUnmatchedRoute({ ...toApiRequest(request), method }, router, { ...base, logger: invocationLogger(context) }), context);
    },
  });
  passFetchForbiddenMethodsTo(UNMATCHED_ROUTE_FUNCTION);
}

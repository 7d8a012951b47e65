/**
 * Registers API operations with the Azure Functions v4 programming model. Each operation becomes one
 * anonymous HTTP function (authentication is ours, with Entra ID tokens) whose route is derived from
 * the OpenAPI path, so routes and document cannot disagree.
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import type { ApiRuntime } from './api-runtime.js';
import type { Operation } from './operation.js';

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
function bodyStream(body: string | Uint8Array, headers: Readonly<Record<string, string>>): string | ReadableStream<Uint8Array> {
  if (typeof body === 'string' && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) return body;
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

export function registerOperations(operations: readonly Operation[], runtime: () => ApiRuntime | Promise<ApiRuntime>): void {
  // Resolved once and kept: `runtime` usually lazy-imports the composition root, and a dynamic
  // `import()` per request goes through the module loader (and its hooks) every time. A failed build
  // is not kept, so the next request retries it.
  let resolved: ApiRuntime | undefined;
  const getRuntime = async (): Promise<ApiRuntime> => (resolved ??= await runtime());
  for (const operation of operations) {
    registered.push(operation);
    app.http(operation.operationId, {
      methods: [operation.method],
      route: operation.route,
      authLevel: 'anonymous',
      handler: async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
        const base = resolved ?? (await getRuntime());
        const response = await operation.handle(
          {
            method: request.method,
            url: request.url,
            headers: request.headers,
            params: request.params,
            body: request.body as AsyncIterable<Uint8Array> | null,
          },
          { ...base, logger: { error: (message, properties) => context.error(message, properties) } },
        );
        return { status: response.status, headers: response.headers, ...(response.body !== undefined ? { body: bodyStream(response.body, response.headers) } : {}) };
      },
    });
  }
}

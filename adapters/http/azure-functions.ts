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
        return { status: response.status, headers: response.headers, ...(response.body !== undefined ? { body: response.body } : {}) };
      },
    });
  }
}

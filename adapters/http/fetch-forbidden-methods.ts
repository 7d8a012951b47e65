/**
 * Requests the Functions Node.js library cannot hand to a function. The library builds each HTTP
 * trigger's request as a WHATWG `Request`, and the Fetch standard forbids the methods CONNECT, TRACE and
 * TRACK: the library throws ("'TRACE' HTTP method is unsupported") while preparing the invocation, before
 * any handler or hook runs, and the host answers a bare 500 without security headers or an audit record.
 *
 * For the catch-all function only, the invocation model is wrapped: such a request reaches the library
 * as a bodiless GET, and the catch-all reads the method actually sent with {@link takeFetchForbiddenMethod}
 * to refuse it in the API's error shape. The wrap uses the worker's `@azure/functions-core` API
 * (`getProgrammingModel`/`setProgrammingModel`, the contract between worker and library) and the RPC
 * invocation request's `http.method`. With HTTP streaming (which the app enables) the RPC `http` input is
 * empty and the request reaches the library over its proxy server instead: the wrapped `getCapabilities`
 * starts {@link watchWorkerHttpProxy} on that server, which does the same there.
 */
import { createRequire } from 'node:module';
import { takeProxiedForbiddenMethod, watchWorkerHttpProxy } from './worker-http-stream.js';

const FETCH_FORBIDDEN_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'TRACE', 'TRACK']);

interface RpcHttp {
  method?: string | null;
  body?: unknown;
}
interface CoreInvocationContext {
  readonly invocationId: string;
  readonly metadata?: { readonly name?: string | null } | null;
  readonly request: { readonly inputData?: readonly ({ readonly data?: { readonly http?: RpcHttp | null } | null } | null)[] | null };
}
interface ProgrammingModel {
  readonly name: string;
  readonly version: string;
  getInvocationModel(context: CoreInvocationContext): unknown;
  getCapabilities(capabilities: unknown): unknown;
}
interface CoreApi {
  getProgrammingModel(): ProgrammingModel | undefined;
  setProgrammingModel(model: ProgrammingModel): void;
}

/** Invocation id → the method the client sent, from the wrap until the catch-all takes it. */
const sentMethods = new Map<string, string>();

/**
 * Wraps the programming model the library registered so requests with a Fetch-forbidden method reach
 * `functionName`. Call after that function is registered (the library sets its model at the first
 * registration). Outside a Functions worker (no `@azure/functions-core`) there is nothing to wrap.
 */
export function passFetchForbiddenMethodsTo(functionName: string): void {
  let core: CoreApi;
  try {
    core = createRequire(import.meta.url)('@azure/functions-core') as CoreApi;
  } catch {
    return;
  }
  const model = core.getProgrammingModel();
  if (model === undefined) return;
  core.setProgrammingModel({
    name: model.name,
    version: model.version,
    async getCapabilities(capabilities) {
      const answer = (await model.getCapabilities(capabilities)) as Record<string, unknown> | undefined;
      const httpUri = answer?.['HttpUri'];
      if (typeof httpUri === 'string') watchWorkerHttpProxy(httpUri);
      return answer;
    },
    getInvocationModel(context) {
      if (context.metadata?.name === functionName) {
        for (const input of context.request.inputData ?? []) {
          const http = input?.data?.http;
          const method = http?.method?.toUpperCase();
          if (http === undefined || http === null || method === undefined || !FETCH_FORBIDDEN_METHODS.has(method)) continue;
          sentMethods.set(context.invocationId, method);
          http.method = 'GET';
          http.body = null;
        }
      }
      return model.getInvocationModel(context);
    },
  });
}

/** The Fetch-forbidden method the client sent with this invocation, once; undefined for any other request. */
export function takeFetchForbiddenMethod(invocationId: string): string | undefined {
  const method = sentMethods.get(invocationId);
  sentMethods.delete(invocationId);
  return method ?? takeProxiedForbiddenMethod(invocationId);
}

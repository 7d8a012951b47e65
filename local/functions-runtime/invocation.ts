/**
 * One invocation, in the order the real worker runs it (azure-functions-nodejs-worker
 * `eventHandlers/InvocationHandler.ts`): the registered programming model (the `@azure/functions`
 * library) builds the invocation model from an RPC-shaped request, `getArguments()` converts the RPC
 * input into `HttpRequest`/`InvocationContext`, `invokeFunction()` calls the handler, and
 * `getResponse()` converts the result back to RPC typed data. (Invocation and log hooks are not run:
 * core-api.ts refuses to register them.)
 */
import { randomFillSync, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { coreState, CoreSystemError, type FunctionRegistration } from './core-api.js';
import type { CoreInvocationContext, RpcInvocationRequest, RpcInvocationResponse, RpcLogCategory, RpcLogLevel } from './core-types.js';

export interface HostLogEntry {
  readonly level: RpcLogLevel;
  /** `host`: this runtime; `system`: the worker/library; `user`: `context.log` from a function. */
  readonly category: 'host' | RpcLogCategory;
  readonly message: string;
  readonly functionName?: string | undefined;
  readonly invocationId?: string | undefined;
}

export type HostLogger = (entry: HostLogEntry) => void;

/**
 * Prints like the Functions CLI (timestamped lines, debug/trace hidden); logs written during an
 * invocation carry the function name so interleaved invocations stay readable.
 */
export const consoleLogger: HostLogger = (entry) => {
  if (entry.level === 'debug' || entry.level === 'trace' || entry.level === 'none') return;
  const scope = entry.category !== 'host' && entry.functionName !== undefined ? `[${entry.functionName}] ` : '';
  const line = `[${new Date().toISOString()}] ${scope}${entry.message}`;
  if (entry.level === 'error' || entry.level === 'critical') console.error(line);
  else if (entry.level === 'warning') console.warn(line);
  else console.log(line);
};

export interface InvocationInput {
  readonly inputData: NonNullable<RpcInvocationRequest['inputData']>;
  readonly triggerMetadata?: RpcInvocationRequest['triggerMetadata'];
  readonly retryContext?: RpcInvocationRequest['retryContext'];
  /** Shown in the "Executing" log line, like the host's trigger reasons. */
  readonly reason: string;
  /**
   * Set by the caller when something else must carry the same id: with HTTP streaming the host sends it
   * as `x-ms-invocation-id` on the request it proxies to the worker. Default: a new UUID.
   */
  readonly invocationId?: string;
}

export class FunctionInvocationError extends Error {
  readonly functionName: string;
  readonly invocationId: string;
  constructor(functionName: string, invocationId: string, cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(`Exception while executing function: Functions.${functionName}. ${message}`, { cause });
    this.name = 'FunctionInvocationError';
    this.functionName = functionName;
    this.invocationId = invocationId;
  }
}

// Random bytes for W3C trace ids, filled in blocks: one `randomFillSync` per 170 invocations instead of
// two UUIDs (and two regex replaces) per invocation.
const traceBytes = Buffer.alloc(24 * 170);
let traceOffset = traceBytes.length;

/** `00-<32 hex trace id>-<16 hex parent id>-01`, like the host's W3C trace context. */
function newTraceParent(): string {
  if (traceOffset + 24 > traceBytes.length) {
    randomFillSync(traceBytes);
    traceOffset = 0;
  }
  const start = traceOffset;
  traceOffset += 24;
  return `00-${traceBytes.toString('hex', start, start + 16)}-${traceBytes.toString('hex', start + 16, start + 24)}-01`;
}

type InvocationMetadata = CoreInvocationContext['metadata'];
const metadataByRegistration = new WeakMap<FunctionRegistration, InvocationMetadata>();

/**
 * The function's metadata, built once per registration: like the worker, which hands every invocation
 * the metadata object it loaded the function with (the library only reads it).
 */
function metadataOf(registration: FunctionRegistration): InvocationMetadata {
  let metadata = metadataByRegistration.get(registration);
  if (metadata === undefined) {
    metadata = {
      name: registration.name,
      functionId: registration.functionId,
      bindings: { ...registration.bindings },
      rawBindings: [...registration.rawBindings],
      scriptFile: registration.entry ?? 'n/a',
    };
    metadataByRegistration.set(registration, metadata);
  }
  return metadata;
}

/**
 * Invokes a registered function through the library's programming model and returns the RPC response.
 * Throws {@link FunctionInvocationError} when the handler fails, as the host then records
 * the invocation as failed.
 */
export async function invokeFunction(
  registration: FunctionRegistration,
  input: InvocationInput,
  logger: HostLogger,
): Promise<RpcInvocationResponse> {
  const state = coreState();
  const programmingModel = state.programmingModel;
  if (programmingModel === undefined) throw new CoreSystemError('No programming model was registered; is the app using "@azure/functions" v4?');
  const invocationId = input.invocationId ?? randomUUID();
  const name = registration.name;
  const started = performance.now();
  logger({ level: 'information', category: 'host', functionName: name, invocationId, message: `Executing 'Functions.${name}' (Reason='${input.reason}', Id=${invocationId})` });

  const coreCtx: CoreInvocationContext = {
    invocationId,
    request: {
      invocationId,
      functionId: registration.functionId,
      inputData: input.inputData,
      triggerMetadata: input.triggerMetadata ?? {},
      traceContext: { traceParent: newTraceParent(), traceState: '', attributes: {} },
      retryContext: input.retryContext ?? null,
    },
    metadata: metadataOf(registration),
    log(level, category, message) {
      logger({ level, category, message, functionName: name, invocationId });
    },
  };

  try {
    const invocationModel = await programmingModel.getInvocationModel(coreCtx);
    const { context, inputs } = await invocationModel.getArguments();
    const result = await invocationModel.invokeFunction(context, inputs, registration.callback);
    const response = await invocationModel.getResponse(context, result);
    const duration = Math.round(performance.now() - started);
    logger({ level: 'information', category: 'host', functionName: name, invocationId, message: `Executed 'Functions.${name}' (Succeeded, Id=${invocationId}, Duration=${duration}ms)` });
    return response;
  } catch (error) {
    const duration = Math.round(performance.now() - started);
    const failure = new FunctionInvocationError(name, invocationId, error);
    logger({ level: 'error', category: 'host', functionName: name, invocationId, message: `Executed 'Functions.${name}' (Failed, Id=${invocationId}, Duration=${duration}ms)` });
    logger({ level: 'error', category: 'host', functionName: name, invocationId, message: error instanceof Error && error.stack !== undefined ? `${failure.message}\n${error.stack}` : failure.message });
    throw failure;
  }
}

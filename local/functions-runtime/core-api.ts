/**
 * The worker side of `@azure/functions-core`, provided the way the real Node.js worker does it
 * (azure-functions-nodejs-worker `src/setupCoreModule.ts`): `Module.prototype.require` is proxied so that
 * `require('@azure/functions-core')` returns this object. The `@azure/functions` library requires it
 * lazily on its first `app.*` / `app.hook.*` call and caches the answer for the life of the process, so
 * {@link installCoreModule} must run before the app's entry files are imported.
 *
 * Hooks: only `appStart` runs (the app registers that one, to check its configuration before serving).
 * Registering another hook (`appTerminate`, `preInvocation`, `postInvocation`, `log`) fails at once with
 * a clear message instead of being ignored.
 *
 * State lives on `globalThis` under a registered symbol: the library's own state is per process, and a
 * second copy of this file (e.g. loaded once by tsx and once by a test runner) must see the same registry.
 */
import Module from 'node:module';
import type { Disposable as DisposableLike, FunctionCallback, FunctionMetadata, ProgrammingModel, RpcBindingInfo, RpcLogCategory, RpcLogLevel } from './core-types.js';

type HookCallback = (context: Record<string, unknown>) => unknown;

/** Worker version this shim claims: the v4 library only checks that `log` exists (host ≥ 4.28). */
export const CORE_VERSION = '3.10.1-local';
/** Functions host version reported to the library. */
export const HOST_VERSION = '4.1000.0-local';

/** One function registered through `registerFunction`, with the metadata exactly as the library built it. */
export interface FunctionRegistration {
  readonly name: string;
  readonly functionId: string;
  /** Binding name → binding info (`type`, `direction`, trigger options such as `route` or `queueName`). */
  readonly bindings: Readonly<Record<string, RpcBindingInfo>>;
  /** What the worker sends the host: one JSON string per binding, `name` included. */
  readonly rawBindings: readonly string[];
  readonly retryOptions: unknown;
  /** Absolute path of the entry file whose import registered it (undefined if registered outside one). */
  readonly entry: string | undefined;
  readonly callback: FunctionCallback;
}

export interface CoreLogEntry {
  readonly level: RpcLogLevel;
  readonly category: RpcLogCategory;
  readonly message: string;
  readonly functionName?: string;
  readonly invocationId?: string;
}

interface CoreState {
  readonly functions: Map<string, FunctionRegistration>;
  readonly appStartHooks: HookCallback[];
  programmingModel: ProgrammingModel | undefined;
  currentEntry: string | undefined;
  /** Like the worker's `hasFinishedStartup`: set while a host runs, registration then throws. */
  startupFinished: boolean;
  logSink: (entry: CoreLogEntry) => void;
  installed: boolean;
}

const STATE_KEY = Symbol.for('arc-compliance.local.functions-core');

function consoleSink(entry: CoreLogEntry): void {
  if (entry.level === 'debug' || entry.level === 'trace' || entry.level === 'none') return;
  const line = `[${new Date().toISOString()}] ${entry.message}`;
  if (entry.level === 'error' || entry.level === 'critical') console.error(line);
  else if (entry.level === 'warning') console.warn(line);
  else console.log(line);
}

/** The process-wide core state (created on first use). */
export function coreState(): CoreState {
  const holder = globalThis as unknown as Record<symbol, CoreState | undefined>;
  let state = holder[STATE_KEY];
  if (state === undefined) {
    state = {
      functions: new Map(),
      appStartHooks: [],
      programmingModel: undefined,
      currentEntry: undefined,
      startupFinished: false,
      logSink: consoleSink,
      installed: false,
    };
    holder[STATE_KEY] = state;
  }
  return state;
}

class Disposable implements DisposableLike {
  static from(...likes: { dispose: () => unknown }[]): Disposable {
    return new Disposable(() => {
      for (const like of likes) like.dispose();
    });
  }
  #callOnDispose: (() => unknown) | undefined;
  constructor(callOnDispose: () => unknown) {
    this.#callOnDispose = callOnDispose;
  }
  dispose(): unknown {
    const call = this.#callOnDispose;
    this.#callOnDispose = undefined;
    return call?.();
  }
}

/** Error type the worker uses for system errors; the library recognises the flag in its messages. */
export class CoreSystemError extends Error {
  readonly isAzureFunctionsSystemError = true;
  constructor(message: string) {
    super(message);
    this.name = 'AzFuncSystemError';
  }
}

function registerFunction(metadata: FunctionMetadata, callback: FunctionCallback): Disposable {
  const state = coreState();
  if (state.startupFinished) throw new CoreSystemError('A function can only be registered during app startup.');
  if (typeof metadata?.name !== 'string' || metadata.name === '') throw new CoreSystemError('Function metadata needs a name.');
  if (state.functions.has(metadata.name)) {
    throw new CoreSystemError(`A function named "${metadata.name}" is already registered; function names must be unique within the app.`);
  }
  const registration: FunctionRegistration = {
    name: metadata.name,
    functionId: metadata.functionId ?? metadata.name,
    bindings: metadata.bindings,
    // Same shape the worker hands the host (see worker `coreApi/registerFunction.ts`).
    rawBindings: Object.entries(metadata.bindings).map(([name, binding]) => JSON.stringify({ ...binding, name })),
    retryOptions: metadata.retryOptions,
    entry: state.currentEntry,
    callback,
  };
  state.functions.set(metadata.name, registration);
  return new Disposable(() => {
    if (state.startupFinished) throw new CoreSystemError('A function can only be disposed during app startup.');
    state.functions.delete(metadata.name);
  });
}

function registerHook(hookName: string, callback: HookCallback): Disposable {
  if (hookName !== 'appStart') throw new CoreSystemError(`"${hookName}" hooks are not supported by the local runtime (it runs appStart hooks only).`);
  const hooks = coreState().appStartHooks;
  hooks.push(callback);
  return new Disposable(() => {
    const at = hooks.indexOf(callback);
    if (at >= 0) hooks.splice(at, 1);
  });
}

/** The object `require('@azure/functions-core')` returns. */
const coreApi = {
  version: CORE_VERSION,
  get hostVersion(): string {
    return HOST_VERSION;
  },
  registerFunction,
  registerHook,
  setProgrammingModel(model: ProgrammingModel): void {
    const state = coreState();
    if (state.programmingModel !== undefined) {
      state.logSink({ level: 'information', category: 'system', message: `Setting Node.js programming model to "${model.name}" version "${model.version}"` });
    }
    state.programmingModel = model;
  },
  getProgrammingModel(): ProgrammingModel | undefined {
    return coreState().programmingModel;
  },
  log(level: RpcLogLevel, category: RpcLogCategory, message: string): void {
    coreState().logSink({ level, category, message });
  },
  Disposable,
};

/**
 * Makes `require('@azure/functions-core')` resolve to this runtime. Idempotent. Must run before the
 * first `app.*` call of the library, since the library caches a failed lookup ("test mode") for good.
 */
export function installCoreModule(): void {
  const state = coreState();
  if (state.installed) return;
  const proto = (Module as unknown as { prototype: { require: (id: string) => unknown } }).prototype;
  proto.require = new Proxy(proto.require, {
    apply(target, thisArg, args: unknown[]) {
      if (args[0] === '@azure/functions-core') return coreApi;
      return Reflect.apply(target, thisArg, args) as unknown;
    },
  });
  state.installed = true;
}

/**
 * Runs the `appStart` hooks in registration order; a throwing hook stops the chain and fails the start,
 * as in the worker. The library's `AppStartContext` wraps this object (its `hookData` is per start).
 */
export async function runAppStartHooks(functionAppDirectory: string): Promise<void> {
  const context = { hookData: {}, functionAppDirectory };
  for (const callback of coreState().appStartHooks) await callback(context);
}

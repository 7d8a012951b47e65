/**
 * The local development host: loads the app's entry files under the `@azure/functions-core` shim,
 * indexes the registered functions (HTTP routes, queue triggers, timer schedules), runs `appStart`
 * hooks, then serves HTTP, polls queues and fires timers. Settings come from `process.env`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isIPv6, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { QueueClient } from '@azure/storage-queue';
import { coreState, installCoreModule, runAppStartHooks, type CoreLogEntry, type FunctionRegistration } from './core-api.js';
import type { RpcInvocationResponse } from './core-types.js';
import { loadEntryFiles, resolveEntryFiles } from './entry-points.js';
import { loadHostOptions, resolveStorageConnection } from './host-options.js';
import { buildRoutes, createHttpServer, type HttpRoute } from './http-listener.js';
import { consoleLogger, invokeFunction, type HostLogger, type InvocationInput } from './invocation.js';
import { applyOutputBindings, hasNonHttpOutputs, normalizeQueueName } from './output-bindings.js';
import { DEFAULT_PROCESSING_VISIBILITY_SECONDS, QueueListener } from './queue-listener.js';
import { memoryScheduleMonitor, TimerListener, type ScheduleMonitor } from './timer-listener.js';
import { parseSchedule } from './timer-schedule.js';

export interface FunctionsHostOptions {
  /** Entry files or globs relative to `appRoot`; default package.json `main` (its TS sources when present). */
  readonly entry?: string | readonly string[];
  /** Function app directory. Default `process.cwd()`. */
  readonly appRoot?: string;
  /** host.json as an object or a path; default `<appRoot>/host.json` when it exists. */
  readonly hostJson?: object | string;
  /** Listening port; default `PORT` or 7071; 0 picks a free port. */
  readonly port?: number;
  /**
   * Interface to bind; default `127.0.0.1` (loopback only). `0.0.0.0` exposes the HTTP functions and
   * the admin API to the network: opt in explicitly.
   */
  readonly hostname?: string;
  /**
   * The master key the admin API (`/admin/*`) requires in `x-functions-key`; default the
   * `LOCAL_FUNCTIONS_MASTER_KEY` setting, else a random key generated at start. An empty key fails the start.
   */
  readonly masterKey?: string;
  /**
   * Largest request body (admin API and HTTP triggers), in bytes; default the host's
   * `FUNCTIONS_REQUEST_BODY_SIZE_LIMIT` setting, else 104857600 (100 MB, the Functions host default).
   */
  readonly maxRequestBodyBytes?: number;
  /**
   * How long a dequeued message stays invisible while its function runs (renewed at half-time), in
   * seconds: after a crash, its message is received again this long after it was last renewed.
   * Default the `LOCAL_QUEUE_PROCESSING_VISIBILITY_SECONDS` setting, else 600 (the queue extension's
   * 10 minutes). Tests and crash drills shorten it.
   */
  readonly queueProcessingVisibilitySeconds?: number;
  /** Local-only: timer functions to run once right after start (in the background). */
  readonly runTimersOnStart?: readonly string[];
  readonly logger?: HostLogger;
  /** Where monitored timers record their schedule status; default in memory for this process. */
  readonly scheduleMonitor?: ScheduleMonitor;
}

export interface RunningFunctionsHost {
  /** Base URL, e.g. `http://127.0.0.1:7071` (routes live under `/<routePrefix>/`). */
  readonly url: string;
  readonly port: number;
  /** The interface the host listens on (`127.0.0.1` unless another was asked for). */
  readonly hostname: string;
  /** The master key `/admin/*` requests must send as `x-functions-key`. */
  readonly masterKey: string;
  /** The request body limit in force (bytes). */
  readonly maxRequestBodyBytes: number;
  readonly routePrefix: string;
  readonly registrations: readonly FunctionRegistration[];
  /** The library's HTTP proxy server (`HttpUri`) when the app enabled HTTP streaming; undefined otherwise. */
  readonly workerHttpUri: string | undefined;
  /** Runs a timer function now, as a schedule tick would; rejects if the invocation fails. */
  invokeTimer(name: string): Promise<void>;
  stop(): Promise<void>;
}

export class FunctionIndexingError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`The function app could not be indexed:\n  ${problems.join('\n  ')}`);
    this.name = 'FunctionIndexingError';
  }
}

const processMonitor = memoryScheduleMonitor();

/** The Functions host's default request body limit (`FUNCTIONS_REQUEST_BODY_SIZE_LIMIT` unset): 100 MB. */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 104_857_600;

/** The body limit: the option, else the host's app setting, else the host default; invalid values fail the start. */
function requestBodyLimit(option: number | undefined): number {
  const raw = option ?? process.env['FUNCTIONS_REQUEST_BODY_SIZE_LIMIT'];
  if (raw === undefined || raw === '') return DEFAULT_MAX_REQUEST_BODY_BYTES;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`FUNCTIONS_REQUEST_BODY_SIZE_LIMIT must be a number of bytes (got '${String(raw)}').`);
  return value;
}

/** Longest visibility timeout Azure Storage accepts (7 days). */
const MAX_VISIBILITY_SECONDS = 604_800;

/** The processing visibility: the option, else the local setting, else the extension's 10 minutes; invalid values fail the start. */
function processingVisibility(option: number | undefined): number {
  const raw = option ?? process.env['LOCAL_QUEUE_PROCESSING_VISIBILITY_SECONDS'];
  if (raw === undefined || raw === '') return DEFAULT_PROCESSING_VISIBILITY_SECONDS;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_VISIBILITY_SECONDS) {
    throw new Error(`LOCAL_QUEUE_PROCESSING_VISIBILITY_SECONDS must be a whole number of seconds from 1 to ${MAX_VISIBILITY_SECONDS} (got '${String(raw)}').`);
  }
  return value;
}

/** How a bound interface is written in a URL: wildcard binds are reached through localhost. */
function urlHost(hostname: string): string {
  if (hostname === '0.0.0.0' || hostname === '::') return 'localhost';
  return isIPv6(hostname) ? `[${hostname}]` : hostname;
}

function triggerOf(registration: FunctionRegistration): [string, Record<string, unknown>] | undefined {
  const found = Object.entries(registration.bindings).find(([, b]) => b.direction === 'in' && /trigger$/i.test(b.type ?? ''));
  return found;
}

/** Starts the host. Only one host runs per process (the library's registry is process-wide). */
export async function startFunctionsHost(options: FunctionsHostOptions = {}): Promise<RunningFunctionsHost> {
  const logger = options.logger ?? consoleLogger;
  const appRoot = resolve(options.appRoot ?? process.cwd());
  installCoreModule();
  const state = coreState();
  if (state.startupFinished) throw new Error('A local Functions host is already running in this process; stop it first.');
  const previousSink = state.logSink;
  state.logSink = (entry: CoreLogEntry) => logger(entry);
  try {
    return await startIndexedHost(options, logger, appRoot, previousSink);
  } catch (error) {
    state.logSink = previousSink;
    throw error;
  }
}

/** Everything after the log sink is routed to the host's logger; failures restore it in the caller. */
async function startIndexedHost(
  options: FunctionsHostOptions,
  logger: HostLogger,
  appRoot: string,
  previousSink: (entry: CoreLogEntry) => void,
): Promise<RunningFunctionsHost> {
  const state = coreState();
  const defaultHostJson = join(appRoot, 'host.json');
  const hostOptions = loadHostOptions(options.hostJson ?? (existsSync(defaultHostJson) ? defaultHostJson : undefined));
  const processingVisibilitySeconds = processingVisibility(options.queueProcessingVisibilitySeconds);
  const registrations = await loadEntryFiles(resolveEntryFiles({ entry: options.entry, appRoot }));

  // Indexing: every binding problem is collected so one start reports all of them.
  const problems: string[] = [];
  const queueListeners: QueueListener[] = [];
  const timers = new Map<string, TimerListener>();
  const clients = new Map<string, QueueClient>();
  const monitor = options.scheduleMonitor ?? processMonitor;
  let routes: HttpRoute[] = [];
  try {
    routes = buildRoutes(registrations);
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }

  const invoke = async (registration: FunctionRegistration, input: InvocationInput): Promise<RpcInvocationResponse> => {
    const response = await invokeFunction(registration, input, logger);
    if (!hasNonHttpOutputs(registration)) return response;
    try {
      await applyOutputBindings(registration, response, { queues: hostOptions.queues, clients });
    } catch (error) {
      logger({ level: 'error', category: 'host', functionName: registration.name, message: `Output binding of 'Functions.${registration.name}' failed: ${error instanceof Error ? error.message : String(error)}` });
      throw error;
    }
    return response;
  };

  for (const registration of registrations) {
    const trigger = triggerOf(registration);
    if (trigger === undefined) continue;
    const [triggerName, binding] = trigger;
    const type = String(binding['type']).toLowerCase();
    try {
      if (type === 'queuetrigger') {
        const queueName = normalizeQueueName(binding['queueName']);
        const connectionString = resolveStorageConnection(binding['connection']);
        queueListeners.push(new QueueListener({ registration, triggerName, queueName, connectionString }, hostOptions.queues, { invoke, log: logger, clients, processingVisibilitySeconds }));
      } else if (type === 'timertrigger') {
        const schedule = parseSchedule(String(binding['schedule'] ?? ''));
        const useMonitor = typeof binding['useMonitor'] === 'boolean' ? binding['useMonitor'] : schedule.monitoredByDefault;
        timers.set(
          registration.name,
          new TimerListener({ registration, triggerName, schedule, runOnStartup: binding['runOnStartup'] === true, useMonitor }, { invoke, log: logger, monitor }),
        );
      } else if (type !== 'httptrigger') {
        problems.push(`Functions.${registration.name}: trigger type '${String(binding['type'])}' is not supported by the local runtime.`);
      }
      // Fail at start rather than at the first invocation for bindings this runtime cannot execute.
      for (const [name, other] of Object.entries(registration.bindings)) {
        const otherType = (other.type ?? '').toLowerCase();
        if (name === triggerName || (other.direction === 'out' && (otherType === 'http' || otherType === 'queue'))) continue;
        problems.push(`Functions.${registration.name}: ${other.direction ?? 'in'} binding '${name}' of type '${String(other.type)}' is not supported by the local runtime.`);
      }
    } catch (error) {
      problems.push(`Error indexing method 'Functions.${registration.name}': ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  for (const name of options.runTimersOnStart ?? []) {
    if (!timers.has(name)) problems.push(`runTimersOnStart: '${name}' is not a timer-triggered function.`);
  }
  if (problems.length > 0) throw new FunctionIndexingError(problems);

  const hostname = options.hostname ?? '127.0.0.1';
  const masterKey = options.masterKey ?? (process.env['LOCAL_FUNCTIONS_MASTER_KEY'] || randomBytes(32).toString('base64url'));
  // An empty key would be matched by a request sending none (no header, no `?code=`): the admin API open to all.
  if (masterKey === '') throw new Error('The master key must not be empty (leave masterKey unset for a random one).');
  const maxRequestBodyBytes = requestBodyLimit(options.maxRequestBodyBytes);

  // Startup is over: no more registrations, setup locked (as after the worker's init), then appStart.
  state.startupFinished = true;
  let workerHttpUri: string | undefined;
  try {
    // The worker's init answer: with `app.setup({ enableHttpStream: true })` the library starts its HTTP
    // proxy server and names it in `HttpUri`; HTTP functions are then served through it, as the host does.
    const capabilities = await state.programmingModel?.getCapabilities?.({});
    workerHttpUri = capabilities?.['HttpUri'];
  } catch (error) {
    state.startupFinished = false;
    throw error;
  }
  const server = createHttpServer(routes, hostOptions.routePrefix, {
    invoke: (route, rpcHttp) =>
      invoke(route.registration, {
        inputData: [{ name: route.triggerName, data: { http: rpcHttp } }],
        triggerMetadata: {},
        reason: 'This function was programmatically called via the host APIs.',
      }),
    // As the host sends a proxied invocation: the RPC `http` input is empty (the request travels over
    // the proxy), its headers, query and route parameters come as trigger metadata.
    invokeProxied: (route, invocationId, triggerMetadata) =>
      invoke(route.registration, {
        inputData: [{ name: route.triggerName, data: { http: {} } }],
        triggerMetadata,
        invocationId,
        reason: 'This function was programmatically called via the host APIs.',
      }),
    invokeNonHttp: (name, input) => {
      const timer = timers.get(name);
      if (timer !== undefined) {
        void timer.invokeNow().catch(() => undefined);
        return true;
      }
      const listener = queueListeners.find((q) => q.functionName === name);
      if (listener === undefined) return false;
      void listener.invokeDirect(input ?? '').catch(() => undefined);
      return true;
    },
    log: (message) => logger({ level: 'error', category: 'host', message }),
  }, { masterKey, maxRequestBodyBytes, workerHttpUri });
  const started: { timers: TimerListener[]; queues: QueueListener[] } = { timers: [], queues: [] };
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled([...started.timers.map((t) => t.stop()), ...started.queues.map((q) => q.stop())]);
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  };
  try {
    await runAppStartHooks(appRoot);
    const port = options.port ?? (process.env['PORT'] !== undefined ? Number(process.env['PORT']) : 7071);
    await new Promise<void>((listening, failed) => {
      server.once('error', failed);
      server.listen({ port, host: hostname }, () => {
        server.off('error', failed);
        listening();
      });
    });
    for (const timer of timers.values()) {
      await timer.start();
      started.timers.push(timer);
    }
    for (const listener of queueListeners) {
      listener.start();
      started.queues.push(listener);
    }
  } catch (error) {
    await stopAll();
    state.startupFinished = false;
    throw error;
  }

  const port = (server.address() as AddressInfo).port;
  const url = `http://${urlHost(hostname)}:${port}`;
  const lines = registrations.map((r) => {
    const route = routes.find((x) => x.registration === r);
    if (route !== undefined) {
      const methods = route.methods === undefined ? 'ALL' : [...route.methods].join(',');
      return `        ${r.name}: [${methods}] ${url}/${[hostOptions.routePrefix, route.route.template].filter((p) => p !== '').join('/')}`;
    }
    return `        ${r.name}: ${String(triggerOf(r)?.[1]['type'])}`;
  });
  logger({ level: 'information', category: 'host', message: `Functions:\n${lines.join('\n')}` });
  if (hostname !== '127.0.0.1' && hostname !== '::1' && hostname !== 'localhost') {
    logger({ level: 'warning', category: 'host', message: `Listening on ${hostname}: the HTTP functions and the admin API (master key required) are reachable from other machines.` });
  }

  for (const name of options.runTimersOnStart ?? []) {
    void timers.get(name)?.invokeNow().catch(() => undefined);
  }

  let stopped = false;
  return {
    url,
    port,
    hostname,
    masterKey,
    maxRequestBodyBytes,
    routePrefix: hostOptions.routePrefix,
    registrations,
    workerHttpUri,
    async invokeTimer(name: string): Promise<void> {
      const timer = timers.get(name);
      if (timer === undefined) throw new Error(`'${name}' is not a timer-triggered function of this app.`);
      await timer.invokeNow();
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      await stopAll();
      state.startupFinished = false;
      state.logSink = previousSink;
    },
  };
}

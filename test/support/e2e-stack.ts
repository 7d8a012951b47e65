/**
 * End-to-end harness for whole evaluation runs: one local stack per test file (in-process Azurite,
 * the ARM emulator on the demo fleet, the local Functions runtime running the real `functions/*.ts`),
 * a test host.json with quick queue retries, API calls with real tokens, bounded waits for runs, and
 * raw access to the tables and queues for comparisons.
 */
import { QueueClient } from '@azure/storage-queue';
import { TableClient, TableServiceClient, type TableEntity } from '@azure/data-tables';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/local-stack.js';
import type { HostLogEntry } from '../../local/functions-runtime/index.js';
import type { FleetCluster } from '../../local/arm-emulator/fleet-model.js';
import { MAX_DEQUEUE_COUNT, QUEUES } from '../../application/messages.js';
import type { EvaluationView } from '../../application/compliance-query-service.js';

/**
 * Quick retries and poison behaviour. `maxDequeueCount` must equal `MAX_DEQUEUE_COUNT`: the collector
 * records a failed subscription on that attempt, the host poisons the message on its own setting.
 */
export const E2E_HOST_JSON = {
  version: '2.0',
  extensions: {
    http: { routePrefix: 'api' },
    queues: { batchSize: 16, maxPollingInterval: '00:00:00.5', visibilityTimeout: '00:00:01', maxDequeueCount: MAX_DEQUEUE_COUNT, messageEncoding: 'base64' },
  },
};

export const TERMINAL = new Set(['succeeded', 'partial', 'failed']);

export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export interface E2eStack {
  readonly stack: LocalStack;
  readonly logs: HostLogEntry[];
  /** GET (or another method) under `/api`, with a token holding every read role. */
  api<T = unknown>(path: string, init?: { method?: string; roles?: readonly string[] }): Promise<ApiResponse<T>>;
  /** Runs the evaluation timer now and waits (bounded) until the run it opened is terminal. */
  timerRun(timeoutMs?: number): Promise<EvaluationView>;
  /** Polls the run through the API until it is terminal (bounded). */
  waitForRun(id: string, timeoutMs?: number): Promise<EvaluationView>;
  /** Waits until a queue has no visible or invisible messages left (approximate count 0). */
  waitForQueueEmpty(queue: string, timeoutMs?: number): Promise<void>;
  queue(name: string): QueueClient;
  table(name: string): TableClient;
  /** Every entity of a table, sorted by keys, with the service's timestamp/etag fields removed. */
  entities(name: string): Promise<TableEntity[]>;
  /** Every history row, across the month tables (`history<yyyymm>`). */
  historyEntities(): Promise<TableEntity[]>;
  cluster(name: string): FleetCluster;
  stop(): Promise<void>;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 150): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last !== undefined ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function startE2eStack(options: Pick<LocalStackOptions, 'emulator' | 'fleet' | 'settings'> = {}): Promise<E2eStack> {
  const logs: HostLogEntry[] = [];
  const stack = await startLocalStack({
    port: 0,
    hostJson: E2E_HOST_JSON,
    // A schedule that never fires during a test: runs start through invokeTimer only.
    settings: { EVALUATION_SCHEDULE: '0 0 3 1 1 *', CONTROLPLANE_WATCH_SCHEDULE: '0 0 3 1 1 *', ...options.settings },
    logger: (entry) => {
      logs.push(entry);
      if (process.env['E2E_VERBOSE'] === '1') console.log(`[${entry.functionName ?? entry.category}] ${entry.message}`);
    },
    ...(options.fleet !== undefined ? { fleet: options.fleet } : {}),
    ...(options.emulator !== undefined ? { emulator: options.emulator } : {}),
  });
  const issuer = stack.issuer;
  const emulator = stack.emulator;
  if (issuer === undefined || emulator === undefined) throw new Error('the e2e stack needs the local issuer and ARM emulator (unset AZURE_RESOURCE_MANAGER_ENDPOINT/AUTH_ISSUER)');
  const tokens = new Map<string, string>();
  const tokenFor = async (roles: readonly string[]): Promise<string> => {
    const key = roles.join(' ');
    let t = tokens.get(key);
    if (t === undefined) {
      t = await issuer.mintToken({ roles });
      tokens.set(key, t);
    }
    return t;
  };

  const api = async <T>(path: string, init: { method?: string; roles?: readonly string[] } = {}): Promise<ApiResponse<T>> => {
    const token = await tokenFor(init.roles ?? ['Compliance.Read']);
    const res = await fetch(`${stack.apiUrl}${path}`, { method: init.method ?? 'GET', headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T, headers: res.headers };
  };

  const waitForRun = (id: string, timeoutMs = 30_000): Promise<EvaluationView> =>
    waitFor(`run ${id} to finish`, async () => {
      const res = await api<EvaluationView>(`/v1/evaluations/${encodeURIComponent(id)}`);
      return res.status === 200 && TERMINAL.has(res.body.status) ? res.body : undefined;
    }, timeoutMs);

  const listRunIds = async (): Promise<string[]> => {
    const res = await api<{ value: EvaluationView[] }>('/v1/evaluations?top=100');
    if (res.status !== 200) throw new Error(`listEvaluations answered ${res.status}`);
    return res.body.value.map((r) => r.id);
  };

  const timerRun = async (timeoutMs?: number): Promise<EvaluationView> => {
    const before = new Set(await listRunIds());
    await stack.host.invokeTimer('evaluationTimer');
    const ids = (await listRunIds()).filter((id) => !before.has(id));
    if (ids.length !== 1) throw new Error(`expected the timer to open exactly one run, found ${ids.length}`);
    return waitForRun(ids[0] as string, timeoutMs);
  };

  const queue = (name: string): QueueClient => new QueueClient(stack.storageConnectionString, name);
  const table = (name: string): TableClient => TableClient.fromConnectionString(stack.storageConnectionString, name, { allowInsecureConnection: true });

  const waitForQueueEmpty = (name: string, timeoutMs = 30_000): Promise<void> =>
    waitFor(`queue ${name} to drain`, async () => {
      const props = await queue(name).getProperties();
      return props.approximateMessagesCount === 0 ? true : undefined;
    }, timeoutMs).then(() => undefined);

  const entities = async (name: string): Promise<TableEntity[]> => {
    const out: TableEntity[] = [];
    for await (const e of table(name).listEntities()) {
      const { etag: _etag, timestamp: _timestamp, ...rest } = e as TableEntity & { etag?: string; timestamp?: string };
      out.push(rest);
    }
    return out.sort((a, b) => (a.partitionKey === b.partitionKey ? a.rowKey.localeCompare(b.rowKey) : a.partitionKey.localeCompare(b.partitionKey)));
  };

  const historyEntities = async (): Promise<TableEntity[]> => {
    const out: TableEntity[] = [];
    for await (const t of TableServiceClient.fromConnectionString(stack.storageConnectionString, { allowInsecureConnection: true }).listTables()) {
      if (t.name !== undefined && /^history\d{6}$/.test(t.name)) out.push(...(await entities(t.name)));
    }
    return out;
  };

  const cluster = (name: string): FleetCluster => {
    const found = emulator.fleet.clusters.find((c) => c.resource.name === name);
    if (found === undefined) throw new Error(`no cluster ${name} in the fleet`);
    return found;
  };

  return { stack, logs, api, timerRun, waitForRun, waitForQueueEmpty, queue, table, entities, historyEntities, cluster, stop: () => stack.stop() };
}

/** Path of a cluster under `/v1/clusters`. */
export function clusterPath(c: FleetCluster): string {
  const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/[^/]+\/[^/]+\/([^/]+)$/i.exec(c.resource.id);
  if (m === null) throw new Error(`not a cluster id: ${c.resource.id}`);
  return `/v1/clusters/${m[1]}/${encodeURIComponent(m[2] as string)}/${encodeURIComponent(m[3] as string)}`;
}

export const COLLECT_QUEUE = QUEUES.collectSubscription;
export const FINALIZE_QUEUE = QUEUES.finalizeRun;

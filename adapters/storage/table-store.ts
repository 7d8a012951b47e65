/**
 * One `TableClient` per table, every table created once when the store opens, plus the helpers the
 * repositories share: batched transactions within Table Storage limits, opaque continuation tokens
 * and typed reads of entity properties.
 */
import { RestError, TableClient, TableServiceClient, type TableEntity, type TransactionAction } from '@azure/data-tables';
import type { TokenCredential } from '@azure/core-auth';
import { InvalidRequestError } from '../../domain/errors.js';

export const TABLES = Object.freeze({
  runs: 'runs',
  clusters: 'clusters',
  clusterIndex: 'clusterindex',
  summaries: 'summaries',
  exceptions: 'exceptions',
  audit: 'audit',
  remediations: 'remediations',
});
export type TableKey = keyof typeof TABLES;

export type TableStorageConnection =
  | { readonly connectionString: string }
  /** Identity-based: `https://<account>.table.core.windows.net` (or a custom endpoint) + a token credential. */
  | { readonly tableServiceUri: string; readonly credential: TokenCredential };

export interface TableStoreOptions {
  /** Alphanumeric prefix for every table name (tests isolate themselves in one account with it). */
  readonly tablePrefix?: string;
}

/** Plain http is only ever an emulator (Azurite); the SDK refuses it unless told otherwise. */
export function isInsecure(connection: TableStorageConnection): boolean {
  if ('connectionString' in connection) {
    return /UseDevelopmentStorage=true/i.test(connection.connectionString) || /(?:^|;)\s*(?:DefaultEndpointsProtocol=http|TableEndpoint=http:)/i.test(connection.connectionString);
  }
  return connection.tableServiceUri.startsWith('http:');
}

/**
 * Makes `TableClient`s for one account and table prefix (connection string or identity-based); every
 * Table adapter opens its tables through this, so the prefix rule and emulator handling live here once.
 */
export function tableClientFactory(connection: TableStorageConnection, prefix = ''): (table: string) => TableClient {
  if (!/^[A-Za-z0-9]*$/.test(prefix)) throw new Error('tablePrefix must be alphanumeric');
  const allowInsecureConnection = isInsecure(connection);
  return (table) =>
    'connectionString' in connection
      ? TableClient.fromConnectionString(connection.connectionString, `${prefix}${table}`, { allowInsecureConnection })
      : new TableClient(connection.tableServiceUri.replace(/\/+$/, ''), `${prefix}${table}`, connection.credential, { allowInsecureConnection });
}

export class TableStore {
  private constructor(
    private readonly clients: Readonly<Record<TableKey, TableClient>>,
    /** Client of a table outside `TABLES` (history month tables), by name without the prefix. */
    readonly dynamicTable: (table: string) => TableClient,
    /** The account's table service (list and delete tables). */
    readonly service: TableServiceClient,
    /** Prepended to every table name. */
    readonly tablePrefix: string,
  ) {}

  /** Creates the clients and every table (concurrently; an existing table is not an error). */
  static async open(connection: TableStorageConnection, options: TableStoreOptions = {}): Promise<TableStore> {
    const prefix = options.tablePrefix ?? '';
    const make = tableClientFactory(connection, prefix);
    const allowInsecureConnection = isInsecure(connection);
    const service =
      'connectionString' in connection
        ? TableServiceClient.fromConnectionString(connection.connectionString, { allowInsecureConnection })
        : new TableServiceClient(connection.tableServiceUri.replace(/\/+$/, ''), connection.credential, { allowInsecureConnection });
    const clients = Object.fromEntries(Object.entries(TABLES).map(([key, table]) => [key, make(table)])) as Record<TableKey, TableClient>;
    await Promise.all(Object.values(clients).map((c) => c.createTable()));
    return new TableStore(Object.freeze(clients), make, service, prefix);
  }

  client(table: TableKey): TableClient {
    return this.clients[table];
  }

  /**
   * A live round trip to the Table service (a point read that is expected to miss), for health checks:
   * never answered from a cache. Resolves with what the service says it is (`server` header, e.g.
   * `Azurite-Table/3.37.0` or `Windows-Azure-Table/1.0`, and its API version); rejects when unreachable.
   */
  async probe(): Promise<{ readonly version: string | undefined }> {
    try {
      await this.clients.runs.getEntity('~health', '~probe');
      return { version: undefined };
    } catch (e) {
      if (!(e instanceof RestError) || e.statusCode !== 404) throw e;
      const headers = e.response?.headers;
      const server = headers?.get('server');
      const apiVersion = headers?.get('x-ms-version');
      return { version: [server, apiVersion && `x-ms-version ${apiVersion}`].filter(Boolean).join(', ') || undefined };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Batched transactions
// ---------------------------------------------------------------------------------------------

/** Service limits: 100 operations per transaction, 4 MiB payload (we stay well below it). */
const MAX_BATCH_OPERATIONS = 100;
const MAX_BATCH_BYTES = 3 * 1024 * 1024;
/** Per-operation envelope of the multipart payload (headers, URL), generously estimated. */
const OPERATION_OVERHEAD_BYTES = 2048;
const BATCH_CONCURRENCY = 4;

type Action = TransactionAction;

function actionEntity(action: Action): TableEntity {
  return action[1] as TableEntity;
}

/**
 * Submits actions as transactions: grouped by partition key, ≤ 100 operations and ≤ 3 MiB each,
 * several transactions in flight. Within a partition, actions keep their order.
 */
export async function submitBatched(client: TableClient, actions: readonly Action[]): Promise<number> {
  await forEachLimited(transactionsOf(actions), BATCH_CONCURRENCY, (batch) => client.submitTransaction(batch).then(() => undefined));
  return actions.length;
}

/**
 * Writes entities the caller expects to be new (index rows a diff found missing) as inserts, in the
 * same transactions as {@link submitBatched}. A transaction that fails because a row exists after all
 * (an orphan of an interrupted write, a concurrent redelivery) is resubmitted as Replace upserts, so
 * the outcome is exactly that of upserting. Why: an insert needs no read of the existing row, and
 * Azurite's upsert looks a row up twice by scanning its whole partition, which made the large index
 * partitions of a 10,000-cluster first run quadratic in the emulator.
 */
export async function insertBatched(client: TableClient, entities: readonly TableEntity[]): Promise<number> {
  const creates = entities.map((e): Action => ['create', e]);
  await forEachLimited(transactionsOf(creates), BATCH_CONCURRENCY, async (batch) => {
    try {
      await client.submitTransaction(batch);
    } catch (error) {
      if (!isStatus(error, 409)) throw error;
      await client.submitTransaction(batch.map((a): Action => ['upsert', actionEntity(a), 'Replace']));
    }
  });
  return entities.length;
}

/** Groups actions by partition key into transactions of ≤ 100 operations and ≤ 3 MiB, keeping order. */
function transactionsOf(actions: readonly Action[]): Action[][] {
  const byPartition = new Map<string, Action[]>();
  for (const action of actions) {
    const pk = actionEntity(action).partitionKey;
    const list = byPartition.get(pk);
    if (list) list.push(action);
    else byPartition.set(pk, [action]);
  }
  const batches: Action[][] = [];
  for (const list of byPartition.values()) {
    let batch: Action[] = [];
    let bytes = 0;
    for (const action of list) {
      const size = Buffer.byteLength(JSON.stringify(actionEntity(action))) + OPERATION_OVERHEAD_BYTES;
      if (batch.length > 0 && (batch.length >= MAX_BATCH_OPERATIONS || bytes + size > MAX_BATCH_BYTES)) {
        batches.push(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(action);
      bytes += size;
    }
    if (batch.length > 0) batches.push(batch);
  }
  return batches;
}

/**
 * Deletes entities in transactions; when a transaction fails because one entity is already gone
 * (a redelivery, a concurrent purge), falls back to single deletes that ignore 404.
 */
export async function deleteBatched(client: TableClient, keys: readonly { partitionKey: string; rowKey: string }[]): Promise<number> {
  const byPartition = new Map<string, { partitionKey: string; rowKey: string }[]>();
  for (const key of keys) {
    const list = byPartition.get(key.partitionKey);
    if (list) list.push(key);
    else byPartition.set(key.partitionKey, [key]);
  }
  const batches: { partitionKey: string; rowKey: string }[][] = [];
  for (const list of byPartition.values()) {
    for (let i = 0; i < list.length; i += MAX_BATCH_OPERATIONS) batches.push(list.slice(i, i + MAX_BATCH_OPERATIONS));
  }
  await forEachLimited(batches, BATCH_CONCURRENCY, async (batch) => {
    try {
      await client.submitTransaction(batch.map((k): Action => ['delete', { partitionKey: k.partitionKey, rowKey: k.rowKey }]));
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
      await forEachLimited(batch, BATCH_CONCURRENCY, async (k) => {
        try {
          await client.deleteEntity(k.partitionKey, k.rowKey);
        } catch (e) {
          if (!isStatus(e, 404)) throw e;
        }
      });
    }
  });
  return keys.length;
}

export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export function isStatus(error: unknown, status: number): boolean {
  return error instanceof RestError ? error.statusCode === status : (error as { statusCode?: unknown } | null)?.statusCode === status;
}

/** Point read; `undefined` for a missing entity. */
export async function getEntityOrUndefined(client: TableClient, partitionKey: string, rowKey: string): Promise<Record<string, unknown> | undefined> {
  try {
    return await client.getEntity<Record<string, unknown>>(partitionKey, rowKey);
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Paging
// ---------------------------------------------------------------------------------------------

/** Opaque to callers: base64url of the SDK's own continuation. */
export function encodeContinuation(sdkToken: string | undefined): string | undefined {
  return sdkToken === undefined ? undefined : Buffer.from(JSON.stringify({ v: 1, c: sdkToken })).toString('base64url');
}

export function decodeContinuation(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error('not base64url');
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && (parsed as { v?: unknown }).v === 1 && typeof (parsed as { c?: unknown }).c === 'string') {
      const sdk = (parsed as { c: string }).c;
      // The SDK decodes its token as base64 JSON; check it before handing it over.
      JSON.parse(Buffer.from(sdk, 'base64').toString('utf8'));
      return sdk;
    }
  } catch {
    // fall through
  }
  throw new InvalidRequestError('The continuation token is not valid.', 'continuationToken');
}

/** Largest page the service returns. */
export const MAX_PAGE_SIZE = 1000;

/**
 * Reads up to `top` entities matching `filter`, starting at `continuationToken` (the SDK's), following
 * continuations while a filtered page comes back short; returns the SDK continuation for the rest.
 */
export async function readPage(
  client: TableClient,
  filter: string | undefined,
  top: number,
  continuationToken: string | undefined,
  select?: readonly string[],
): Promise<{ entities: Record<string, unknown>[]; continuationToken: string | undefined }> {
  const entities: Record<string, unknown>[] = [];
  let token = continuationToken;
  do {
    const pages = client
      .listEntities<Record<string, unknown>>({ queryOptions: { ...(filter !== undefined ? { filter } : {}), ...(select ? { select: [...select] } : {}) } })
      .byPage({ maxPageSize: Math.min(MAX_PAGE_SIZE, top - entities.length), ...(token !== undefined ? { continuationToken: token } : {}) });
    const result = await pages.next();
    if (result.done) {
      token = undefined;
      break;
    }
    entities.push(...result.value);
    token = result.value.continuationToken;
  } while (token !== undefined && entities.length < top);
  return { entities, continuationToken: token };
}

/** Every entity matching `filter` (all pages). */
export async function readAll(client: TableClient, filter: string | undefined, select?: readonly string[]): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const iterator = client.listEntities<Record<string, unknown>>({
    queryOptions: { ...(filter !== undefined ? { filter } : {}), ...(select ? { select: [...select] } : {}) },
  });
  for await (const page of iterator.byPage({ maxPageSize: MAX_PAGE_SIZE })) out.push(...page);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Typed property reads (entities come back as unknown-valued records)
// ---------------------------------------------------------------------------------------------

export function str(entity: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const v = entity[name];
  return typeof v === 'string' ? v : undefined;
}
export function reqStr(entity: Readonly<Record<string, unknown>>, name: string): string {
  const v = entity[name];
  if (typeof v !== 'string') throw new Error(`stored entity ${String(entity['partitionKey'])}/${String(entity['rowKey'])} lacks string property ${name}`);
  return v;
}
export function num(entity: Readonly<Record<string, unknown>>, name: string): number {
  const v = entity[name];
  if (typeof v === 'number') return v;
  // Int64 values come back as strings or { value } objects depending on the SDK path.
  if (typeof v === 'string' && v !== '' && Number.isFinite(Number(v))) return Number(v);
  if (typeof v === 'object' && v !== null && 'value' in v) return Number((v as { value: unknown }).value);
  return 0;
}
export function bool(entity: Readonly<Record<string, unknown>>, name: string): boolean {
  return entity[name] === true;
}
/** Drops undefined values: Table Storage has no "undefined", absent means absent. */
export function defined<T extends Record<string, unknown>>(props: T): Record<string, unknown> {
  return Object.fromEntries(Object.entries(props).filter(([, v]) => v !== undefined));
}

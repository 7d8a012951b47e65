/**
 * One `TableClient` per table, every missing table created once when the store opens, plus the helpers the
 * repositories share: batched transactions within Table Storage limits, opaque continuation tokens
 * and typed reads of entity properties.
 */
import { odata, RestError, TableClient, TableServiceClient, type TableEntity, type TransactionAction } from '@azure/data-tables';
import type { TokenCredential } from '@azure/core-auth';
import { InvalidRequestError } from '../../domain/errors.js';
import { forEachLimited } from '../../application/worker-pool.js';
import { storedRecordReader, type StoredRecordReader } from './records/stored-record-reader.js';

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
  /** Reads entities through their codecs and reports invalid ones (default: the process's reader). */
  readonly records?: StoredRecordReader;
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
    /** Every repository on this store reads its records through this (and reports the invalid ones to it). */
    readonly records: StoredRecordReader,
    /** Names of the tables (with this store's prefix) that existed when the store opened or that it created. */
    private readonly existing: Set<string>,
  ) {}

  /**
   * Creates the clients, and every table that is missing (concurrently). Which tables exist is one
   * query of the account's tables: a cold instance, which finds them all, sends one request instead of
   * one refused create per table.
   */
  static async open(connection: TableStorageConnection, options: TableStoreOptions = {}): Promise<TableStore> {
    const prefix = options.tablePrefix ?? '';
    const make = tableClientFactory(connection, prefix);
    const allowInsecureConnection = isInsecure(connection);
    const service =
      'connectionString' in connection
        ? TableServiceClient.fromConnectionString(connection.connectionString, { allowInsecureConnection })
        : new TableServiceClient(connection.tableServiceUri.replace(/\/+$/, ''), connection.credential, { allowInsecureConnection });
    const clients = Object.fromEntries(Object.entries(TABLES).map(([key, table]) => [key, make(table)])) as Record<TableKey, TableClient>;
    const existing = await existingTables(service, prefix);
    await Promise.all(Object.values(clients).filter((c) => !existing.has(c.tableName)).map((c) => c.createTable()));
    for (const c of Object.values(clients)) existing.add(c.tableName);
    return new TableStore(Object.freeze(clients), make, service, prefix, options.records ?? storedRecordReader, existing);
  }

  /**
   * Creates a table outside `TABLES` (a `dynamicTable` client) unless it existed when the store opened
   * or was created through here since; an existing table is not an error either way.
   */
  async ensureTable(client: TableClient): Promise<void> {
    if (this.existing.has(client.tableName)) return;
    await client.createTable();
    this.existing.add(client.tableName);
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

/**
 * The account's tables whose names start with `prefix` (all of them without one). Table names are
 * alphanumeric, so `prefix` ≤ name < `prefix` + '{' selects exactly the names that start with it.
 */
async function existingTables(service: TableServiceClient, prefix: string): Promise<Set<string>> {
  const filter = prefix === '' ? undefined : odata`TableName ge ${prefix} and TableName lt ${`${prefix}{`}`;
  const names = new Set<string>();
  for await (const table of service.listTables(filter !== undefined ? { queryOptions: { filter } } : {})) {
    if (table.name !== undefined && table.name.startsWith(prefix)) names.add(table.name);
  }
  return names;
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
  return action[1];
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

/**
 * Where the next page of a query starts: the SDK's continuation of the query (absent = the start of
 * the query) and how many rows to skip from there (a page that stopped at `top` inside a chunk the
 * service returned). Opaque outside this module.
 */
export interface PageCursor {
  readonly sdk: string | undefined;
  readonly skip: number;
}

/** Largest page the service returns. */
export const MAX_PAGE_SIZE = 1000;

/** Longest token the API accepts (the OpenAPI `continuationToken` pattern allows 4,096 characters). */
const MAX_TOKEN_CHARS = 4096;
/** Longest `nextPartitionKey` / `nextRowKey` accepted (keys are at most 1 KiB; the service encodes them). */
const MAX_CONTINUATION_KEY_CHARS = 2048;
/** What the service puts in its continuation headers: printable ASCII (Azurite: base64; Azure: `1!<n>!<base64>`). */
const CONTINUATION_KEY = /^[\x21-\x7e]+$/;

/**
 * Opaque to callers: base64url of `{ v: 1, c?: <SDK continuation>, s?: <rows to skip> }`. Accepts a
 * bare SDK continuation too (a cursor without a skip).
 *
 * Tokens are not signed or encrypted, on purpose: every listing that returns one needs its role
 * (`Compliance.Read`; `Audit.Read`, `Webhooks.Manage` for theirs) and there is no per-row
 * authorization within a listing, so a token only
 * ever says where to resume a query the caller may run from the start anyway. A forged token can
 * skip rows or start elsewhere in the same query's key range, never reach rows outside it: the
 * filter is rebuilt from the request each time. {@link decodeContinuation} checks every field
 * strictly, so an altered token is `InvalidRequest` (400), never a failure inside the SDK.
 */
export function encodeContinuation(cursor: PageCursor | string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const { sdk, skip } = typeof cursor === 'string' ? { sdk: cursor, skip: 0 } : cursor;
  if (sdk === undefined && skip === 0) return undefined;
  return Buffer.from(JSON.stringify({ v: 1, ...(sdk !== undefined ? { c: sdk } : {}), ...(skip > 0 ? { s: skip } : {}) })).toString('base64url');
}

function invalidToken(): InvalidRequestError {
  return new InvalidRequestError('The continuation token is not valid.', 'continuationToken');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Base64 (`alphabet`) that decodes and re-encodes to itself: no stray characters, padding or bits. */
function canonicalBase64(text: string, encoding: 'base64' | 'base64url'): Buffer | undefined {
  const pattern = encoding === 'base64url' ? /^[A-Za-z0-9_-]+$/ : /^[A-Za-z0-9+/]+={0,2}$/;
  if (!pattern.test(text)) return undefined;
  const bytes = Buffer.from(text, encoding);
  return bytes.toString(encoding) === text ? bytes : undefined;
}

function parseJsonObject(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(bytes.toString('utf8'));
    return isPlainObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

const isContinuationKey = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= MAX_CONTINUATION_KEY_CHARS && CONTINUATION_KEY.test(value);

/** The SDK's continuation (base64 of `{ nextPartitionKey, nextRowKey? }`), checked field by field. */
function isSdkContinuation(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const bytes = canonicalBase64(value, 'base64');
  const inner = bytes && parseJsonObject(bytes);
  if (inner === undefined) return false;
  if (Object.keys(inner).some((k) => k !== 'nextPartitionKey' && k !== 'nextRowKey')) return false;
  return isContinuationKey(inner['nextPartitionKey']) && (!('nextRowKey' in inner) || isContinuationKey(inner['nextRowKey']));
}

/**
 * The cursor a token from {@link encodeContinuation} stands for.
 * @throws InvalidRequestError for anything else: not canonical base64url, not the expected JSON
 *   object, unknown fields, a continuation the SDK did not write (keys not strings of printable ASCII
 *   within 2,048 characters), a skip that is not an integer in 1..999.
 */
export function decodeContinuation(token: string | undefined): PageCursor | undefined {
  if (token === undefined) return undefined;
  if (token.length > MAX_TOKEN_CHARS) throw invalidToken();
  const bytes = canonicalBase64(token, 'base64url');
  const outer = bytes && parseJsonObject(bytes);
  if (outer === undefined || outer['v'] !== 1) throw invalidToken();
  if (Object.keys(outer).some((k) => k !== 'v' && k !== 'c' && k !== 's')) throw invalidToken();
  const sdk = outer['c'];
  const skip = outer['s'];
  if (sdk !== undefined && !isSdkContinuation(sdk)) throw invalidToken();
  if (skip !== undefined && !(typeof skip === 'number' && Number.isInteger(skip) && skip >= 1 && skip < MAX_PAGE_SIZE)) throw invalidToken();
  if (sdk === undefined && skip === undefined) throw invalidToken();
  return { sdk, skip: skip ?? 0 };
}

/**
 * Most rows one {@link readPage} call examines with a `match` predicate (rows skipped to resume
 * inside a chunk, at most 999, come on top): a filter that matches few rows returns a short or empty
 * page with a continuation instead of reading a whole table or partition in one request.
 */
export const MAX_ROWS_EXAMINED_PER_PAGE = 1000;

/**
 * Most queries one {@link readPage} call sends. The service may answer a filtered query with a short
 * or empty page and a continuation (Azure Table Storage stops at 1,000 rows, 5 seconds or a partition
 * boundary), so without this a server-side filter matching few rows could be followed across a whole
 * table in one request.
 */
export const MAX_QUERIES_PER_PAGE = 8;

export interface ReadPageOptions {
  /**
   * Evaluated here, after the read, instead of an OData property filter: the service only sees key
   * conditions, so at most {@link MAX_ROWS_EXAMINED_PER_PAGE} rows are read per call whatever the
   * predicate matches.
   */
  readonly match?: (entity: Readonly<Record<string, unknown>>) => boolean;
  /** Lower bound for tests: rows examined per call with `match` (default {@link MAX_ROWS_EXAMINED_PER_PAGE}). */
  readonly maxRowsExamined?: number;
}

/**
 * Reads up to `top` entities matching `filter` (and `options.match`), starting at `cursor`, in key
 * order; returns the cursor of the rest, or undefined when the query is exhausted.
 *
 * Bounded per call: at most {@link MAX_QUERIES_PER_PAGE} queries and, with `match`, at most
 * {@link MAX_ROWS_EXAMINED_PER_PAGE} rows examined. The page may therefore be short, or empty, with
 * a cursor; it is empty without a cursor only when the query is exhausted, and every call that
 * returns a cursor has moved past at least one row or one service continuation, so following cursors
 * always ends and visits every matching row exactly once (while the data does not change).
 */
export async function readPage(
  client: TableClient,
  filter: string | undefined,
  top: number,
  cursor: PageCursor | undefined,
  select?: readonly string[],
  options: ReadPageOptions = {},
): Promise<{ entities: Record<string, unknown>[]; continuationToken: PageCursor | undefined }> {
  const { match } = options;
  const maxRows = Math.max(1, options.maxRowsExamined ?? MAX_ROWS_EXAMINED_PER_PAGE);
  const entities: Record<string, unknown>[] = [];
  let sdk = cursor?.sdk;
  let skip = cursor?.skip ?? 0;
  let examined = 0;
  let chunk = 0;
  const queryOptions = { ...(filter !== undefined ? { filter } : {}), ...(select ? { select: [...select] } : {}) };
  for (let queries = 0; queries < MAX_QUERIES_PER_PAGE; queries += 1) {
    if (match !== undefined && examined >= maxRows) break;
    const wanted = top - entities.length;
    // With a predicate the share of matches is unknown: start at what would fill the page if every
    // row matched and grow fourfold, so a sparse filter costs few queries and a dense one few rows.
    chunk = match === undefined ? wanted : Math.min(maxRows - examined, Math.max(wanted, chunk * 4));
    const size = Math.min(MAX_PAGE_SIZE, skip + chunk);
    const pages = client.listEntities<Record<string, unknown>>({ queryOptions }).byPage({ maxPageSize: size, ...(sdk !== undefined ? { continuationToken: sdk } : {}) });
    const result = await pages.next().catch((error: unknown) => {
      // Keys that pass decodeContinuation but that the service still refuses (400) are the caller's.
      if (cursor !== undefined && queries === 0 && isStatus(error, 400)) throw invalidToken();
      throw error;
    });
    if (result.done === true) return { entities, continuationToken: undefined };
    const rows = result.value;
    const next = rows.continuationToken;
    for (let i = skip; i < rows.length; i += 1) {
      const row = rows[i] as Record<string, unknown>;
      examined += 1;
      if (match !== undefined && !match(row)) continue;
      entities.push(row);
      if (entities.length < top) continue;
      // The page is full at row i: resume after it, inside this chunk unless it was the chunk's last row.
      if (i + 1 < rows.length) return { entities, continuationToken: { sdk, skip: i + 1 } };
      return { entities, continuationToken: next === undefined ? undefined : { sdk: next, skip: 0 } };
    }
    // A chunk shorter than the rows still to skip (the service may cut pages short): skip the rest after it.
    skip = Math.max(0, skip - rows.length);
    if (next === undefined) return { entities, continuationToken: undefined };
    sdk = next;
  }
  return { entities, continuationToken: { sdk, skip } };
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
  if (typeof v === 'object' && v !== null && 'value' in v) return Number((v).value);
  return 0;
}
export function bool(entity: Readonly<Record<string, unknown>>, name: string): boolean {
  return entity[name] === true;
}
/** Drops undefined values: Table Storage has no "undefined", absent means absent. */
export function defined<T extends Record<string, unknown>>(props: T): Record<string, unknown> {
  return Object.fromEntries(Object.entries(props).filter(([, v]) => v !== undefined));
}

/**
 * Current cluster states in the `clusters` table, with a secondary index in `clusterindex`.
 *
 * - `clusters`: partition = lower-cased subscription id, row = `<rg>|<name>` (lower-cased, escaped).
 *   A subscription filter is one partition; `get` is a point read. The evaluation (controls with
 *   evidence) is stored as JSON chunked over `evaluation_0..n` properties, and cut further (fewer
 *   offenders, shorter evidence, with the totals kept) when even that would not fit one entity — the
 *   write never fails on size. Tags are chunked the same way (`tags_0..n`) within the same budget.
 * - `clusterindex`: small pointer rows in partitions `env|<env>`, `loc|<location>`,
 *   `status|<compliant|noncompliant>`, `fail|<controlId>` and `stale|true`, row = `<subscription>|<rg>|<name>`,
 *   each carrying the filterable fields. A filtered listing reads the most selective index partition
 *   (a subscription is a row-key range of it; the remaining filters are checked on the rows read,
 *   at most MAX_ROWS_EXAMINED_PER_PAGE per request) and point-reads the states of that page.
 *   Index rows are diffed against the previous state, so an unchanged cluster costs no index write.
 *
 * The entity shapes and their reading are in `records/cluster-records.ts`, size fitting in
 * `cluster-entity-fitting.ts`, the list-page cache in `list-page-cache.ts`.
 */
import type { TableClient, TableEntity, TransactionAction } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { SummaryInput } from '../../domain/fleet-summary.js';
import type { ClusterControlStatuses, ClusterControlStatusListing, ClusterQuery, ClusterState, ClusterSummaryView, EvaluationClusterStateRepository, Page } from '../../application/ports.js';
import { toClusterSummary } from '../../application/stored-records.js';
import { InvalidRequestError } from '../../domain/errors.js';
import { forEachLimited } from '../../application/worker-pool.js';
import { escapeKey, joinKey } from './table-keys.js';
import {
  decodeContinuation,
  deleteBatched,
  encodeContinuation,
  getEntityOrUndefined,
  isStatus,
  insertBatched,
  readAll,
  readPage,
  type ReadPageOptions,
  reqStr,
  submitBatched,
  type TableStore,
} from './table-store.js';
import {
  INDEX_ROW_SELECT,
  INDEX_SELECT,
  LIST_SELECT,
  STATUS_SELECT,
  SUMMARY_DIMENSIONS_SELECT,
  SUMMARY_SELECT,
  tagsFromEntity,
  clusterIndexFieldsCodec,
  clusterIndexRowCodec,
  clusterListViewCodec,
  clusterStateCodec,
  clusterSummaryInputCodec,
  indexFieldsOf,
  type ClusterStatus,
  type IndexFields,
} from './records/cluster-records.js';
import type { StoredRecordReader } from './records/stored-record-reader.js';
import { DEFAULT_LIST_CACHE_MS, ListPageCache, SharedReadCache, invalidateListPages } from './list-page-cache.js';

export { fitEvaluation, fitTags, MAX_TAG_CHUNKS } from './cluster-entity-fitting.js';
export { DEFAULT_LIST_CACHE_MS } from './list-page-cache.js';

export const clusterPartition = (subscriptionId: string): string => escapeKey(subscriptionId.toLowerCase());
export const clusterRow = (resourceGroup: string, name: string): string => joinKey(resourceGroup.toLowerCase(), name.toLowerCase());

const POINT_READ_CONCURRENCY = 16;

const indexPartitions = {
  environment: (env: string): string => `env|${escapeKey(env.toLowerCase())}`,
  location: (loc: string): string => `loc|${escapeKey(loc.toLowerCase())}`,
  status: (s: ClusterStatus): string => `status|${s}`,
  failing: (controlId: string): string => `fail|${escapeKey(controlId)}`,
  stale: 'stale|true',
};

/** Index partition → the row's properties, for one cluster. */
function indexRowsOf(f: IndexFields): Map<string, Record<string, unknown>> {
  const props = clusterIndexRowCodec.encode(f);
  const rows = new Map<string, Record<string, unknown>>();
  if (f.environment !== undefined) rows.set(indexPartitions.environment(f.environment), props);
  rows.set(indexPartitions.location(f.location), props);
  rows.set(indexPartitions.status(f.status), props);
  for (const c of f.failing) rows.set(indexPartitions.failing(c), props);
  if (f.stale) rows.set(indexPartitions.stale, props);
  return rows;
}

const sameProps = (a: Record<string, unknown>, b: Record<string, unknown>): boolean => JSON.stringify(a) === JSON.stringify(b);

function matchesFields(f: IndexFields, q: ClusterQuery): boolean {
  return (
    (q.subscriptionId === undefined || f.subscriptionId === q.subscriptionId.toLowerCase()) &&
    (q.status === undefined || f.status === q.status) &&
    (q.failingControlId === undefined || f.failing.includes(q.failingControlId)) &&
    (q.environment === undefined || f.environment === q.environment.toLowerCase()) &&
    (q.location === undefined || f.location === q.location.toLowerCase()) &&
    (q.stale === undefined || f.stale === q.stale)
  );
}

const matches = (state: ClusterState, q: ClusterQuery): boolean => matchesFields(indexFieldsOf(state), q);

/** The index partition a filtered listing reads (docs/data-model.md, "Choice of index partition"); undefined = the main table. */
function indexPartitionFor(query: ClusterQuery): string | undefined {
  if (query.failingControlId !== undefined) return indexPartitions.failing(query.failingControlId);
  if (query.subscriptionId !== undefined) return undefined;
  if (query.environment !== undefined) return indexPartitions.environment(query.environment);
  if (query.stale === true) return indexPartitions.stale;
  if (query.location !== undefined) return indexPartitions.location(query.location);
  if (query.status !== undefined) return indexPartitions.status(query.status);
  return undefined;
}

export interface TableClusterStateRepositoryOptions {
  /** How long a `listSummaries` page (and a `getShared` state) is served from memory; 0 turns the caches off. */
  readonly listCacheMs?: number;
  /** Milliseconds (monotonic); tests pass a fake clock. */
  readonly now?: () => number;
  /** Rows a filtered listing examines per request (default MAX_ROWS_EXAMINED_PER_PAGE); tests lower it. */
  readonly maxRowsExamined?: number;
}

export class TableClusterStateRepository implements EvaluationClusterStateRepository, ClusterControlStatusListing {
  private readonly table: TableClient;
  private readonly index: TableClient;
  private readonly records: StoredRecordReader;
  private readonly maxRowsExamined: number | undefined;
  private readonly listPages: ListPageCache;
  private readonly sharedStates: SharedReadCache<ClusterState | undefined>;

  constructor(store: TableStore, options: TableClusterStateRepositoryOptions = {}) {
    this.table = store.client('clusters');
    this.index = store.client('clusterIndex');
    this.records = store.records;
    this.listPages = new ListPageCache(options.listCacheMs ?? DEFAULT_LIST_CACHE_MS, options.now ?? (() => performance.now()));
    this.sharedStates = new SharedReadCache(options.listCacheMs ?? DEFAULT_LIST_CACHE_MS, options.now ?? (() => performance.now()));
    this.maxRowsExamined = options.maxRowsExamined;
  }

  /** Index fields of a cluster row read with `INDEX_SELECT`; undefined (reported) when they are not readable. */
  private indexFields(e: Record<string, unknown>): IndexFields | undefined {
    return this.records.check(clusterIndexFieldsCodec, e);
  }

  async upsertMany(states: readonly ClusterState[], stored?: readonly ClusterState[]): Promise<void> {
    if (states.length === 0) return;
    const previous = new Map<string, IndexFields>();
    if (stored !== undefined) {
      // The collector has just read these partitions in full: reading their index columns again cost one
      // more partition query per subscription (and Azurite a whole-table scan each).
      for (const s of stored) previous.set(`${clusterPartition(s.subscriptionId)}|${clusterRow(s.resourceGroup, s.name)}`, indexFieldsOf(s));
    } else {
      for (const pk of new Set(states.map((s) => clusterPartition(s.subscriptionId)))) {
        for (const e of await readAll(this.table, odata`PartitionKey eq ${pk}`, INDEX_SELECT)) {
          // An unreadable row (reported) is overwritten; its old index rows, if any, stay as orphans that listing skips.
          const fields = this.indexFields(e);
          if (fields !== undefined) previous.set(`${pk}|${reqStr(e, 'rowKey')}`, fields);
        }
      }
    }
    const entities = states.map((state) => ({
      partitionKey: clusterPartition(state.subscriptionId),
      rowKey: clusterRow(state.resourceGroup, state.name),
      ...clusterStateCodec.encode(state),
    }));
    const upserts: TransactionAction[] = [];
    const inserts: TableEntity[] = [];
    const deletes: { partitionKey: string; rowKey: string }[] = [];
    for (const [i, state] of states.entries()) {
      const entity = entities[i] as (typeof entities)[number];
      const pointer = `${entity.partitionKey}|${entity.rowKey}`;
      const before = previous.get(pointer);
      const oldRows = before ? indexRowsOf(before) : new Map<string, Record<string, unknown>>();
      for (const [partitionKey, props] of indexRowsOf(indexFieldsOf(state))) {
        const old = oldRows.get(partitionKey);
        if (old === undefined) inserts.push({ partitionKey, rowKey: pointer, ...props });
        else if (!sameProps(old, props)) upserts.push(['upsert', { partitionKey, rowKey: pointer, ...props }, 'Replace']);
      }
      for (const partitionKey of oldRows.keys()) if (!indexRowsOf(indexFieldsOf(state)).has(partitionKey)) deletes.push({ partitionKey, rowKey: pointer });
    }
    // New index rows first, then the states, then stale index rows: a crash in between leaves extra
    // index rows at worst, and listing re-checks every state it reads against the query.
    invalidateListPages();
    await insertBatched(this.index, inserts);
    await submitBatched(this.index, upserts);
    await submitBatched(this.table, entities.map((e): TransactionAction => ['upsert', e, 'Replace']));
    await deleteBatched(this.index, deletes);
    invalidateListPages();
  }

  async get(subscriptionId: string, resourceGroup: string, name: string): Promise<ClusterState | undefined> {
    const e = await getEntityOrUndefined(this.table, clusterPartition(subscriptionId), clusterRow(resourceGroup, name));
    return e === undefined ? undefined : this.records.one(clusterStateCodec, e);
  }

  /**
   * {@link get} for the API's detail: the state is deep-frozen and shared between callers (so the HTTP
   * layer serializes it once), kept like the list pages (`listCacheMs`, dropped by any cluster write in
   * this process), so repeated reads of a cluster do not re-read, re-parse and re-validate its evidence.
   */
  getShared(subscriptionId: string, resourceGroup: string, name: string): Promise<ClusterState | undefined> {
    const partitionKey = clusterPartition(subscriptionId);
    const rowKey = clusterRow(resourceGroup, name);
    return this.sharedStates.get(`${partitionKey}\n${rowKey}`, () => this.get(subscriptionId, resourceGroup, name));
  }

  /** Unreadable states (reported) are left out: the collector then rewrites them from ARM. */
  async listBySubscription(subscriptionId: string): Promise<ClusterState[]> {
    return this.records.many(clusterStateCodec, await readAll(this.table, odata`PartitionKey eq ${clusterPartition(subscriptionId)}`));
  }

  async list(query: ClusterQuery): Promise<Page<ClusterState>> {
    const page = await this.listRows(query, undefined);
    return {
      items: this.records.many(clusterStateCodec, page.rows).filter((s) => matches(s, query)),
      continuationToken: page.continuationToken,
    };
  }

  /**
   * Every cluster as the fleet summary sees it, in the order of an unfiltered {@link list}, one page of
   * up to `top` at a time, reading only `SUMMARY_SELECT`; a row written before `controlStatuses`
   * existed is read in full. With `dimensions`, also the environment, location and tags (a row whose
   * tags span more chunks than selected is read in full).
   */
  async listSummaryInputs(top: number, continuationToken: string | undefined, options: { readonly dimensions?: boolean } = {}): Promise<Page<SummaryInput>> {
    if (!Number.isInteger(top) || top < 1) throw new InvalidRequestError('top must be a positive integer.', 'top');
    const withDimensions = options.dimensions === true;
    const page = await readPage(this.table, undefined, top, decodeContinuation(continuationToken), withDimensions ? SUMMARY_DIMENSIONS_SELECT : SUMMARY_SELECT);
    const items = new Array<SummaryInput | undefined>(page.entities.length);
    await forEachLimited([...page.entities.keys()], POINT_READ_CONCURRENCY, async (i) => {
      const e = page.entities[i] as Record<string, unknown>;
      const input = this.records.check(clusterSummaryInputCodec, e);
      const tagChunks = e['tags_n'];
      const tagsSelected = typeof tagChunks !== 'number' || tagChunks <= 4;
      // Unreadable (reported): left out of the summary. Without `controlStatuses`: read in full.
      if (input === undefined) return;
      if (input !== null && (!withDimensions || tagsSelected)) {
        items[i] = withDimensions ? { ...input, dimensions: { environment: typeof e['environment'] === 'string' ? e['environment'] : null, location: typeof e['location'] === 'string' ? e['location'] : '', tags: tagsFromEntity(e) } } : input;
        return;
      }
      const state = await this.readState(e);
      const controls = state?.evaluation.controls.map((c) => ({ controlId: c.controlId, status: c.status, severity: c.severity, evidence: '' }));
      items[i] =
        state === undefined || controls === undefined
          ? undefined
          : {
              subscriptionId: state.subscriptionId,
              stale: state.stale,
              evaluation: { score: state.evaluation.score, controls },
              ...(withDimensions ? { dimensions: { environment: state.environment ?? null, location: state.location, tags: state.tags } } : {}),
            };
    });
    return { items: items.filter((i): i is SummaryInput => i !== undefined), continuationToken: encodeContinuation(page.continuationToken) };
  }

  /**
   * The list view of {@link list}: only the list columns are read (see `LIST_SELECT`). Pages are served
   * from the list-page cache (`list-page-cache.ts`) for `listCacheMs` (default 1 s); `list` (the
   * evaluation's own reads) is never cached.
   */
  listSummaries(query: ClusterQuery): Promise<Page<ClusterSummaryView>> {
    return this.listPages.get(query, () => this.readSummaries(query));
  }

  private async readSummaries(query: ClusterQuery): Promise<Page<ClusterSummaryView>> {
    const page = await this.listRows(query, LIST_SELECT);
    const items: (ClusterSummaryView | undefined)[] = [];
    await Promise.all(
      page.rows.map(async (entity, i) => {
        const fields = this.indexFields(entity);
        if (fields === undefined || !matchesFields(fields, query)) return;
        const view = this.records.check(clusterListViewCodec, entity);
        if (view !== null) {
          items[i] = view;
          return;
        }
        const state = await this.readState(entity);
        items[i] = state !== undefined && matches(state, query) ? toClusterSummary(state) : undefined;
      }),
    );
    return { items: items.filter((v): v is ClusterSummaryView => v !== undefined), continuationToken: page.continuationToken };
  }

  /**
   * The control statuses, subscription and environment of the clusters matching `query` (the filters,
   * order and paging of {@link list}), reading only `STATUS_SELECT`; a row written before
   * `controlStatuses` existed is read in full. Unreadable rows (reported) are left out.
   */
  async listControlStatuses(query: ClusterQuery): Promise<Page<ClusterControlStatuses>> {
    const page = await this.listRows(query, STATUS_SELECT);
    const items = new Array<ClusterControlStatuses | undefined>(page.rows.length);
    await forEachLimited([...page.rows.keys()], POINT_READ_CONCURRENCY, async (i) => {
      const e = page.rows[i] as Record<string, unknown>;
      // The index-fields check also validates `environment` (a string when present) read below.
      if (!this.matchesRow(clusterIndexFieldsCodec, e, query)) return;
      const input = this.records.check(clusterSummaryInputCodec, e);
      if (input !== null) {
        items[i] =
          input === undefined
            ? undefined
            : {
                subscriptionId: input.subscriptionId,
                environment: typeof e['environment'] === 'string' ? e['environment'] : undefined,
                controls: input.evaluation.controls.map((c) => ({ controlId: c.controlId, status: c.status })),
              };
        return;
      }
      const state = await this.readState(e);
      items[i] =
        state !== undefined && matches(state, query)
          ? { subscriptionId: state.subscriptionId, environment: state.environment, controls: state.evaluation.controls.map((c) => ({ controlId: c.controlId, status: c.status })) }
          : undefined;
    });
    return { items: items.filter((c): c is ClusterControlStatuses => c !== undefined), continuationToken: page.continuationToken };
  }

  /** The whole state of a row read in part; undefined when it is gone, or unreadable (reported). */
  private async readState(row: Record<string, unknown>): Promise<ClusterState | undefined> {
    const e = await getEntityOrUndefined(this.table, reqStr(row, 'partitionKey'), reqStr(row, 'rowKey'));
    return e === undefined ? undefined : this.records.check(clusterStateCodec, e);
  }

  /**
   * One page of cluster entities for a query; `select` limits the columns (undefined = whole
   * entities). Pointers to rows missing from the main table (a stale index row) are left out.
   */
  private async listRows(
    query: ClusterQuery,
    select: readonly string[] | undefined,
  ): Promise<{ rows: Record<string, unknown>[]; continuationToken: string | undefined }> {
    if (!Number.isInteger(query.top) || query.top < 1) throw new InvalidRequestError('top must be a positive integer.', 'top');
    const token = decodeContinuation(query.continuationToken);
    // Conditions on non-key columns are checked here on the rows read, not sent as OData property
    // filters: the service then reads key ranges only, and readPage bounds the rows one request
    // examines (MAX_ROWS_EXAMINED_PER_PAGE), returning a short page with a continuation when few match.
    // A server-side filter matching nothing (`?stale=false` over an all-stale fleet) read the whole table.
    const propertyFiltered = query.status !== undefined || query.environment !== undefined || query.location !== undefined || query.stale !== undefined;
    const options = (match: (e: Readonly<Record<string, unknown>>) => boolean): ReadPageOptions =>
      propertyFiltered ? { match, ...(this.maxRowsExamined !== undefined ? { maxRowsExamined: this.maxRowsExamined } : {}) } : {};

    const indexPartition = indexPartitionFor(query);

    if (indexPartition === undefined) {
      // Main table: one partition for a subscription filter, otherwise a paged read in key order.
      const where = query.subscriptionId !== undefined ? odata`PartitionKey eq ${clusterPartition(query.subscriptionId)}` : undefined;
      // `select` is undefined (whole rows) or LIST_SELECT, which holds every column the match reads.
      const page = await readPage(this.table, where, query.top, token, select, options((e) => this.matchesRow(clusterIndexFieldsCodec, e, query)));
      return { rows: page.entities, continuationToken: encodeContinuation(page.continuationToken) };
    }

    // Index row keys start with the escaped subscription id and `|` (which escaping keeps out of the
    // id), so a subscription is a row-key range of the index partition, not a scan of it.
    const subscription = query.subscriptionId !== undefined ? clusterPartition(query.subscriptionId) : undefined;
    const where = [
      odata`PartitionKey eq ${indexPartition}`,
      ...(subscription !== undefined ? [odata`RowKey ge ${`${subscription}|`} and RowKey lt ${`${subscription}}`}`] : []),
    ].join(' and ');
    const indexQuery: ClusterQuery = { ...query, failingControlId: undefined };
    const page = await readPage(this.index, where, query.top, token, INDEX_ROW_SELECT, options((e) => this.matchesRow(clusterIndexRowCodec, e, indexQuery)));
    const pointers = page.entities.map((e) => reqStr(e, 'rowKey'));
    const rows: (Record<string, unknown> | undefined)[] = new Array<Record<string, unknown> | undefined>(pointers.length);
    await forEachLimited([...pointers.keys()], POINT_READ_CONCURRENCY, async (i) => {
      const pointer = pointers[i] as string;
      const sep = pointer.indexOf('|');
      rows[i] = await this.pointRead(pointer.slice(0, sep), pointer.slice(sep + 1), select);
    });
    return {
      rows: rows.filter((e): e is Record<string, unknown> => e !== undefined),
      continuationToken: encodeContinuation(page.continuationToken),
    };
  }

  /** Unreadable rows (reported) match nothing. */
  private matchesRow(codec: typeof clusterIndexRowCodec, e: Readonly<Record<string, unknown>>, query: ClusterQuery): boolean {
    const fields = this.records.check(codec, e);
    return fields !== undefined && matchesFields(fields, query);
  }

  private async pointRead(partitionKey: string, rowKey: string, select: readonly string[] | undefined): Promise<Record<string, unknown> | undefined> {
    if (select === undefined) return getEntityOrUndefined(this.table, partitionKey, rowKey);
    try {
      return await this.table.getEntity<Record<string, unknown>>(partitionKey, rowKey, { queryOptions: { select: [...select] } });
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  async deleteMany(clusters: readonly { readonly subscriptionId: string; readonly resourceGroup: string; readonly name: string }[]): Promise<number> {
    const found: { partitionKey: string; rowKey: string; fields: IndexFields | undefined }[] = [];
    await forEachLimited([...clusters], POINT_READ_CONCURRENCY, async (c) => {
      const partitionKey = clusterPartition(c.subscriptionId);
      const rowKey = clusterRow(c.resourceGroup, c.name);
      const e = await getEntityOrUndefined(this.table, partitionKey, rowKey);
      // An unreadable row (reported) is deleted too; index rows it may have had stay as orphans that listing skips.
      if (e !== undefined) found.push({ partitionKey, rowKey, fields: this.indexFields(e) });
    });
    const indexRows = found.flatMap((f) => [...(f.fields === undefined ? [] : indexRowsOf(f.fields).keys())].map((partitionKey) => ({ partitionKey, rowKey: `${f.partitionKey}|${f.rowKey}` })));
    // States first: an index row left behind by a crash points at nothing and is skipped by `list`.
    invalidateListPages();
    await deleteBatched(this.table, found.map(({ partitionKey, rowKey }) => ({ partitionKey, rowKey })));
    await deleteBatched(this.index, indexRows);
    invalidateListPages();
    return found.length;
  }

  async markStale(subscriptionId: string, options: { readonly lastSeenNoLaterThan?: string | undefined } = {}): Promise<number> {
    const pk = clusterPartition(subscriptionId);
    // A cluster last seen after the cutoff was stored by a newer run: its results are current.
    const cutoff = options.lastSeenNoLaterThan === undefined ? undefined : Date.parse(options.lastSeenNoLaterThan);
    // Rows whose index fields are unreadable (reported) are left as they are.
    const current = (await readAll(this.table, odata`PartitionKey eq ${pk}`, [...INDEX_SELECT, 'lastSeenAt']))
      .map((e) => ({ e, fields: this.indexFields(e) }))
      .filter(({ e, fields }) => fields !== undefined && !fields.stale && (cutoff === undefined || !(Date.parse(typeof e['lastSeenAt'] === 'string' ? e['lastSeenAt'] : '') > cutoff)))
      .map(({ e, fields }) => ({ e, fields: fields as IndexFields }));
    if (current.length === 0) return 0;
    const indexUpserts: TransactionAction[] = [];
    for (const { e, fields } of current) {
      const pointer = `${pk}|${reqStr(e, 'rowKey')}`;
      for (const [partitionKey, props] of indexRowsOf({ ...fields, stale: true })) {
        indexUpserts.push(['upsert', { partitionKey, rowKey: pointer, ...props }, 'Replace']);
      }
    }
    invalidateListPages();
    await submitBatched(this.index, indexUpserts);
    // Merge only the flag (results, evaluation and lastSeenAt stay as last collected), and only into
    // the state read above (ETag): one rewritten since (a newer run's results) stays fresh, one deleted
    // since (ARM no longer lists it) stays gone. An unconditional upsert marked the newer results stale,
    // or recreated the deleted cluster as a row without evaluation that made every read of it throw.
    const changed: (typeof current)[number][] = [];
    let marked = 0;
    await forEachLimited(current, POINT_READ_CONCURRENCY, async (row) => {
      const { e } = row;
      try {
        await this.table.updateEntity({ partitionKey: pk, rowKey: reqStr(e, 'rowKey'), stale: true }, 'Merge', { etag: reqStr(e, 'etag') });
        marked += 1;
      } catch (error) {
        if (!isStatus(error, 412) && !isStatus(error, 404)) throw error;
        changed.push(row);
      }
    });
    // The index rows written above for a state rewritten or deleted meanwhile: put back what the
    // table holds now (nothing for a deleted one).
    for (const { e, fields } of changed) {
      const rowKey = reqStr(e, 'rowKey');
      const pointer = `${pk}|${rowKey}`;
      const latest = await getEntityOrUndefined(this.table, pk, rowKey);
      const latestFields = latest === undefined ? undefined : this.indexFields(latest);
      const rows = latestFields === undefined ? new Map<string, Record<string, unknown>>() : indexRowsOf(latestFields);
      await submitBatched(this.index, [...rows].map(([partitionKey, props]): TransactionAction => ['upsert', { partitionKey, rowKey: pointer, ...props }, 'Replace']));
      const written = indexRowsOf({ ...fields, stale: true });
      await deleteBatched(this.index, [...written.keys()].filter((k) => !rows.has(k)).map((partitionKey) => ({ partitionKey, rowKey: pointer })));
    }
    invalidateListPages();
    return marked;
  }
}


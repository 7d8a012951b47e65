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
 */
import type { TableClient, TableEntity, TransactionAction } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { ClusterEvaluation, ControlResult, ControlStatus, Severity } from '../../domain/model.js';
import type { SummaryInput } from '../../domain/fleet-summary.js';
import type { ReportCluster } from '../../domain/framework-report.js';
import type { ClusterQuery, ClusterState, EvaluationClusterStateRepository, Page } from '../../application/ports.js';
import { toClusterSummary, type ClusterSummaryListing, type ClusterSummaryView } from '../../application/compliance-query-service.js';
import { InvalidRequestError } from '../../domain/errors.js';
import { escapeKey, joinKey } from './table-keys.js';
import { CHUNK_CHARS, MAX_CHUNKED_CHARS, MAX_CHUNKS, readChunks, writeChunks } from './chunked-property.js';
import {
  bool,
  decodeContinuation,
  defined,
  deleteBatched,
  encodeContinuation,
  forEachLimited,
  getEntityOrUndefined,
  isStatus,
  num,
  insertBatched,
  readAll,
  readPage,
  type ReadPageOptions,
  reqStr,
  str,
  submitBatched,
  type TableStore,
} from './table-store.js';

export const clusterPartition = (subscriptionId: string): string => escapeKey(subscriptionId.toLowerCase());
export const clusterRow = (resourceGroup: string, name: string): string => joinKey(resourceGroup.toLowerCase(), name.toLowerCase());

type Status = 'compliant' | 'noncompliant';

/** The fields an index row carries and list filters read. */
interface IndexFields {
  readonly subscriptionId: string;
  readonly environment: string | undefined;
  readonly location: string;
  readonly status: Status;
  readonly stale: boolean;
  readonly failing: readonly string[];
}

const INDEX_SELECT = ['PartitionKey', 'RowKey', 'subscriptionId', 'environment', 'location', 'status', 'stale', 'failing'];
/** The columns of an index row (it has no `failing`: its partition is the failing control). */
const INDEX_ROW_SELECT = ['PartitionKey', 'RowKey', 'subscriptionId', 'environment', 'location', 'status', 'stale'];
/**
 * What a list item needs (`listSummaries`), without the chunked evaluation: reading and parsing every
 * listed cluster's controls and evidence (~30 KB each) only to drop them made `clusters?top=100` read
 * megabytes per request. `evaluatedAt` and `failedControls` (catalog order, as the evaluation holds
 * them) are stored as their own columns for this; rows written before they existed are read in full.
 */
const LIST_SELECT = [...INDEX_SELECT, 'id', 'name', 'resourceGroup', 'kind', 'score', 'evaluatedAt', 'failedControls'];
/**
 * What the fleet summary reads (`listSummaryInputs`): `controlStatuses` holds `[controlId, status,
 * severity]` per control (catalog order, ~0.5 KB), written with each state so finalize does not read
 * and parse every cluster's evidence (~300 MB of JSON for 10,000 clusters, the app's memory peak).
 */
const SUMMARY_SELECT = ['PartitionKey', 'RowKey', 'subscriptionId', 'stale', 'score', 'controlStatuses'];
/** What a framework report reads (`listControlStatuses`): the filter columns and `controlStatuses`. */
const STATUS_SELECT = [...INDEX_SELECT, 'controlStatuses'];
const POINT_READ_CONCURRENCY = 16;

function statusOf(evaluation: ClusterEvaluation): Status {
  return evaluation.failedControls.length === 0 ? 'compliant' : 'noncompliant';
}

function indexFieldsOf(state: ClusterState): IndexFields {
  return {
    subscriptionId: state.subscriptionId.toLowerCase(),
    environment: state.environment?.toLowerCase(),
    location: state.location.toLowerCase(),
    status: statusOf(state.evaluation),
    stale: state.stale,
    failing: [...new Set(state.evaluation.failedControls)].sort(),
  };
}

function indexFieldsFromEntity(e: Record<string, unknown>): IndexFields {
  return {
    subscriptionId: reqStr(e, 'subscriptionId').toLowerCase(),
    environment: str(e, 'environment')?.toLowerCase(),
    location: (str(e, 'location') ?? '').toLowerCase(),
    status: str(e, 'status') === 'compliant' ? 'compliant' : 'noncompliant',
    stale: bool(e, 'stale'),
    failing: JSON.parse(str(e, 'failing') ?? '[]') as string[],
  };
}

const indexPartitions = {
  environment: (env: string): string => `env|${escapeKey(env.toLowerCase())}`,
  location: (loc: string): string => `loc|${escapeKey(loc.toLowerCase())}`,
  status: (s: Status): string => `status|${s}`,
  failing: (controlId: string): string => `fail|${escapeKey(controlId)}`,
  stale: 'stale|true',
};

/** Index partition → the row's properties, for one cluster. */
function indexRowsOf(f: IndexFields): Map<string, Record<string, unknown>> {
  const props = defined({ subscriptionId: f.subscriptionId, environment: f.environment, location: f.location, status: f.status, stale: f.stale });
  const rows = new Map<string, Record<string, unknown>>();
  if (f.environment !== undefined) rows.set(indexPartitions.environment(f.environment), props);
  rows.set(indexPartitions.location(f.location), props);
  rows.set(indexPartitions.status(f.status), props);
  for (const c of f.failing) rows.set(indexPartitions.failing(c), props);
  if (f.stale) rows.set(indexPartitions.stale, props);
  return rows;
}

const sameProps = (a: Record<string, unknown>, b: Record<string, unknown>): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Cuts offenders and evidence harder and harder until the evaluation JSON fits `maxChars` (default:
 * the whole entity's chunk budget); always valid JSON, never longer than `maxChars`.
 */
export function fitEvaluation(evaluation: ClusterEvaluation, maxChars: number = MAX_CHUNKED_CHARS): string {
  const full = JSON.stringify(evaluation);
  if (full.length <= maxChars) return full;
  for (const [items, evidence] of [[5, 256], [0, 64], [0, 0]] as const) {
    const controls = evaluation.controls.map((c): ControlResult => ({
      ...c,
      evidence: c.evidence.length > evidence ? `${c.evidence.slice(0, evidence)}… (${c.evidence.length} characters, truncated for storage)` : c.evidence,
      ...(c.offenders ? { offenders: { items: c.offenders.items.slice(0, items).map((i) => i.slice(0, 256)), total: c.offenders.total } } : {}),
      ...(c.reason !== undefined ? { reason: c.reason.slice(0, 256) } : {}),
    }));
    const text = JSON.stringify({ ...evaluation, controls });
    if (text.length <= maxChars) return text;
  }
  // Only reachable with thousands of controls: keep identity and score, and as many failing control
  // ids as fit (the list columns keep all of them). Cutting the JSON text instead made the stored
  // evaluation unparseable, and the cluster unreadable.
  let failed = evaluation.failedControls.length;
  for (;;) {
    const text = JSON.stringify({ ...evaluation, controls: [], failedControls: evaluation.failedControls.slice(0, failed) });
    if (text.length <= maxChars) return text;
    if (failed === 0) throw new RangeError(`cluster evaluation ${evaluation.clusterId} does not fit ${maxChars} characters even without controls`);
    failed = Math.floor(failed / 2);
  }
}

/**
 * Tags as stored: JSON chunked over `tags_0..n` (ARM allows 50 tags of up to 512 + 256 characters,
 * 38,700 characters as plain JSON, and up to ~231,000 if every character needs a `\uXXXX` escape).
 * Beyond `MAX_TAGS_CHARS` (unreachable within ARM's limits) whole tags are dropped, longest first,
 * and `tagsDropped` counts them: the entity write must never fail, and a cut inside the JSON text
 * (the earlier 32,000-character slice) made every later read of the cluster throw.
 */
export const MAX_TAG_CHUNKS = 8;
const MAX_TAGS_CHARS = MAX_TAG_CHUNKS * (CHUNK_CHARS - 1);

export function fitTags(tags: Readonly<Record<string, string>>): { readonly json: string; readonly dropped: number } {
  let entries = Object.entries(tags);
  let json = JSON.stringify(Object.fromEntries(entries));
  if (json.length <= MAX_TAGS_CHARS) return { json, dropped: 0 };
  const size = ([k, v]: [string, string]): number => JSON.stringify(k).length + JSON.stringify(v).length;
  const byLengthDesc = [...entries].sort((a, b) => size(b) - size(a));
  let dropped = 0;
  while (json.length > MAX_TAGS_CHARS) {
    const longest = byLengthDesc[dropped] as [string, string];
    dropped += 1;
    entries = entries.filter((e) => e !== longest);
    json = JSON.stringify(Object.fromEntries(entries));
  }
  return { json, dropped };
}

/** Chunks one chunk holds at least (a chunk gives up one character rather than split a surrogate pair). */
const chunksFor = (text: string): number => Math.max(1, Math.ceil(text.length / (CHUNK_CHARS - 1)));

/** Stored tags; `{}` for a value that does not parse (rows written before tags were chunked may hold a cut JSON text). */
function tagsFromEntity(e: Record<string, unknown>): Record<string, string> {
  const text = readChunks(e, 'tags') ?? str(e, 'tags');
  if (text === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  } catch {
    return {};
  }
}

/** ~0.6 KB for the 16 catalog controls; the cap keeps the entity within 1 MiB next to a full evaluation. */
const MAX_CONTROL_STATUSES_CHARS = 8_000;

/** `[controlId, status, severity]` per control; left out (the row is then read in full) beyond the cap. */
function controlStatusesOf(evaluation: ClusterEvaluation): string | undefined {
  const text = JSON.stringify(evaluation.controls.map((c) => [c.controlId, c.status, c.severity]));
  return text.length <= MAX_CONTROL_STATUSES_CHARS ? text : undefined;
}

function toEntity(state: ClusterState): { partitionKey: string; rowKey: string } & Record<string, unknown> {
  const f = indexFieldsOf(state);
  const tags = fitTags(state.tags);
  // Tags and evaluation share the entity's chunk budget (MAX_CHUNKS × 64 KB keeps it under 1 MiB).
  const evaluationChars = (MAX_CHUNKS - chunksFor(tags.json)) * (CHUNK_CHARS - 1);
  return {
    partitionKey: clusterPartition(state.subscriptionId),
    rowKey: clusterRow(state.resourceGroup, state.name),
    ...defined({
      id: state.id,
      name: state.name,
      subscriptionId: state.subscriptionId,
      resourceGroup: state.resourceGroup,
      location: state.location,
      kind: state.kind,
      tagsDropped: tags.dropped > 0 ? tags.dropped : undefined,
      environment: state.environment,
      distribution: state.distribution,
      kubernetesVersion: state.kubernetesVersion,
      connectivityStatus: state.connectivityStatus,
      stale: state.stale,
      lastSeenAt: state.lastSeenAt,
      runId: state.evaluation.runId,
      score: state.evaluation.score,
      status: f.status,
      failing: JSON.stringify(f.failing),
      evaluatedAt: state.evaluation.evaluatedAt,
      failedControls: JSON.stringify(state.evaluation.failedControls),
      controlStatuses: controlStatusesOf(state.evaluation),
    }),
    ...writeChunks('tags', tags.json),
    ...writeChunks('evaluation', fitEvaluation(state.evaluation, evaluationChars)),
  };
}

function fromEntity(e: Record<string, unknown>): ClusterState {
  const evaluation = JSON.parse(readChunks(e, 'evaluation') ?? 'null') as ClusterEvaluation | null;
  if (evaluation === null) throw new Error(`cluster entity ${String(e['partitionKey'])}/${String(e['rowKey'])} has no evaluation`);
  return {
    id: reqStr(e, 'id'),
    name: reqStr(e, 'name'),
    subscriptionId: reqStr(e, 'subscriptionId'),
    resourceGroup: reqStr(e, 'resourceGroup'),
    location: reqStr(e, 'location'),
    kind: str(e, 'kind'),
    tags: tagsFromEntity(e),
    environment: str(e, 'environment'),
    distribution: str(e, 'distribution'),
    kubernetesVersion: str(e, 'kubernetesVersion'),
    connectivityStatus: str(e, 'connectivityStatus'),
    evaluation,
    stale: bool(e, 'stale'),
    lastSeenAt: reqStr(e, 'lastSeenAt'),
  };
}

function matches(state: ClusterState, q: ClusterQuery): boolean {
  return matchesFields(indexFieldsOf(state), q);
}

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

/** The list view straight from the list columns; undefined for a row written before they existed. */
function summaryFromListColumns(e: Record<string, unknown>): ClusterSummaryView | undefined {
  const evaluatedAt = str(e, 'evaluatedAt');
  const failedControls = str(e, 'failedControls');
  if (evaluatedAt === undefined || failedControls === undefined) return undefined;
  return {
    id: reqStr(e, 'id'),
    name: reqStr(e, 'name'),
    subscriptionId: reqStr(e, 'subscriptionId'),
    resourceGroup: reqStr(e, 'resourceGroup'),
    location: reqStr(e, 'location'),
    kind: str(e, 'kind') ?? null,
    environment: str(e, 'environment') ?? null,
    score: num(e, 'score'),
    failedControls: JSON.parse(failedControls) as string[],
    lastEvaluatedAt: evaluatedAt,
    stale: bool(e, 'stale'),
  };
}

/** Default staleness bound of {@link TableClusterStateRepository.listSummaries} across instances. */
export const DEFAULT_LIST_CACHE_MS = 1000;
const LIST_CACHE_ENTRIES = 256;

export interface TableClusterStateRepositoryOptions {
  /** How long a `listSummaries` page is served from memory; 0 turns the cache off. */
  readonly listCacheMs?: number;
  /** Milliseconds (monotonic); tests pass a fake clock. */
  readonly now?: () => number;
  /** Rows a filtered listing examines per request (default MAX_ROWS_EXAMINED_PER_PAGE); tests lower it. */
  readonly maxRowsExamined?: number;
}

/**
 * Bumped before and after every cluster write in this process (any instance): a cached list page
 * from an older generation is never served, so a process reads its own writes at once.
 */
let listGeneration = 0;
const invalidateListPages = (): void => {
  listGeneration += 1;
};

interface CachedPage {
  readonly generation: number;
  readonly expiresAt: number;
  readonly page: Promise<Page<ClusterSummaryView>>;
}

function freezePage(page: Page<ClusterSummaryView>): Page<ClusterSummaryView> {
  for (const item of page.items) {
    Object.freeze(item.failedControls);
    Object.freeze(item);
  }
  Object.freeze(page.items);
  return Object.freeze(page);
}

export class TableClusterStateRepository implements EvaluationClusterStateRepository, ClusterSummaryListing {
  private readonly table: TableClient;
  private readonly index: TableClient;
  private readonly listCacheMs: number;
  private readonly now: () => number;
  private readonly maxRowsExamined: number | undefined;
  private readonly listPages = new Map<string, CachedPage>();

  constructor(store: TableStore, options: TableClusterStateRepositoryOptions = {}) {
    this.table = store.client('clusters');
    this.index = store.client('clusterIndex');
    this.listCacheMs = options.listCacheMs ?? DEFAULT_LIST_CACHE_MS;
    this.now = options.now ?? (() => performance.now());
    this.maxRowsExamined = options.maxRowsExamined;
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
          previous.set(`${pk}|${reqStr(e, 'rowKey')}`, indexFieldsFromEntity(e));
        }
      }
    }
    const entities = states.map(toEntity);
    const upserts: TransactionAction[] = [];
    const inserts: TableEntity[] = [];
    const deletes: { partitionKey: string; rowKey: string }[] = [];
    for (const [i, state] of states.entries()) {
      const entity = entities[i] as ReturnType<typeof toEntity>;
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
    return e === undefined ? undefined : fromEntity(e);
  }

  async listBySubscription(subscriptionId: string): Promise<ClusterState[]> {
    return (await readAll(this.table, odata`PartitionKey eq ${clusterPartition(subscriptionId)}`)).map(fromEntity);
  }

  async list(query: ClusterQuery): Promise<Page<ClusterState>> {
    const page = await this.listRows(query, undefined);
    return {
      items: page.rows.map(fromEntity).filter((s) => matches(s, query)),
      continuationToken: page.continuationToken,
    };
  }

  /**
   * Every cluster as the fleet summary sees it, in the order of an unfiltered {@link list}, one page of
   * up to `top` at a time, reading only `SUMMARY_SELECT`; a row written before `controlStatuses`
   * existed is read in full.
   */
  async listSummaryInputs(top: number, continuationToken: string | undefined): Promise<Page<SummaryInput>> {
    if (!Number.isInteger(top) || top < 1) throw new InvalidRequestError('top must be a positive integer.', 'top');
    const page = await readPage(this.table, undefined, top, decodeContinuation(continuationToken), SUMMARY_SELECT);
    const slim = (controls: readonly ControlResult[]): ControlResult[] => controls.map((c) => ({ controlId: c.controlId, status: c.status, severity: c.severity, evidence: '' }));
    const items = new Array<SummaryInput | undefined>(page.entities.length);
    await forEachLimited([...page.entities.keys()], POINT_READ_CONCURRENCY, async (i) => {
      const e = page.entities[i] as Record<string, unknown>;
      const statuses = str(e, 'controlStatuses');
      if (statuses === undefined) {
        const state = await this.readState(e);
        items[i] = state === undefined ? undefined : { subscriptionId: state.subscriptionId, stale: state.stale, evaluation: { score: state.evaluation.score, controls: slim(state.evaluation.controls) } };
        return;
      }
      const controls = (JSON.parse(statuses) as [string, ControlStatus, Severity][]).map(([controlId, status, severity]): ControlResult => ({ controlId, status, severity, evidence: '' }));
      items[i] = { subscriptionId: reqStr(e, 'subscriptionId'), stale: bool(e, 'stale'), evaluation: { score: num(e, 'score'), controls } };
    });
    return { items: items.filter((i): i is SummaryInput => i !== undefined), continuationToken: encodeContinuation(page.continuationToken) };
  }

  /**
   * The list view of {@link list}: only the list columns are read (see `LIST_SELECT`). Pages are kept
   * in memory (frozen, shared) for `listCacheMs` (default 1 s), keyed by the whole query, and
   * concurrent requests for the same page share one read: the emulator (Azurite) answers every Table
   * query by scanning and sorting the whole table, so at 10,000 clusters each read costs ~20 ms of
   * its CPU. Writes in this process drop every cached page; another instance's writes show within
   * `listCacheMs`. `list` (the evaluation's own reads) is never cached.
   */
  async listSummaries(query: ClusterQuery): Promise<Page<ClusterSummaryView>> {
    if (this.listCacheMs <= 0) return this.readSummaries(query);
    const key = JSON.stringify([query.subscriptionId, query.status, query.failingControlId, query.environment, query.location, query.stale, query.top, query.continuationToken]);
    const now = this.now();
    const hit = this.listPages.get(key);
    if (hit !== undefined && hit.generation === listGeneration && now < hit.expiresAt) return hit.page;
    if (hit !== undefined) this.listPages.delete(key);
    const generation = listGeneration;
    const page = this.readSummaries(query).then(freezePage);
    const entry: CachedPage = { generation, expiresAt: now + this.listCacheMs, page };
    if (this.listPages.size >= LIST_CACHE_ENTRIES) {
      const oldest = this.listPages.keys().next();
      if (oldest.done !== true) this.listPages.delete(oldest.value);
    }
    this.listPages.set(key, entry);
    page.catch(() => {
      if (this.listPages.get(key) === entry) this.listPages.delete(key);
    });
    return page;
  }

  private async readSummaries(query: ClusterQuery): Promise<Page<ClusterSummaryView>> {
    const page = await this.listRows(query, LIST_SELECT);
    const items: (ClusterSummaryView | undefined)[] = [];
    await Promise.all(
      page.rows.map(async (entity, i) => {
        if (!matchesFields(indexFieldsFromEntity(entity), query)) return;
        const view = summaryFromListColumns(entity);
        if (view !== undefined) {
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
   * The control statuses of the clusters matching `query` (the filters, order and paging of
   * {@link list}), reading only `STATUS_SELECT`; a row written before `controlStatuses` existed is
   * read in full.
   */
  async listControlStatuses(query: ClusterQuery): Promise<Page<ReportCluster>> {
    const page = await this.listRows(query, STATUS_SELECT);
    const items = new Array<ReportCluster | undefined>(page.rows.length);
    await forEachLimited([...page.rows.keys()], POINT_READ_CONCURRENCY, async (i) => {
      const e = page.rows[i] as Record<string, unknown>;
      if (!matchesFields(indexFieldsFromEntity(e), query)) return;
      const statuses = str(e, 'controlStatuses');
      if (statuses !== undefined) {
        items[i] = { controls: (JSON.parse(statuses) as [string, ControlStatus, Severity][]).map(([controlId, status]) => ({ controlId, status })) };
        return;
      }
      const state = await this.readState(e);
      items[i] = state !== undefined && matches(state, query) ? { controls: state.evaluation.controls.map((c) => ({ controlId: c.controlId, status: c.status })) } : undefined;
    });
    return { items: items.filter((c): c is ReportCluster => c !== undefined), continuationToken: page.continuationToken };
  }

  private async readState(row: Record<string, unknown>): Promise<ClusterState | undefined> {
    const e = await getEntityOrUndefined(this.table, reqStr(row, 'partitionKey'), reqStr(row, 'rowKey'));
    return e === undefined ? undefined : fromEntity(e);
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

    const indexPartition =
      query.failingControlId !== undefined
        ? indexPartitions.failing(query.failingControlId)
        : query.subscriptionId !== undefined
          ? undefined
          : query.environment !== undefined
            ? indexPartitions.environment(query.environment)
            : query.stale === true
              ? indexPartitions.stale
              : query.location !== undefined
                ? indexPartitions.location(query.location)
                : query.status !== undefined
                  ? indexPartitions.status(query.status)
                  : undefined;

    if (indexPartition === undefined) {
      // Main table: one partition for a subscription filter, otherwise a paged read in key order.
      const where = query.subscriptionId !== undefined ? odata`PartitionKey eq ${clusterPartition(query.subscriptionId)}` : undefined;
      // `select` is undefined (whole rows) or LIST_SELECT, which holds every column the match reads.
      const page = await readPage(this.table, where, query.top, token, select, options((e) => matchesFields(indexFieldsFromEntity(e), query)));
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
    const page = await readPage(this.index, where, query.top, token, INDEX_ROW_SELECT, options((e) => matchesFields(indexFieldsFromEntity(e), indexQuery)));
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
    const found: { partitionKey: string; rowKey: string; fields: IndexFields }[] = [];
    await forEachLimited([...clusters], POINT_READ_CONCURRENCY, async (c) => {
      const partitionKey = clusterPartition(c.subscriptionId);
      const rowKey = clusterRow(c.resourceGroup, c.name);
      const e = await getEntityOrUndefined(this.table, partitionKey, rowKey);
      if (e !== undefined) found.push({ partitionKey, rowKey, fields: indexFieldsFromEntity(e) });
    });
    const indexRows = found.flatMap((f) => [...indexRowsOf(f.fields).keys()].map((partitionKey) => ({ partitionKey, rowKey: `${f.partitionKey}|${f.rowKey}` })));
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
    const current = (await readAll(this.table, odata`PartitionKey eq ${pk}`, [...INDEX_SELECT, 'lastSeenAt'])).filter(
      (e) => !bool(e, 'stale') && (cutoff === undefined || !(Date.parse(str(e, 'lastSeenAt') ?? '') > cutoff)),
    );
    if (current.length === 0) return 0;
    const indexUpserts: TransactionAction[] = [];
    for (const e of current) {
      const pointer = `${pk}|${reqStr(e, 'rowKey')}`;
      for (const [partitionKey, props] of indexRowsOf({ ...indexFieldsFromEntity(e), stale: true })) {
        indexUpserts.push(['upsert', { partitionKey, rowKey: pointer, ...props }, 'Replace']);
      }
    }
    invalidateListPages();
    await submitBatched(this.index, indexUpserts);
    // Merge only the flag (results, evaluation and lastSeenAt stay as last collected), and only into
    // the state read above (ETag): one rewritten since (a newer run's results) stays fresh, one deleted
    // since (ARM no longer lists it) stays gone. An unconditional upsert marked the newer results stale,
    // or recreated the deleted cluster as a row without evaluation that made every read of it throw.
    const changed: Record<string, unknown>[] = [];
    let marked = 0;
    await forEachLimited(current, POINT_READ_CONCURRENCY, async (e) => {
      try {
        await this.table.updateEntity({ partitionKey: pk, rowKey: reqStr(e, 'rowKey'), stale: true }, 'Merge', { etag: reqStr(e, 'etag') });
        marked += 1;
      } catch (error) {
        if (!isStatus(error, 412) && !isStatus(error, 404)) throw error;
        changed.push(e);
      }
    });
    // The index rows written above for a state rewritten or deleted meanwhile: put back what the
    // table holds now (nothing for a deleted one).
    for (const e of changed) {
      const rowKey = reqStr(e, 'rowKey');
      const pointer = `${pk}|${rowKey}`;
      const latest = await getEntityOrUndefined(this.table, pk, rowKey);
      const rows = latest === undefined ? new Map<string, Record<string, unknown>>() : indexRowsOf(indexFieldsFromEntity(latest));
      await submitBatched(this.index, [...rows].map(([partitionKey, props]): TransactionAction => ['upsert', { partitionKey, rowKey: pointer, ...props }, 'Replace']));
      const written = indexRowsOf({ ...indexFieldsFromEntity(e), stale: true });
      await deleteBatched(this.index, [...written.keys()].filter((k) => !rows.has(k)).map((partitionKey) => ({ partitionKey, rowKey: pointer })));
    }
    invalidateListPages();
    return marked;
  }
}


/**
 * Current cluster states in the `clusters` table, with a secondary index in `clusterindex`.
 *
 * - `clusters`: partition = lower-cased subscription id, row = `<rg>|<name>` (lower-cased, escaped).
 *   A subscription filter is one partition; `get` is a point read. The evaluation (controls with
 *   evidence) is stored as JSON chunked over `evaluation_0..n` properties, and cut further (fewer
 *   offenders, shorter evidence, with the totals kept) when even that would not fit one entity — the
 *   write never fails on size.
 * - `clusterindex`: small pointer rows in partitions `env|<env>`, `loc|<location>`,
 *   `status|<compliant|noncompliant>`, `fail|<controlId>` and `stale|true`, row = `<subscription>|<rg>|<name>`,
 *   each carrying the filterable fields. A filtered listing reads the most selective index partition
 *   (remaining filters applied as property filters) and point-reads the states of that page.
 *   Index rows are diffed against the previous state, so an unchanged cluster costs no index write.
 */
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { ClusterEvaluation, ControlResult } from '../../domain/model.js';
import type { ClusterQuery, ClusterState, EvaluationClusterStateRepository, Page } from '../../application/ports.js';
import { InvalidRequestError } from '../../domain/errors.js';
import { escapeKey, joinKey } from './table-keys.js';
import { MAX_CHUNKED_CHARS, readChunks, writeChunks } from './chunked-property.js';
import {
  bool,
  decodeContinuation,
  defined,
  deleteBatched,
  encodeContinuation,
  forEachLimited,
  getEntityOrUndefined,
  readAll,
  readPage,
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

/** Cuts offenders and evidence harder and harder until the evaluation JSON fits one entity. */
export function fitEvaluation(evaluation: ClusterEvaluation): string {
  const full = JSON.stringify(evaluation);
  if (full.length <= MAX_CHUNKED_CHARS) return full;
  for (const [items, evidence] of [[5, 256], [0, 64], [0, 0]] as const) {
    const controls = evaluation.controls.map((c): ControlResult => ({
      ...c,
      evidence: c.evidence.length > evidence ? `${c.evidence.slice(0, evidence)}… (${c.evidence.length} characters, truncated for storage)` : c.evidence,
      ...(c.offenders ? { offenders: { items: c.offenders.items.slice(0, items).map((i) => i.slice(0, 256)), total: c.offenders.total } } : {}),
      ...(c.reason !== undefined ? { reason: c.reason.slice(0, 256) } : {}),
    }));
    const text = JSON.stringify({ ...evaluation, controls });
    if (text.length <= MAX_CHUNKED_CHARS) return text;
  }
  // Only reachable with thousands of controls: keep identity, score and failing controls.
  return JSON.stringify({ ...evaluation, controls: [] }).slice(0, MAX_CHUNKED_CHARS);
}

function toEntity(state: ClusterState): { partitionKey: string; rowKey: string } & Record<string, unknown> {
  const f = indexFieldsOf(state);
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
      tags: JSON.stringify(state.tags).slice(0, 32_000),
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
    }),
    ...writeChunks('evaluation', fitEvaluation(state.evaluation)),
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
    tags: JSON.parse(str(e, 'tags') ?? '{}') as Record<string, string>,
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
  const f = indexFieldsOf(state);
  return (
    (q.subscriptionId === undefined || f.subscriptionId === q.subscriptionId.toLowerCase()) &&
    (q.status === undefined || f.status === q.status) &&
    (q.failingControlId === undefined || f.failing.includes(q.failingControlId)) &&
    (q.environment === undefined || f.environment === q.environment.toLowerCase()) &&
    (q.location === undefined || f.location === q.location.toLowerCase()) &&
    (q.stale === undefined || f.stale === q.stale)
  );
}

export class TableClusterStateRepository implements EvaluationClusterStateRepository {
  private readonly table: TableClient;
  private readonly index: TableClient;

  constructor(store: TableStore) {
    this.table = store.client('clusters');
    this.index = store.client('clusterIndex');
  }

  async upsertMany(states: readonly ClusterState[]): Promise<void> {
    if (states.length === 0) return;
    const previous = new Map<string, IndexFields>();
    for (const pk of new Set(states.map((s) => clusterPartition(s.subscriptionId)))) {
      for (const e of await readAll(this.table, odata`PartitionKey eq ${pk}`, INDEX_SELECT)) {
        previous.set(`${pk}|${reqStr(e, 'rowKey')}`, indexFieldsFromEntity(e));
      }
    }
    const entities = states.map(toEntity);
    const upserts: TransactionAction[] = [];
    const deletes: { partitionKey: string; rowKey: string }[] = [];
    for (const [i, state] of states.entries()) {
      const entity = entities[i] as ReturnType<typeof toEntity>;
      const pointer = `${entity.partitionKey}|${entity.rowKey}`;
      const before = previous.get(pointer);
      const oldRows = before ? indexRowsOf(before) : new Map<string, Record<string, unknown>>();
      for (const [partitionKey, props] of indexRowsOf(indexFieldsOf(state))) {
        const old = oldRows.get(partitionKey);
        if (old === undefined || !sameProps(old, props)) upserts.push(['upsert', { partitionKey, rowKey: pointer, ...props }, 'Replace']);
      }
      for (const partitionKey of oldRows.keys()) if (!indexRowsOf(indexFieldsOf(state)).has(partitionKey)) deletes.push({ partitionKey, rowKey: pointer });
    }
    // New index rows first, then the states, then stale index rows: a crash in between leaves extra
    // index rows at worst, and listing re-checks every state it reads against the query.
    await submitBatched(this.index, upserts);
    await submitBatched(this.table, entities.map((e): TransactionAction => ['upsert', e, 'Replace']));
    await deleteBatched(this.index, deletes);
  }

  async get(subscriptionId: string, resourceGroup: string, name: string): Promise<ClusterState | undefined> {
    const e = await getEntityOrUndefined(this.table, clusterPartition(subscriptionId), clusterRow(resourceGroup, name));
    return e === undefined ? undefined : fromEntity(e);
  }

  async listBySubscription(subscriptionId: string): Promise<ClusterState[]> {
    return (await readAll(this.table, odata`PartitionKey eq ${clusterPartition(subscriptionId)}`)).map(fromEntity);
  }

  async list(query: ClusterQuery): Promise<Page<ClusterState>> {
    if (!Number.isInteger(query.top) || query.top < 1) throw new InvalidRequestError('top must be a positive integer.', 'top');
    const token = decodeContinuation(query.continuationToken);
    const props: string[] = [];
    const add = (clause: string): void => {
      props.push(clause);
    };
    if (query.status !== undefined) add(odata`status eq ${query.status}`);
    if (query.environment !== undefined) add(odata`environment eq ${query.environment.toLowerCase()}`);
    if (query.location !== undefined) add(odata`location eq ${query.location.toLowerCase()}`);
    if (query.stale !== undefined) add(odata`stale eq ${query.stale}`);

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
      const where = [
        ...(query.subscriptionId !== undefined ? [odata`PartitionKey eq ${clusterPartition(query.subscriptionId)}`] : []),
        ...props,
      ];
      const page = await readPage(this.table, where.length > 0 ? where.join(' and ') : undefined, query.top, token);
      return { items: page.entities.map(fromEntity).filter((s) => matches(s, query)), continuationToken: encodeContinuation(page.continuationToken) };
    }

    const where = [
      odata`PartitionKey eq ${indexPartition}`,
      ...(query.subscriptionId !== undefined ? [odata`subscriptionId eq ${query.subscriptionId.toLowerCase()}`] : []),
      ...props,
    ];
    const page = await readPage(this.index, where.join(' and '), query.top, token, ['PartitionKey', 'RowKey']);
    const pointers = page.entities.map((e) => reqStr(e, 'rowKey'));
    const states: (ClusterState | undefined)[] = new Array<ClusterState | undefined>(pointers.length);
    await forEachLimited([...pointers.keys()], POINT_READ_CONCURRENCY, async (i) => {
      const pointer = pointers[i] as string;
      const sep = pointer.indexOf('|');
      const e = await getEntityOrUndefined(this.table, pointer.slice(0, sep), pointer.slice(sep + 1));
      states[i] = e === undefined ? undefined : fromEntity(e);
    });
    return {
      items: states.filter((s): s is ClusterState => s !== undefined && matches(s, query)),
      continuationToken: encodeContinuation(page.continuationToken),
    };
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
    await deleteBatched(this.table, found.map(({ partitionKey, rowKey }) => ({ partitionKey, rowKey })));
    await deleteBatched(this.index, indexRows);
    return found.length;
  }

  async markStale(subscriptionId: string): Promise<number> {
    const pk = clusterPartition(subscriptionId);
    const current = (await readAll(this.table, odata`PartitionKey eq ${pk}`, INDEX_SELECT)).filter((e) => !bool(e, 'stale'));
    if (current.length === 0) return 0;
    const indexUpserts: TransactionAction[] = [];
    for (const e of current) {
      const pointer = `${pk}|${reqStr(e, 'rowKey')}`;
      for (const [partitionKey, props] of indexRowsOf({ ...indexFieldsFromEntity(e), stale: true })) {
        indexUpserts.push(['upsert', { partitionKey, rowKey: pointer, ...props }, 'Replace']);
      }
    }
    await submitBatched(this.index, indexUpserts);
    // Merge only the flag: results, evaluation and lastSeenAt stay as last collected.
    await submitBatched(this.table, current.map((e): TransactionAction => ['upsert', { partitionKey: pk, rowKey: reqStr(e, 'rowKey'), stale: true }, 'Merge']));
    return current.length;
  }
}


/**
 * Control-plane events and watch state in the `controlplaneevents` table.
 *
 * - `all` / `<inverted eventTimestamp>|<eventDataId>`: every kept event, newest first; `published`
 *   says whether `controlplane.change.detected` went out. The key comes from the entry itself, so
 *   reading the same Activity Log entry again addresses the same row: a second read never stores,
 *   counts or alerts twice.
 * - `c|<cluster id>` / same row key: a copy per cluster the event concerns (one for a cluster change,
 *   one per cluster of the group for a resource-group change), for the cluster views and ARC-TD-04.
 * - `watch` / `<subscription>`: the subscription's watch state (coverage, last attempt, last error).
 * - `ext|<subscription>` / `<cluster id>`: extension name → type as last listed (the log names an
 *   extension, never its type).
 *
 * Every row is written and read through its codec (`records/control-plane-records.ts`): versioned,
 * validated on read; a damaged row is left out of listings and reported like any stored record.
 */
import { odata, type TableClient, type TableEntity, type TransactionAction } from '@azure/data-tables';
import type { ControlPlaneEventQuery, ControlPlaneEventRepository, ControlPlaneWatchState, Page } from '../../application/ports.js';
import { clustersOf, type ControlPlaneEvent } from '../../domain/control-plane-events.js';
import { controlPlaneEventCodec, controlPlaneExtensionTypesCodec, controlPlaneWatchCodec } from './records/control-plane-records.js';
import type { StoredRecordReader } from './records/stored-record-reader.js';
import { escapeKey, invertedTime, unescapeKey } from './table-keys.js';
import { decodeContinuation, deleteBatched, encodeContinuation, getEntityOrUndefined, isStatus, readAll, readPage, str, submitBatched, type TableStore } from './table-store.js';

export const CONTROL_PLANE_TABLE = 'controlplaneevents';
const ALL = 'all';
const WATCH = 'watch';
const clusterPartition = (clusterId: string): string => `c|${escapeKey(clusterId.toLowerCase())}`;
const extensionPartition = (subscriptionId: string): string => `ext|${escapeKey(subscriptionId.toLowerCase())}`;
const rowKeyOf = (event: Pick<ControlPlaneEvent, 'eventTimestamp' | 'eventDataId'>): string => `${invertedTime(event.eventTimestamp)}|${escapeKey(event.eventDataId)}`;
/** Row keys of events at or after `at` are below this (newest first; `}` sorts after `|`). */
const untilKey = (at: string): string => `${invertedTime(at)}}`;
/** Row keys of events at or before `at` start here. */
const fromKey = (at: string): string => invertedTime(at);

function eventRow(partitionKey: string, event: ControlPlaneEvent, published?: boolean): TableEntity {
  return { partitionKey, rowKey: rowKeyOf(event), ...controlPlaneEventCodec.encode(event), ...(published !== undefined ? { published } : {}) };
}

export class TableControlPlaneEventRepository implements ControlPlaneEventRepository {
  private constructor(
    private readonly table: TableClient,
    private readonly records: StoredRecordReader,
  ) {}

  /** Opens (and creates once) the table in the store's account, with its prefix. */
  static async open(store: TableStore): Promise<TableControlPlaneEventRepository> {
    const table = store.dynamicTable(CONTROL_PLANE_TABLE);
    await store.ensureTable(table);
    return new TableControlPlaneEventRepository(table, store.records);
  }

  private events(entities: readonly Record<string, unknown>[]): ControlPlaneEvent[] {
    return this.records.many(controlPlaneEventCodec, entities);
  }

  async record(event: ControlPlaneEvent): Promise<{ readonly published: boolean }> {
    // Copies first: the main row is the commit point, so a crash in between leaves a row that the
    // next read of the same entry completes.
    const copies = clustersOf(event).map((c) => eventRow(clusterPartition(c), event));
    if (copies.length > 0) await submitBatched(this.table, copies.map((e) => ['upsert', e, 'Replace'] as TransactionAction));
    try {
      await this.table.createEntity(eventRow(ALL, event, false));
      return { published: false };
    } catch (error) {
      if (!isStatus(error, 409)) throw error;
    }
    const stored = await getEntityOrUndefined(this.table, ALL, rowKeyOf(event));
    return { published: stored?.['published'] === true };
  }

  async markPublished(event: ControlPlaneEvent): Promise<void> {
    await this.table.updateEntity({ partitionKey: ALL, rowKey: rowKeyOf(event), published: true }, 'Merge');
  }

  async list(query: ControlPlaneEventQuery): Promise<Page<ControlPlaneEvent>> {
    const cursor = decodeContinuation(query.continuationToken);
    const partition = query.clusterId !== undefined ? clusterPartition(query.clusterId) : ALL;
    const filter =
      query.since !== undefined
        ? odata`PartitionKey eq ${partition} and RowKey lt ${untilKey(query.since)}`
        : odata`PartitionKey eq ${partition}`;
    const subscription = query.subscriptionId?.toLowerCase();
    const operation = query.operation?.toLowerCase();
    const match =
      subscription === undefined && operation === undefined
        ? undefined
        : (e: Readonly<Record<string, unknown>>): boolean =>
            (subscription === undefined || str(e, 'subscriptionId') === subscription) && (operation === undefined || str(e, 'operation') === operation);
    const page = await readPage(this.table, filter, query.top, cursor, undefined, match !== undefined ? { match } : {});
    return { items: this.events(page.entities), continuationToken: encodeContinuation(page.continuationToken) };
  }

  async listForCluster(clusterId: string, from: string, to: string): Promise<ControlPlaneEvent[]> {
    const rows = await readAll(this.table, odata`PartitionKey eq ${clusterPartition(clusterId)} and RowKey ge ${fromKey(to)} and RowKey lt ${untilKey(from)}`);
    return this.events(rows);
  }

  async getWatchState(subscriptionId: string): Promise<ControlPlaneWatchState | undefined> {
    const e = await getEntityOrUndefined(this.table, WATCH, escapeKey(subscriptionId.toLowerCase()));
    return e === undefined ? undefined : this.records.one(controlPlaneWatchCodec, e);
  }

  async saveWatchState(state: ControlPlaneWatchState): Promise<void> {
    await this.table.upsertEntity({ partitionKey: WATCH, rowKey: escapeKey(state.subscriptionId.toLowerCase()), ...controlPlaneWatchCodec.encode(state) }, 'Replace');
  }

  async listWatchStates(): Promise<ControlPlaneWatchState[]> {
    return this.records.many(controlPlaneWatchCodec, await readAll(this.table, odata`PartitionKey eq ${WATCH}`));
  }

  async recordExtensionTypes(subscriptionId: string, types: ReadonlyMap<string, ReadonlyMap<string, string>>): Promise<void> {
    const rows = [...types].map(([clusterId, byName]): TableEntity => ({
      partitionKey: extensionPartition(subscriptionId),
      rowKey: escapeKey(clusterId.toLowerCase()),
      ...controlPlaneExtensionTypesCodec.encode({ clusterId, types: Object.fromEntries([...byName].map(([n, t]) => [n.toLowerCase(), t.toLowerCase()])) }),
    }));
    if (rows.length > 0) await submitBatched(this.table, rows.map((e) => ['upsert', e, 'Replace'] as TransactionAction));
  }

  async extensionTypes(subscriptionId: string): Promise<Map<string, Map<string, string>>> {
    const out = new Map<string, Map<string, string>>();
    for (const row of this.records.many(controlPlaneExtensionTypesCodec, await readAll(this.table, odata`PartitionKey eq ${extensionPartition(subscriptionId)}`))) {
      out.set(unescapeKey(row.clusterId), new Map(Object.entries(row.types)));
    }
    return out;
  }

  async purgeOlderThan(cutoff: string): Promise<number> {
    // A range read of the old main rows (older events have larger keys; usually none), whose events
    // name the per-cluster copies to delete with them: no scan of the table.
    const old = await readAll(this.table, odata`PartitionKey eq ${ALL} and RowKey ge ${untilKey(cutoff)}`);
    const keys: { partitionKey: string; rowKey: string }[] = [];
    for (const row of old) {
      const rowKey = String(row['rowKey']);
      // An unreadable row still goes (its copies, if any, cannot be named and stay).
      const event = this.records.check(controlPlaneEventCodec, row);
      for (const c of event !== undefined ? clustersOf(event) : []) keys.push({ partitionKey: clusterPartition(c), rowKey });
    }
    // Copies first: a main row never goes while copies that only it names remain.
    if (keys.length > 0) await deleteBatched(this.table, keys);
    if (old.length > 0) await deleteBatched(this.table, old.map((row) => ({ partitionKey: ALL, rowKey: String(row['rowKey']) })));
    return old.length;
  }
}


/**
 * Per-cluster, per-run history in one table per calendar month (UTC) of the evaluation time,
 * `history<yyyymm>` (after the store's prefix): partition = lower-cased cluster id (escaped),
 * row = `<evaluatedAt ISO>|<runId>|<cluster tag>`. A time range of one cluster is one partition range
 * read per month it overlaps, oldest first; a redelivered run writes the same row of the same month
 * again (idempotent). Entries are compact (statuses and drift only, a few hundred bytes).
 *
 * Month tables exist for retention: dropping a table is one service call, whereas deleting old rows
 * from a single table meant a `RowKey lt <cutoff>` query across every partition, i.e. a scan of the
 * whole table (~900,000 rows at 10,000 clusters and 90 days) every night.
 *
 * The cluster tag (8 hex characters of a SHA-256 of the partition key) changes no order or range: it
 * is the same for every row of a partition. It exists because every cluster of a run shares the
 * evaluation time and run id, and the emulator (Azurite/LokiJS) looks an entity up by its row key
 * first and then scans every entity with that row key for the partition key: with one row key per
 * run, each history write scanned the whole run (~60 % of Azurite's CPU in a 10,000-cluster run).
 */
import type { TransactionAction } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { ClusterHistoryEntry, HistoryRepository } from '../../application/ports.js';
import { createHash } from 'node:crypto';
import { escapeKey, joinKey } from './table-keys.js';
import { isStatus, readAll, submitBatched, type TableStore } from './table-store.js';
import { historyCodec } from './records/history-records.js';
import type { StoredRecordReader } from './records/stored-record-reader.js';

const HISTORY_TABLE = 'history';
const MONTH_TABLE = /^history\d{6}$/;

/** `history<yyyymm>` of the UTC month of `time` (without the store's prefix). */
export const historyTable = (time: string | Date): string => {
  const d = new Date(time);
  return `${HISTORY_TABLE}${String(d.getUTCFullYear()).padStart(4, '0')}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
};

/** Month tables from the month of `from` to the month of `to`, oldest first (none when `from > to`). */
function monthTables(from: string, to: string): string[] {
  const start = new Date(from);
  const end = new Date(to);
  const out: string[] = [];
  for (let y = start.getUTCFullYear(), m = start.getUTCMonth(); y < end.getUTCFullYear() || (y === end.getUTCFullYear() && m <= end.getUTCMonth()); m === 11 ? ((y += 1), (m = 0)) : (m += 1)) {
    out.push(historyTable(new Date(Date.UTC(y, m, 1))));
  }
  return out;
}

export const historyPartition = (clusterId: string): string => joinKey(clusterId.toLowerCase());
const clusterTag = (clusterId: string): string => createHash('sha256').update(historyPartition(clusterId)).digest('hex').slice(0, 8);
export const historyRow = (evaluatedAt: string, runId: string, clusterId: string): string =>
  `${new Date(evaluatedAt).toISOString()}|${escapeKey(runId)}|${clusterTag(clusterId)}`;

export class TableHistoryRepository implements HistoryRepository {
  /** Month tables this instance created or saw created (creation is idempotent, so a miss costs one call). */
  private readonly created = new Map<string, Promise<void>>();

  /**
   * The oldest month table known to exist. Reads start there, not at `from`: drift asks for everything
   * since 1970, which would otherwise be one read per month since then. It only moves later (retention),
   * which is harmless (a dropped table reads as empty), or earlier by this instance's own writes; new
   * months are always later, and `list` reads every month up to `to` whether cached or not.
   */
  private oldest: string | undefined;

  private readonly records: StoredRecordReader;

  constructor(private readonly store: TableStore) {
    this.records = store.records;
  }

  private async oldestTable(): Promise<string | undefined> {
    if (this.oldest !== undefined) return this.oldest;
    const first = `${this.store.tablePrefix}${HISTORY_TABLE}`;
    const tables = this.store.service.listTables({ queryOptions: { filter: odata`TableName ge ${first} and TableName lt ${`${first}:`}` } });
    for await (const t of tables) {
      const month = t.name?.slice(this.store.tablePrefix.length);
      if (month !== undefined && t.name?.startsWith(this.store.tablePrefix) && MONTH_TABLE.test(month) && (this.oldest === undefined || month < this.oldest)) this.oldest = month;
    }
    return this.oldest;
  }

  private ensureTable(table: string): Promise<void> {
    let pending = this.created.get(table);
    if (pending === undefined) {
      if (this.oldest !== undefined && table < this.oldest) this.oldest = table;
      pending = this.store.dynamicTable(table).createTable();
      this.created.set(table, pending);
      // A failed creation is retried by the next write.
      pending.catch(() => this.created.delete(table));
    }
    return pending;
  }

  async appendMany(entries: readonly ClusterHistoryEntry[]): Promise<void> {
    const byTable = new Map<string, ClusterHistoryEntry[]>();
    for (const entry of entries) {
      const table = historyTable(entry.evaluatedAt);
      const list = byTable.get(table);
      if (list) list.push(entry);
      else byTable.set(table, [entry]);
    }
    for (const [table, list] of byTable) {
      await this.ensureTable(table);
      await submitBatched(
        this.store.dynamicTable(table),
        list.map((entry): TransactionAction => [
          'upsert',
          {
            partitionKey: historyPartition(entry.clusterId),
            rowKey: historyRow(entry.evaluatedAt, entry.runId, entry.clusterId),
            ...historyCodec.encode(entry),
          },
          'Replace',
        ]),
      );
    }
  }

  /** Entries with `from <= evaluatedAt <= to`, oldest first. A month never written (no table) has none. */
  async list(clusterId: string, from: string, to: string): Promise<ClusterHistoryEntry[]> {
    const lower = new Date(from).toISOString();
    // `|` sorts after every ISO character, so this keeps every run evaluated at exactly `to`.
    const upper = `${new Date(to).toISOString()}}`;
    const filter = odata`PartitionKey eq ${historyPartition(clusterId)} and RowKey ge ${lower} and RowKey lt ${upper}`;
    const oldest = await this.oldestTable();
    const months = await Promise.all(
      monthTables(lower, new Date(to).toISOString())
        .filter((table) => oldest !== undefined && table >= oldest)
        .map(async (table) => {
          try {
            return await readAll(this.store.dynamicTable(table), filter);
          } catch (error) {
            if (isStatus(error, 404)) return [];
            throw error;
          }
        }),
    );
    // Rows written before the cluster tag existed (`<time>|<runId>`) sort right before the tagged row
    // of the same run: a run redelivered across that change keeps one entry (the later row).
    const byRun = new Map<string, ClusterHistoryEntry>();
    // Unreadable entries (reported) are left out: drift is then measured against an earlier run.
    for (const entry of this.records.many(historyCodec, months.flat())) {
      byRun.delete(entry.runId);
      byRun.set(entry.runId, entry);
    }
    return [...byRun.values()];
  }

  /**
   * Drops every month table entirely before the cutoff's month (tables listed by name range: a service
   * call, no entity is read) and returns how many tables it dropped. The cutoff's own month is kept
   * whole: its older entries go with it a month later, and `list` callers bound reads by `from`, so
   * retention is at least the requested period and at most that plus one month.
   */
  async purgeOlderThan(cutoff: string): Promise<number> {
    const first = `${this.store.tablePrefix}${HISTORY_TABLE}`;
    const keep = `${this.store.tablePrefix}${historyTable(cutoff)}`;
    const old: string[] = [];
    for await (const t of this.store.service.listTables({ queryOptions: { filter: odata`TableName ge ${first} and TableName lt ${keep}` } })) {
      // Checked again: the range could hold other names that start with the prefix.
      if (t.name !== undefined && t.name.startsWith(first) && MONTH_TABLE.test(t.name.slice(this.store.tablePrefix.length)) && t.name < keep) old.push(t.name);
    }
    if (this.oldest !== undefined && `${this.store.tablePrefix}${this.oldest}` < keep) this.oldest = undefined;
    for (const name of old) {
      this.created.delete(name.slice(this.store.tablePrefix.length));
      try {
        await this.store.service.deleteTable(name);
      } catch (error) {
        // Dropped concurrently (a repeated finalize).
        if (!isStatus(error, 404)) throw error;
      }
    }
    return old.length;
  }
}

/**
 * Per-cluster, per-run history in the `history` table: partition = lower-cased cluster id (escaped),
 * row = `<evaluatedAt ISO>|<runId>|<cluster tag>`. A time range of one cluster is one partition range
 * read, oldest first; a redelivered run writes the same row again (idempotent). Entries are compact
 * (statuses and drift only, a few hundred bytes).
 *
 * The cluster tag (8 hex characters of a SHA-256 of the partition key) changes no order or range: it
 * is the same for every row of a partition. It exists because every cluster of a run shares the
 * evaluation time and run id, and the emulator (Azurite/LokiJS) looks an entity up by its row key
 * first and then scans every entity with that row key for the partition key: with one row key per
 * run, each history write scanned the whole run (~60 % of Azurite's CPU in a 10,000-cluster run).
 */
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { ControlStatus } from '../../domain/model.js';
import type { ClusterHistoryEntry, HistoryRepository } from '../../application/ports.js';
import { createHash } from 'node:crypto';
import { escapeKey, joinKey } from './table-keys.js';
import { deleteBatched, num, readAll, reqStr, submitBatched, type TableStore } from './table-store.js';

export const historyPartition = (clusterId: string): string => joinKey(clusterId.toLowerCase());
const clusterTag = (clusterId: string): string => createHash('sha256').update(historyPartition(clusterId)).digest('hex').slice(0, 8);
export const historyRow = (evaluatedAt: string, runId: string, clusterId: string): string =>
  `${new Date(evaluatedAt).toISOString()}|${escapeKey(runId)}|${clusterTag(clusterId)}`;

function fromEntity(e: Record<string, unknown>): ClusterHistoryEntry {
  return {
    clusterId: reqStr(e, 'clusterId'),
    runId: reqStr(e, 'runId'),
    evaluatedAt: reqStr(e, 'evaluatedAt'),
    score: num(e, 'score'),
    statuses: JSON.parse(reqStr(e, 'statuses')) as Record<string, ControlStatus>,
    drift: JSON.parse(reqStr(e, 'drift')) as ClusterHistoryEntry['drift'],
  };
}

export class TableHistoryRepository implements HistoryRepository {
  private readonly table: TableClient;

  constructor(store: TableStore) {
    this.table = store.client('history');
  }

  async appendMany(entries: readonly ClusterHistoryEntry[]): Promise<void> {
    await submitBatched(
      this.table,
      entries.map((entry): TransactionAction => [
        'upsert',
        {
          partitionKey: historyPartition(entry.clusterId),
          rowKey: historyRow(entry.evaluatedAt, entry.runId, entry.clusterId),
          clusterId: entry.clusterId,
          runId: entry.runId,
          evaluatedAt: entry.evaluatedAt,
          score: entry.score,
          statuses: JSON.stringify(entry.statuses),
          drift: JSON.stringify(entry.drift),
        },
        'Replace',
      ]),
    );
  }

  /** Entries with `from <= evaluatedAt <= to`, oldest first. */
  async list(clusterId: string, from: string, to: string): Promise<ClusterHistoryEntry[]> {
    const lower = new Date(from).toISOString();
    // `|` sorts after every ISO character, so this keeps every run evaluated at exactly `to`.
    const upper = `${new Date(to).toISOString()}}`;
    const entities = await readAll(this.table, odata`PartitionKey eq ${historyPartition(clusterId)} and RowKey ge ${lower} and RowKey lt ${upper}`);
    // Rows written before the cluster tag existed (`<time>|<runId>`) sort right before the tagged row
    // of the same run: a run redelivered across that change keeps one entry (the later row).
    const byRun = new Map<string, ClusterHistoryEntry>();
    for (const entry of entities.map(fromEntity)) {
      byRun.delete(entry.runId);
      byRun.set(entry.runId, entry);
    }
    return [...byRun.values()];
  }

  /**
   * Deletes entries evaluated before `cutoff`. The row key starts with the time, so the filter is on
   * keys only; it spans every cluster partition (run once per evaluation, after it finishes).
   */
  async purgeOlderThan(cutoff: string): Promise<number> {
    const old = await readAll(this.table, odata`RowKey lt ${new Date(cutoff).toISOString()}`, ['PartitionKey', 'RowKey']);
    return deleteBatched(
      this.table,
      old.map((e) => ({ partitionKey: reqStr(e, 'partitionKey'), rowKey: reqStr(e, 'rowKey') })),
    );
  }
}

/**
 * Fleet summaries in the `summaries` table.
 *
 * - `summary|latest`: the latest summary (JSON chunked over `summary_0..n`): `getLatest` is one
 *   point read. Replaced with ETag optimistic concurrency, and only by a summary generated at or after
 *   the one it holds, so a late redelivered finalize of an older run never rolls it back.
 * - `run|<runId>`: every run's summary, for reference (same chunked JSON).
 * - `trend|<generatedAt>|<runId>`: one compact trend point per run; `listTrends(since)` is one
 *   ascending range read of the `trend` partition.
 */
import type { TableClient } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { FleetSummary } from '../../domain/model.js';
import type { SummaryRepository, TrendPoint } from '../../application/ports.js';
import { escapeKey } from './table-keys.js';
import { readChunks, writeChunks } from './chunked-property.js';
import { getEntityOrUndefined, isStatus, num, readAll, reqStr, type TableStore } from './table-store.js';

const SUMMARY = 'summary';
const LATEST = 'latest';
const TREND = 'trend';
const MAX_LATEST_ATTEMPTS = 10;

const runRow = (runId: string): string => `run|${escapeKey(runId)}`;
const trendRow = (s: Pick<FleetSummary, 'generatedAt' | 'runId'>): string => `${new Date(s.generatedAt).toISOString()}|${escapeKey(s.runId)}`;

export function trendPointOf(summary: FleetSummary): TrendPoint {
  const failingByControl: Record<string, number> = {};
  for (const [controlId, tally] of Object.entries(summary.perControl)) failingByControl[controlId] = tally.fail;
  return {
    runId: summary.runId,
    generatedAt: summary.generatedAt,
    averageScore: summary.totals.averageScore,
    clusters: summary.totals.clusters,
    noncompliant: summary.totals.noncompliant,
    failingByControl,
  };
}

export class TableSummaryRepository implements SummaryRepository {
  private readonly table: TableClient;

  constructor(store: TableStore) {
    this.table = store.client('summaries');
  }

  async put(summary: FleetSummary): Promise<void> {
    const body = { runId: summary.runId, generatedAt: summary.generatedAt, ...writeChunks('summary', JSON.stringify(summary)) };
    const point = trendPointOf(summary);
    await Promise.all([
      this.table.upsertEntity({ partitionKey: SUMMARY, rowKey: runRow(summary.runId), ...body }, 'Replace'),
      this.table.upsertEntity(
        {
          partitionKey: TREND,
          rowKey: trendRow(summary),
          runId: point.runId,
          generatedAt: point.generatedAt,
          averageScore: point.averageScore,
          clusters: point.clusters,
          noncompliant: point.noncompliant,
          failingByControl: JSON.stringify(point.failingByControl),
        },
        'Replace',
      ),
    ]);
    for (let attempt = 1; ; attempt += 1) {
      const current = await getEntityOrUndefined(this.table, SUMMARY, LATEST);
      try {
        if (current === undefined) {
          await this.table.createEntity({ partitionKey: SUMMARY, rowKey: LATEST, ...body });
        } else {
          const currentAt = Date.parse(reqStr(current, 'generatedAt'));
          if (currentAt > Date.parse(summary.generatedAt)) return;
          await this.table.updateEntity({ partitionKey: SUMMARY, rowKey: LATEST, ...body }, 'Replace', { etag: reqStr(current, 'etag') });
        }
        return;
      } catch (error) {
        // 409: created concurrently; 412: replaced concurrently. Re-read and decide again.
        if (!(isStatus(error, 409) || isStatus(error, 412)) || attempt >= MAX_LATEST_ATTEMPTS) throw error;
      }
    }
  }

  async getLatest(): Promise<FleetSummary | undefined> {
    const e = await getEntityOrUndefined(this.table, SUMMARY, LATEST);
    const text = e === undefined ? undefined : readChunks(e, 'summary');
    return text === undefined ? undefined : (JSON.parse(text) as FleetSummary);
  }

  async listTrends(since: string): Promise<TrendPoint[]> {
    const entities = await readAll(this.table, odata`PartitionKey eq ${TREND} and RowKey ge ${new Date(since).toISOString()}`);
    return entities.map((e) => ({
      runId: reqStr(e, 'runId'),
      generatedAt: reqStr(e, 'generatedAt'),
      averageScore: num(e, 'averageScore'),
      clusters: num(e, 'clusters'),
      noncompliant: num(e, 'noncompliant'),
      failingByControl: JSON.parse(reqStr(e, 'failingByControl')) as Record<string, number>,
    }));
  }
}

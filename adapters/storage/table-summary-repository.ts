/**
 * Fleet summaries in the `summaries` table.
 *
 * - `summary|latest`: the latest summary (JSON chunked over `summary_0..n`): `getLatest` is one
 *   point read. Replaced with ETag optimistic concurrency, and only by a summary generated at or after
 *   the one it holds, so a late redelivered finalize of an older run never rolls it back.
 * - `run|<runId>`: every run's summary, for reference (same chunked JSON).
 * - `trend|<generatedAt>|<runId>`: one compact trend point per run; `listTrends(since)` is one
 *   ascending range read of the `trend` partition.
 * - `trendslice|<generatedAt>|<runId>`: the run's clusters grouped by subscription, environment,
 *   location and tags (`domain/trend-slices.ts`, chunked JSON), read only for filtered trends.
 *
 * `getLatest` is the hot read of the API and the latest summary changes once per run, so the parsed
 * summary is kept in memory (deep-frozen: every caller shares it) with the entity's ETag. Within
 * `latestCacheMs` (default 1 s) it is served from memory; after that one point read of two small
 * properties (`$select`) compares the ETag and only a changed entity is read and parsed again
 * (concurrent callers share that one revalidation). `put` on this instance drops the cache at once,
 * so the process that finalizes a run serves the new summary immediately; other instances serve the
 * previous summary for at most `latestCacheMs` plus one point read.
 */
import type { TableClient } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { FleetSummary } from '../../domain/model.js';
import type { SummaryRepository, TrendPoint } from '../../application/ports.js';
import { escapeKey } from './table-keys.js';
import { summaryCodec, trendCodec, trendSlicesCodec, type TrendSlicesPart } from './records/summary-records.js';
import type { TrendSlices } from '../../domain/trend-slices.js';
import type { StoredRecordReader } from './records/stored-record-reader.js';
import { getEntityOrUndefined, isStatus, readAll, reqStr, type TableStore } from './table-store.js';

const SUMMARY = 'summary';
const LATEST = 'latest';
const TREND = 'trend';
const TREND_SLICES = 'trendslice';
/** Characters of groups per trend-slice row (an entity's chunked capacity is 384,000). */
const SLICE_PART_CHARS = 300_000;
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

/** Default staleness bound of {@link TableSummaryRepository.getLatest} across instances. */
export const DEFAULT_LATEST_CACHE_MS = 1000;

export interface TableSummaryRepositoryOptions {
  /** How long the latest summary is served from memory before its ETag is checked again; 0 = every call. */
  readonly latestCacheMs?: number;
  /** Milliseconds (monotonic); tests pass a fake clock. */
  readonly now?: () => number;
}

/** Bumped by every `put` in this process (any instance): a cache filled before it is not served. */
let latestGeneration = 0;

interface CachedLatest {
  readonly generation: number;
  readonly etag: string;
  readonly summary: FleetSummary;
  checkedAt: number;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export class TableSummaryRepository implements SummaryRepository {
  private readonly table: TableClient;
  private readonly records: StoredRecordReader;
  private readonly latestCacheMs: number;
  private readonly now: () => number;
  private cached: CachedLatest | undefined;
  private revalidation: { readonly generation: number; readonly promise: Promise<FleetSummary | undefined> } | undefined;

  constructor(store: TableStore, options: TableSummaryRepositoryOptions = {}) {
    this.table = store.client('summaries');
    this.records = store.records;
    this.latestCacheMs = options.latestCacheMs ?? DEFAULT_LATEST_CACHE_MS;
    this.now = options.now ?? (() => performance.now());
  }

  async put(summary: FleetSummary): Promise<void> {
    latestGeneration += 1;
    try {
      await this.write(summary);
    } finally {
      latestGeneration += 1;
      this.cached = undefined;
    }
  }

  private async write(summary: FleetSummary): Promise<void> {
    const body = summaryCodec.encode(summary);
    const point = trendPointOf(summary);
    await Promise.all([
      this.table.upsertEntity({ partitionKey: SUMMARY, rowKey: runRow(summary.runId), ...body }, 'Replace'),
      this.table.upsertEntity(
        { partitionKey: TREND, rowKey: trendRow(summary), ...trendCodec.encode(point) },
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
    const cached = this.cached;
    if (cached !== undefined && cached.generation === latestGeneration && this.now() - cached.checkedAt < this.latestCacheMs) return cached.summary;
    // Concurrent callers share one read, unless it started before a `put` of this process.
    if (this.revalidation !== undefined && this.revalidation.generation === latestGeneration) return this.revalidation.promise;
    const revalidation = { generation: latestGeneration, promise: this.revalidate() };
    this.revalidation = revalidation;
    void revalidation.promise.then(
      () => this.clearRevalidation(revalidation),
      () => this.clearRevalidation(revalidation),
    );
    return revalidation.promise;
  }

  private clearRevalidation(revalidation: { readonly generation: number; readonly promise: Promise<FleetSummary | undefined> }): void {
    if (this.revalidation === revalidation) this.revalidation = undefined;
  }

  private async revalidate(): Promise<FleetSummary | undefined> {
    const generation = latestGeneration;
    const started = this.now();
    const cached = this.cached;
    if (cached !== undefined && cached.generation === generation) {
      const head = await this.table.getEntity<Record<string, unknown>>(SUMMARY, LATEST, { queryOptions: { select: ['generatedAt'] } }).catch((error: unknown) => {
        if (isStatus(error, 404)) return undefined;
        throw error;
      });
      if (head !== undefined && head['etag'] === cached.etag) {
        if (generation === latestGeneration) cached.checkedAt = started;
        return cached.summary;
      }
    }
    const e = await getEntityOrUndefined(this.table, SUMMARY, LATEST);
    if (e === undefined) {
      if (generation === latestGeneration) this.cached = undefined;
      return undefined;
    }
    const summary = deepFreeze(this.records.one(summaryCodec, e));
    const etag = e['etag'];
    if (generation === latestGeneration && typeof etag === 'string') this.cached = { generation, etag, summary, checkedAt: started };
    return summary;
  }

  /** Groups go over as many rows as they need, each well under an entity's chunked capacity. */
  async putTrendSlices(slices: TrendSlices): Promise<void> {
    const parts: (typeof slices.groups)[] = [[]];
    let size = 0;
    for (const g of slices.groups) {
      const n = JSON.stringify(g).length + 1;
      if (size + n > SLICE_PART_CHARS && (parts.at(-1)?.length ?? 0) > 0) {
        parts.push([]);
        size = 0;
      }
      (parts.at(-1) as (typeof slices.groups)[number][]).push(g);
      size += n;
    }
    await Promise.all(
      parts.map((groups, part) =>
        this.table.upsertEntity({ partitionKey: TREND_SLICES, rowKey: `${trendRow(slices)}|${String(part).padStart(4, '0')}`, ...trendSlicesCodec.encode({ ...slices, groups, part, parts: parts.length }) }, 'Replace'),
      ),
    );
  }

  /** Runs whose parts are not all readable (a write cut short, a damaged row) are left out. */
  async listTrendSlices(since: string): Promise<TrendSlices[]> {
    const entities = await readAll(this.table, odata`PartitionKey eq ${TREND_SLICES} and RowKey ge ${new Date(since).toISOString()}`);
    const byRun = new Map<string, TrendSlicesPart[]>();
    for (const p of this.records.many(trendSlicesCodec, entities)) {
      const key = `${p.generatedAt}|${p.runId}`;
      byRun.set(key, [...(byRun.get(key) ?? []), p]);
    }
    const out: TrendSlices[] = [];
    for (const parts of byRun.values()) {
      const first = parts[0] as TrendSlicesPart;
      const current = parts.filter((p) => p.parts === first.parts && p.part < first.parts);
      if (new Set(current.map((p) => p.part)).size !== first.parts) continue;
      current.sort((a, b) => a.part - b.part);
      out.push({ runId: first.runId, generatedAt: first.generatedAt, tagKeysLeftOut: first.tagKeysLeftOut, groups: current.flatMap((p) => p.groups) });
    }
    return out;
  }

  async listTrends(since: string): Promise<TrendPoint[]> {
    const entities = await readAll(this.table, odata`PartitionKey eq ${TREND} and RowKey ge ${new Date(since).toISOString()}`);
    return this.records.many(trendCodec, entities);
  }
}

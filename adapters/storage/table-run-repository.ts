/**
 * Evaluation runs in the `runs` table.
 *
 * Partition `runs` holds two entities per run, written together in one transaction:
 * `id|<runId>` (point reads) and `t|<inverted createdAt>|<runId>` (the same record, so `list` is a
 * newest-first range read of one partition). Subscription outcomes live in partition
 * `outcomes|<runId>`, one row per subscription, so concurrent collectors never contend on one entity
 * and a redelivered outcome overwrites its own row. The run record is updated with ETag optimistic
 * concurrency so a slow collector's refresh can never overwrite a newer (final) status.
 *
 * Partition `outcome-counts|<runId>` holds a few counter shards, each listing the outcome rows it has
 * counted (so counting is idempotent): after recording its outcome a collector adds it to its shard
 * (ETag) and reads the shards' counts, instead of every outcome (which made a run's reads grow with
 * the square of its subscriptions). Sharding keeps concurrent collectors from contending on one row;
 * a separate partition keeps the shards out of every reader of the outcomes, older releases included.
 *
 * Counts (subscriptions, clusters evaluated and incomplete, events not published) are always
 * recomputed from the outcome rows; run-level notes (subscriptions not discovered, `evaluation.completed`
 * not published, run-level failures with subscription `*`) live on the run record and survive refreshes.
 */
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import { ConflictError } from '../../domain/errors.js';
import type { EvaluationRun, EvaluationRunRepository, Page, RunRefreshOptions, SubscriptionFailure, SubscriptionOutcome } from '../../application/ports.js';
import { escapeKey, invertedTime, unescapeKey } from './table-keys.js';
import { decodeContinuation, encodeContinuation, getEntityOrUndefined, isStatus, num, readAll, readPage, reqStr, type TableStore } from './table-store.js';
import { MAX_ERROR_CHARS, RUN_LEVEL, outcomeCodec, outcomeCountCodec, runCodec } from './records/run-records.js';
import type { StoredRecordReader } from './records/stored-record-reader.js';

const RUNS_PARTITION = 'runs';
const idRow = (runId: string): string => `id|${escapeKey(runId)}`;
const timeRow = (run: Pick<EvaluationRun, 'id' | 'createdAt'>): string => `t|${invertedTime(run.createdAt)}|${escapeKey(run.id)}`;
const outcomePartition = (runId: string): string => `outcomes|${escapeKey(runId)}`;

const countPartition = (runId: string): string => `outcome-counts|${escapeKey(runId)}`;
/**
 * Enough that the collectors running at once rarely share a shard, few enough to read at once; each
 * shard lists ~40 characters per subscription, so a run of 50,000 subscriptions still fits.
 */
const COUNTER_SHARDS = 64;
const counterRow = (shard: number): string => String(shard).padStart(2, '0');

/** The counter shard of an outcome row key (a stable string hash: every delivery picks the same one). */
function shardOf(rowKey: string): number {
  let h = 0;
  for (let i = 0; i < rowKey.length; i += 1) h = (Math.imul(h, 31) + rowKey.charCodeAt(i)) | 0;
  return (h >>> 0) % COUNTER_SHARDS;
}

const MAX_REFRESH_ATTEMPTS = 20;
const REFRESH_BACKOFF_MS = 25;

const TERMINAL: readonly EvaluationRun['status'][] = ['succeeded', 'partial', 'failed'];

function outcomeEntity(runId: string, subscriptionId: string, outcome: SubscriptionOutcome, at: string): { partitionKey: string; rowKey: string } & Record<string, unknown> {
  return { partitionKey: outcomePartition(runId), rowKey: escapeKey(subscriptionId.toLowerCase()), ...outcomeCodec.encode({ subscriptionId, outcome, at }) };
}

/**
 * An outcome row no reader accepts (reported) still says that the subscription reported: it counts
 * as failed, so the run can finish (partial) instead of waiting forever for that subscription.
 */
function unreadableOutcome(row: Record<string, unknown>): { subscriptionId: string; outcome: SubscriptionOutcome; at: string | undefined } {
  return { subscriptionId: unescapeKey(reqStr(row, 'rowKey')), outcome: { ok: false, error: 'stored outcome unreadable (reported; see GET /api/health)' }, at: undefined };
}

export class TableRunRepository implements EvaluationRunRepository {
  private readonly table: TableClient;
  private readonly records: StoredRecordReader;

  constructor(store: TableStore) {
    this.table = store.client('runs');
    this.records = store.records;
  }

  async create(run: EvaluationRun): Promise<void> {
    const props = runCodec.encode(run);
    try {
      await this.table.submitTransaction([
        ['create', { partitionKey: RUNS_PARTITION, rowKey: idRow(run.id), ...props }],
        ['create', { partitionKey: RUNS_PARTITION, rowKey: timeRow(run), ...props }],
      ]);
    } catch (error) {
      if (isStatus(error, 409)) throw new ConflictError(`Run ${run.id} already exists.`, run.id);
      throw error;
    }
  }

  async update(run: EvaluationRun): Promise<void> {
    const props = runCodec.encode(run);
    await this.table.submitTransaction([
      ['upsert', { partitionKey: RUNS_PARTITION, rowKey: idRow(run.id), ...props }, 'Replace'],
      ['upsert', { partitionKey: RUNS_PARTITION, rowKey: timeRow(run), ...props }, 'Replace'],
    ]);
  }

  async get(runId: string): Promise<EvaluationRun | undefined> {
    const entity = await getEntityOrUndefined(this.table, RUNS_PARTITION, idRow(runId));
    return entity === undefined ? undefined : this.records.one(runCodec, entity);
  }

  async list(top: number, continuationToken?: string): Promise<Page<EvaluationRun>> {
    const page = await readPage(
      this.table,
      odata`PartitionKey eq ${RUNS_PARTITION} and RowKey ge ${'t|'} and RowKey lt ${'t}'}`,
      top,
      decodeContinuation(continuationToken),
    );
    return { items: this.records.many(runCodec, page.entities), continuationToken: encodeContinuation(page.continuationToken) };
  }

  async listUnfinishedCreatedBefore(createdNoLaterThan: string): Promise<EvaluationRun[]> {
    // Time rows sort newest first, so runs created at or before the cutoff are the range from the
    // cutoff's inverted time to the end of the `t|` rows: the few hundred runs of a year, read once
    // per sweep (per run started), with the status filter applied by the service.
    const from = `t|${invertedTime(createdNoLaterThan)}`;
    const rows = await readAll(
      this.table,
      odata`PartitionKey eq ${RUNS_PARTITION} and RowKey ge ${from} and RowKey lt ${'t}'} and (status eq ${'queued'} or status eq ${'running'})`,
    );
    return this.records.many(runCodec, rows).reverse();
  }

  async recordSubscriptionOutcome(runId: string, subscriptionId: string, outcome: SubscriptionOutcome, at: string): Promise<void> {
    await this.table.upsertEntity(outcomeEntity(runId, subscriptionId, outcome, at), 'Replace');
  }

  async recordSubscriptionOutcomeIfAbsent(runId: string, subscriptionId: string, outcome: SubscriptionOutcome, at: string): Promise<boolean> {
    try {
      await this.table.createEntity(outcomeEntity(runId, subscriptionId, outcome, at));
      return true;
    } catch (error) {
      if (isStatus(error, 409)) return false;
      throw error;
    }
  }

  async countSubscriptionOutcome(runId: string, subscriptionId: string): Promise<void> {
    const member = escapeKey(subscriptionId.toLowerCase());
    const partitionKey = countPartition(runId);
    const rowKey = counterRow(shardOf(member));
    for (let attempt = 1; ; attempt += 1) {
      const entity = await getEntityOrUndefined(this.table, partitionKey, rowKey);
      const members = entity === undefined ? [] : this.records.one(outcomeCountCodec, entity).members;
      if (members.includes(member)) return;
      const props = outcomeCountCodec.encode({ members: [...members, member] });
      try {
        if (entity === undefined) await this.table.createEntity({ partitionKey, rowKey, ...props });
        else await this.table.updateEntity({ partitionKey, rowKey, ...props }, 'Replace', { etag: reqStr(entity, 'etag') });
        return;
      } catch (error) {
        // 409: the shard was created meanwhile; 412: it changed. Read it again.
        if (!(isStatus(error, 409) || isStatus(error, 412)) || attempt >= MAX_REFRESH_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * REFRESH_BACKOFF_MS * attempt));
      }
    }
  }

  async countSubscriptionOutcomes(runId: string): Promise<number> {
    const shards = await readAll(this.table, odata`PartitionKey eq ${countPartition(runId)}`, ['PartitionKey', 'RowKey', 'count']);
    return shards.reduce((sum, row) => sum + num(row, 'count'), 0);
  }

  async getSubscriptionOutcome(runId: string, subscriptionId: string): Promise<SubscriptionOutcome | undefined> {
    const o = await getEntityOrUndefined(this.table, outcomePartition(runId), escapeKey(subscriptionId.toLowerCase()));
    return o === undefined ? undefined : (this.records.check(outcomeCodec, o) ?? unreadableOutcome(o)).outcome;
  }

  async subscriptionsWithOutcome(runId: string): Promise<string[]> {
    // Row keys are the escaped, lower-cased subscription ids: an outcome row counts even if it is unreadable.
    const rows = await readAll(this.table, odata`PartitionKey eq ${outcomePartition(runId)}`, ['PartitionKey', 'RowKey']);
    return rows.map((o) => unescapeKey(reqStr(o, 'rowKey'))).sort();
  }

  async refresh(runId: string, now: string, options: RunRefreshOptions = {}): Promise<EvaluationRun | undefined> {
    for (let attempt = 1; ; attempt += 1) {
      const entity = await getEntityOrUndefined(this.table, RUNS_PARTITION, idRow(runId));
      if (entity === undefined) return undefined;
      const etag = reqStr(entity, 'etag');
      const run = this.records.one(runCodec, entity);
      const outcomes = await readAll(this.table, odata`PartitionKey eq ${outcomePartition(runId)}`);
      let succeeded = 0;
      let clusters = 0;
      let incomplete = 0;
      let unpublished = 0;
      const failures: SubscriptionFailure[] = [];
      for (const o of outcomes) {
        const { subscriptionId, outcome, at } = this.records.check(outcomeCodec, o) ?? unreadableOutcome(o);
        if (outcome.ok) {
          succeeded += 1;
          clusters += outcome.clusters;
          incomplete += outcome.clustersIncomplete ?? 0;
          unpublished += outcome.eventsNotPublished ?? 0;
        } else {
          const { code, hint } = outcome;
          failures.push({ subscriptionId, error: outcome.error, at: at ?? now, ...(code !== undefined ? { code } : {}), ...(hint !== undefined ? { hint } : {}) });
        }
      }
      failures.sort((a, b) => a.subscriptionId.localeCompare(b.subscriptionId));
      const subscriptionsFailed = failures.length;
      // Run-level failures are not outcomes: keep them (and add the one this refresh fails the run with).
      const runLevel = run.failures.filter((f) => f.subscriptionId === RUN_LEVEL);
      if (options.fail !== undefined && !TERMINAL.includes(run.status)) runLevel.push({ subscriptionId: RUN_LEVEL, error: options.fail.slice(0, MAX_ERROR_CHARS), at: now });
      const complete = succeeded + subscriptionsFailed >= run.subscriptionsTotal;
      let status = run.status;
      let completedAt = run.completedAt;
      if (options.fail !== undefined && !TERMINAL.includes(status)) {
        status = 'failed';
        completedAt = completedAt ?? now;
      } else if (options.final === true && complete && !TERMINAL.includes(status)) {
        status = subscriptionsFailed === 0 ? 'succeeded' : succeeded === 0 ? 'failed' : 'partial';
        completedAt = completedAt ?? now;
      }
      const completedNotPublished = options.evaluationCompletedNotPublished ?? run.evaluationCompletedNotPublished ?? false;
      const notDiscovered = options.subscriptionsNotDiscovered ?? run.subscriptionsNotDiscovered ?? [];
      const next: EvaluationRun = {
        ...run,
        status,
        completedAt,
        subscriptionsSucceeded: succeeded,
        subscriptionsFailed,
        failures: [...failures, ...runLevel],
        clustersEvaluated: clusters,
        clustersIncomplete: incomplete,
        eventsNotPublished: unpublished + (completedNotPublished ? 1 : 0),
        evaluationCompletedNotPublished: completedNotPublished ? true : undefined,
        subscriptionsNotDiscovered: notDiscovered.length > 0 ? notDiscovered : undefined,
      };
      const props = runCodec.encode(next);
      const actions: TransactionAction[] = [
        ['update', { partitionKey: RUNS_PARTITION, rowKey: idRow(runId), ...props }, 'Replace', { etag }],
        ['upsert', { partitionKey: RUNS_PARTITION, rowKey: timeRow(next), ...props }, 'Replace'],
      ];
      try {
        await this.table.submitTransaction(actions);
        return next;
      } catch (error) {
        if (!isStatus(error, 412) || attempt >= MAX_REFRESH_ATTEMPTS) throw error;
        // Collectors finishing together all refresh the same record: without a randomised pause they
        // collide again in lock step and run out of attempts (seen with 24 concurrent collectors).
        await new Promise((resolve) => setTimeout(resolve, Math.random() * REFRESH_BACKOFF_MS * attempt));
      }
    }
  }
}

/** Exposed for tests and the data-model document. */
export const runKeys = { partition: RUNS_PARTITION, idRow, timeRow, outcomePartition, countPartition, counterRow, counterShards: COUNTER_SHARDS };

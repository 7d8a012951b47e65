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
 * Counts (subscriptions, clusters evaluated and incomplete, events not published) are always
 * recomputed from the outcome rows; run-level notes (subscriptions not discovered, `evaluation.completed`
 * not published, run-level failures with subscription `*`) live on the run record and survive refreshes.
 */
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import { ConflictError } from '../../domain/errors.js';
import type {
  EvaluationRun,
  EvaluationRunRepository,
  Page,
  RunRefreshOptions,
  RunStatus,
  RunTrigger,
  SubscriptionFailure,
  SubscriptionNotDiscovered,
  SubscriptionOutcome,
} from '../../application/ports.js';
import { escapeKey, invertedTime } from './table-keys.js';
import { CHUNK_CHARS, readChunks, writeChunks } from './chunked-property.js';
import { bool, decodeContinuation, defined, encodeContinuation, getEntityOrUndefined, isStatus, num, readAll, readPage, reqStr, str, type TableStore } from './table-store.js';

const RUNS_PARTITION = 'runs';
const idRow = (runId: string): string => `id|${escapeKey(runId)}`;
const timeRow = (run: Pick<EvaluationRun, 'id' | 'createdAt'>): string => `t|${invertedTime(run.createdAt)}|${escapeKey(run.id)}`;
const outcomePartition = (runId: string): string => `outcomes|${escapeKey(runId)}`;

/** Errors are kept readable but bounded (200 failed subscriptions must still fit one entity). */
const MAX_ERROR_CHARS = 1000;
const MAX_REFRESH_ATTEMPTS = 20;
const REFRESH_BACKOFF_MS = 25;

const TRIGGERS: readonly RunTrigger[] = ['timer', 'on-demand'];
const STATUSES: readonly RunStatus[] = ['queued', 'running', 'succeeded', 'partial', 'failed'];
const TERMINAL: readonly RunStatus[] = ['succeeded', 'partial', 'failed'];
/** Failures not tied to one subscription (discovery, finalize) use this subscription id. */
const RUN_LEVEL = '*';

/**
 * Chunks of the run entity the failures list may take, and the `notDiscovered` list: together with the
 * other properties within the 1 MiB entity limit (a chunk is up to 64 KB).
 */
const FAILURE_CHUNKS = 8;
const NOT_DISCOVERED_CHUNKS = 4;
/** Error text kept per failure when the full list does not fit. */
const SHORT_ERROR_CHARS = 200;

/**
 * The list as JSON within `chunks` chunks: whole when it fits, otherwise shortened and cut to the first
 * items that fit (the counts on the run stay exact; every outcome row keeps its error). Without this,
 * a few hundred failed subscriptions made every refresh throw, and the run could never end.
 */
function fitList<T>(items: readonly T[], chunks: number, shorten: (item: T) => T = (item) => item): string {
  const maxChars = chunks * (CHUNK_CHARS - 1);
  let json = JSON.stringify(items);
  if (json.length <= maxChars) return json;
  const short = items.map(shorten);
  let n = short.length;
  json = JSON.stringify(short);
  while (json.length > maxChars && n > 0) {
    n = Math.min(n - 1, Math.floor((n * maxChars) / json.length));
    json = JSON.stringify(short.slice(0, n));
  }
  return json;
}

function fitFailures(failures: readonly SubscriptionFailure[]): string {
  const maxChars = FAILURE_CHUNKS * (CHUNK_CHARS - 1);
  if (JSON.stringify(failures).length <= maxChars) return JSON.stringify(failures);
  // Cut: run-level failures (the run's own cause) first, so they are never the ones dropped.
  const ordered = [...failures.filter((f) => f.subscriptionId === RUN_LEVEL), ...failures.filter((f) => f.subscriptionId !== RUN_LEVEL)];
  return fitList(ordered, FAILURE_CHUNKS, (f) => ({ ...f, error: f.error.slice(0, SHORT_ERROR_CHARS) }));
}

function toProps(run: EvaluationRun): Record<string, unknown> {
  return defined({
    id: run.id,
    trigger: run.trigger,
    status: run.status,
    requestedBy: run.requestedBy,
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    completedAt: run.completedAt,
    subscriptionsTotal: run.subscriptionsTotal,
    subscriptionsSucceeded: run.subscriptionsSucceeded,
    subscriptionsFailed: run.subscriptionsFailed,
    clustersEvaluated: run.clustersEvaluated,
    clustersIncomplete: run.clustersIncomplete,
    eventsNotPublished: run.eventsNotPublished,
    evaluationCompletedNotPublished: run.evaluationCompletedNotPublished,
    ...writeChunks('failures', fitFailures(run.failures)),
    // Absent on most runs: no property rather than an empty list on every record.
    ...(run.subscriptionsNotDiscovered !== undefined && run.subscriptionsNotDiscovered.length > 0
      ? writeChunks('notDiscovered', fitList(run.subscriptionsNotDiscovered, NOT_DISCOVERED_CHUNKS))
      : {}),
    // Absent on full-estate runs. The API takes at most 500 ids: one chunk.
    scope: run.scope === 'partial-estate' ? run.scope : undefined,
    ...(run.scope === 'partial-estate' && run.scopeSubscriptionIds !== undefined ? writeChunks('scopeSubscriptions', JSON.stringify(run.scopeSubscriptionIds)) : {}),
  });
}

function fromEntity(e: Record<string, unknown>): EvaluationRun {
  const trigger = reqStr(e, 'trigger');
  const status = reqStr(e, 'status');
  const failures = JSON.parse(readChunks(e, 'failures') ?? '[]') as SubscriptionFailure[];
  const notDiscovered = readChunks(e, 'notDiscovered');
  const scopeSubscriptions = readChunks(e, 'scopeSubscriptions');
  return {
    id: reqStr(e, 'id'),
    trigger: TRIGGERS.find((t) => t === trigger) ?? 'timer',
    status: STATUSES.find((s) => s === status) ?? 'failed',
    requestedBy: str(e, 'requestedBy'),
    createdAt: reqStr(e, 'createdAt'),
    startedAt: str(e, 'startedAt'),
    completedAt: str(e, 'completedAt'),
    subscriptionsTotal: num(e, 'subscriptionsTotal'),
    subscriptionsSucceeded: num(e, 'subscriptionsSucceeded'),
    subscriptionsFailed: num(e, 'subscriptionsFailed'),
    failures,
    clustersEvaluated: num(e, 'clustersEvaluated'),
    // Absent on records written before these fields existed (or with nothing to note): left undefined.
    clustersIncomplete: e['clustersIncomplete'] === undefined ? undefined : num(e, 'clustersIncomplete'),
    eventsNotPublished: e['eventsNotPublished'] === undefined ? undefined : num(e, 'eventsNotPublished'),
    evaluationCompletedNotPublished: bool(e, 'evaluationCompletedNotPublished') ? true : undefined,
    subscriptionsNotDiscovered: notDiscovered === undefined ? undefined : (JSON.parse(notDiscovered) as SubscriptionNotDiscovered[]),
    ...(scopeSubscriptions !== undefined && e['scope'] === 'partial-estate'
      ? { scope: 'partial-estate' as const, scopeSubscriptionIds: (JSON.parse(scopeSubscriptions) as unknown[]).filter((s): s is string => typeof s === 'string') }
      : {}),
  };
}

function outcomeEntity(runId: string, subscriptionId: string, outcome: SubscriptionOutcome, at: string): { partitionKey: string; rowKey: string } & Record<string, unknown> {
  return {
    partitionKey: outcomePartition(runId),
    rowKey: escapeKey(subscriptionId.toLowerCase()),
    ...defined({
      subscriptionId,
      ok: outcome.ok,
      clusters: outcome.ok ? outcome.clusters : 0,
      clustersIncomplete: outcome.ok ? outcome.clustersIncomplete : undefined,
      eventsNotPublished: outcome.ok ? outcome.eventsNotPublished : undefined,
      error: outcome.ok ? undefined : outcome.error.slice(0, MAX_ERROR_CHARS),
      at,
    }),
  };
}

function outcomeFromEntity(o: Record<string, unknown>): SubscriptionOutcome {
  return o['ok'] === true
    ? { ok: true, clusters: num(o, 'clusters'), clustersIncomplete: num(o, 'clustersIncomplete'), eventsNotPublished: num(o, 'eventsNotPublished') }
    : { ok: false, error: str(o, 'error') ?? 'unknown error' };
}

export class TableRunRepository implements EvaluationRunRepository {
  private readonly table: TableClient;

  constructor(store: TableStore) {
    this.table = store.client('runs');
  }

  async create(run: EvaluationRun): Promise<void> {
    const props = toProps(run);
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
    const props = toProps(run);
    await this.table.submitTransaction([
      ['upsert', { partitionKey: RUNS_PARTITION, rowKey: idRow(run.id), ...props }, 'Replace'],
      ['upsert', { partitionKey: RUNS_PARTITION, rowKey: timeRow(run), ...props }, 'Replace'],
    ]);
  }

  async get(runId: string): Promise<EvaluationRun | undefined> {
    const entity = await getEntityOrUndefined(this.table, RUNS_PARTITION, idRow(runId));
    return entity === undefined ? undefined : fromEntity(entity);
  }

  async list(top: number, continuationToken?: string): Promise<Page<EvaluationRun>> {
    const page = await readPage(
      this.table,
      odata`PartitionKey eq ${RUNS_PARTITION} and RowKey ge ${'t|'} and RowKey lt ${'t}'}`,
      top,
      decodeContinuation(continuationToken),
    );
    return { items: page.entities.map(fromEntity), continuationToken: encodeContinuation(page.continuationToken) };
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
    return rows.map(fromEntity).reverse();
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

  async getSubscriptionOutcome(runId: string, subscriptionId: string): Promise<SubscriptionOutcome | undefined> {
    const o = await getEntityOrUndefined(this.table, outcomePartition(runId), escapeKey(subscriptionId.toLowerCase()));
    return o === undefined ? undefined : outcomeFromEntity(o);
  }

  async subscriptionsWithOutcome(runId: string): Promise<string[]> {
    const rows = await readAll(this.table, odata`PartitionKey eq ${outcomePartition(runId)}`, ['subscriptionId']);
    return rows.map((o) => reqStr(o, 'subscriptionId').toLowerCase()).sort();
  }

  async refresh(runId: string, now: string, options: RunRefreshOptions = {}): Promise<EvaluationRun | undefined> {
    for (let attempt = 1; ; attempt += 1) {
      const entity = await getEntityOrUndefined(this.table, RUNS_PARTITION, idRow(runId));
      if (entity === undefined) return undefined;
      const etag = reqStr(entity, 'etag');
      const run = fromEntity(entity);
      const outcomes = await readAll(this.table, odata`PartitionKey eq ${outcomePartition(runId)}`);
      let succeeded = 0;
      let clusters = 0;
      let incomplete = 0;
      let unpublished = 0;
      const failures: SubscriptionFailure[] = [];
      for (const o of outcomes) {
        const outcome = outcomeFromEntity(o);
        if (outcome.ok) {
          succeeded += 1;
          clusters += outcome.clusters;
          incomplete += outcome.clustersIncomplete ?? 0;
          unpublished += outcome.eventsNotPublished ?? 0;
        } else {
          failures.push({ subscriptionId: reqStr(o, 'subscriptionId'), error: outcome.error, at: str(o, 'at') ?? now });
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
      const props = toProps(next);
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
export const runKeys = { partition: RUNS_PARTITION, idRow, timeRow, outcomePartition };

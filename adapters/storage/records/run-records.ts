/**
 * Stored shapes of the `runs` table: the run record (both of its rows, `id|…` and `t|…`) and the
 * outcome rows (one per subscription of a run). Sizes are fitted here (failures and the
 * not-discovered list are cut to what fits the entity), so the encoder never fails on size.
 */
import type { EvaluationRun, SubscriptionFailure, SubscriptionOutcome } from '../../../application/stored-records.js';
import { CHUNK_CHARS, writeChunks } from '../chunked-property.js';
import { defined } from '../table-store.js';
import { chunkedJsonProp, defineRecordCodec, numberProp, type StoredEntity } from './record-codec.js';

/** Failures not tied to one subscription (discovery, finalize) use this subscription id. */
export const RUN_LEVEL = '*';

/** Errors are kept readable but bounded (200 failed subscriptions must still fit one entity). */
export const MAX_ERROR_CHARS = 1000;
const MAX_CODE_CHARS = 100;

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
  return fitList(ordered, FAILURE_CHUNKS, (f) => ({ ...f, error: f.error.slice(0, SHORT_ERROR_CHARS), ...(f.hint !== undefined ? { hint: f.hint.slice(0, SHORT_ERROR_CHARS) } : {}) }));
}

const count = { type: 'integer', minimum: 0 } as const;
const text = { type: 'string' } as const;

export const runCodec = defineRecordCodec<EvaluationRun>({
  kind: 'run',
  version: 1,
  schema: {
    type: 'object',
    required: ['id', 'trigger', 'status', 'createdAt', 'subscriptionsTotal', 'subscriptionsSucceeded', 'subscriptionsFailed', 'failures', 'clustersEvaluated'],
    properties: {
      id: text,
      trigger: { enum: ['timer', 'on-demand'] },
      status: { enum: ['queued', 'running', 'succeeded', 'partial', 'failed'] },
      requestedBy: text,
      createdAt: text,
      startedAt: text,
      completedAt: text,
      subscriptionsTotal: count,
      subscriptionsSucceeded: count,
      subscriptionsFailed: count,
      failures: {
        type: 'array',
        // `code` and `hint` (permanent ARM failures) are optional additions: older records have neither.
        items: { type: 'object', required: ['subscriptionId', 'error', 'at'], properties: { subscriptionId: text, error: text, at: text, code: text, hint: text } },
      },
      clustersEvaluated: count,
      clustersIncomplete: count,
      eventsNotPublished: count,
      evaluationCompletedNotPublished: { type: 'boolean' },
      subscriptionsNotDiscovered: {
        type: 'array',
        items: { type: 'object', required: ['subscriptionId', 'clusters'], properties: { subscriptionId: text, clusters: count } },
      },
      scope: { enum: ['full-estate', 'partial-estate'] },
      scopeSubscriptionIds: { type: 'array', items: text },
    },
  },
  encode: (run) =>
    defined({
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
    }),
  readers: {
    1: (e: StoredEntity) => ({
      id: e['id'],
      trigger: e['trigger'],
      status: e['status'],
      requestedBy: e['requestedBy'],
      createdAt: e['createdAt'],
      startedAt: e['startedAt'],
      completedAt: e['completedAt'],
      subscriptionsTotal: numberProp(e, 'subscriptionsTotal'),
      subscriptionsSucceeded: numberProp(e, 'subscriptionsSucceeded'),
      subscriptionsFailed: numberProp(e, 'subscriptionsFailed'),
      failures: chunkedJsonProp(e, 'failures') ?? [],
      clustersEvaluated: numberProp(e, 'clustersEvaluated'),
      // Absent on records written before these fields existed (or with nothing to note): left undefined.
      clustersIncomplete: numberProp(e, 'clustersIncomplete'),
      eventsNotPublished: numberProp(e, 'eventsNotPublished'),
      evaluationCompletedNotPublished: e['evaluationCompletedNotPublished'] === false ? undefined : e['evaluationCompletedNotPublished'],
      subscriptionsNotDiscovered: chunkedJsonProp(e, 'notDiscovered'),
      // A partial-estate run without its list (never written so) reads as a full-estate run, as before.
      ...(e['scope'] === 'partial-estate' && e['scopeSubscriptions_n'] !== undefined
        ? { scope: 'partial-estate', scopeSubscriptionIds: chunkedJsonProp(e, 'scopeSubscriptions') }
        : {}),
    }),
  },
});

/** One outcome row: what a collect recorded for one subscription of a run. */
export interface StoredOutcome {
  readonly subscriptionId: string;
  readonly outcome: SubscriptionOutcome;
  /** When it was recorded (absent on rows of early releases). */
  readonly at: string | undefined;
}

export const outcomeCodec = defineRecordCodec<StoredOutcome>({
  kind: 'run-outcome',
  version: 1,
  schema: {
    type: 'object',
    required: ['subscriptionId', 'outcome'],
    properties: {
      subscriptionId: text,
      at: text,
      outcome: {
        oneOf: [
          {
            type: 'object',
            required: ['ok', 'clusters'],
            properties: { ok: { const: true }, clusters: count, clustersIncomplete: count, eventsNotPublished: count },
          },
          { type: 'object', required: ['ok', 'error'], properties: { ok: { const: false }, error: text, code: text, hint: text } },
        ],
      },
    },
  },
  encode: ({ subscriptionId, outcome, at }) =>
    defined({
      subscriptionId,
      ok: outcome.ok,
      clusters: outcome.ok ? outcome.clusters : 0,
      clustersIncomplete: outcome.ok ? outcome.clustersIncomplete : undefined,
      eventsNotPublished: outcome.ok ? outcome.eventsNotPublished : undefined,
      error: outcome.ok ? undefined : outcome.error.slice(0, MAX_ERROR_CHARS),
      // Optional additions (a permanent ARM failure's code and what to do): older rows have neither.
      code: outcome.ok ? undefined : outcome.code?.slice(0, MAX_CODE_CHARS),
      hint: outcome.ok ? undefined : outcome.hint?.slice(0, MAX_ERROR_CHARS),
      at,
    }),
  readers: {
    1: (e: StoredEntity) => ({
      subscriptionId: e['subscriptionId'],
      at: e['at'],
      outcome:
        e['ok'] === true
          ? // Counts absent on rows written before they existed read as 0.
            { ok: true, clusters: numberProp(e, 'clusters'), clustersIncomplete: numberProp(e, 'clustersIncomplete') ?? 0, eventsNotPublished: numberProp(e, 'eventsNotPublished') ?? 0 }
          : e['ok'] === false
            ? // Early failed rows may lack the error text.
              { ok: false, error: e['error'] ?? 'unknown error', ...(e['code'] !== undefined ? { code: e['code'] } : {}), ...(e['hint'] !== undefined ? { hint: e['hint'] } : {}) }
            : { ok: e['ok'] },
    }),
  },
});

/**
 * One counter shard of a run's outcomes (partition `outcome-counts|<runId>`): the outcome row keys it
 * has counted. Membership makes counting idempotent (a redelivered outcome is counted once); `count`
 * is written beside it so the completion check can read counts alone.
 */
export interface StoredOutcomeCount {
  readonly members: readonly string[];
}

export const outcomeCountCodec = defineRecordCodec<StoredOutcomeCount>({
  kind: 'run-outcome-count',
  version: 1,
  schema: { type: 'object', required: ['members'], properties: { members: { type: 'array', items: text } } },
  encode: ({ members }) => ({ count: members.length, ...writeChunks('members', JSON.stringify(members)) }),
  readers: {
    1: (e: StoredEntity) => ({ members: chunkedJsonProp(e, 'members') }),
  },
});

/**
 * The nightly (and on-demand) evaluation: open a run and fan out one message per subscription,
 * collect and evaluate each subscription, then finalize the run (status, fleet summary, retention).
 *
 * Every step is idempotent under at-least-once delivery: a redelivered collect message evaluates the
 * same snapshot against the same run start and overwrites the same rows; finalize may run any number
 * of times. Depends only on ports and the domain.
 *
 * No fault leaves a run `running` silently: a collect that fails every attempt records the failure
 * itself; one the host gave up on anyway (timeout, crash, a failure while recording) reaches
 * `evaluation-collect-poison`, whose handler ({@link EvaluationService.collectPoisoned}) records it; a
 * collect message that could not be enqueued is recorded at start; a finalize the host gave up on is
 * finalized once more or fails the run visibly ({@link EvaluationService.finalizePoisoned}). Losses
 * that keep the results (clusters with parts not collected, events not published, subscriptions no
 * longer discovered) are counted on the run.
 */
import { evaluateCluster } from '../domain/evaluate-cluster.js';
import { buildHistoryEntry } from '../domain/drift.js';
import { environmentOf } from '../domain/environment.js';
import { summarizeFleet, type SummaryInput } from '../domain/fleet-summary.js';
import type { ClusterEvaluation, ClusterSnapshot, ControlException, ControlResult, FleetSummary, PolicyStateFact } from '../domain/model.js';
import { buildClusterComplianceChanged, type EvaluationCompletedData, type OutboundEvent } from '../domain/webhook-events.js';
import { outboundEventId, publishAll } from './event-publishing.js';
import { QUEUES, type CollectSubscriptionMessage, type FinalizeRunMessage } from './messages.js';
import type {
  AzureInventoryReader,
  Clock,
  ClusterHistoryEntry,
  ClusterState,
  ConnectedClusterRecord,
  EvaluationClusterStateRepository,
  EventPublisher,
  EvaluationRun,
  EvaluationRunRepository,
  ExceptionRepository,
  HistoryRepository,
  MessageQueue,
  Page,
  RetryAfterHint,
  RunTrigger,
  SubscriptionNotDiscovered,
  SummaryRepository,
} from './ports.js';

export interface EvaluationSettings {
  /** Subscriptions to evaluate; undefined or empty = every enabled subscription the identity sees. */
  readonly subscriptionIds: readonly string[] | undefined;
  readonly armMaxConcurrency: number;
  readonly historyRetentionDays: number;
}

export interface EvaluationLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface EvaluationServiceDeps {
  readonly inventory: AzureInventoryReader;
  readonly runs: EvaluationRunRepository;
  readonly clusters: EvaluationClusterStateRepository & Partial<SummaryInputListing>;
  readonly history: HistoryRepository;
  readonly summaries: SummaryRepository;
  readonly exceptions: ExceptionRepository;
  readonly collectQueue: MessageQueue<CollectSubscriptionMessage>;
  readonly finalizeQueue: MessageQueue<FinalizeRunMessage>;
  readonly clock: Clock;
  readonly newRunId: () => string;
  readonly settings: EvaluationSettings;
  readonly log?: EvaluationLogger | undefined;
  /** Outbound events (webhooks): `cluster.compliance.changed` per drifting cluster, `evaluation.completed`. */
  readonly events?: EventPublisher | undefined;
}

/**
 * A cluster store that can list what the fleet summary reads without each cluster's evidence
 * (`TableClusterStateRepository`); finalize falls back to `list` for one that cannot.
 */
export interface SummaryInputListing {
  /** Every cluster, `top` at a time, in the order of an unfiltered `list`; controls without evidence. */
  listSummaryInputs(top: number, continuationToken: string | undefined): Promise<Page<SummaryInput>>;
}

/** Delivery facts the queue trigger passes in, so the last attempt can record a failure instead of throwing. */
export interface DeliveryAttempt {
  readonly dequeueCount: number;
  readonly maxDequeueCount: number;
}

export type CollectOutcome =
  | {
      readonly kind: 'collected';
      readonly clusters: number;
      readonly clustersIncomplete: number;
      readonly eventsNotPublished: number;
      readonly runComplete: boolean;
    }
  | { readonly kind: 'failed'; readonly error: string; readonly staleClusters: number; readonly runComplete: boolean }
  /** Throttled (Retry-After) before the last attempt: sent again with at least that visibility delay. */
  | { readonly kind: 'deferred'; readonly retryAfterSeconds: number; readonly attempt: number }
  | { readonly kind: 'skipped'; readonly reason: string };

/** What handling a collect message from `evaluation-collect-poison` did. */
export type PoisonedCollectOutcome =
  | { readonly kind: 'failed'; readonly error: string; readonly staleClusters: number; readonly runComplete: boolean }
  /** An outcome was already recorded (the delivery failed after recording it): kept as is. */
  | { readonly kind: 'already-recorded'; readonly ok: boolean; readonly runComplete: boolean }
  | { readonly kind: 'skipped'; readonly reason: string };

/** What the overdue-run sweep did to one run it found still `queued` or `running`. */
export interface OverdueRunOutcome {
  readonly runId: string;
  /** The run's status after the sweep (`partial` or `failed`, or still unfinished if finalize failed). */
  readonly status: EvaluationRun['status'] | undefined;
  /** Subscriptions recorded as failed by the sweep (those without an outcome). */
  readonly subscriptionsRecorded: number;
}

/** What handling a finalize message from `evaluation-finalize-poison` did. */
export type PoisonedFinalizeOutcome =
  | { readonly kind: 'finalized'; readonly run: EvaluationRun }
  | { readonly kind: 'failed'; readonly error: string; readonly run: EvaluationRun | undefined }
  | { readonly kind: 'skipped'; readonly reason: string };

export interface FinalizeOptions {
  /**
   * The last delivery of the finalize message (or a call nothing retries): a failure to publish
   * `evaluation.completed` or to apply history retention is recorded/logged instead of thrown.
   */
  readonly lastAttempt?: boolean | undefined;
}

/** A run just opened: nothing discovered or collected yet. */
export function queuedRun(id: string, trigger: RunTrigger, requestedBy: string | undefined, createdAt: string): EvaluationRun {
  return {
    id,
    trigger,
    status: 'queued',
    requestedBy,
    createdAt,
    startedAt: undefined,
    completedAt: undefined,
    subscriptionsTotal: 0,
    subscriptionsSucceeded: 0,
    subscriptionsFailed: 0,
    failures: [],
    clustersEvaluated: 0,
  };
}

/** The stored current state of a freshly collected cluster (never stale: it was just seen). */
export function toClusterState(snapshot: ClusterSnapshot, evaluation: ClusterEvaluation, lastSeenAt: string): ClusterState {
  return {
    id: snapshot.id,
    name: snapshot.name,
    subscriptionId: snapshot.subscriptionId,
    resourceGroup: snapshot.resourceGroup,
    location: snapshot.location,
    kind: snapshot.kind,
    tags: snapshot.tags,
    environment: environmentOf(snapshot.tags),
    distribution: snapshot.properties.distribution,
    kubernetesVersion: snapshot.properties.kubernetesVersion,
    connectivityStatus: snapshot.properties.connectivityStatus,
    evaluation,
    stale: false,
    lastSeenAt,
  };
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/**
 * How long a run may stay `queued` or `running` before {@link EvaluationService.sweepOverdueRuns}
 * ends it. The longest legitimate run, from the queue retry settings (host.json): every collect
 * message delivered `maxDequeueCount` (5) times, each up to `functionTimeout` (10 min) plus the 10 s
 * visibility timeout, then handled once more from `evaluation-collect-poison` (up to 5 × 10 min more),
 * then finalize and its poison queue (2 × 5 × 10 min): 4 × 50 min ≈ 3 h 20 min. A throttled collect
 * deferred by `Retry-After` spends one of those attempts per deferral, delayed by ARM's Retry-After
 * (minutes). 6 h is nearly twice that worst case; a run older than this will not get another outcome.
 */
export const OVERDUE_RUN_HOURS = 6;
const OVERDUE_RUN_MS = OVERDUE_RUN_HOURS * HOUR_MS;
/**
 * Cluster states read per page while finalizing: a state carries its whole evaluation (tens of KB of
 * evidence), so pages of 1,000 held ~100 MB of entities at once; 250 keeps finalize's peak small for
 * a few more (cheap) page reads.
 */
const SUMMARY_PAGE_SIZE = 250;
/** Pages of summary inputs (~0.6 KB each): the emulator scans the whole table per page read. */
const SUMMARY_INPUT_PAGE_SIZE = 1000;
const silent: EvaluationLogger = { info: () => undefined, warn: () => undefined };
/** Collect messages sent at once when a run starts (as `StorageMessageQueue.sendMany` does). */
const SEND_CONCURRENCY = 8;

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The `Retry-After` an adapter attached to a failure ({@link RetryAfterHint}), on the error or its causes. */
function retryAfterOf(error: unknown): number | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth += 1) {
    const v = (e as Partial<RetryAfterHint>).retryAfterSeconds;
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next;
      next += 1;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** A history entry's statuses in the shape drift computation reads (only id and status matter). */
function controlsFromStatuses(entry: ClusterHistoryEntry): Pick<ClusterEvaluation, 'controls' | 'score'> {
  return {
    score: entry.score,
    controls: Object.entries(entry.statuses).map(([controlId, status]): ControlResult => ({ controlId, status, severity: 'low', evidence: '' })),
  };
}

export class EvaluationService {
  private readonly log: EvaluationLogger;

  constructor(private readonly deps: EvaluationServiceDeps) {
    this.log = deps.log ?? silent;
  }

  /** Opens a run, discovers subscriptions and enqueues one collect message per subscription. */
  async startRun(request: { trigger: RunTrigger; requestedBy?: string | undefined }): Promise<EvaluationRun> {
    const { runs, clock } = this.deps;
    // Every start (the nightly timer included) first ends runs a crash left unfinished. Not worth
    // failing a new run over: a sweep that fails is retried by the next start.
    await this.sweepOverdueRuns().catch((error: unknown) => this.log.warn(`overdue-run sweep failed, left for the next run: ${errorText(error)}`));
    const createdAt = clock.now().toISOString();
    const queued = queuedRun(this.deps.newRunId(), request.trigger, request.requestedBy, createdAt);
    await runs.create(queued);

    let subscriptionIds: string[];
    try {
      subscriptionIds = await this.discoverSubscriptions();
    } catch (error) {
      const at = clock.now().toISOString();
      await runs.update({ ...queued, status: 'failed', startedAt: at, completedAt: at, failures: [{ subscriptionId: '*', error: `subscription discovery failed: ${errorText(error)}`, at }] });
      throw error;
    }
    const startedAt = clock.now().toISOString();
    const running: EvaluationRun = { ...queued, status: 'running', startedAt, subscriptionsTotal: subscriptionIds.length };
    try {
      await runs.update(running);
    } catch (error) {
      // Left `queued`, the run would wait forever: end it visibly if storage still answers.
      const at = clock.now().toISOString();
      await runs.update({ ...queued, status: 'failed', startedAt: at, completedAt: at, failures: [{ subscriptionId: '*', error: `run not started: ${errorText(error)}`, at }] }).catch(() => undefined);
      throw error;
    }
    this.log.info(`run ${running.id}: ${subscriptionIds.length} subscription(s) to collect`);

    if (subscriptionIds.length === 0) {
      // Nothing retries this call: a lost `evaluation.completed` is recorded on the run, not thrown.
      await this.finalizeRun(running.id, { lastAttempt: true });
      return (await runs.get(running.id)) ?? running;
    }
    const unsent: { subscriptionId: string; error: string }[] = [];
    await mapLimited(subscriptionIds, SEND_CONCURRENCY, async (subscriptionId) => {
      try {
        await this.deps.collectQueue.send({ kind: 'collect-subscription', runId: running.id, subscriptionId, runStartedAt: startedAt });
      } catch (error) {
        unsent.push({ subscriptionId, error: errorText(error) });
      }
    });
    return unsent.length === 0 ? running : this.recordUnsent(running, unsent);
  }

  /**
   * Ends runs still `queued` or `running` {@link OVERDUE_RUN_HOURS} h after they were created. A start
   * killed part-way through sending collect messages (or before it could record the run as failed)
   * leaves subscriptions that nothing will ever report, and no poison queue sees a message never sent.
   * Each such run is ended visibly: a run never started is failed; in a started run, every subscription
   * without an outcome is recorded as failed (`run overdue: no outcome after 6 h`) and its clusters are
   * marked stale unless a newer run has seen them since this one started, then the run is finalized as
   * usual (`partial`, or `failed` when nothing succeeded). Idempotent: a swept run is no longer
   * unfinished, and a sweep interrupted half-way records only what is still missing next time.
   *
   * The run's subscription list is not stored, so the missing ones are the subscriptions discovered
   * now without an outcome. When discovery fails, or finds more such subscriptions than the run lacks
   * (the estate changed since the run started), they cannot be told apart: the run is failed with the
   * reason instead.
   */
  async sweepOverdueRuns(): Promise<OverdueRunOutcome[]> {
    const cutoff = new Date(this.deps.clock.now().getTime() - OVERDUE_RUN_MS).toISOString();
    const overdue = await this.deps.runs.listUnfinishedCreatedBefore(cutoff);
    const outcomes: OverdueRunOutcome[] = [];
    for (const run of overdue) outcomes.push(await this.endOverdueRun(run));
    return outcomes;
  }

  private async endOverdueRun(run: EvaluationRun): Promise<OverdueRunOutcome> {
    const { runs, clusters, clock } = this.deps;
    const reason = `run overdue: no outcome after ${OVERDUE_RUN_HOURS} h`;
    const at = clock.now().toISOString();
    if (run.startedAt === undefined) {
      const failed = await runs.refresh(run.id, at, { fail: `run overdue: not started after ${OVERDUE_RUN_HOURS} h` });
      this.log.warn(`run ${run.id}: overdue, never started; ended ${failed?.status ?? 'unknown'}`);
      return { runId: run.id, status: failed?.status, subscriptionsRecorded: 0 };
    }
    const withOutcome = new Set(await runs.subscriptionsWithOutcome(run.id));
    const missing = run.subscriptionsTotal - withOutcome.size;
    let pending: string[] = [];
    let unidentified: string | undefined;
    if (missing > 0) {
      try {
        pending = (await this.discoverSubscriptions()).filter((s) => !withOutcome.has(s));
        if (pending.length > missing) unidentified = `${pending.length} discovered subscription(s) without an outcome for ${missing} missing`;
      } catch (error) {
        unidentified = `subscriptions not discovered: ${errorText(error)}`;
      }
    }
    if (unidentified !== undefined) pending = [];
    let recorded = 0;
    for (const subscriptionId of pending) {
      // The cutoff keeps a newer run's fresher results current.
      await clusters.markStale(subscriptionId, { lastSeenNoLaterThan: run.startedAt });
      if (await runs.recordSubscriptionOutcomeIfAbsent(run.id, subscriptionId, { ok: false, error: reason }, at)) recorded += 1;
    }
    const counted = await runs.refresh(run.id, at);
    if (counted !== undefined && counted.subscriptionsSucceeded + counted.subscriptionsFailed < counted.subscriptionsTotal) {
      const left = counted.subscriptionsTotal - counted.subscriptionsSucceeded - counted.subscriptionsFailed;
      const failed = await runs.refresh(run.id, at, { fail: `${reason} for ${left} subscription(s) not identified (${unidentified ?? 'no longer discovered'})` });
      this.log.warn(`run ${run.id}: overdue; ${recorded} subscription(s) recorded as failed, ${left} not identified; ended ${failed?.status ?? 'unknown'}`);
      return { runId: run.id, status: failed?.status, subscriptionsRecorded: recorded };
    }
    this.log.warn(`run ${run.id}: overdue; ${recorded} subscription(s) without an outcome recorded as failed; finalizing`);
    const result = await this.finalizeRun(run.id, { lastAttempt: true });
    return { runId: run.id, status: result?.run.status ?? counted?.status, subscriptionsRecorded: recorded };
  }

  /**
   * Collect messages that could not be enqueued: nothing would ever record those subscriptions, so
   * they are recorded as failed now (clusters stale) and the run completes without them; when even
   * that fails, the run is failed visibly (if storage still answers) and the error rethrown.
   */
  private async recordUnsent(run: EvaluationRun, unsent: readonly { subscriptionId: string; error: string }[]): Promise<EvaluationRun> {
    const { runs, clusters, clock } = this.deps;
    this.log.warn(`run ${run.id}: ${unsent.length} of ${run.subscriptionsTotal} collect message(s) not enqueued; recording those subscriptions as failed: ${unsent[0]?.error ?? ''}`);
    try {
      await mapLimited(unsent, SEND_CONCURRENCY, async ({ subscriptionId, error }) => {
        // A send can fail after the queue stored the message (a timed-out request): a collector may
        // have recorded it already, and its outcome (and fresh results) must not be overwritten.
        if ((await runs.getSubscriptionOutcome(run.id, subscriptionId)) !== undefined) return;
        await clusters.markStale(subscriptionId, { lastSeenNoLaterThan: run.startedAt });
        await runs.recordSubscriptionOutcomeIfAbsent(run.id, subscriptionId, { ok: false, error: `collect message not enqueued: ${error}` }, clock.now().toISOString());
      });
      const counted = await runs.refresh(run.id, clock.now().toISOString());
      // The queue just failed: when these were the last outcomes, finalize here instead of through it.
      // (A collector finishing meanwhile may finalize too: finalize is idempotent.)
      if (counted !== undefined && counted.subscriptionsSucceeded + counted.subscriptionsFailed >= counted.subscriptionsTotal) {
        await this.finalizeRun(run.id, { lastAttempt: true });
      }
    } catch (error) {
      const reason = `${unsent.length} collect message(s) not enqueued and not recorded: ${errorText(error)}`;
      await runs.refresh(run.id, clock.now().toISOString(), { fail: reason }).catch(() => undefined);
      throw error;
    }
    return (await runs.get(run.id)) ?? run;
  }

  private async discoverSubscriptions(): Promise<string[]> {
    const configured = this.deps.settings.subscriptionIds;
    const ids =
      configured !== undefined && configured.length > 0
        ? [...configured]
        : (await this.deps.inventory.listSubscriptions()).filter((s) => s.state.toLowerCase() === 'enabled').map((s) => s.subscriptionId);
    return [...new Set(ids.map((s) => s.toLowerCase()))].sort();
  }

  /**
   * Collects and evaluates one subscription. Throws on a subscription-level failure so the queue
   * retries — except on the last attempt, where the failure is recorded, the subscription's clusters
   * are marked stale (keeping their last results) and the run can still finalize. A failure that
   * carries `Retry-After` (ARM still throttling after the SDK's retries) is not thrown: the message is
   * sent again with at least that visibility delay, instead of the queue's fixed one, and the attempts
   * spent so far travel with it (`previousAttempts`), so the last attempt is still the
   * `maxDequeueCount`-th.
   */
  async collectSubscription(message: CollectSubscriptionMessage, attempt: DeliveryAttempt): Promise<CollectOutcome> {
    const { runs, clusters, clock } = this.deps;
    const run = await runs.get(message.runId);
    if (run === undefined) return { kind: 'skipped', reason: `run ${message.runId} does not exist` };
    if (run.completedAt !== undefined) return { kind: 'skipped', reason: `run ${message.runId} is already complete` };
    const attemptNo = (message.previousAttempts ?? 0) + attempt.dequeueCount;
    const lastAttempt = attemptNo >= attempt.maxDequeueCount;

    let collected: { evaluated: number; incomplete: number; events: OutboundEvent[] };
    try {
      collected = await this.collectAndStore(message);
    } catch (error) {
      const text = errorText(error);
      if (!lastAttempt) {
        const retryAfter = retryAfterOf(error);
        if (retryAfter !== undefined) return this.deferCollect(message, attemptNo, attempt.maxDequeueCount, retryAfter, error);
        this.log.warn(`run ${message.runId}: subscription ${message.subscriptionId} failed on attempt ${attemptNo}/${attempt.maxDequeueCount}, will retry: ${text}`);
        throw error;
      }
      // An earlier delivery of this message stored and recorded the subscription, then failed after
      // (finalize not enqueued): keep that success instead of overwriting it and marking the results
      // this run just stored stale.
      const recorded = await runs.getSubscriptionOutcome(message.runId, message.subscriptionId);
      if (recorded?.ok === true) {
        this.log.warn(`run ${message.runId}: subscription ${message.subscriptionId} failed on the last attempt after an earlier one recorded it; kept: ${text}`);
        const runComplete = await this.finalizeIfComplete(message.runId);
        return { kind: 'collected', clusters: recorded.clusters, clustersIncomplete: recorded.clustersIncomplete ?? 0, eventsNotPublished: recorded.eventsNotPublished ?? 0, runComplete };
      }
      this.log.warn(`run ${message.runId}: subscription ${message.subscriptionId} failed on the last attempt; recording the failure: ${text}`);
      const staleClusters = await clusters.markStale(message.subscriptionId, { lastSeenNoLaterThan: message.runStartedAt });
      await runs.recordSubscriptionOutcome(message.runId, message.subscriptionId, { ok: false, error: text }, clock.now().toISOString());
      const runComplete = await this.finalizeIfComplete(message.runId);
      return { kind: 'failed', error: text, staleClusters, runComplete };
    }
    const { evaluated, incomplete, events } = collected;
    // Results are stored; publish before recording the outcome, so a failure retries this message
    // (which recomputes the same drift and event ids) while the run cannot complete without it.
    let eventsNotPublished = 0;
    // publishAll tries every event before rethrowing the first failure: count the ones that failed.
    let failedEvents = 0;
    const publisher = this.deps.events;
    const counting: EventPublisher | undefined =
      publisher === undefined
        ? undefined
        : {
            publish: async (event) => {
              try {
                await publisher.publish(event);
              } catch (error) {
                failedEvents += 1;
                throw error;
              }
            },
          };
    try {
      await publishAll(counting, events);
    } catch (error) {
      const text = `run ${message.runId}: subscription ${message.subscriptionId}: ${failedEvents} of ${events.length} cluster.compliance.changed event(s) not published`;
      if (!lastAttempt) {
        this.log.warn(`${text} on attempt ${attemptNo}/${attempt.maxDequeueCount}, will retry: ${errorText(error)}`);
        throw error;
      }
      // The last attempt keeps the stored results (not a collection failure); the loss is counted on the run.
      this.log.warn(`${text} on the last attempt; the results are kept: ${errorText(error)}`);
      eventsNotPublished = failedEvents;
    }
    await runs.recordSubscriptionOutcome(
      message.runId,
      message.subscriptionId,
      { ok: true, clusters: evaluated, clustersIncomplete: incomplete, eventsNotPublished },
      clock.now().toISOString(),
    );
    const runComplete = await this.finalizeIfComplete(message.runId);
    return { kind: 'collected', clusters: evaluated, clustersIncomplete: incomplete, eventsNotPublished, runComplete };
  }

  /**
   * Re-sends a throttled collect with at least the service's `Retry-After` as visibility delay. One
   * new message replaces the failed delivery (this one then completes and is deleted), so requests
   * are not multiplied; if the send fails, the original error is thrown and the host retries as usual.
   */
  private async deferCollect(message: CollectSubscriptionMessage, attemptNo: number, maxAttempts: number, retryAfterSeconds: number, cause: unknown): Promise<CollectOutcome> {
    const delay = Math.max(1, Math.ceil(retryAfterSeconds));
    try {
      await this.deps.collectQueue.send({ ...message, previousAttempts: attemptNo }, { visibilityDelaySeconds: delay });
    } catch (error) {
      this.log.warn(`run ${message.runId}: subscription ${message.subscriptionId}: throttled collect not deferred (${errorText(error)}); the queue retries it`);
      throw cause;
    }
    this.log.warn(
      `run ${message.runId}: subscription ${message.subscriptionId} throttled on attempt ${attemptNo}/${maxAttempts}; collect deferred by ${delay} s (Retry-After ${retryAfterSeconds} s): ${errorText(cause)}`,
    );
    return { kind: 'deferred', retryAfterSeconds: delay, attempt: attemptNo };
  }

  /**
   * A collect message the host moved to `evaluation-collect-poison`: every delivery ended without
   * recording an outcome (function timeout, crash, or a failure while recording the failure). Records
   * the subscription as failed with that reason, marks its clusters stale (last results kept) and lets
   * the run finalize as `partial`. Idempotent; an outcome already recorded is kept.
   */
  async collectPoisoned(message: CollectSubscriptionMessage, reason: string): Promise<PoisonedCollectOutcome> {
    const { runs, clusters, clock } = this.deps;
    const run = await runs.get(message.runId);
    if (run === undefined) return { kind: 'skipped', reason: `run ${message.runId} does not exist` };
    if (run.completedAt !== undefined) return { kind: 'skipped', reason: `run ${message.runId} is already complete` };
    const existing = await runs.getSubscriptionOutcome(message.runId, message.subscriptionId);
    if (existing?.ok === true) return { kind: 'already-recorded', ok: true, runComplete: await this.finalizeIfComplete(message.runId) };
    // Also when a failure is recorded: the delivery may have failed while marking the clusters stale.
    const staleClusters = await clusters.markStale(message.subscriptionId, { lastSeenNoLaterThan: message.runStartedAt });
    const error = `${reason} (${QUEUES.collectSubscriptionPoison})`;
    const recorded = existing === undefined && (await runs.recordSubscriptionOutcomeIfAbsent(message.runId, message.subscriptionId, { ok: false, error }, clock.now().toISOString()));
    const runComplete = await this.finalizeIfComplete(message.runId);
    this.log.warn(`run ${message.runId}: subscription ${message.subscriptionId} poisoned: ${recorded ? 'recorded as failed' : 'outcome already recorded'}; ${staleClusters} cluster(s) marked stale`);
    return recorded ? { kind: 'failed', error, staleClusters, runComplete } : { kind: 'already-recorded', ok: false, runComplete };
  }

  private async finalizeIfComplete(runId: string): Promise<boolean> {
    const run = await this.deps.runs.refresh(runId, this.deps.clock.now().toISOString());
    if (run === undefined) return false;
    const complete = run.subscriptionsSucceeded + run.subscriptionsFailed >= run.subscriptionsTotal;
    // Two collectors finishing together may both see completion: finalize is idempotent.
    if (complete) await this.deps.finalizeQueue.send({ kind: 'finalize-run', runId });
    return complete;
  }

  private async collectAndStore(message: CollectSubscriptionMessage): Promise<{ evaluated: number; incomplete: number; events: OutboundEvent[] }> {
    const { inventory, clusters, history, exceptions, settings } = this.deps;
    const { runId, subscriptionId } = message;
    const runStartedAt = new Date(message.runStartedAt);

    // Subscription-level reads: a failure here fails the subscription (retried by the queue).
    const [records, policyStates, activeExceptions] = await Promise.all([
      inventory.listConnectedClusters(subscriptionId),
      inventory.queryClusterPolicyStates(subscriptionId),
      this.activeExceptions(runStartedAt),
    ]);
    // Assignments are informational for now (the evaluator reads policy states); a failure to list
    // them must not cost the subscription its results.
    const assignments = await inventory.listPolicyAssignments(subscriptionId).catch((error: unknown) => {
      this.log.warn(`run ${runId}: policy assignments of ${subscriptionId} not listed: ${errorText(error)}`);
      return undefined;
    });

    const statesByResource = new Map<string, PolicyStateFact[]>();
    for (const state of policyStates) {
      const key = state.resourceId.toLowerCase();
      const list = statesByResource.get(key);
      if (list) list.push(state);
      else statesByResource.set(key, [state]);
    }

    const snapshots = await mapLimited(records, settings.armMaxConcurrency, (record) => this.collectCluster(record, statesByResource, runId));

    const peersByGroup = new Map<string, ClusterSnapshot[]>();
    for (const s of snapshots) {
      const key = s.resourceGroup.toLowerCase();
      const list = peersByGroup.get(key);
      if (list) list.push(s);
      else peersByGroup.set(key, [s]);
    }
    // Read only now, after the slow ARM reads: a run that started later may have stored this
    // subscription meanwhile (overlapping runs), and its newer states must not be rolled back below.
    const previousStates = await clusters.listBySubscription(subscriptionId);
    const previousById = new Map(previousStates.map((s) => [s.id.toLowerCase(), s]));
    const lastSeenAt = runStartedAt.toISOString();

    const states: ClusterState[] = [];
    const entries: ClusterHistoryEntry[] = [];
    const events: OutboundEvent[] = [];
    for (const snapshot of snapshots) {
      const evaluation = evaluateCluster(snapshot, {
        runId,
        runStartedAt,
        resourceGroupPeers: peersByGroup.get(snapshot.resourceGroup.toLowerCase()) ?? [snapshot],
        exceptions: activeExceptions,
      });
      const stored = previousById.get(snapshot.id.toLowerCase());
      const previous = await this.previousEvaluation(stored, runId, runStartedAt);
      entries.push(buildHistoryEntry(evaluation, previous));
      // Overlapping runs: a later run already stored this cluster, so this (older) run finishing last
      // must not roll its current state back; the history entry above still records this run.
      if (stored !== undefined && Date.parse(stored.evaluation.evaluatedAt) > runStartedAt.getTime()) continue;
      const changed = this.deps.events !== undefined ? buildClusterComplianceChanged(snapshot, previous, evaluation) : undefined;
      if (changed !== undefined) {
        events.push({ id: outboundEventId('cluster.compliance.changed', runId, snapshot.id.toLowerCase()), type: 'cluster.compliance.changed', timestamp: evaluation.evaluatedAt, data: changed });
      }
      states.push(toClusterState(snapshot, evaluation, lastSeenAt));
    }
    // History before states: a crash in between is repaired by the redelivery, which still sees the
    // previous run's state and so computes the same drift.
    await history.appendMany(entries);
    await clusters.upsertMany(states, previousStates);
    // Clusters ARM no longer lists were deleted (the listing succeeded, so absence is real); their
    // history stays until retention removes it.
    const current = new Set(snapshots.map((s) => s.id.toLowerCase()));
    const gone = previousStates.filter((s) => !current.has(s.id.toLowerCase()));
    if (gone.length > 0) {
      await clusters.deleteMany(gone);
      this.log.info(`run ${runId}: subscription ${subscriptionId}: ${gone.length} deleted cluster(s) removed`);
    }
    // A part not collected turned that cluster's extension/Flux controls `unknown`: counted on the run.
    const incomplete = snapshots.filter((s) => s.extensions === null || s.fluxConfigurations === null).length;
    this.log.info(
      `run ${runId}: subscription ${subscriptionId}: ${entries.length} cluster(s) evaluated${incomplete > 0 ? ` (${incomplete} incomplete)` : ''}, ${policyStates.length} policy state(s), ${assignments?.length ?? 'unknown'} assignment(s)`,
    );
    return { evaluated: entries.length, incomplete, events };
  }

  /** Extensions and Flux per cluster; a part that cannot be collected is `null` (its controls report `unknown`). */
  private async collectCluster(record: ConnectedClusterRecord, statesByResource: ReadonlyMap<string, PolicyStateFact[]>, runId: string): Promise<ClusterSnapshot> {
    const part = async <T>(what: string, read: () => Promise<T[]>): Promise<T[] | null> => {
      try {
        return await read();
      } catch (error) {
        this.log.warn(`run ${runId}: ${what} of ${record.id} not collected: ${errorText(error)}`);
        return null;
      }
    };
    const [extensions, fluxConfigurations] = await Promise.all([
      part('extensions', () => this.deps.inventory.listExtensions(record.id)),
      part('flux configurations', () => this.deps.inventory.listFluxConfigurations(record.id)),
    ]);
    return { ...record, extensions, fluxConfigurations, policyStates: statesByResource.get(record.id.toLowerCase()) ?? [] };
  }

  /**
   * The evaluation drift is measured against: the stored state, unless it already holds this run
   * (a redelivery) or a later one (overlapping runs), in which case the latest history entry from an
   * earlier run.
   */
  private async previousEvaluation(stored: ClusterState | undefined, runId: string, runStartedAt: Date): Promise<Pick<ClusterEvaluation, 'controls' | 'score'> | undefined> {
    if (stored === undefined) return undefined;
    if (stored.evaluation.runId !== runId && Date.parse(stored.evaluation.evaluatedAt) <= runStartedAt.getTime()) return stored.evaluation;
    const earlier = (await this.deps.history.list(stored.id, new Date(0).toISOString(), runStartedAt.toISOString())).filter((e) => e.runId !== runId);
    const last = earlier[earlier.length - 1];
    return last === undefined ? undefined : controlsFromStatuses(last);
  }

  private async activeExceptions(at: Date): Promise<ControlException[]> {
    // A range read of the active ones (expired exceptions are kept forever); the filter keeps the cut exact.
    return (await this.deps.exceptions.listActive(at.toISOString())).filter((e) => Date.parse(e.expiresAt) > at.getTime());
  }

  /** Every current cluster state (stale ones included) as the fleet summary reads it. */
  private async summaryInputs(): Promise<SummaryInput[]> {
    const { clusters } = this.deps;
    const inputs: SummaryInput[] = [];
    let token: string | undefined;
    if (clusters.listSummaryInputs !== undefined) {
      do {
        const page = await clusters.listSummaryInputs(SUMMARY_INPUT_PAGE_SIZE, token);
        inputs.push(...page.items);
        token = page.continuationToken;
      } while (token !== undefined);
      return inputs;
    }
    do {
      const page = await clusters.list({ top: SUMMARY_PAGE_SIZE, continuationToken: token });
      // Only what the summary reads (statuses and score): holding every cluster's evidence and
      // offenders until the summary is built made finalize the memory peak of a 10,000-cluster run.
      for (const s of page.items) {
        const controls = s.evaluation.controls.map((c): ControlResult => ({ controlId: c.controlId, status: c.status, severity: c.severity, evidence: '' }));
        inputs.push({ subscriptionId: s.subscriptionId, stale: s.stale, evaluation: { score: s.evaluation.score, controls } });
      }
      token = page.continuationToken;
    } while (token !== undefined);
    return inputs;
  }

  /**
   * Clusters of subscriptions this run did not discover (access revoked, no longer in
   * `AZURE_SUBSCRIPTION_IDS`, disabled) would otherwise count as current forever: they are marked
   * stale (unless a newer run has seen them since this one started) and listed on the run.
   */
  private async markUndiscovered(run: EvaluationRun, inputs: readonly SummaryInput[], at: string): Promise<{ list: SubscriptionNotDiscovered[]; marked: number }> {
    const inRun = new Set((await this.deps.runs.subscriptionsWithOutcome(run.id)).map((s) => s.toLowerCase()));
    const stored = new Map<string, { clusters: number; current: number }>();
    for (const input of inputs) {
      const sub = input.subscriptionId.toLowerCase();
      if (inRun.has(sub)) continue;
      const entry = stored.get(sub) ?? { clusters: 0, current: 0 };
      entry.clusters += 1;
      if (!input.stale) entry.current += 1;
      stored.set(sub, entry);
    }
    let marked = 0;
    for (const [sub, entry] of stored) {
      if (entry.current > 0) marked += await this.deps.clusters.markStale(sub, { lastSeenNoLaterThan: run.startedAt ?? at });
    }
    const list = [...stored].sort(([a], [b]) => a.localeCompare(b)).map(([subscriptionId, entry]) => ({ subscriptionId, clusters: entry.clusters }));
    if (list.length > 0) {
      this.log.warn(`run ${run.id}: ${list.length} subscription(s) with stored clusters not discovered (${list.map((s) => s.subscriptionId).join(', ')}); ${marked} cluster(s) newly marked stale`);
    }
    return { list, marked };
  }

  /**
   * Completes a run once every subscription has an outcome: subscriptions no longer discovered marked,
   * fleet summary over every current cluster state (stale ones included), final status, history
   * retention, `evaluation.completed`. Safe to repeat.
   */
  async finalizeRun(runId: string, options: FinalizeOptions = {}): Promise<{ run: EvaluationRun; summary: FleetSummary } | undefined> {
    const { runs, summaries, history, clock, settings } = this.deps;
    const counted = await runs.refresh(runId, clock.now().toISOString());
    if (counted === undefined) {
      this.log.warn(`finalize: run ${runId} does not exist`);
      return undefined;
    }
    if (counted.subscriptionsSucceeded + counted.subscriptionsFailed < counted.subscriptionsTotal) {
      this.log.warn(`finalize: run ${runId} still has subscriptions without an outcome; nothing to do yet`);
      return undefined;
    }
    // A repeated finalize reuses the first completion time, so it stores the same summary.
    const generatedAt = counted.completedAt ?? clock.now().toISOString();
    let inputs = await this.summaryInputs();
    const undiscovered = await this.markUndiscovered(counted, inputs, generatedAt);
    // Rare (a subscription just dropped out): read again rather than guess which rows changed.
    if (undiscovered.marked > 0) inputs = await this.summaryInputs();
    const summary = summarizeFleet(runId, generatedAt, inputs);
    await summaries.put(summary);
    let run = (await runs.refresh(runId, generatedAt, { final: true, subscriptionsNotDiscovered: undiscovered.list })) ?? counted;
    const cutoff = new Date(Date.parse(generatedAt) - settings.historyRetentionDays * DAY_MS).toISOString();
    let purged: number | string;
    try {
      purged = await history.purgeOlderThan(cutoff);
    } catch (error) {
      // Retention catches up on the next run; not worth losing the run's completion event over.
      if (options.lastAttempt !== true) throw error;
      this.log.warn(`run ${runId}: history retention failed on the last attempt, left for the next run: ${errorText(error)}`);
      purged = 'no';
    }
    this.log.info(`run ${runId} ${run.status}: ${inputs.length} cluster(s) in the summary, history retention removed ${purged} unit(s)`);
    // After the run and summary are stored. A failure fails this finalize message, which the queue
    // retries (finalize is idempotent and the event id is the run's).
    const data: EvaluationCompletedData = {
      runId,
      status: run.status,
      trigger: run.trigger,
      completedAt: run.completedAt ?? generatedAt,
      clustersEvaluated: run.clustersEvaluated,
      subscriptionsFailed: run.subscriptionsFailed,
      clustersIncomplete: run.clustersIncomplete ?? 0,
      subscriptionsNotDiscovered: run.subscriptionsNotDiscovered?.length ?? 0,
      averageScore: summary.totals.averageScore,
      noncompliant: summary.totals.noncompliant,
    };
    try {
      await publishAll(this.deps.events, [{ id: outboundEventId('evaluation.completed', runId), type: 'evaluation.completed', timestamp: data.completedAt, data }]);
    } catch (error) {
      if (options.lastAttempt !== true) {
        this.log.warn(`run ${runId}: evaluation.completed not published, finalize will be retried: ${errorText(error)}`);
        throw error;
      }
      this.log.warn(`run ${runId}: evaluation.completed not published on the last attempt; counted on the run: ${errorText(error)}`);
      run = (await runs.refresh(runId, generatedAt, { evaluationCompletedNotPublished: true })) ?? run;
      return { run, summary };
    }
    // A repeated finalize that got it out clears an earlier loss.
    if (run.evaluationCompletedNotPublished === true) run = (await runs.refresh(runId, generatedAt, { evaluationCompletedNotPublished: false })) ?? run;
    return { run, summary };
  }

  /**
   * A finalize message the host moved to `evaluation-finalize-poison`. Finalizes once more as a last
   * attempt (a timeout or a passing storage fault may not recur); if that fails too, the run is ended
   * `failed` with the reason, so it never stays `running`. A run already complete keeps its status.
   * Idempotent.
   */
  async finalizePoisoned(runId: string, reason: string): Promise<PoisonedFinalizeOutcome> {
    const { runs, clock } = this.deps;
    const before = await runs.get(runId);
    if (before === undefined) return { kind: 'skipped', reason: `run ${runId} does not exist` };
    try {
      const result = await this.finalizeRun(runId, { lastAttempt: true });
      if (result !== undefined) return { kind: 'finalized', run: result.run };
      // Not every subscription has an outcome: each one still pending completes the run itself
      // (directly or through evaluation-collect-poison).
      return { kind: 'skipped', reason: `run ${runId} still has subscriptions without an outcome` };
    } catch (error) {
      const text = `finalize failed on every delivery (${reason}, ${QUEUES.finalizeRunPoison}): ${errorText(error)}`;
      const latest = await runs.get(runId);
      if (latest?.completedAt !== undefined) {
        this.log.warn(`run ${runId}: already ${latest.status}; ${text}`);
        return { kind: 'failed', error: text, run: latest };
      }
      this.log.warn(`run ${runId}: ending the run as failed: ${text}`);
      const failed = await runs.refresh(runId, clock.now().toISOString(), { fail: text });
      return { kind: 'failed', error: text, run: failed };
    }
  }
}

/**
 * Starts evaluation runs (`evaluation-timer`, `POST /api/v1/evaluations`): opens a run, discovers the
 * subscriptions and sends one `evaluation-collect` message per subscription. Every start first ends
 * runs a crash left unfinished ({@link EvaluationRunStarter.sweepOverdueRuns}); a collect message that
 * could not be enqueued is recorded as a failed subscription here, since no poison queue ever sees it.
 */
import { resolveRunScope } from '../domain/evaluation-scope.js';
import type { CollectSubscriptionMessage } from './messages.js';
import type { AzureInventoryReader, Clock, EvaluationClusterStateRepository, EvaluationRun, EvaluationRunRepository, MessageQueue, RunTrigger } from './ports.js';
import { QueueDelivery } from './queue-delivery.js';
import { errorText, everySubscriptionHasOutcome, queuedRun, type EvaluationSettings } from './evaluation-run.js';
import { mapLimited } from './worker-pool.js';
import type { EvaluationRunFinalizer } from './evaluation-run-finalizer.js';
import { toEvaluationView, type EvaluationView } from './compliance-query-service.js';
import { silentLogger, type Logger } from './logger.js';

export interface EvaluationRunStarterDeps {
  readonly inventory: Pick<AzureInventoryReader, 'listSubscriptions'>;
  readonly runs: EvaluationRunRepository;
  readonly clusters: Pick<EvaluationClusterStateRepository, 'markStale'>;
  readonly collectQueue: MessageQueue<CollectSubscriptionMessage>;
  /** Finalizes in-process what the queue cannot (a run without subscriptions, overdue and unsent ones). */
  readonly finalizer: Pick<EvaluationRunFinalizer, 'finalizeRun'>;
  readonly clock: Clock;
  readonly newRunId: () => string;
  readonly settings: Pick<EvaluationSettings, 'subscriptionIds'>;
  readonly log?: Logger | undefined;
}

/** What the overdue-run sweep did to one run it found still `queued` or `running`. */
export interface OverdueRunOutcome {
  readonly runId: string;
  /** The run's status after the sweep (`partial` or `failed`, or still unfinished if finalize failed). */
  readonly status: EvaluationRun['status'] | undefined;
  /** Subscriptions recorded as failed by the sweep (those without an outcome). */
  readonly subscriptionsRecorded: number;
}

const HOUR_MS = 3_600_000;
/**
 * How long a run may stay `queued` or `running` before {@link EvaluationRunStarter.sweepOverdueRuns}
 * ends it. The longest legitimate run, from the queue retry settings (host.json): every collect
 * message delivered `maxDequeueCount` (5) times, each up to `functionTimeout` (10 min) plus the 10 s
 * visibility timeout, then handled once more from `evaluation-collect-poison` (up to 5 × 10 min more),
 * then finalize and its poison queue (2 × 5 × 10 min): 4 × 50 min ≈ 3 h 20 min. A throttled collect
 * deferred by `Retry-After` spends one of those attempts per deferral, delayed by ARM's Retry-After
 * (minutes). 6 h is nearly twice that worst case; a run older than this will not get another outcome.
 */
export const OVERDUE_RUN_HOURS = 6;
const OVERDUE_RUN_MS = OVERDUE_RUN_HOURS * HOUR_MS;
/** Collect messages sent at once when a run starts (as `StorageMessageQueue.sendMany` does). */
const SEND_CONCURRENCY = 8;

export class EvaluationRunStarter {
  private readonly log: Logger;

  constructor(private readonly deps: EvaluationRunStarterDeps) {
    this.log = deps.log ?? silentLogger;
  }

  /** `POST /api/v1/evaluations`: {@link startRun} for a caller, answered with the run's API view. */
  async startOnDemand(request: { readonly requestedBy: string | undefined; readonly subscriptionIds?: readonly string[] | undefined }): Promise<EvaluationView> {
    return toEvaluationView(await this.startRun({ trigger: 'on-demand', ...request }));
  }

  /**
   * Opens a run, discovers subscriptions and enqueues one collect message per subscription. With
   * `subscriptionIds`, a `partial-estate` run of those only, each checked against the subscriptions a
   * full run would evaluate before anything is written (unknown ones: `InvalidRequestError`).
   */
  async startRun(request: { trigger: RunTrigger; requestedBy?: string | undefined; subscriptionIds?: readonly string[] | undefined }): Promise<EvaluationRun> {
    const { runs, clock } = this.deps;
    const scope = request.subscriptionIds === undefined ? undefined : resolveRunScope(request.subscriptionIds, await this.discoverSubscriptions());
    // Every start (the nightly timer included) first ends runs a crash left unfinished. Not worth
    // failing a new run over: a sweep that fails is retried by the next start.
    await this.sweepOverdueRuns().catch((error: unknown) => this.log.warn(`overdue-run sweep failed, left for the next run: ${errorText(error)}`));
    const createdAt = clock.now().toISOString();
    const opened = queuedRun(this.deps.newRunId(), request.trigger, request.requestedBy, createdAt);
    const queued: EvaluationRun = scope === undefined ? opened : { ...opened, scope: 'partial-estate', scopeSubscriptionIds: scope };
    await runs.create(queued);

    let subscriptionIds: string[];
    try {
      subscriptionIds = scope ?? (await this.discoverSubscriptions());
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
      await this.deps.finalizer.finalizeRun(running.id, QueueDelivery.final());
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
        pending = (run.scopeSubscriptionIds ?? (await this.discoverSubscriptions())).filter((s) => !withOutcome.has(s));
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
    if (counted !== undefined && !everySubscriptionHasOutcome(counted)) {
      const left = counted.subscriptionsTotal - counted.subscriptionsSucceeded - counted.subscriptionsFailed;
      const failed = await runs.refresh(run.id, at, { fail: `${reason} for ${left} subscription(s) not identified (${unidentified ?? 'no longer discovered'})` });
      this.log.warn(`run ${run.id}: overdue; ${recorded} subscription(s) recorded as failed, ${left} not identified; ended ${failed?.status ?? 'unknown'}`);
      return { runId: run.id, status: failed?.status, subscriptionsRecorded: recorded };
    }
    this.log.warn(`run ${run.id}: overdue; ${recorded} subscription(s) without an outcome recorded as failed; finalizing`);
    const result = await this.deps.finalizer.finalizeRun(run.id, QueueDelivery.final());
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
      if (counted !== undefined && everySubscriptionHasOutcome(counted)) {
        await this.deps.finalizer.finalizeRun(run.id, QueueDelivery.final());
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
}

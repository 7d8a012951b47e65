/**
 * Finalizes evaluation runs (`evaluation-finalize`, sent when a run's last subscription has an
 * outcome): marks the clusters of subscriptions the run did not discover, builds the fleet summary
 * over every current cluster state (with each framework's requirement posture), sets the final status,
 * applies history retention and publishes `evaluation.completed`. Safe to repeat. Also handles the finalize messages the host gave up on
 * (`evaluation-finalize-poison`), so a run never stays `running`.
 */
import { RunSummaryBuilder } from '../domain/run-summary.js';
import type { TrendSlices } from '../domain/trend-slices.js';
import type { FleetSummary } from '../domain/model.js';
import type { EvaluationCompletedData } from '../domain/webhook-events.js';
import { outboundEventId, publishAll } from './event-publishing.js';
import type { EvidenceRecorder } from './evidence-recorder.js';
import { QUEUES } from './messages.js';
import type {
  Clock,
  EvaluationClusterStateRepository,
  EvaluationRun,
  EvaluationRunRepository,
  EventPublisher,
  HistoryRepository,
  SubscriptionNotDiscovered,
  SummaryRepository,
} from './ports.js';
import { QueueDelivery } from './queue-delivery.js';
import { errorText, everySubscriptionHasOutcome, type EvaluationSettings } from './evaluation-run.js';
import { silentLogger, type Logger } from './logger.js';

export interface EvaluationRunFinalizerDeps {
  readonly runs: EvaluationRunRepository;
  readonly clusters: EvaluationClusterStateRepository;
  readonly history: HistoryRepository;
  readonly summaries: SummaryRepository;
  readonly clock: Clock;
  readonly settings: Pick<EvaluationSettings, 'historyRetentionDays'>;
  readonly log?: Logger | undefined;
  /** Seals the run's evidence with a hash-chained manifest once its status is final. */
  readonly evidence: Pick<EvidenceRecorder, 'sealRun'>;
  /** Outbound events (webhooks): `evaluation.completed`. */
  readonly events: EventPublisher;
}

export type { SummaryInputListing } from './ports.js';

/** What handling a finalize message from `evaluation-finalize-poison` did. */
export type PoisonedFinalizeOutcome =
  | { readonly kind: 'finalized'; readonly run: EvaluationRun }
  | { readonly kind: 'failed'; readonly error: string; readonly run: EvaluationRun | undefined }
  | { readonly kind: 'skipped'; readonly reason: string };

const DAY_MS = 86_400_000;
/** Pages of summary inputs (~0.6 KB each): the emulator scans the whole table per page read. */
const SUMMARY_INPUT_PAGE_SIZE = 1000;

export class EvaluationRunFinalizer {
  private readonly log: Logger;

  constructor(private readonly deps: EvaluationRunFinalizerDeps) {
    this.log = deps.log ?? silentLogger;
  }

  /**
   * The fleet summary over every current cluster state (stale ones included), with each framework's
   * requirement posture, read page by page and folded into counters as it goes: finalize holds one page, never the fleet (its memory stays flat
   * as the estate grows). With `outsideRun`, also counts the stored clusters of subscriptions not in
   * that set (for {@link markUndiscovered}).
   */
  private async summarize(runId: string, generatedAt: string, outsideRun?: ReadonlySet<string>): Promise<{ summary: FleetSummary; slices: TrendSlices; notInRun: Map<string, { clusters: number; current: number }> }> {
    const builder = new RunSummaryBuilder();
    const notInRun = new Map<string, { clusters: number; current: number }>();
    let token: string | undefined;
    do {
      const page = await this.deps.clusters.listSummaryInputs(SUMMARY_INPUT_PAGE_SIZE, token, { dimensions: true });
      for (const input of page.items) {
        builder.add(input);
        const sub = input.subscriptionId.toLowerCase();
        if (outsideRun === undefined || outsideRun.has(sub)) continue;
        const entry = notInRun.get(sub) ?? { clusters: 0, current: 0 };
        entry.clusters += 1;
        if (!input.stale) entry.current += 1;
        notInRun.set(sub, entry);
      }
      token = page.continuationToken;
    } while (token !== undefined);
    return { summary: builder.build(runId, generatedAt), slices: builder.trendSlices(runId, generatedAt), notInRun };
  }

  /**
   * Clusters of subscriptions this run did not discover (access revoked, no longer in
   * `AZURE_SUBSCRIPTION_IDS`, disabled) would otherwise count as current forever: they are marked
   * stale (unless a newer run has seen them since this one started) and listed on the run.
   */
  private async markUndiscovered(run: EvaluationRun, stored: ReadonlyMap<string, { clusters: number; current: number }>, at: string): Promise<{ list: SubscriptionNotDiscovered[]; marked: number }> {
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
   * retention, `evaluation.completed`. Safe to repeat. On the last delivery (or a call nothing retries,
   * {@link QueueDelivery.final}) a failure to publish `evaluation.completed` or to apply history
   * retention is recorded/logged instead of thrown.
   */
  async finalizeRun(runId: string, delivery: QueueDelivery = QueueDelivery.first()): Promise<{ run: EvaluationRun; summary: FleetSummary } | undefined> {
    const { runs, summaries, history, clock, settings } = this.deps;
    const counted = await runs.refresh(runId, clock.now().toISOString());
    if (counted === undefined) {
      this.log.warn(`finalize: run ${runId} does not exist`);
      return undefined;
    }
    if (!everySubscriptionHasOutcome(counted)) {
      this.log.warn(`finalize: run ${runId} still has subscriptions without an outcome; nothing to do yet`);
      return undefined;
    }
    // A repeated finalize reuses the first completion time, so it stores the same summary.
    const generatedAt = counted.completedAt ?? clock.now().toISOString();
    // A partial-estate run looked at some subscriptions on purpose: the others are not "not discovered".
    const inRun = counted.scope === 'partial-estate' ? undefined : new Set((await runs.subscriptionsWithOutcome(runId)).map((s) => s.toLowerCase()));
    const scanned = await this.summarize(runId, generatedAt, inRun);
    const undiscovered = inRun === undefined ? { list: [], marked: 0 } : await this.markUndiscovered(counted, scanned.notInRun, generatedAt);
    // Rare (a subscription just dropped out): read again rather than guess which rows changed.
    const { summary, slices } = undiscovered.marked > 0 ? await this.summarize(runId, generatedAt) : scanned;
    // Before the summary, so a run whose summary shows has its slices (filtered trends).
    await summaries.putTrendSlices(slices);
    await summaries.put(summary);
    try {
      // Before the run shows as complete, so a complete run has its manifest (its end = completedAt).
      await this.deps.evidence.sealRun({ ...counted, completedAt: generatedAt, subscriptionsNotDiscovered: undiscovered.list });
    } catch (error) {
      // Left unsealed, the run's evidence shows as `missing` in verify; the chain skips it intact.
      delivery.rethrowUnlessLast(error);
      this.log.warn(`run ${runId}: evidence not sealed on the last attempt (verify reports it missing): ${errorText(error)}`);
    }
    let run = (await runs.refresh(runId, generatedAt, { final: true, subscriptionsNotDiscovered: undiscovered.list })) ?? counted;
    const cutoff = new Date(Date.parse(generatedAt) - settings.historyRetentionDays * DAY_MS).toISOString();
    let purged: number | string;
    try {
      purged = await history.purgeOlderThan(cutoff);
    } catch (error) {
      // Retention catches up on the next run; not worth losing the run's completion event over.
      delivery.rethrowUnlessLast(error);
      this.log.warn(`run ${runId}: history retention failed on the last attempt, left for the next run: ${errorText(error)}`);
      purged = 'no';
    }
    this.log.info(`run ${runId} ${run.status}: ${summary.totals.clusters} cluster(s) in the summary, history retention removed ${purged} unit(s)`);
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
      // Said on every event, so a receiver never takes a run of some subscriptions for the whole estate.
      scope: run.scope ?? 'full-estate',
      ...(run.scope === 'partial-estate' ? { scopeSubscriptionIds: run.scopeSubscriptionIds ?? [] } : {}),
    };
    // A partial-estate run concerns its subscriptions only: webhook subscription filters apply to it.
    const scope = run.scope === 'partial-estate' ? { scope: { subscriptionIds: run.scopeSubscriptionIds ?? [] } } : {};
    try {
      await publishAll(this.deps.events, [{ id: outboundEventId('evaluation.completed', runId), type: 'evaluation.completed', timestamp: data.completedAt, data, ...scope }]);
    } catch (error) {
      if (!delivery.isLast) {
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
      const result = await this.finalizeRun(runId, QueueDelivery.final());
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

/**
 * Collects one subscription of a run (`evaluation-collect`, one message per run and subscription):
 * reads its clusters from ARM, evaluates each against the catalog, stores current state, history and
 * drift, publishes `cluster.compliance.changed`, records the subscription's outcome and, when it was
 * the run's last, sends `evaluation-finalize`. Also handles the collect messages the host gave up on
 * (`evaluation-collect-poison`), so a subscription never stays without an outcome.
 */
import { armFailureOf, permanentArmFailureOf } from '../domain/arm-failure.js';
import { evaluateCluster } from '../domain/evaluate-cluster.js';
import { buildHistoryEntry } from '../domain/drift.js';
import type { ClusterEvaluation, ClusterSnapshot, ControlException, ControlResult, PolicyStateFact } from '../domain/model.js';
import { buildClusterComplianceChanged, type OutboundEvent } from '../domain/webhook-events.js';
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
  EvaluationRunRepository,
  ExceptionRepository,
  HistoryRepository,
  MessageQueue,
  RetryAfterHint,
} from './ports.js';
import type { QueueDelivery } from './queue-delivery.js';
import type { RunControlPlaneSource, RunControlPlaneView } from './control-plane-watch-service.js';
import type { EvidenceRecorder } from './evidence-recorder.js';
import { buildClusterEvidence, type ClusterEvidenceRecord } from '../domain/evidence-record.js';
import { errorText, toClusterState, type EvaluationSettings } from './evaluation-run.js';
import { mapLimited, yieldToEventLoop } from './worker-pool.js';
import { silentLogger, type Logger } from './logger.js';

export interface SubscriptionCollectorDeps {
  readonly inventory: AzureInventoryReader;
  readonly runs: EvaluationRunRepository;
  readonly clusters: EvaluationClusterStateRepository;
  readonly history: HistoryRepository;
  readonly exceptions: ExceptionRepository;
  /** Where a throttled collect is re-sent with the service's `Retry-After` as visibility delay. */
  readonly collectQueue: MessageQueue<CollectSubscriptionMessage>;
  readonly finalizeQueue: MessageQueue<FinalizeRunMessage>;
  readonly clock: Clock;
  readonly settings: Pick<EvaluationSettings, 'armMaxConcurrency'>;
  readonly log?: Logger | undefined;
  /** Outbound events (webhooks): `cluster.compliance.changed` per drifting cluster. */
  readonly events: EventPublisher;
  /**
   * Control-plane watch: the collect reads the subscription's Activity Log too, and ARC-TD-04 reads
   * the break-glass downloads it found (`unknown` on provisioned clusters when the log cannot be read).
   */
  readonly controlPlane: RunControlPlaneSource;
  /** Evidence bundles: what each cluster was judged on, one blob per run and subscription. */
  readonly evidence: Pick<EvidenceRecorder, 'recordSubscription'>;
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

/** A history entry's statuses in the shape drift computation reads (only id and status matter). */
function controlsFromStatuses(entry: ClusterHistoryEntry): Pick<ClusterEvaluation, 'controls' | 'score'> {
  return {
    score: entry.score,
    controls: Object.entries(entry.statuses).map(([controlId, status]): ControlResult => ({ controlId, status, severity: 'low', evidence: '' })),
  };
}

export class SubscriptionCollector {
  private readonly log: Logger;

  constructor(private readonly deps: SubscriptionCollectorDeps) {
    this.log = deps.log ?? silentLogger;
  }

  /**
   * Collects and evaluates one subscription. Throws on a subscription-level failure so the queue
   * retries — except on the last attempt, where the failure is recorded, the subscription's clusters
   * are marked stale (keeping their last results) and the run can still finalize. A permanent ARM
   * failure (a refusal, a missing or disabled subscription: `domain/arm-failure.ts`) is recorded the
   * same way on the first attempt, with its ARM code and a hint. A failure that
   * carries `Retry-After` (ARM still throttling after the SDK's retries) is not thrown: the message is
   * sent again with at least that visibility delay, instead of the queue's fixed one, and the attempts
   * spent so far travel with it (`previousAttempts`), so the last attempt is still the
   * `maxDequeueCount`-th.
   */
  async collectSubscription(message: CollectSubscriptionMessage, delivery: QueueDelivery): Promise<CollectOutcome> {
    const { runs, clusters, clock } = this.deps;
    const run = await runs.get(message.runId);
    if (run === undefined) return { kind: 'skipped', reason: `run ${message.runId} does not exist` };
    if (run.completedAt !== undefined) return { kind: 'skipped', reason: `run ${message.runId} is already complete` };
    // A deferred collect is a new message whose dequeue count restarted: count the earlier copies too.
    const attempt = delivery.after(message.previousAttempts);

    let collected: { evaluated: number; incomplete: number; events: OutboundEvent[] };
    try {
      collected = await this.collectAndStore(message);
    } catch (error) {
      const text = errorText(error);
      // A refusal or a missing or disabled subscription will not heal within the run: recorded now.
      const permanent = permanentArmFailureOf(error);
      if (!attempt.isLast && permanent === undefined) {
        const retryAfter = retryAfterOf(error);
        if (retryAfter !== undefined) return this.deferCollect(message, attempt, retryAfter, error);
        this.log.warn(`run ${message.runId}: subscription ${message.subscriptionId} failed on attempt ${attempt}, will retry: ${text}`);
        throw error;
      }
      // An earlier delivery of this message stored and recorded the subscription, then failed after
      // (finalize not enqueued): keep that success instead of overwriting it and marking the results
      // this run just stored stale.
      const recorded = await runs.getSubscriptionOutcome(message.runId, message.subscriptionId);
      if (recorded?.ok === true) {
        this.log.warn(`run ${message.runId}: subscription ${message.subscriptionId} failed on the last attempt after an earlier one recorded it; kept: ${text}`);
        const runComplete = await this.finalizeIfComplete(message.runId, message.subscriptionId);
        return { kind: 'collected', clusters: recorded.clusters, clustersIncomplete: recorded.clustersIncomplete ?? 0, eventsNotPublished: recorded.eventsNotPublished ?? 0, runComplete };
      }
      const when = permanent === undefined ? 'on the last attempt' : `permanently (${permanent.code}) on attempt ${attempt}, not retried`;
      this.log.warn(`run ${message.runId}: subscription ${message.subscriptionId} failed ${when}; recording the failure: ${text}`);
      const staleClusters = await clusters.markStale(message.subscriptionId, { lastSeenNoLaterThan: message.runStartedAt });
      const code = permanent?.code ?? armFailureOf(error)?.code;
      const outcome = { ok: false as const, error: text, ...(code !== undefined ? { code } : {}), ...(permanent?.hint !== undefined ? { hint: permanent.hint } : {}) };
      await runs.recordSubscriptionOutcome(message.runId, message.subscriptionId, outcome, clock.now().toISOString());
      const runComplete = await this.finalizeIfComplete(message.runId, message.subscriptionId);
      return { kind: 'failed', error: text, staleClusters, runComplete };
    }
    const { evaluated, incomplete, events } = collected;
    // Results are stored; publish before recording the outcome, so a failure retries this message
    // (which recomputes the same drift and event ids) while the run cannot complete without it.
    let eventsNotPublished = 0;
    // publishAll tries every event before rethrowing the first failure: count the ones that failed.
    let failedEvents = 0;
    const publisher = this.deps.events;
    const counting: EventPublisher = {
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
      if (!attempt.isLast) {
        this.log.warn(`${text} on attempt ${attempt}, will retry: ${errorText(error)}`);
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
    const runComplete = await this.finalizeIfComplete(message.runId, message.subscriptionId);
    return { kind: 'collected', clusters: evaluated, clustersIncomplete: incomplete, eventsNotPublished, runComplete };
  }

  /**
   * Re-sends a throttled collect with at least the service's `Retry-After` as visibility delay. One
   * new message replaces the failed delivery (this one then completes and is deleted), so requests
   * are not multiplied; if the send fails, the original error is thrown and the host retries as usual.
   */
  private async deferCollect(message: CollectSubscriptionMessage, attempt: QueueDelivery, retryAfterSeconds: number, cause: unknown): Promise<CollectOutcome> {
    const delay = Math.max(1, Math.ceil(retryAfterSeconds));
    try {
      await this.deps.collectQueue.send({ ...message, previousAttempts: attempt.attempt }, { visibilityDelaySeconds: delay });
    } catch (error) {
      this.log.warn(`run ${message.runId}: subscription ${message.subscriptionId}: throttled collect not deferred (${errorText(error)}); the queue retries it`);
      throw cause;
    }
    this.log.warn(
      `run ${message.runId}: subscription ${message.subscriptionId} throttled on attempt ${attempt}; collect deferred by ${delay} s (Retry-After ${retryAfterSeconds} s): ${errorText(cause)}`,
    );
    return { kind: 'deferred', retryAfterSeconds: delay, attempt: attempt.attempt };
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
    if (existing?.ok === true) return { kind: 'already-recorded', ok: true, runComplete: await this.finalizeIfComplete(message.runId, message.subscriptionId) };
    // Also when a failure is recorded: the delivery may have failed while marking the clusters stale.
    const staleClusters = await clusters.markStale(message.subscriptionId, { lastSeenNoLaterThan: message.runStartedAt });
    const error = `${reason} (${QUEUES.collectSubscriptionPoison})`;
    const recorded = existing === undefined && (await runs.recordSubscriptionOutcomeIfAbsent(message.runId, message.subscriptionId, { ok: false, error }, clock.now().toISOString()));
    const runComplete = await this.finalizeIfComplete(message.runId, message.subscriptionId);
    this.log.warn(`run ${message.runId}: subscription ${message.subscriptionId} poisoned: ${recorded ? 'recorded as failed' : 'outcome already recorded'}; ${staleClusters} cluster(s) marked stale`);
    return recorded ? { kind: 'failed', error, staleClusters, runComplete } : { kind: 'already-recorded', ok: false, runComplete };
  }

  /**
   * Counts the subscription's recorded outcome, then reads the run's outcome count, not its outcomes:
   * a few rows per collect whatever the run's size (reading every outcome after every collect made
   * runs quadratic in their subscriptions). The run's counts and failures are aggregated once, by finalize.
   */
  private async finalizeIfComplete(runId: string, subscriptionId: string): Promise<boolean> {
    const run = await this.deps.runs.get(runId);
    if (run === undefined) return false;
    await this.deps.runs.countSubscriptionOutcome(runId, subscriptionId);
    const counted = await this.deps.runs.countSubscriptionOutcomes(runId);
    const complete = counted >= run.subscriptionsTotal;
    // Two collectors finishing together may both see completion: finalize is idempotent.
    if (complete) await this.deps.finalizeQueue.send({ kind: 'finalize-run', runId });
    else if (counted % progressStep(run.subscriptionsTotal) === 0) await this.refreshProgress(runId);
    return complete;
  }

  /**
   * The run record's counts (succeeded, failed, clusters, failures) come from a full read of the
   * outcomes. Doing that after every collect costs O(subscriptions²) reads per run; doing it only at
   * finalize would leave a running run showing no progress. So it is done at each tenth of the
   * estate: linear in total, and `GET /evaluations/{id}` moves while the run does. Progress is
   * informational: a failed refresh does not fail the collect.
   */
  private async refreshProgress(runId: string): Promise<void> {
    await this.deps.runs.refresh(runId, this.deps.clock.now().toISOString()).catch((error: unknown) => {
      this.log.warn(`run ${runId}: progress not refreshed: ${errorText(error)}`);
    });
  }

  private async collectAndStore(message: CollectSubscriptionMessage): Promise<{ evaluated: number; incomplete: number; events: OutboundEvent[] }> {
    const { inventory, clusters, history, settings } = this.deps;
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

    const [collectedSnapshots, controlPlane] = await Promise.all([
      mapLimited(records, settings.armMaxConcurrency, (record) => this.collectCluster(record, statesByResource, runId)),
      this.controlPlaneView(subscriptionId, records, runStartedAt, runId),
    ]);
    const snapshots = collectedSnapshots.map((s): ClusterSnapshot => ({ ...s, breakGlass: controlPlane.breakGlass === null ? null : (controlPlane.breakGlass.get(s.id.toLowerCase()) ?? []) }));
    await this.recordExtensions(subscriptionId, snapshots, runId);

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
    const evidence: ClusterEvidenceRecord[] = [];
    for (const snapshot of snapshots) {
      // One cluster at a time (its evaluation and evidence), so API requests of this instance are
      // answered between clusters instead of waiting for the whole subscription's.
      await yieldToEventLoop();
      const evaluation = evaluateCluster(snapshot, {
        runId,
        runStartedAt,
        resourceGroupPeers: peersByGroup.get(snapshot.resourceGroup.toLowerCase()) ?? [snapshot],
        exceptions: activeExceptions,
        breakGlassLookbackDays: this.deps.controlPlane.lookbackDays,
      });
      evidence.push(buildClusterEvidence(snapshot, evaluation, activeExceptions));
      const stored = previousById.get(snapshot.id.toLowerCase());
      const previous = await this.previousEvaluation(stored, runId, runStartedAt);
      entries.push(buildHistoryEntry(evaluation, previous));
      // Overlapping runs: a later run already stored this cluster, so this (older) run finishing last
      // must not roll its current state back; the history entry above still records this run.
      if (stored !== undefined && Date.parse(stored.evaluation.evaluatedAt) > runStartedAt.getTime()) continue;
      const changed = buildClusterComplianceChanged(snapshot, previous, evaluation);
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
    // After the results are stored, before the outcome: a failure retries the collect, and a
    // subscription without evidence is never recorded as collected.
    await this.deps.evidence.recordSubscription(runId, subscriptionId, evidence);
    // A part not collected turned that cluster's extension/Flux (or, for a provisioned cluster, its
    // break-glass) controls `unknown`: counted on the run.
    const incomplete = snapshots.filter((s) => s.extensions === null || s.fluxConfigurations === null || (s.breakGlass === null && s.kind?.toLowerCase() === 'provisionedcluster')).length;
    this.log.info(
      `run ${runId}: subscription ${subscriptionId}: ${entries.length} cluster(s) evaluated${incomplete > 0 ? ` (${incomplete} incomplete)` : ''}, ${policyStates.length} policy state(s), ${assignments?.length ?? 'unknown'} assignment(s)`,
    );
    return { evaluated: entries.length, incomplete, events };
  }

  /**
   * The subscription's Activity Log for the run (read as the watch timer reads it: new events are
   * stored and published) and the break-glass downloads of its clusters. A log that cannot be read
   * does not fail the subscription: `breakGlass` is null and ARC-TD-04 is `unknown`.
   */
  private async controlPlaneView(subscriptionId: string, records: readonly ConnectedClusterRecord[], runStartedAt: Date, runId: string): Promise<RunControlPlaneView> {
    const source = this.deps.controlPlane;
    try {
      const view = await source.forRun(subscriptionId, records.map((r) => ({ id: r.id, resourceGroup: r.resourceGroup, location: r.location })), runStartedAt);
      if (view.error !== undefined) {
        this.log.warn(`run ${runId}: Activity Log of ${subscriptionId} not read${view.breakGlass === null ? ' (ARC-TD-04 unknown)' : ' (earlier reads cover the run)'}: ${view.error}`);
      }
      return view;
    } catch (error) {
      this.log.warn(`run ${runId}: control-plane events of ${subscriptionId} not read (ARC-TD-04 unknown): ${errorText(error)}`);
      return { breakGlass: null, error: errorText(error) };
    }
  }

  /** The extension types the watch needs to name a deleted extension (the log names only the extension). */
  private async recordExtensions(subscriptionId: string, snapshots: readonly ClusterSnapshot[], runId: string): Promise<void> {
    const source = this.deps.controlPlane;
    const listed = new Map(snapshots.filter((s) => s.extensions !== null).map((s) => [s.id.toLowerCase(), s.extensions ?? []]));
    await source.recordExtensions(subscriptionId, listed).catch((error: unknown) => this.log.warn(`run ${runId}: extension types of ${subscriptionId} not recorded: ${errorText(error)}`));
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

}

/** Outcomes between two progress refreshes of a running run: a tenth of the estate, at least one. */
export function progressStep(subscriptionsTotal: number): number {
  return Math.max(1, Math.ceil(subscriptionsTotal / PROGRESS_REFRESHES));
}

const PROGRESS_REFRESHES = 10;

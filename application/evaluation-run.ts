/**
 * What the evaluation services share: the run and cluster records they build, their logger and
 * settings, and the run-completeness rule.
 *
 * The evaluation is three services, one per queue message that drives it:
 * - `EvaluationRunStarter` (`evaluation-timer`, `POST /api/v1/evaluations`): opens a run, sweeps
 *   overdue ones, fans out one `evaluation-collect` message per subscription;
 * - `SubscriptionCollector` (`evaluation-collect` and its poison queue): collects, evaluates and
 *   stores one subscription, records its outcome, enqueues `evaluation-finalize` when the run is complete;
 * - `EvaluationRunFinalizer` (`evaluation-finalize` and its poison queue): fleet summary, final
 *   status, retention, `evaluation.completed`.
 *
 * Every step is idempotent under at-least-once delivery: a redelivered collect message evaluates the
 * same snapshot against the same run start and overwrites the same rows; finalize may run any number
 * of times. No fault leaves a run `running` silently (see docs/architecture.md).
 */
import { environmentOf } from '../domain/environment.js';
import type { ClusterEvaluation, ClusterSnapshot } from '../domain/model.js';
import type { ClusterState, EvaluationRun, RunTrigger } from './ports.js';

export interface EvaluationSettings {
  /** Subscriptions to evaluate; undefined or empty = every enabled subscription the identity sees. */
  readonly subscriptionIds: readonly string[] | undefined;
  readonly armMaxConcurrency: number;
  readonly historyRetentionDays: number;
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

/** Every subscription of the run has an outcome (succeeded or failed): the run can be finalized. */
export function everySubscriptionHasOutcome(run: EvaluationRun): boolean {
  return run.subscriptionsSucceeded + run.subscriptionsFailed >= run.subscriptionsTotal;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}


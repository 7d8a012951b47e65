/**
 * The records the application stores, as it sees them: runs and their subscription outcomes, cluster
 * states, history entries, trend points, audit records and remediation requests. (Exceptions, fleet
 * summaries, rollouts and webhooks are domain types, stored as they are.) The Table adapters read every
 * one of them through a versioned codec that validates it (`adapters/storage/records/`), so a change
 * to a type here is a change of a stored shape: see docs/data-model.md, "Stored record versions".
 */
import type { ClusterEvaluation, ControlStatus } from '../domain/model.js';
import type { RunScope } from '../domain/evaluation-scope.js';
import type { FilteredTrendPoint } from '../domain/trend-slices.js';
import type { ClusterSummaryView } from './ports.js';

export type RunTrigger = 'timer' | 'on-demand';
export type RunStatus = 'queued' | 'running' | 'succeeded' | 'partial' | 'failed';

export interface SubscriptionFailure {
  readonly subscriptionId: string;
  readonly error: string;
  readonly at: string;
  /** The ARM error code of a failure ARM answered (`AuthorizationFailed`, `SubscriptionNotFound`, …). */
  readonly code?: string | undefined;
  /** What to do about a permanent failure (e.g. the role the identity lacks). */
  readonly hint?: string | undefined;
}

/** A subscription with stored clusters that a run did not discover (its clusters are marked stale). */
export interface SubscriptionNotDiscovered {
  readonly subscriptionId: string;
  /** Its stored clusters, every one now stale. */
  readonly clusters: number;
}

/** What one collect recorded for one subscription of a run (the last record per subscription counts). */
export type SubscriptionOutcome =
  | {
      readonly ok: true;
      readonly clusters: number;
      /** Clusters evaluated with extensions or Flux configurations not collected (those controls `unknown`). */
      readonly clustersIncomplete?: number | undefined;
      /** `cluster.compliance.changed` events still unpublished after the last attempt. */
      readonly eventsNotPublished?: number | undefined;
    }
  | { readonly ok: false; readonly error: string; readonly code?: string | undefined; readonly hint?: string | undefined };

export interface EvaluationRun {
  readonly id: string;
  readonly trigger: RunTrigger;
  readonly status: RunStatus;
  readonly requestedBy: string | undefined;
  readonly createdAt: string;
  readonly startedAt: string | undefined;
  readonly completedAt: string | undefined;
  readonly subscriptionsTotal: number;
  readonly subscriptionsSucceeded: number;
  readonly subscriptionsFailed: number;
  readonly failures: readonly SubscriptionFailure[];
  readonly clustersEvaluated: number;
  /** Clusters evaluated with a part not collected (extensions, Flux configurations): those controls are `unknown`. Absent = 0. */
  readonly clustersIncomplete?: number | undefined;
  /** Outbound events lost after every attempt (`cluster.compliance.changed`, plus `evaluation.completed`). Absent = 0. */
  readonly eventsNotPublished?: number | undefined;
  /** Set when `evaluation.completed` could not be published on finalize's last attempt (counted in `eventsNotPublished`). */
  readonly evaluationCompletedNotPublished?: boolean | undefined;
  /** Subscriptions with stored clusters this run did not discover (access revoked, no longer configured, disabled). Absent = none. */
  readonly subscriptionsNotDiscovered?: readonly SubscriptionNotDiscovered[] | undefined;
  /** `partial-estate` for an on-demand run of some subscriptions only. Absent = `full-estate`. */
  readonly scope?: RunScope | undefined;
  /** The subscriptions a `partial-estate` run evaluates (lower-case, sorted). */
  readonly scopeSubscriptionIds?: readonly string[] | undefined;
}

/** Current state of one cluster: identity, latest evaluation, staleness. */
export interface ClusterState {
  readonly id: string;
  readonly name: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly kind: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  readonly environment: string | undefined;
  readonly distribution: string | undefined;
  readonly kubernetesVersion: string | undefined;
  readonly connectivityStatus: string | undefined;
  readonly evaluation: ClusterEvaluation;
  /** True when the last run could not collect this cluster's subscription. */
  readonly stale: boolean;
  /** When the cluster was last successfully collected. */
  readonly lastSeenAt: string;
}

/** Compact per-run record of one cluster, for history and drift. */
export interface ClusterHistoryEntry {
  readonly clusterId: string;
  readonly runId: string;
  readonly evaluatedAt: string;
  readonly score: number;
  readonly statuses: Readonly<Record<string, ControlStatus>>;
  /** Controls that changed since the previous run: `pass→fail` etc. */
  readonly drift: readonly { readonly controlId: string; readonly from: ControlStatus; readonly to: ControlStatus }[];
}

export interface AuditRecord {
  readonly id: string;
  readonly at: string;
  readonly requestId: string;
  readonly callerObjectId: string | undefined;
  readonly callerAppId: string | undefined;
  readonly roles: readonly string[];
  readonly operation: string;
  readonly target: string;
  readonly outcome: 'succeeded' | 'failed' | 'denied';
  readonly detail?: string | undefined;
}

/** One run's fleet figures; a filtered trend point has the same shape over the matching clusters. */
export type TrendPoint = FilteredTrendPoint;

/** One ARM remediation task of a request, as stored (its progress is read from ARM, never stored). */
export interface RemediationTaskRecord {
  readonly subscriptionId: string;
  /** Undefined when the task could not be started (`error` says why). */
  readonly armId: string | undefined;
  readonly error?: string | undefined;
  /**
   * The task's clusters: `count` entries of the record's `clusterIds` from `offset`. Absent on records
   * written when a subscription had exactly one task, which covered every cluster of its subscription.
   */
  readonly clusters?: { readonly offset: number; readonly count: number } | undefined;
}

/**
 * A remediation request made through the API: one ARM task per subscription and per 100 clusters
 * (ARM's limit on `filters.resourceIds`). `clusterIds` lists each subscription's clusters together,
 * in task order, so a task's clusters are one contiguous range of it.
 */
export interface RemediationRecord {
  readonly id: string;
  readonly controlId: string;
  readonly requestedBy: string;
  readonly createdAt: string;
  readonly clusterIds: readonly string[];
  readonly tasks: readonly RemediationTaskRecord[];
  /** Set when the background completion checks stopped before seeing every task terminal. */
  readonly pollingStopped?: RemediationPollingStop | undefined;
}

/** Why and when the `remediation-checks` queue stopped looking at a remediation that was not finished. */
export interface RemediationPollingStop {
  readonly at: string;
  readonly reason: string;
}

/** The list view of a stored cluster state: what the cluster list serves and its index rows project. */
export function toClusterSummary(s: ClusterState): ClusterSummaryView {
  return {
    id: s.id,
    name: s.name,
    subscriptionId: s.subscriptionId,
    resourceGroup: s.resourceGroup,
    location: s.location,
    kind: s.kind ?? null,
    environment: s.environment ?? null,
    score: s.evaluation.score,
    failedControls: s.evaluation.failedControls,
    lastEvaluatedAt: s.evaluation.evaluatedAt,
    stale: s.stale,
  };
}

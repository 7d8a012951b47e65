/**
 * The API's response shapes served by the query and remediation services: types only, with no runtime
 * code and no Node API, so the dashboard's browser code imports them (`import type`) and cannot drift
 * from what the API serves. The services re-export them.
 */
import type { RunScope } from '../domain/evaluation-scope.js';
import type { FrameworkId } from '../domain/frameworks.js';
import type { ControlResult } from '../domain/model.js';
import type { TrendFilters } from '../domain/trend-slices.js';
import type { ClusterHistoryEntry, ClusterSummaryView, EvaluationRun, RemediationPollingStop, TrendPoint } from './ports.js';

export interface ControlView {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly severity: string;
  readonly category: string;
  readonly evidence: string;
  /** The built-in definitions the control stands for (full ids); empty for controls read from cluster configuration. */
  readonly policyDefinitionIds: readonly string[];
  /** Requirement ids the control meets, per framework (every framework present). */
  readonly requirements: Readonly<Record<FrameworkId, readonly string[]>>;
  readonly remediation: { readonly text: string; readonly automatic: boolean; readonly deployIfNotExistsPolicyDefinitionId?: string };
}

export interface ClusterView extends ClusterSummaryView {
  readonly distribution: string | null;
  readonly kubernetesVersion: string | null;
  readonly connectivityStatus: string | null;
  readonly tags: Readonly<Record<string, string>>;
  readonly lastSeenAt: string;
  readonly runId: string;
  readonly controls: readonly ControlResult[];
}

export interface ClusterHistoryView {
  readonly clusterId: string;
  readonly from: string;
  readonly to: string;
  readonly value: readonly Omit<ClusterHistoryEntry, 'clusterId'>[];
}

export interface EvaluationView {
  readonly id: string;
  readonly status: EvaluationRun['status'];
  readonly trigger: EvaluationRun['trigger'];
  readonly scope: RunScope;
  /** The subscriptions of a `partial-estate` run. */
  readonly scopeSubscriptionIds?: readonly string[];
  readonly requestedBy: string | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly completedAt: string | null;
  readonly subscriptions: { readonly total: number; readonly succeeded: number; readonly failed: number };
  readonly clustersEvaluated: number;
  readonly failures: EvaluationRun['failures'];
  /** Clusters evaluated with extensions or Flux configurations not collected (those controls `unknown`). */
  readonly clustersIncomplete: number;
  /** Outbound events (`cluster.compliance.changed`, `evaluation.completed`) lost after every attempt. */
  readonly eventsNotPublished: number;
  /** Subscriptions with stored clusters the run did not discover; their clusters are stale. */
  readonly subscriptionsNotDiscovered: readonly { readonly subscriptionId: string; readonly clusters: number }[];
}

export interface TrendsView {
  readonly days: number;
  /** The filters applied (absent: the whole fleet). */
  readonly filters?: TrendFilters;
  readonly value: readonly TrendPoint[];
}

export type RemediationStatus = 'running' | 'succeeded' | 'failed' | 'partial';

export interface RemediationTaskView {
  readonly subscriptionId: string;
  /** The clusters this task remediates (at most {@link MAX_CLUSTERS_PER_TASK}). */
  readonly clusterIds: readonly string[];
  readonly armId: string | null;
  readonly provisioningState: string;
  readonly deployments?: { readonly total: number; readonly succeeded: number; readonly failed: number };
  readonly error?: string;
}

export interface RemediationView {
  readonly id: string;
  readonly controlId: string;
  readonly status: RemediationStatus;
  readonly requestedBy: string;
  readonly createdAt: string;
  readonly clusterIds: readonly string[];
  readonly tasks: readonly RemediationTaskView[];
  /** Present when the background completion checks gave up before seeing every task terminal. */
  readonly pollingStopped?: RemediationPollingStop;
  /** In a listing: ARM could not be read for this request (its tasks show `Unknown`). */
  readonly progressError?: string;
}

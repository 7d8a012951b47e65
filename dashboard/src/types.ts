/** The API's shapes the dashboard reads (see the OpenAPI document, `GET /api/openapi.json`). */
export type ControlStatus = 'pass' | 'fail' | 'unknown' | 'not_applicable' | 'exempt';

export interface PostureTotals {
  readonly clusters: number;
  readonly compliant: number;
  readonly noncompliant: number;
  readonly stale: number;
  readonly averageScore: number;
}

export type StatusTally = Readonly<Record<ControlStatus, number>>;

export interface Summary {
  readonly runId: string;
  readonly generatedAt: string;
  readonly totals: PostureTotals;
  readonly perControl: Readonly<Record<string, StatusTally>>;
  readonly perSubscription: Readonly<Record<string, PostureTotals>>;
}

export interface TrendPoint {
  readonly runId: string;
  readonly generatedAt: string;
  readonly averageScore: number;
  readonly clusters: number;
  readonly noncompliant: number;
  readonly failingByControl: Readonly<Record<string, number>>;
}

export interface Trends {
  readonly days: number;
  readonly value: readonly TrendPoint[];
}

export interface Evaluation {
  readonly id: string;
  readonly status: 'queued' | 'running' | 'succeeded' | 'partial' | 'failed';
  readonly trigger: string;
  readonly requestedBy: string | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly completedAt: string | null;
  readonly subscriptions: { readonly total: number; readonly succeeded: number; readonly failed: number };
  readonly clustersEvaluated: number;
  readonly failures: readonly { readonly subscriptionId: string; readonly error: string; readonly at: string }[];
  readonly clustersIncomplete: number;
  readonly subscriptionsNotDiscovered: readonly { readonly subscriptionId: string; readonly clusters: number }[];
}

export interface ClusterSummary {
  readonly id: string;
  readonly name: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly kind: string | null;
  readonly environment: string | null;
  readonly score: number;
  readonly failedControls: readonly string[];
  readonly lastEvaluatedAt: string;
  readonly stale: boolean;
}

export interface ControlResult {
  readonly controlId: string;
  readonly status: ControlStatus;
  readonly severity: string;
  readonly evidence: string;
  readonly reason?: string;
  readonly offenders?: { readonly items: readonly string[]; readonly total: number };
}

export interface Cluster extends ClusterSummary {
  readonly distribution?: string | null;
  readonly kubernetesVersion?: string | null;
  readonly connectivityStatus?: string | null;
  readonly tags: Readonly<Record<string, string>>;
  readonly lastSeenAt: string;
  readonly runId: string;
  readonly controls: readonly ControlResult[];
}

export interface Control {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly severity: string;
  readonly category: string;
  readonly evidence: string;
  readonly references: readonly { readonly framework: string; readonly section: string; readonly title: string }[];
  readonly remediation: { readonly text: string; readonly automatic: boolean; readonly deployIfNotExistsPolicyDefinitionId?: string };
}

export interface Page<T> {
  readonly value: readonly T[];
  readonly nextLink?: string;
}

export interface ExceptionRecord {
  readonly id: string;
  readonly controlId: string;
  readonly scope: string;
  readonly justification: string;
  readonly ticket: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly status: 'active' | 'expired';
}

export interface ClusterHistory {
  readonly clusterId: string;
  readonly from: string;
  readonly to: string;
  readonly value: readonly {
    readonly runId: string;
    readonly evaluatedAt: string;
    readonly score: number;
    readonly statuses: Readonly<Record<string, ControlStatus>>;
    readonly drift: readonly { readonly controlId: string; readonly from: ControlStatus; readonly to: ControlStatus }[];
  }[];
}

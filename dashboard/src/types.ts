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
  readonly perFramework?: Readonly<Record<string, FrameworkPosture>>;
}

export interface FrameworkPosture {
  readonly requirements: number;
  readonly passing: number;
  readonly failing: number;
  readonly notAssessed: number;
  readonly manual: number;
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
  readonly policyDefinitionIds: readonly string[];
  /** Requirement ids the control meets, per framework id. */
  readonly requirements: Readonly<Record<string, readonly string[]>>;
  readonly remediation: { readonly text: string; readonly automatic: boolean; readonly deployIfNotExistsPolicyDefinitionId?: string };
}

export interface Page<T> {
  readonly value: readonly T[];
  readonly nextLink?: string;
}

/** A change read from the Azure Activity Log (`ControlPlaneEvent`): caller and names are untrusted text. */
export interface ControlPlaneEvent {
  readonly eventDataId: string;
  readonly kind: string;
  readonly operation: string;
  readonly status: string;
  readonly caller: string;
  readonly eventTimestamp: string;
  readonly resourceId: string;
  readonly clusterId?: string;
  readonly clusterName?: string;
  readonly extensionName?: string;
  readonly securityExtension?: string;
  readonly severity: string;
}

/** `GET /api/v1/control-plane-watch`. */
export interface ControlPlaneWatchReport {
  readonly failing: number;
  readonly value: readonly {
    readonly subscriptionId: string;
    readonly status: 'ok' | 'failing';
    readonly watermark?: string;
    readonly lastAttemptAt?: string;
    readonly lastSuccessAt?: string;
    readonly lastFailure?: { readonly at: string; readonly stage: string; readonly code: string; readonly message: string; readonly hint?: string };
  }[];
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

export interface MatrixGroup {
  readonly subscriptionId: string;
  readonly environment: string | null;
  readonly clusters: number;
  readonly cells: Readonly<Record<string, StatusTally>>;
}

export interface ControlMatrix {
  readonly runId: string;
  readonly generatedAt: string;
  readonly clusters: number;
  readonly controls: readonly string[];
  readonly groups: readonly MatrixGroup[];
  readonly productionOnlyFailures: readonly { readonly controlId: string; readonly productionFailing: number; readonly developmentPassing: number }[];
}

export interface MatrixCluster {
  readonly id: string;
  readonly name: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly environment: string | null;
  readonly stale: boolean;
  readonly statuses: Readonly<Record<string, ControlStatus>>;
}

export interface RolloutWave {
  readonly name: string;
  readonly state: string;
  readonly locations?: readonly string[];
  readonly resourceGroups?: readonly string[];
  readonly clusters: readonly string[];
  readonly nonCompliant: number;
  readonly reasons: readonly string[];
  readonly approval?: { readonly by: string; readonly at: string; readonly comment?: string };
  readonly gatePassedAt?: string;
  readonly appliedAt?: string;
  readonly bakeStartedAt?: string;
  readonly completedAt?: string;
}

export interface Rollout {
  readonly id: string;
  readonly policyAssignmentId: string;
  readonly state: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly gates: { readonly maxNonCompliant?: number; readonly bakeMinutes?: number; readonly requireApproval?: boolean; readonly maxEvidenceAgeHours?: number };
  readonly currentWave: number;
  readonly cause?: string;
  readonly waves: readonly RolloutWave[];
  readonly events?: readonly { readonly seq: number; readonly at: string; readonly type: string; readonly wave?: number; readonly actor?: string; readonly message: string; readonly comment?: string }[];
}

export interface Framework {
  readonly id: string;
  readonly title: string;
  readonly version: string;
  readonly requirements: number;
  readonly automatedRequirements: number;
}

export interface FrameworkReport {
  readonly framework: string;
  readonly runId: string;
  readonly generatedAt: string;
  readonly requirements: readonly { readonly id: string; readonly title: string | null; readonly controls: readonly string[]; readonly status: 'passing' | 'failing' | 'not_assessed' | 'manual'; readonly clustersPassing: number; readonly clustersFailing: number; readonly clustersNotAssessed: number }[];
}

export interface Remediation {
  readonly id: string;
  readonly controlId: string;
  readonly status: 'running' | 'succeeded' | 'failed' | 'partial';
  readonly requestedBy: string;
  readonly createdAt: string;
  readonly clusterIds: readonly string[];
  readonly tasks: readonly { readonly subscriptionId: string; readonly clusterIds: readonly string[]; readonly armId: string | null; readonly provisioningState: string; readonly error?: string }[];
  readonly pollingStopped?: { readonly at: string; readonly reason: string };
  readonly progressError?: string;
}

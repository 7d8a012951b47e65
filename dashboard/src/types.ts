/**
 * The API's shapes the dashboard reads (see the OpenAPI document, `GET /api/openapi.json`). Most are
 * the application's own response types, imported as types only (erased by esbuild; `api-views.ts` and
 * the modules it names use no Node API), so they cannot drift from what the API serves. The rest (the
 * HTTP collection envelope, shapes the HTTP layer maps) are declared here.
 */
import type { ClusterHistoryView, ClusterView, ControlView, EvaluationView, RemediationView, TrendsView } from '../../application/api-views.js';
import type { ControlMatrixView, MatrixClusterView } from '../../application/control-matrix-service.js';
import type { ExceptionView } from '../../application/exception-service.js';
import type { FrameworkReportView, FrameworkView } from '../../application/framework-report-service.js';
import type { ClusterSummaryView, TrendPoint as StoredTrendPoint } from '../../application/ports.js';
import type { MatrixGroup as DomainMatrixGroup } from '../../domain/control-matrix.js';
import type {
  ControlResult as DomainControlResult,
  ControlStatus as DomainControlStatus,
  FleetSummary,
  FrameworkPosture as DomainFrameworkPosture,
  PostureTotals as DomainPostureTotals,
  StatusTally as DomainStatusTally,
} from '../../domain/model.js';

export type ControlStatus = DomainControlStatus;
export type StatusTally = Readonly<DomainStatusTally>;
export type PostureTotals = DomainPostureTotals;
export type FrameworkPosture = DomainFrameworkPosture;
export type Summary = FleetSummary;
export type TrendPoint = StoredTrendPoint;
export type Trends = TrendsView;
export type Evaluation = EvaluationView;
export type ClusterSummary = ClusterSummaryView;
export type ControlResult = DomainControlResult;
export type Cluster = ClusterView;
export type Control = ControlView;
export type ClusterHistory = ClusterHistoryView;
export type MatrixGroup = DomainMatrixGroup;
export type ControlMatrix = ControlMatrixView;
export type MatrixCluster = MatrixClusterView;
export type Framework = FrameworkView;
export type FrameworkReport = FrameworkReportView;
export type Remediation = RemediationView;

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
  readonly neverRead: number;
  readonly value: readonly {
    readonly subscriptionId: string;
    readonly status: 'ok' | 'failing' | 'never-read';
    readonly watermark?: string;
    readonly lastAttemptAt?: string;
    readonly lastSuccessAt?: string;
    readonly lastFailure?: { readonly at: string; readonly stage: string; readonly code: string; readonly message: string; readonly hint?: string };
  }[];
}

/** An exception as `GET /api/v1/exceptions` serves it (the service's view, unmapped by the HTTP layer). */
export type ExceptionRecord = ExceptionView;





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




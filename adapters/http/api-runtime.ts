/**
 * What the HTTP operations need at run time: finished services and the request plumbing.
 * `bootstrap/api-runtime.ts` builds it from the container (`getApiRuntime()`); tests build it from
 * services over in-memory ports.
 */
import type { AuditLog, Clock } from '../../application/ports.js';
import type { Logger } from '../../application/logger.js';
import type { AuditService } from '../../application/audit-service.js';
import type { ComplianceQueryService, EvaluationView } from '../../application/compliance-query-service.js';
import type { ControlMatrixService } from '../../application/control-matrix-service.js';
import type { ControlPlaneQueryService } from '../../application/control-plane-query-service.js';
import type { EvidenceReader } from '../../application/evidence-reader.js';
import type { ExceptionService } from '../../application/exception-service.js';
import type { FrameworkReportService } from '../../application/framework-report-service.js';
import type { FindingsExporter } from '../../application/findings-export.js';
import type { RemediationService } from '../../application/remediation-service.js';
import type { RolloutService } from '../../application/rollout-service.js';
import type { WebhookService } from '../../application/webhook-service.js';
import type { ChangeEventReceiver } from '../../application/servicenow-change-events.js';
import type { Authenticator } from './auth.js';
import type { DashboardSignIn } from './dashboard-page.js';

/** `EvaluationRunStarter` (`application/evaluation-run-starter.ts`) satisfies this. */
export interface EvaluationStarter {
  /** `subscriptionIds`: a partial-estate run of those subscriptions only (unknown ones refused). */
  startOnDemand(request: { readonly requestedBy: string | undefined; readonly subscriptionIds?: readonly string[] | undefined }): Promise<EvaluationView>;
}

/**
 * A dependency probe for `GET /api/health`: resolves (optionally with a version) or rejects. It may
 * resolve `degraded` (with a count): working, but something needs an operator (invalid stored records).
 */
export interface HealthCheck {
  readonly name: string;
  check(): Promise<{
    readonly version?: string | undefined;
    readonly detail?: string | undefined;
    readonly status?: 'degraded' | undefined;
    readonly count?: number | undefined;
  } | void>;
}

export interface ApiServices {
  readonly compliance: ComplianceQueryService;
  /** Control-plane events (Azure Activity Log). */
  readonly controlPlane: ControlPlaneQueryService;
  readonly frameworks: FrameworkReportService;
  readonly exceptions: ExceptionService;
  readonly remediations: RemediationService;
  readonly audit: AuditService;
  readonly evaluations: EvaluationStarter;
  readonly healthChecks: readonly HealthCheck[];
  /** Staged enforcement. */
  readonly rollouts: RolloutService;
  /** Webhook subscriptions and deliveries. */
  readonly webhooks: WebhookService;
  /** Signed ServiceNow change events (`receiveServiceNowChangeEvent`). */
  readonly changeEvents: ChangeEventReceiver;
  /** Evidence manifests, blobs and their verification. */
  readonly evidence: EvidenceReader;
  /** Findings of a run in OCSF. */
  readonly findings: FindingsExporter;
  /** The control × cluster matrix (the dashboard's heatmap). */
  readonly matrix: ControlMatrixService;
  /** How the dashboard signs people in (client id, issuer, audience). */
  readonly dashboard: DashboardSignIn;
}

export interface ApiRuntime {
  readonly services: ApiServices;
  readonly authenticator: Authenticator;
  readonly auditLog: AuditLog;
  readonly maxRequestBodyBytes: number;
  readonly clock: Clock;
  readonly newId: () => string;
  readonly logger: Logger;
}

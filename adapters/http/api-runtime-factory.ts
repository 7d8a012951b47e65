/**
 * Builds the {@link ApiRuntime} from ports; `bootstrap/composition-root.ts` calls it with the Table
 * Storage and ARM adapters, tests with in-memory ports.
 */
import { randomUUID } from 'node:crypto';
import { AuditService } from '../../application/audit-service.js';
import { ComplianceQueryService } from '../../application/compliance-query-service.js';
import { ControlMatrixService } from '../../application/control-matrix-service.js';
import { ControlPlaneQueryService } from '../../application/control-plane-query-service.js';
import { EvidenceReader } from '../../application/evidence-reader.js';
import type { EvidenceStore } from '../../application/evidence-ports.js';
import { ExceptionService } from '../../application/exception-service.js';
import { FrameworkReportService, RequirementTitles, type ClusterControlStatusListing, type PolicyMetadataSource } from '../../application/framework-report-service.js';
import { FindingsExporter } from '../../application/findings-export.js';
import type { OcsfProduct } from '../../domain/ocsf-finding.js';
import type {
  AuditLog,
  Clock,
  ClusterStateRepository,
  ClusterSummaryListing,
  ControlPlaneEventRepository,
  EventPublisher,
  ExceptionRepository,
  HistoryRepository,
  RemediationRepository,
  RemediationStarter,
  RunRepository,
  SummaryRepository,
} from '../../application/ports.js';
import { RemediationService, type RemediationDependencies } from '../../application/remediation-service.js';
import type { RolloutService } from '../../application/rollout-service.js';
import type { WebhookService } from '../../application/webhook-service.js';
import type { ApiLogger, ApiRuntime, EvaluationStarter, HealthCheck } from './api-runtime.js';
import { createJwtAuthenticator, type Authenticator } from './auth.js';

export interface ApiRuntimeInput {
  readonly auth: { readonly issuer: string | undefined; readonly audience: string | undefined; readonly jwksUri: string | undefined };
  readonly maxRequestBodyBytes: number;
  readonly clusters: ClusterStateRepository & ClusterSummaryListing & ClusterControlStatusListing;
  /** `DASHBOARD_CLIENT_ID`: the dashboard's sign-in client; undefined, it cannot sign anyone in. */
  readonly dashboardClientId?: string | undefined;
  readonly history: HistoryRepository;
  readonly summaries: SummaryRepository;
  readonly runs: RunRepository;
  readonly exceptions: ExceptionRepository;
  readonly auditLog: AuditLog;
  readonly remediations: RemediationRepository;
  readonly remediationStarter: RemediationStarter;
  readonly evaluations: EvaluationStarter;
  /** Staged enforcement (issue 5): the container's service, or one over in-memory ports in tests. */
  readonly rollouts: RolloutService;
  /** Webhook subscriptions and deliveries (issue 6): the container's service, or one over in-memory ports in tests. */
  readonly webhooks: WebhookService;
  /** Control-plane events read from the Azure Activity Log. */
  readonly controlPlaneEvents: ControlPlaneEventRepository;
  readonly clock: Clock;
  /** Requirement titles (`Microsoft.PolicyInsights/policyMetadata`); without it reports carry no regulatory titles. */
  readonly policyMetadata?: PolicyMetadataSource;
  /** The evidence container (Blob Storage; in memory in tests). */
  readonly evidenceStore: EvidenceStore;
  /** What OCSF findings name as `metadata.product`. */
  readonly product: OcsfProduct;
  /** EVIDENCE_RETENTION_DAYS (default 400). */
  readonly evidenceRetentionDays?: number;
  readonly healthChecks?: readonly HealthCheck[];
  /** Overrides the JWT authenticator built from `auth` (tests). */
  readonly authenticator?: Authenticator;
  /** Fetch used for OpenID discovery and JWKS (e.g. one trusting the local emulator's certificate). */
  readonly fetch?: typeof fetch;
  readonly newId?: () => string;
  readonly logger?: ApiLogger;
  /** Outbound events (webhooks): `remediation.completed`. */
  readonly events?: EventPublisher;
  /** The `remediation-checks` queue and back-off: a started remediation schedules its completion checks. */
  readonly remediationChecks?: RemediationDependencies['checks'];
  /** Where the remediation service logs (checks not scheduled, events not published). */
  readonly remediationLog?: RemediationDependencies['log'];
}

export function createApiRuntime(input: ApiRuntimeInput): ApiRuntime {
  const newId = input.newId ?? randomUUID;
  let authenticator = input.authenticator;
  if (authenticator === undefined) {
    const { issuer, audience, jwksUri } = input.auth;
    if (issuer === undefined || audience === undefined) throw new Error('AUTH_ISSUER and AUTH_AUDIENCE are required to serve the API');
    authenticator = createJwtAuthenticator({ issuer, audience, jwksUri, ...(input.fetch !== undefined ? { fetch: input.fetch } : {}) });
  }
  const evidence = new EvidenceReader({ store: input.evidenceStore, runs: input.runs, retentionDays: input.evidenceRetentionDays ?? 400 });
  return {
    authenticator,
    auditLog: input.auditLog,
    maxRequestBodyBytes: input.maxRequestBodyBytes,
    clock: input.clock,
    newId,
    logger: input.logger ?? { error: (message, properties) => console.error(message, JSON.stringify(properties)) },
    services: {
      compliance: new ComplianceQueryService({ clusters: input.clusters, history: input.history, summaries: input.summaries, runs: input.runs }),
      controlPlane: new ControlPlaneQueryService({ events: input.controlPlaneEvents, clusters: input.clusters }),
      frameworks: new FrameworkReportService({
        clusters: input.clusters,
        summaries: input.summaries,
        titles: new RequirementTitles(input.policyMetadata, () => input.clock.now().getTime(), {
          warn: (message, properties) => console.warn(message, JSON.stringify(properties)),
        }),
      }),
      exceptions: new ExceptionService(input.exceptions, newId),
      remediations: new RemediationService({
        starter: input.remediationStarter,
        remediations: input.remediations,
        clusters: input.clusters,
        newId,
        events: input.events,
        clock: input.clock,
        ...(input.remediationChecks !== undefined ? { checks: input.remediationChecks } : {}),
        ...(input.remediationLog !== undefined ? { log: input.remediationLog } : {}),
      }),
      audit: new AuditService(input.auditLog),
      evaluations: input.evaluations,
      healthChecks: input.healthChecks ?? [],
      rollouts: input.rollouts,
      webhooks: input.webhooks,
      auditLog: input.auditLog,
      evidence,
      findings: new FindingsExporter({ reader: evidence, store: input.evidenceStore, product: input.product }),
      matrix: new ControlMatrixService({ clusters: input.clusters, summaries: input.summaries }),
      dashboard: { clientId: input.dashboardClientId, issuer: input.auth.issuer, audience: input.auth.audience },
    },
  };
}

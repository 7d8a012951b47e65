/**
 * The one composition root: builds every adapter and every application service, once. `getContainer()`
 * is the memoized instance the functions use (built from `loadConfig()`, failing fast on bad
 * configuration); `createContainer()` builds one from an explicit config with overrides, for tests and
 * local tooling. Adapters (HTTP operations, queue triggers) receive the finished services from here.
 *
 * Order matters only where a service needs another: the webhook service (the event publisher) needs
 * nothing else, so it is built first and handed to evaluation, rollouts and remediations; the
 * ServiceNow change-event receiver needs the rollouts, so it is built after them.
 *
 * Cold start: every service is still built here, once, but what only some functions use (the
 * credential, the ARM SDK adapters, Storage queues, Blob evidence, the webhook stack, rollouts, and the
 * evaluation, control-plane watch and remediation services of `./evaluation-wiring.ts`) is a lazy port
 * (`./lazy.ts`): its module is imported and the object built on its first call. In the
 * deployment bundle each `import()` is a chunk boundary, so an API read loads and compiles none of it,
 * and the container creates only the tables every function reads (the others are created by the
 * part that owns them, when it is first used).
 *
 * To add a service: construct it in `createContainer` from the parts below and add it to `Container`.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TokenCredential } from '@azure/core-auth';
import { loadConfig, type AppConfig } from '../config/settings.js';
import { TableControlPlaneEventRepository } from '../adapters/storage/table-control-plane-repository.js';
import type { StoredRecordReader } from '../adapters/storage/records/stored-record-reader.js';
import { TableStore, type TableStorageConnection } from '../adapters/storage/table-store.js';
import type { QueueConnection } from '../adapters/storage/storage-queue.js';
import { TableRunRepository } from '../adapters/storage/table-run-repository.js';
import { TableClusterStateRepository } from '../adapters/storage/table-cluster-state-repository.js';
import { TableHistoryRepository } from '../adapters/storage/table-history-repository.js';
import { TableSummaryRepository } from '../adapters/storage/table-summary-repository.js';
import { TableExceptionRepository } from '../adapters/storage/table-exception-repository.js';
import { TableAuditLog } from '../adapters/storage/table-audit-log.js';
import { TableRemediationRepository } from '../adapters/storage/table-remediation-repository.js';
import { TableRolloutRepository, newRolloutId } from '../adapters/storage/table-rollout-repository.js';
import type { BlobConnection } from '../adapters/storage/blob-evidence-store.js';
import { AuditService } from '../application/audit-service.js';
import { ComplianceQueryService } from '../application/compliance-query-service.js';
import { ControlMatrixService } from '../application/control-matrix-service.js';
import { ControlPlaneQueryService } from '../application/control-plane-query-service.js';
import type { ControlPlaneWatchService } from '../application/control-plane-watch-service.js';
import { FrameworkReportService, RequirementTitles, type PolicyMetadataSource } from '../application/framework-report-service.js';
import type { EvidenceStore } from '../application/evidence-ports.js';
import type { EvidenceRecorder } from '../application/evidence-recorder.js';
import { EvidenceReader } from '../application/evidence-reader.js';
import { FindingsExporter } from '../application/findings-export.js';
import { consoleLogger, type Logger } from '../application/logger.js';
import type { EvaluationRunStarter } from '../application/evaluation-run-starter.js';
import type { SubscriptionCollector } from '../application/evaluation-subscription-collector.js';
import type { EvaluationRunFinalizer } from '../application/evaluation-run-finalizer.js';
import { ExceptionService } from '../application/exception-service.js';
import {
  CONTROL_PLANE_QUEUES,
  QUEUES,
  REMEDIATION_QUEUES,
  ROLLOUT_QUEUES,
  type CollectSubscriptionMessage,
  type ControlPlaneWatchMessage,
  type FinalizeRunMessage,
  type RemediationCheckMessage,
} from '../application/messages.js';
import type { RemediationService } from '../application/remediation-service.js';
import { RolloutService } from '../application/rollout-service.js';
import { ChangeEventReceiver } from '../application/servicenow-change-events.js';
import type { WebhookService } from '../application/webhook-service.js';
import type {
  ActivityLogReader,
  AuditLog,
  AzureInventoryReader,
  Clock,
  ClusterControlStatusListing,
  ControlPlaneEventRepository,
  EvaluationClusterStateRepository,
  EvaluationRunRepository,
  ExceptionRepository,
  HistoryRepository,
  MessageQueue,
  PolicyAssignmentGateway,
  RemediationRepository,
  RemediationStarter,
  SummaryRepository,
} from '../application/ports.js';
import type { RolloutStepMessage } from '../domain/rollout-model.js';
import type { OcsfProduct } from '../domain/ocsf-finding.js';
import { lazyCredential, lazyEvidenceStore, lazyPort, sharedUntilFailure } from './lazy.js';
import { webhookConfigProblems } from './config-check.js';
import type { WebhookWiring, WebhookWiringInput } from './webhook-wiring.js';

export interface Repositories {
  readonly runs: EvaluationRunRepository;
  readonly clusters: EvaluationClusterStateRepository & ClusterControlStatusListing;
  readonly history: HistoryRepository;
  readonly summaries: SummaryRepository;
  readonly exceptions: ExceptionRepository;
  readonly audit: AuditLog;
  readonly remediations: RemediationRepository;
  readonly controlPlaneEvents: ControlPlaneEventRepository;
}

export interface Queues {
  readonly collectSubscription: MessageQueue<CollectSubscriptionMessage>;
  readonly finalizeRun: MessageQueue<FinalizeRunMessage>;
}

/** The evaluation, one service per queue message that drives it. */
export interface EvaluationServices {
  /** `evaluation-timer` and `POST /api/v1/evaluations`: opens runs, sweeps overdue ones. */
  readonly starter: EvaluationRunStarter;
  /** `evaluation-collect` and `evaluation-collect-poison`. */
  readonly collector: SubscriptionCollector;
  /** `evaluation-finalize` and `evaluation-finalize-poison`. */
  readonly finalizer: EvaluationRunFinalizer;
}

export interface Container {
  readonly config: AppConfig;
  /** The evidence container: bundles per subscription and run, hash-chained manifests. */
  readonly evidenceStore: EvidenceStore;
  /** Writes evidence while runs are collected and seals it when they finalize. */
  readonly evidence: EvidenceRecorder;
  /** The app as OCSF findings name it (`metadata.product`). */
  readonly product: OcsfProduct;
  /** Evidence manifests, blobs and their verification (API). */
  readonly evidenceReader: EvidenceReader;
  /** Findings of a run in OCSF (API). */
  readonly findings: FindingsExporter;
  /** Credential for Azure Resource Manager (user-assigned identity when `AZURE_CLIENT_ID` is set). */
  readonly credential: TokenCredential;
  readonly clock: Clock;
  readonly inventory: AzureInventoryReader;
  readonly repositories: Repositories;
  /** A live Table Storage round trip for `GET /api/health`. */
  readonly storageProbe: () => Promise<{ readonly version: string | undefined }>;
  /** Where the Table adapters report stored records that fail validation (`GET /api/health`: `stored-records`). */
  readonly storedRecords: StoredRecordReader;
  readonly queues: Queues;
  readonly evaluation: EvaluationServices;
  /** Cluster, posture and run reads for the API. */
  readonly compliance: ComplianceQueryService;
  /** Framework reports at requirement level, with requirement titles from Azure Policy metadata. */
  readonly frameworks: FrameworkReportService;
  /** Control-plane watch (Azure Activity Log): the timer fan-out, the per-subscription read, the collect's ARC-TD-04 input. */
  readonly controlPlane: ControlPlaneWatchService;
  /** Control-plane events for the API. */
  readonly controlPlaneQueries: ControlPlaneQueryService;
  /** The control × cluster matrix (the dashboard's heatmap). */
  readonly matrix: ControlMatrixService;
  readonly exceptions: ExceptionService;
  readonly audit: AuditService;
  /** Azure Policy remediation tasks: started by the API, checked from `remediation-checks`. */
  readonly remediations: RemediationService;
  /** Staged enforcement: rollouts of policy assignments from audit to deny in waves. */
  readonly rollouts: RolloutService;
  /** Webhook subscriptions and deliveries; also what every other service publishes events through. */
  readonly webhooks: WebhookService;
  /** Signed ServiceNow change events that approve or pause rollout waves. */
  readonly changeEvents: ChangeEventReceiver;
}

export interface ContainerOverrides {
  readonly credential?: TokenCredential;
  /** Requirement titles (default: `@azure/arm-policyinsights` policyMetadata against the configured ARM endpoint). */
  readonly policyMetadata?: PolicyMetadataSource;
  /** Activity Log reads (default: `@azure/arm-monitor` against the configured ARM endpoint). */
  readonly activityLog?: ActivityLogReader;
  readonly inventory?: AzureInventoryReader;
  readonly remediationStarter?: RemediationStarter;
  /** Policy assignment reads/writes and policy-state queries for rollouts (default: the ARM SDK adapter). */
  readonly policyAssignments?: PolicyAssignmentGateway;
  readonly newRolloutId?: () => string;
  readonly clock?: Clock;
  readonly newRunId?: () => string;
  /** Alphanumeric prefix for table names (tests isolate themselves in one storage account). */
  readonly tablePrefix?: string;
  /** Extra trusted CA for ARM (the local emulator's self-signed certificate). */
  readonly armCaCertPem?: string;
  readonly log?: Logger;
  /** Evidence container name (tests isolate themselves in one storage account). */
  readonly evidenceContainer?: string;
}

const systemClock: Clock = { now: () => new Date() };

/** `DefaultAzureCredential` (`@azure/identity`), imported and built on the first token request. */
function defaultCredential(managedIdentityClientId: string | undefined): TokenCredential {
  return lazyCredential(() =>
    import('@azure/identity').then((m) => new m.DefaultAzureCredential(managedIdentityClientId !== undefined ? { managedIdentityClientId } : {})),
  );
}

/** A Storage queue (`@azure/storage-queue`), imported and built on the first send. */
function storageQueue<T>(connection: QueueConnection, name: string): MessageQueue<T> {
  return lazyPort(() => import('../adapters/storage/storage-queue.js').then((m) => new m.StorageMessageQueue<T>(connection, name)));
}

/**
 * The webhook stack (its tables, the delivery queues, the guarded HTTP client, ServiceNow), imported
 * and built on the first call of either service that needs it; a failed build is retried on next use.
 */
function lazyWebhookWiring(input: WebhookWiringInput): { readonly webhooks: WebhookService; readonly inboundIds: WebhookWiring['inboundIds'] } {
  const wiring = sharedUntilFailure(() => import('./webhook-wiring.js').then((m) => m.createWebhookService(input)));
  return { webhooks: lazyPort(() => wiring().then((w) => w.webhooks)), inboundIds: lazyPort(() => wiring().then((w) => w.inboundIds)) };
}

/**
 * The app's version from its package.json: one level up from the sources, two from compiled files,
 * three from the deployment bundle's chunks (`dist/functions/chunks/`); `unknown` when none is there.
 */
function appVersion(): string {
  for (const path of ['../package.json', '../../package.json', '../../../package.json']) {
    try {
      const version = (JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown });
      if (version.name === 'arc-compliance' && typeof version.version === 'string') return version.version;
    } catch {
      // next candidate
    }
  }
  return 'unknown';
}

export const PRODUCT: OcsfProduct = Object.freeze({ name: 'arc-compliance', vendorName: 'arc-compliance', version: appVersion() });

function storageEndpoints(config: AppConfig, fallback: TokenCredential): { tables: TableStorageConnection; queues: QueueConnection; blobs: BlobConnection } {
  const { storage } = config;
  if (storage.connectionString !== undefined) {
    return { tables: { connectionString: storage.connectionString }, queues: { connectionString: storage.connectionString }, blobs: { connectionString: storage.connectionString } };
  }
  // Identity-based, as the Functions host reads `AzureWebJobsStorage__*`.
  const credential = storage.clientId !== undefined ? defaultCredential(storage.clientId) : fallback;
  const account = storage.accountName;
  // infra sets the service URIs from the account itself; the accountName fallback is the host's own
  // default and is right in the public cloud only.
  const tableServiceUri = storage.tableServiceUri ?? `https://${account ?? ''}.table.core.windows.net`;
  const queueServiceUri = storage.queueServiceUri ?? `https://${account ?? ''}.queue.core.windows.net`;
  const blobServiceUri = storage.blobServiceUri ?? `https://${account ?? ''}.blob.core.windows.net`;
  return { tables: { tableServiceUri, credential }, queues: { queueServiceUri, credential }, blobs: { blobServiceUri, credential } };
}

/** Builds every adapter and service; creates the tables once. */
export async function createContainer(config: AppConfig, overrides: ContainerOverrides = {}): Promise<Container> {
  // What the lazily built webhook stack would refuse fails the container now, not at its first use.
  const webhookProblems = webhookConfigProblems(config);
  if (webhookProblems.length > 0) throw new Error(webhookProblems.join('; '));
  const credential = overrides.credential ?? defaultCredential(config.azureClientId);
  const clock = overrides.clock ?? systemClock;
  const log = overrides.log ?? consoleLogger;
  const endpoints = storageEndpoints(config, credential);
  const tablePrefix = overrides.tablePrefix !== undefined ? { tablePrefix: overrides.tablePrefix } : {};
  const tables = await TableStore.open(endpoints.tables, tablePrefix);
  const repositories: Repositories = {
    runs: new TableRunRepository(tables),
    clusters: new TableClusterStateRepository(tables),
    history: new TableHistoryRepository(tables),
    summaries: new TableSummaryRepository(tables),
    exceptions: new TableExceptionRepository(tables),
    audit: new TableAuditLog(tables),
    remediations: new TableRemediationRepository(tables),
    controlPlaneEvents: await TableControlPlaneEventRepository.open(tables),
  };
  const queues: Queues = {
    collectSubscription: storageQueue<CollectSubscriptionMessage>(endpoints.queues, QUEUES.collectSubscription),
    finalizeRun: storageQueue<FinalizeRunMessage>(endpoints.queues, QUEUES.finalizeRun),
  };
  const arm = { endpoint: config.armEndpoint, credential, caCertPem: overrides.armCaCertPem };
  const inventory =
    overrides.inventory ??
    lazyPort<AzureInventoryReader>(() =>
      import('../adapters/arm/azure-inventory-reader.js').then((m) => new m.ArmInventoryReader({ ...arm, maxConcurrency: config.armMaxConcurrency, log })),
    );

  // The event publisher first: it depends on no other service, and evaluation, rollouts and
  // remediations publish through it.
  const { webhooks, inboundIds } = lazyWebhookWiring({ config, tables: endpoints.tables, queues: endpoints.queues, tablePrefix: overrides.tablePrefix, clock, log, product: PRODUCT });
  const events = webhooks;

  const evidenceStore = lazyEvidenceStore(() => import('../adapters/storage/blob-evidence-store.js').then((m) => new m.BlobEvidenceStore(endpoints.blobs, overrides.evidenceContainer)));
  // The evaluation, the control-plane watch and remediations: imported and built on the first call of any.
  const wired = sharedUntilFailure(() =>
    import('./evaluation-wiring.js').then((m) =>
        m.createEvaluationServices({
          config,
          repositories,
          queues,
          controlPlaneQueue: storageQueue<ControlPlaneWatchMessage>(endpoints.queues, CONTROL_PLANE_QUEUES.watch),
          remediationQueue: storageQueue<RemediationCheckMessage>(endpoints.queues, REMEDIATION_QUEUES.checks),
          inventory,
          activityLog: overrides.activityLog ?? lazyPort<ActivityLogReader>(() => import('../adapters/arm/activity-log-reader.js').then((m) => new m.ArmActivityLogReader(arm))),
          remediationStarter:
            overrides.remediationStarter ??
            lazyPort<RemediationStarter>(() => import('../adapters/arm/policy-admin.js').then((m) => new m.ArmRemediationStarter(new m.ArmPolicyAdmin(arm)))),
          evidenceStore,
          events,
          appVersion: PRODUCT.version,
          clock,
          newRunId: overrides.newRunId ?? randomUUID,
          newId: randomUUID,
          log,
        }),
    ),
  );
  const controlPlane = lazyPort<ControlPlaneWatchService>(() => wired().then((w) => w.controlPlane));
  const evidence = lazyPort<EvidenceRecorder>(() => wired().then((w) => w.evidence));
  const evaluation: EvaluationServices = {
    starter: lazyPort<EvaluationRunStarter>(() => wired().then((w) => w.starter)),
    collector: lazyPort<SubscriptionCollector>(() => wired().then((w) => w.collector)),
    finalizer: lazyPort<EvaluationRunFinalizer>(() => wired().then((w) => w.finalizer)),
  };
  // Built on first use: opening its repository creates the rollouts table.
  const rollouts = lazyPort<RolloutService>(async () => new RolloutService({
    repository: await TableRolloutRepository.open(endpoints.tables, { ...tablePrefix, records: tables.records }),
    assignments:
      overrides.policyAssignments ??
      lazyPort<PolicyAssignmentGateway>(() => import('../adapters/arm/policy-assignment-writer.js').then((m) => new m.ArmPolicyAssignmentWriter(arm))),
    clusters: repositories.clusters,
    inventory,
    queue: storageQueue<RolloutStepMessage>(endpoints.queues, ROLLOUT_QUEUES.steps),
    clock,
    newId: overrides.newRolloutId ?? (() => newRolloutId(clock.now(), randomUUID())),
    settings: { gateRecheckSeconds: config.rolloutGateRecheckSeconds, verifyTimeoutSeconds: config.rolloutVerifyTimeoutSeconds },
    log,
    events,
  }));
  const remediations = lazyPort<RemediationService>(() => wired().then((w) => w.remediations));
  const evidenceReader = new EvidenceReader({ store: evidenceStore, runs: repositories.runs, retentionDays: config.evidenceRetentionDays });
  const changeEvents = new ChangeEventReceiver({ secrets: config.webhooks.serviceNow.changeWebhookSecrets, ids: inboundIds, approvals: rollouts, clock });
  return {
    config,
    evidenceStore,
    evidence,
    product: PRODUCT,
    evidenceReader,
    findings: new FindingsExporter({ reader: evidenceReader, store: evidenceStore, product: PRODUCT }),
    credential,
    clock,
    inventory,
    repositories,
    storageProbe: () => tables.probe(),
    storedRecords: tables.records,
    queues,
    evaluation,
    compliance: new ComplianceQueryService(repositories),
    frameworks: new FrameworkReportService({
      clusters: repositories.clusters,
      summaries: repositories.summaries,
      titles: new RequirementTitles(
        overrides.policyMetadata ?? lazyPort<PolicyMetadataSource>(() => import('../adapters/arm/policy-metadata-reader.js').then((m) => new m.ArmPolicyMetadataReader(arm))),
        () => clock.now().getTime(),
        log,
      ),
    }),
    controlPlane,
    controlPlaneQueries: new ControlPlaneQueryService({ events: repositories.controlPlaneEvents, clusters: repositories.clusters, summaries: repositories.summaries }),
    matrix: new ControlMatrixService({ clusters: repositories.clusters, summaries: repositories.summaries }),
    exceptions: new ExceptionService(repositories.exceptions, randomUUID),
    audit: new AuditService(repositories.audit),
    remediations,
    rollouts,
    webhooks,
    changeEvents,
  };
}

/** The app's container: built once from the environment; a failed build is retried on next use. */
export const getContainer: () => Promise<Container> = sharedUntilFailure(() => createContainer(loadConfig()));

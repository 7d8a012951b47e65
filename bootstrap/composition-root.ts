/**
 * Wires adapters into application services. `getContainer()` is the one memoized instance the
 * functions use (built from `loadConfig()`, failing fast on bad configuration); `createContainer()`
 * builds one from an explicit config with overrides, for tests and local tooling.
 *
 * To add a service: construct it in `createContainer` from the parts below and add it to `Container`.
 */
import { randomUUID } from 'node:crypto';
import { DefaultAzureCredential } from '@azure/identity';
import type { TokenCredential } from '@azure/core-auth';
import { loadConfig, type AppConfig } from '../config/settings.js';
import { ArmInventoryReader } from '../adapters/arm/azure-inventory-reader.js';
import { ArmActivityLogReader } from '../adapters/arm/activity-log-reader.js';
import { TableControlPlaneEventRepository } from '../adapters/storage/table-control-plane-repository.js';
import { ControlPlaneWatchService } from '../application/control-plane-watch-service.js';
import { CONTROL_PLANE_QUEUES, type ControlPlaneWatchMessage } from '../application/messages.js';
import { TableStore, type TableStorageConnection } from '../adapters/storage/table-store.js';
import { storedRecordsHealthCheck, type StoredRecordReader } from '../adapters/storage/records/stored-record-reader.js';
import { StorageMessageQueue, type QueueConnection } from '../adapters/storage/storage-queue.js';
import { TableRunRepository } from '../adapters/storage/table-run-repository.js';
import { TableClusterStateRepository } from '../adapters/storage/table-cluster-state-repository.js';
import { TableHistoryRepository } from '../adapters/storage/table-history-repository.js';
import { TableSummaryRepository } from '../adapters/storage/table-summary-repository.js';
import { TableExceptionRepository } from '../adapters/storage/table-exception-repository.js';
import { TableAuditLog } from '../adapters/storage/table-audit-log.js';
import { TableRemediationRepository } from '../adapters/storage/table-remediation-repository.js';
import { ArmPolicyAdmin, ArmRemediationStarter } from '../adapters/arm/policy-admin.js';
import { ArmPolicyMetadataReader } from '../adapters/arm/policy-metadata-reader.js';
import { ArmPolicyAssignmentWriter } from '../adapters/arm/policy-assignment-writer.js';
import { TableRolloutRepository, newRolloutId } from '../adapters/storage/table-rollout-repository.js';
import { RolloutService } from '../application/rollout-service.js';
import { ROLLOUT_QUEUES } from '../application/messages.js';
import type { PolicyAssignmentGateway } from '../application/ports.js';
import type { RolloutStepMessage } from '../domain/rollout-model.js';
import type { EvaluationLogger } from '../application/evaluation-run.js';
import { EvaluationRunStarter } from '../application/evaluation-run-starter.js';
import { SubscriptionCollector } from '../application/evaluation-subscription-collector.js';
import { EvaluationRunFinalizer } from '../application/evaluation-run-finalizer.js';
import { RemediationService, type RemediationDependencies } from '../application/remediation-service.js';
import { REMEDIATION_QUEUES, type RemediationCheckMessage } from '../application/messages.js';
import { REMEDIATION_CHECK_MAX_DELAY_SECONDS } from '../domain/remediation-check-schedule.js';
import { QUEUES, type CollectSubscriptionMessage, type FinalizeRunMessage } from '../application/messages.js';
import type {
  ActivityLogReader,
  AuditLog,
  AzureInventoryReader,
  ControlPlaneEventRepository,
  Clock,
  EvaluationClusterStateRepository,
  ExceptionRepository,
  HistoryRepository,
  MessageQueue,
  EvaluationRunRepository,
  SummaryRepository,
  RemediationRepository,
  RemediationStarter,
} from '../application/ports.js';
import type { ApiRuntime, HealthCheck } from '../adapters/http/api-runtime.js';
import { createApiRuntime, type ApiRuntimeInput } from '../adapters/http/api-runtime-factory.js';
import type { ClusterControlStatusListing, PolicyMetadataSource } from '../application/framework-report-service.js';
import { createWebhookServices, type WebhookServices, type WebhookWiringInput } from '../adapters/webhooks/webhook-wiring.js';
import type { EventPublisher } from '../application/ports.js';
import { BlobEvidenceStore, type BlobConnection } from '../adapters/storage/blob-evidence-store.js';
import type { EvidenceStore } from '../application/evidence-ports.js';
import { EvidenceRecorder } from '../application/evidence-recorder.js';
import { CATALOG_VERSION } from '../domain/evidence-record.js';
import type { OcsfProduct } from '../domain/ocsf-finding.js';
import { readFileSync } from 'node:fs';

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
  /** Azure Policy remediation tasks (DeployIfNotExists assignments) for `POST /api/v1/remediations`. */
  readonly remediationStarter: RemediationStarter;
  /** Staged enforcement (issue 5): rollouts of policy assignments from audit to deny in waves. */
  readonly rollouts: RolloutService;
  /** Webhooks and ServiceNow (issue 6): subscriptions, deliveries, inbound change events; `publisher` is what services publish through. */
  readonly webhooks: WebhookServices;
  /** Remediations: the `remediation-checks` functions use this one; the API builds its own from the same ports and checks. */
  readonly remediations: RemediationService;
  /** The `remediation-checks` queue and back-off every remediation service of this container schedules with. */
  readonly remediationChecks: NonNullable<RemediationDependencies['checks']>;
  readonly remediationLog: RemediationDependencies['log'];
  /** Control-plane watch (Azure Activity Log): the timer fan-out, the per-subscription read, the collect's ARC-TD-04 input. */
  readonly controlPlane: ControlPlaneWatchService;
  /** Requirement titles of framework reports (Azure Policy metadata). */
  readonly policyMetadata: PolicyMetadataSource;
}

export interface ContainerOverrides {
  readonly credential?: TokenCredential;
  /** Requirement titles (default: `@azure/arm-policyinsights` policyMetadata against the configured ARM endpoint). */
  readonly policyMetadata?: PolicyMetadataSource;
  readonly inventory?: AzureInventoryReader;
  /** Activity Log reads (default: `@azure/arm-monitor` against the configured ARM endpoint). */
  readonly activityLog?: ActivityLogReader;
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
  readonly log?: EvaluationLogger;
  /** Evidence container name (tests isolate themselves in one storage account). */
  readonly evidenceContainer?: string;
}

const systemClock: Clock = { now: () => new Date() };

const consoleLog: EvaluationLogger = {
  info: (message) => console.info(message),
  warn: (message) => console.warn(message),
};

/**
 * The app's version from its package.json (next to `dist/` in the deployed package, one level up from
 * the sources locally); `unknown` when neither is there.
 */
function appVersion(): string {
  for (const path of ['../package.json', '../../package.json']) {
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
  const credential = storage.clientId !== undefined ? new DefaultAzureCredential({ managedIdentityClientId: storage.clientId }) : fallback;
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
  const credential =
    overrides.credential ?? new DefaultAzureCredential(config.azureClientId !== undefined ? { managedIdentityClientId: config.azureClientId } : {});
  const clock = overrides.clock ?? systemClock;
  const endpoints = storageEndpoints(config, credential);
  // Publishers are built before the webhook services (which need the rollout service's approvals).
  let webhooks: WebhookServices | undefined;
  const events: EventPublisher = {
    publish: async (event) => {
      if (webhooks === undefined) throw new Error('webhook services are not built yet');
      await webhooks.publisher.publish(event);
    },
  };
  const tables = await TableStore.open(endpoints.tables, overrides.tablePrefix !== undefined ? { tablePrefix: overrides.tablePrefix } : {});
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
    collectSubscription: new StorageMessageQueue<CollectSubscriptionMessage>(endpoints.queues, QUEUES.collectSubscription),
    finalizeRun: new StorageMessageQueue<FinalizeRunMessage>(endpoints.queues, QUEUES.finalizeRun),
  };
  const inventory =
    overrides.inventory ??
    new ArmInventoryReader({
      endpoint: config.armEndpoint,
      credential,
      maxConcurrency: config.armMaxConcurrency,
      caCertPem: overrides.armCaCertPem,
      onWarning: (message) => (overrides.log ?? consoleLog).warn(message),
    });
  const controlPlane = new ControlPlaneWatchService({
    activityLog: overrides.activityLog ?? new ArmActivityLogReader({ endpoint: config.armEndpoint, credential, caCertPem: overrides.armCaCertPem }),
    events: repositories.controlPlaneEvents,
    clusters: repositories.clusters,
    inventory,
    queue: new StorageMessageQueue<ControlPlaneWatchMessage>(endpoints.queues, CONTROL_PLANE_QUEUES.watch),
    clock,
    settings: {
      lookbackDays: config.breakGlassLookbackDays,
      ownIdentities: config.azureClientId !== undefined ? [config.azureClientId] : [],
      subscriptionIds: config.subscriptionIds,
      retentionDays: config.historyRetentionDays,
    },
    publisher: events,
    log: overrides.log ?? consoleLog,
  });
  const evaluationLog = overrides.log ?? consoleLog;
  const evidenceStore = new BlobEvidenceStore(endpoints.blobs, overrides.evidenceContainer);
  const evidence = new EvidenceRecorder({ store: evidenceStore, runs: repositories.runs, appVersion: PRODUCT.version, catalogVersion: CATALOG_VERSION, log: evaluationLog });
  const finalizer = new EvaluationRunFinalizer({
    ...repositories,
    clock,
    settings: { historyRetentionDays: config.historyRetentionDays },
    log: evaluationLog,
    events,
    evidence,
  });
  const evaluation: EvaluationServices = {
    starter: new EvaluationRunStarter({
      inventory,
      runs: repositories.runs,
      clusters: repositories.clusters,
      collectQueue: queues.collectSubscription,
      finalizer,
      clock,
      newRunId: overrides.newRunId ?? randomUUID,
      settings: { subscriptionIds: config.subscriptionIds },
      log: evaluationLog,
    }),
    collector: new SubscriptionCollector({
      inventory,
      ...repositories,
      collectQueue: queues.collectSubscription,
      finalizeQueue: queues.finalizeRun,
      clock,
      settings: { armMaxConcurrency: config.armMaxConcurrency },
      log: evaluationLog,
      events,
      controlPlane,
      evidence,
    }),
    finalizer,
  };
  const remediationStarter =
    overrides.remediationStarter ??
    new ArmRemediationStarter(new ArmPolicyAdmin({ endpoint: config.armEndpoint, credential, caCertPem: overrides.armCaCertPem }));
  const rollouts = new RolloutService({
    repository: await TableRolloutRepository.open(endpoints.tables, overrides.tablePrefix !== undefined ? { tablePrefix: overrides.tablePrefix } : {}),
    assignments: overrides.policyAssignments ?? new ArmPolicyAssignmentWriter({ endpoint: config.armEndpoint, credential, caCertPem: overrides.armCaCertPem }),
    clusters: repositories.clusters,
    inventory,
    queue: new StorageMessageQueue<RolloutStepMessage>(endpoints.queues, ROLLOUT_QUEUES.steps),
    clock,
    newId: overrides.newRolloutId ?? (() => newRolloutId(clock.now(), randomUUID())),
    settings: { gateRecheckSeconds: config.rolloutGateRecheckSeconds, verifyTimeoutSeconds: config.rolloutVerifyTimeoutSeconds },
    log: overrides.log ?? consoleLog,
    events,
  });
  webhooks = await createWebhookServices({
    config,
    tables: endpoints.tables,
    queues: endpoints.queues,
    tablePrefix: overrides.tablePrefix,
    clock,
    approvals: rollouts,
    product: PRODUCT,
    ...(overrides.log !== undefined ? { log: overrides.log } : {}),
  });
  const remediationChecks = {
    queue: new StorageMessageQueue<RemediationCheckMessage>(endpoints.queues, REMEDIATION_QUEUES.checks),
    policy: { firstDelaySeconds: config.remediationCheckDelaySeconds, maxDelaySeconds: REMEDIATION_CHECK_MAX_DELAY_SECONDS, maxAgeSeconds: config.remediationCheckMaxHours * 3600 },
  };
  const remediationLog = overrides.log ?? consoleLog;
  const remediations = new RemediationService({
    starter: remediationStarter,
    remediations: repositories.remediations,
    clusters: repositories.clusters,
    newId: randomUUID,
    events,
    clock,
    log: remediationLog,
    checks: remediationChecks,
  });
  const policyMetadata = overrides.policyMetadata ?? new ArmPolicyMetadataReader({ endpoint: config.armEndpoint, credential, caCertPem: overrides.armCaCertPem });
  return { config, evidenceStore, evidence, product: PRODUCT, credential, clock, inventory, repositories, storageProbe: () => tables.probe(), storedRecords: tables.records, queues, evaluation, remediationStarter, rollouts, webhooks, remediations, remediationChecks, remediationLog, controlPlane, policyMetadata };
}

let container: Promise<Container> | undefined;

/** The app's container: built once from the environment; a failed build is retried on next use. */
export function getContainer(): Promise<Container> {
  container ??= Promise.resolve()
    .then(() => createContainer(loadConfig()))
    .catch((error: unknown) => {
      container = undefined;
      throw error;
    });
  return container;
}

// ---------------------------------------------------------------------------------------------
// HTTP API (issue 4): the runtime every `functions/api-*.ts` operation uses.
// ---------------------------------------------------------------------------------------------

/** Storage and ARM probes for `GET /api/health`; the ARM answer is cached so probes never amplify into throttling. */
function apiHealthChecks(c: Container): HealthCheck[] {
  let armChecked: { at: number; ok: Promise<void> } | undefined;
  return [
    // A live round trip: the summary read is cached in process and would hide an outage.
    { name: 'storage', check: () => c.storageProbe() },
    storedRecordsHealthCheck(c.storedRecords),
    {
      name: 'azure-resource-manager',
      check: async () => {
        const now = c.clock.now().getTime();
        if (armChecked === undefined || now - armChecked.at > 60_000) armChecked = { at: now, ok: c.inventory.listSubscriptions().then(() => undefined) };
        await armChecked.ok;
        // Anonymous callers see this: say that ARM answered, never which endpoint (a private cloud's URL).
        return { detail: 'reachable' };
      },
    },
  ];
}

export function createApiRuntimeFor(c: Container, overrides: Partial<ApiRuntimeInput> = {}): ApiRuntime {
  return createApiRuntime({
    auth: c.config.auth,
    maxRequestBodyBytes: c.config.maxRequestBodyBytes,
    dashboardClientId: c.config.dashboardClientId,
    ...c.repositories,
    auditLog: c.repositories.audit,
    remediations: c.repositories.remediations,
    remediationStarter: c.remediationStarter,
    evaluations: c.evaluation.starter,
    rollouts: c.rollouts,
    webhooks: c.webhooks.webhooks,
    events: c.webhooks.publisher,
    clock: c.clock,
    evidenceStore: c.evidenceStore,
    evidenceRetentionDays: c.config.evidenceRetentionDays,
    product: c.product,
    healthChecks: apiHealthChecks(c),
    remediationChecks: c.remediationChecks,
    remediationLog: c.remediationLog,
    policyMetadata: c.policyMetadata,
    ...overrides,
  });
}

let apiRuntime: Promise<ApiRuntime> | undefined;

/** The API runtime built on {@link getContainer}; a failed build is retried on next use. */
export function getApiRuntime(): Promise<ApiRuntime> {
  apiRuntime ??= getContainer()
    .then((c) => createApiRuntimeFor(c))
    .catch((error: unknown) => {
      apiRuntime = undefined;
      throw error;
    });
  return apiRuntime;
}

// ---------------------------------------------------------------------------------------------
// Webhooks and ServiceNow (issue 6, docs/webhooks.md)
// ---------------------------------------------------------------------------------------------

/**
 * Webhook services on the container's storage account with overrides (tests: a host resolver, a
 * table prefix); the app uses the container's own `webhooks`.
 */
export function createWebhookServicesFor(c: Container, overrides: Partial<Omit<WebhookWiringInput, 'config' | 'tables' | 'queues'>> = {}): Promise<WebhookServices> {
  const endpoints = storageEndpoints(c.config, c.credential);
  return createWebhookServices({
    config: c.config,
    tables: endpoints.tables,
    queues: endpoints.queues,
    clock: c.clock,
    approvals: c.rollouts,
    product: c.product,
    ...overrides,
  });
}

let webhookServices: Promise<WebhookServices> | undefined;

/** The app's webhook services built on {@link getContainer}; a failed build is retried on next use. */
export function getWebhookServices(): Promise<WebhookServices> {
  webhookServices ??= getContainer()
    .then((c) => c.webhooks)
    .catch((error: unknown) => {
      webhookServices = undefined;
      throw error;
    });
  return webhookServices;
}

/**
 * The services that evaluate the fleet, watch its control plane and track remediations: what the queue
 * and timer functions (and a few API operations) run. The composition root imports this module on the
 * first call of any of them (`lazyPort`), so an instance started for an API read neither loads nor
 * compiles the evaluation, its evidence recorder or the remediation service: in the deployment bundle
 * this module and what only it imports are a chunk of their own.
 */
import type { AppConfig } from '../config/settings.js';
import { ControlPlaneWatchService } from '../application/control-plane-watch-service.js';
import type { EvidenceStore } from '../application/evidence-ports.js';
import { EvidenceRecorder } from '../application/evidence-recorder.js';
import type { Logger } from '../application/logger.js';
import { EvaluationRunStarter } from '../application/evaluation-run-starter.js';
import { SubscriptionCollector } from '../application/evaluation-subscription-collector.js';
import { EvaluationRunFinalizer } from '../application/evaluation-run-finalizer.js';
import type { ControlPlaneWatchMessage, RemediationCheckMessage } from '../application/messages.js';
import { RemediationService } from '../application/remediation-service.js';
import type { ActivityLogReader, AzureInventoryReader, Clock, EventPublisher, MessageQueue, RemediationStarter } from '../application/ports.js';
import { REMEDIATION_CHECK_MAX_DELAY_SECONDS } from '../domain/remediation-check-schedule.js';
import { CATALOG_VERSION } from '../domain/evidence-record.js';
import type { Queues, Repositories } from './composition-root.js';

export interface EvaluationWiringInput {
  readonly config: AppConfig;
  readonly repositories: Repositories;
  readonly queues: Queues;
  readonly controlPlaneQueue: MessageQueue<ControlPlaneWatchMessage>;
  readonly remediationQueue: MessageQueue<RemediationCheckMessage>;
  readonly inventory: AzureInventoryReader;
  readonly activityLog: ActivityLogReader;
  readonly remediationStarter: RemediationStarter;
  readonly evidenceStore: EvidenceStore;
  readonly events: EventPublisher;
  readonly appVersion: string;
  readonly clock: Clock;
  readonly newRunId: () => string;
  readonly newId: () => string;
  readonly log: Logger;
}

export interface EvaluationWiring {
  readonly controlPlane: ControlPlaneWatchService;
  readonly evidence: EvidenceRecorder;
  readonly starter: EvaluationRunStarter;
  readonly collector: SubscriptionCollector;
  readonly finalizer: EvaluationRunFinalizer;
  readonly remediations: RemediationService;
}

export function createEvaluationServices(input: EvaluationWiringInput): EvaluationWiring {
  const { config, repositories, queues, inventory, clock, log, events } = input;
  const controlPlane = new ControlPlaneWatchService({
    activityLog: input.activityLog,
    events: repositories.controlPlaneEvents,
    clusters: repositories.clusters,
    inventory,
    queue: input.controlPlaneQueue,
    clock,
    settings: {
      lookbackDays: config.breakGlassLookbackDays,
      ownIdentities: config.azureClientId !== undefined ? [config.azureClientId] : [],
      subscriptionIds: config.subscriptionIds,
      retentionDays: config.historyRetentionDays,
    },
    publisher: events,
    log,
  });
  const evidence = new EvidenceRecorder({ store: input.evidenceStore, runs: repositories.runs, appVersion: input.appVersion, catalogVersion: CATALOG_VERSION, log });
  const finalizer = new EvaluationRunFinalizer({ ...repositories, clock, settings: { historyRetentionDays: config.historyRetentionDays }, log, events, evidence });
  return {
    controlPlane,
    evidence,
    finalizer,
    starter: new EvaluationRunStarter({
      inventory,
      runs: repositories.runs,
      clusters: repositories.clusters,
      collectQueue: queues.collectSubscription,
      finalizer,
      clock,
      newRunId: input.newRunId,
      settings: { subscriptionIds: config.subscriptionIds },
      log,
    }),
    collector: new SubscriptionCollector({
      inventory,
      ...repositories,
      collectQueue: queues.collectSubscription,
      finalizeQueue: queues.finalizeRun,
      clock,
      settings: { armMaxConcurrency: config.armMaxConcurrency },
      log,
      events,
      controlPlane,
      evidence,
    }),
    remediations: new RemediationService({
      starter: input.remediationStarter,
      remediations: repositories.remediations,
      clusters: repositories.clusters,
      newId: input.newId,
      events,
      clock,
      log,
      checks: {
        queue: input.remediationQueue,
        policy: { firstDelaySeconds: config.remediationCheckDelaySeconds, maxDelaySeconds: REMEDIATION_CHECK_MAX_DELAY_SECONDS, maxAgeSeconds: config.remediationCheckMaxHours * 3600 },
      },
    }),
  };
}

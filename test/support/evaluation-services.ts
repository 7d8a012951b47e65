/**
 * The three evaluation services over one set of ports, wired as `bootstrap/composition-root.ts` wires
 * them, for tests that drive a whole run (start → collect → finalize) by hand.
 */
import { ControlPlaneWatchService } from '../../application/control-plane-watch-service.js';
import { EvaluationRunFinalizer, type EvaluationRunFinalizerDeps } from '../../application/evaluation-run-finalizer.js';
import { EvaluationRunStarter, type EvaluationRunStarterDeps } from '../../application/evaluation-run-starter.js';
import { SubscriptionCollector, type SubscriptionCollectorDeps } from '../../application/evaluation-subscription-collector.js';
import type { EvaluationSettings } from '../../application/evaluation-run.js';
import { EvidenceRecorder } from '../../application/evidence-recorder.js';
import type { ControlPlaneWatchMessage } from '../../application/messages.js';
import type { AzureInventoryReader, Clock, ClusterStateRepository, EvaluationRunRepository } from '../../application/ports.js';
import { CATALOG_VERSION } from '../../domain/evidence-record.js';
import { InMemoryActivityLogReader, InMemoryControlPlaneEventRepository } from './in-memory-control-plane.js';
import { InMemoryEvidenceStore } from './in-memory-evidence-store.js';
import { RecordingEventPublisher, RecordingMessageQueue } from './in-memory-ports.js';

export type EvaluationTestDeps = Omit<EvaluationRunStarterDeps, 'finalizer' | 'settings'> &
  Omit<SubscriptionCollectorDeps, 'settings'> &
  Omit<EvaluationRunFinalizerDeps, 'settings'> & { readonly settings: EvaluationSettings };

export interface EvaluationTestServices {
  readonly starter: EvaluationRunStarter;
  readonly collector: SubscriptionCollector;
  readonly finalizer: EvaluationRunFinalizer;
}

export function evaluationServices(deps: EvaluationTestDeps): EvaluationTestServices {
  const finalizer = new EvaluationRunFinalizer(deps);
  return { starter: new EvaluationRunStarter({ ...deps, finalizer }), collector: new SubscriptionCollector(deps), finalizer };
}

/**
 * What a run publishes and records besides its tables, in memory and inspectable: the outbound events
 * (`cluster.compliance.changed`, `evaluation.completed`, control-plane events), the evidence blobs and
 * manifests, and the real control-plane watch the collect reads the Activity Log through. Real
 * implementations, as the composition root builds them, so a test runs the production paths.
 */
export interface EvaluationTestOutputs {
  readonly events: RecordingEventPublisher;
  readonly evidenceStore: InMemoryEvidenceStore;
  readonly evidence: EvidenceRecorder;
  readonly activityLog: InMemoryActivityLogReader;
  readonly controlPlaneEvents: InMemoryControlPlaneEventRepository;
  readonly controlPlane: ControlPlaneWatchService;
}

export function evaluationOutputs(input: {
  readonly runs: EvaluationRunRepository;
  readonly clusters: Pick<ClusterStateRepository, 'listBySubscription'>;
  readonly inventory: Pick<AzureInventoryReader, 'listSubscriptions'>;
  readonly clock: Clock;
}): EvaluationTestOutputs {
  const events = new RecordingEventPublisher();
  const evidenceStore = new InMemoryEvidenceStore();
  const activityLog = new InMemoryActivityLogReader();
  const controlPlaneEvents = new InMemoryControlPlaneEventRepository();
  const controlPlane = new ControlPlaneWatchService({
    activityLog,
    events: controlPlaneEvents,
    clusters: input.clusters,
    inventory: input.inventory,
    queue: new RecordingMessageQueue<ControlPlaneWatchMessage>(),
    clock: input.clock,
    // The app's defaults (BREAK_GLASS_LOOKBACK_DAYS, history retention).
    settings: { lookbackDays: 30, ownIdentities: [], subscriptionIds: undefined, retentionDays: 90 },
    publisher: events,
  });
  const evidence = new EvidenceRecorder({ store: evidenceStore, runs: input.runs, appVersion: 'test', catalogVersion: CATALOG_VERSION });
  return { events, evidenceStore, evidence, activityLog, controlPlaneEvents, controlPlane };
}

/**
 * Ports: the small interfaces application services depend on. Adapters under `adapters/` implement
 * them (Azure SDK, Table Storage, Storage Queues); `bootstrap/composition-root.ts` wires them.
 * Tests may implement them in memory.
 */
import type {
  ClusterProperties,
  ClusterSnapshot,
  ControlException,
  ControlStatus,
  ExtensionFact,
  FleetSummary,
  FluxFact,
  PolicyStateFact,
} from '../domain/model.js';
import type { OutboundEvent } from '../domain/webhook-events.js';
import type { WebhookDelivery, WebhookSubscription } from '../domain/webhook-subscription.js';
import type {
  SubscriptionNotDiscovered,
  SubscriptionOutcome,
  EvaluationRun,
  ClusterState,
  ClusterHistoryEntry,
  AuditRecord,
  TrendPoint,
  RemediationRecord,
  RemediationPollingStop,
} from './stored-records.js';

/** Stored record types live in `stored-records.ts`; re-exported for the ports that name them. */
export type {
  RunTrigger,
  RunStatus,
  SubscriptionFailure,
  SubscriptionNotDiscovered,
  SubscriptionOutcome,
  EvaluationRun,
  ClusterState,
  ClusterHistoryEntry,
  AuditRecord,
  TrendPoint,
  RemediationTaskRecord,
  RemediationRecord,
  RemediationPollingStop,
} from './stored-records.js';

// ---------------------------------------------------------------------------------------------
// Azure Resource Manager (read side used by collection)
// ---------------------------------------------------------------------------------------------

export interface SubscriptionRef {
  readonly subscriptionId: string;
  readonly displayName: string;
  readonly state: string;
}

/** A connected cluster as listed by ARM, before its child resources are collected. */
export type ConnectedClusterRecord = Omit<ClusterSnapshot, 'extensions' | 'fluxConfigurations' | 'policyStates'> & {
  readonly properties: ClusterProperties;
};

export interface PolicyAssignmentSummary {
  readonly id: string;
  readonly name: string;
  readonly scope: string;
  readonly policyDefinitionId: string;
  readonly enforcementMode: string | undefined;
  readonly notScopes: readonly string[];
}

/**
 * Read access to the estate. Implementations use the real Azure SDK clients with
 * `DefaultAzureCredential`, honour 429/Retry-After and never amplify throttling.
 */
export interface AzureInventoryReader {
  listSubscriptions(): Promise<SubscriptionRef[]>;
  listConnectedClusters(subscriptionId: string): Promise<ConnectedClusterRecord[]>;
  listExtensions(clusterId: string): Promise<ExtensionFact[]>;
  listFluxConfigurations(clusterId: string): Promise<FluxFact[]>;
  listPolicyAssignments(subscriptionId: string): Promise<PolicyAssignmentSummary[]>;
  /**
   * Latest policy states of every connected cluster in the subscription: ONE paged
   * subscription-level query with `$filter` on the resource type and `$select`, never per cluster.
   */
  queryClusterPolicyStates(subscriptionId: string): Promise<PolicyStateFact[]>;
}

/**
 * What an adapter error carries when the dependency asked to be retried later (ARM 429/503 with
 * `Retry-After`, still answered after the SDK's own retries): the queue retry waits at least that long.
 */
export interface RetryAfterHint {
  readonly retryAfterSeconds: number;
}

// ---------------------------------------------------------------------------------------------
// Storage (Table Storage adapters)
// ---------------------------------------------------------------------------------------------

export interface Page<T> {
  readonly items: readonly T[];
  /** Opaque continuation token; undefined on the last page. */
  readonly continuationToken: string | undefined;
}

/** A cluster as listed: the list view of a stored state, without its evaluation's controls and evidence. */
export interface ClusterSummaryView {
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

/**
 * The list view of the cluster store: same filters, order, paging and items as `list`, without reading
 * the evaluations (controls and evidence).
 */
export interface ClusterSummaryListing {
  listSummaries(query: ClusterQuery): Promise<Page<ClusterSummaryView>>;
  /**
   * A cluster's state as `ClusterStateRepository.get` reads it, deep-frozen and possibly shared with
   * other callers (within the listing's staleness bound; a write of this process is seen at once).
   */
  getShared(subscriptionId: string, resourceGroup: string, name: string): Promise<ClusterState | undefined>;
}

export interface ClusterQuery {
  readonly subscriptionId?: string | undefined;
  readonly status?: 'compliant' | 'noncompliant' | undefined;
  readonly failingControlId?: string | undefined;
  readonly environment?: string | undefined;
  readonly location?: string | undefined;
  readonly stale?: boolean | undefined;
  readonly top: number;
  readonly continuationToken?: string | undefined;
}

/**
 * One cluster's latest control statuses with the dimensions they are grouped by: what framework
 * reports and the control matrix read of every cluster, without the evidence (a few hundred bytes per
 * cluster instead of tens of kilobytes).
 */
export interface ClusterControlStatuses {
  /** As stored (any case). */
  readonly subscriptionId: string;
  /** The `environment` tag as stored (any spelling); undefined when untagged. */
  readonly environment: string | undefined;
  /** In the evaluation's order. */
  readonly controls: readonly { readonly controlId: string; readonly status: ControlStatus }[];
}

/** The clusters' control statuses, with the filters, order and paging of `ClusterStateRepository.list`. */
export interface ClusterControlStatusListing {
  /** Rows whose filter or status columns cannot be read (reported) are left out; the evidence is never read. */
  listControlStatuses(query: ClusterQuery): Promise<Page<ClusterControlStatuses>>;
}

export interface RunRepository {
  create(run: EvaluationRun): Promise<void>;
  get(runId: string): Promise<EvaluationRun | undefined>;
  list(top: number, continuationToken?: string): Promise<Page<EvaluationRun>>;
  /** Idempotent: recording the same subscription outcome twice leaves one outcome. */
  recordSubscriptionOutcome(runId: string, subscriptionId: string, outcome: SubscriptionOutcome, at: string): Promise<void>;
  /**
   * Recomputes counts from the recorded outcomes and persists them. The status stays `running`
   * (or whatever it was) unless `options.final` is set and every subscription has an outcome: then it
   * becomes `succeeded` | `partial` | `failed` and `completedAt` is set (kept on later refreshes).
   * `options.fail` ends a run that cannot be finalized: status `failed`, `completedAt` set, the reason
   * kept as a run-level failure (subscription `*`). The other options replace the run's notes.
   */
  refresh(runId: string, now: string, options?: RunRefreshOptions): Promise<EvaluationRun | undefined>;
}

export interface RunRefreshOptions {
  readonly final?: boolean;
  readonly fail?: string | undefined;
  readonly subscriptionsNotDiscovered?: readonly SubscriptionNotDiscovered[] | undefined;
  readonly evaluationCompletedNotPublished?: boolean | undefined;
}

/** What the evaluation service writes beyond {@link RunRepository} (read-side users need not implement it). */
export interface EvaluationRunRepository extends RunRepository {
  /** Replaces the run record (status changes before fan-out: `queued` → `running`, or `failed` at start). */
  update(run: EvaluationRun): Promise<void>;
  /** The outcome recorded for one subscription of the run, if any. */
  getSubscriptionOutcome(runId: string, subscriptionId: string): Promise<SubscriptionOutcome | undefined>;
  /** Records the outcome unless one is already recorded; false when one was (it is kept). */
  recordSubscriptionOutcomeIfAbsent(runId: string, subscriptionId: string, outcome: SubscriptionOutcome, at: string): Promise<boolean>;
  /** The (lower-cased) subscriptions of the run with a recorded outcome. */
  subscriptionsWithOutcome(runId: string): Promise<string[]>;
  /**
   * Counts the subscription's recorded outcome towards {@link countSubscriptionOutcomes}. Idempotent:
   * a subscription counts once however often it is recorded, counted or redelivered. Call after
   * recording; a crash in between is healed by the redelivery, which records and counts again.
   */
  countSubscriptionOutcome(runId: string, subscriptionId: string): Promise<void>;
  /**
   * How many subscriptions of the run have a counted outcome, at a cost that does not grow with the
   * run (collectors ask after every outcome; reading every outcome each time made a run quadratic).
   */
  countSubscriptionOutcomes(runId: string): Promise<number>;
  /**
   * Runs still `queued` or `running` created at or before `createdNoLaterThan` (the overdue-run sweep),
   * oldest first. Reads only runs older than the cutoff.
   */
  listUnfinishedCreatedBefore(createdNoLaterThan: string): Promise<EvaluationRun[]>;
}

export interface ClusterStateRepository {
  /**
   * Stores the states (and their index rows). `stored`, when given, must be every state currently stored
   * in the subscriptions of `states`, as the caller has just read them with {@link listBySubscription}:
   * the index rows are then diffed against those instead of reading the subscriptions again.
   */
  upsertMany(states: readonly ClusterState[], stored?: readonly ClusterState[]): Promise<void>;
  get(subscriptionId: string, resourceGroup: string, name: string): Promise<ClusterState | undefined>;
  list(query: ClusterQuery): Promise<Page<ClusterState>>;
  listBySubscription(subscriptionId: string): Promise<ClusterState[]>;
  /**
   * Marks every cluster of the subscription stale (last results kept); with `lastSeenNoLaterThan`, only
   * those last seen at or before that time (a newer run's fresh results stay current). Returns how many
   * clusters changed.
   */
  markStale(subscriptionId: string, options?: { readonly lastSeenNoLaterThan?: string | undefined }): Promise<number>;
}

/**
 * Every cluster as the fleet summary reads it, without each cluster's evidence (finalize reads the whole
 * fleet through this: parsing every evaluation made it the memory peak of a 10,000-cluster run).
 */
export interface SummaryInputListing {
  /**
   * Every cluster, `top` at a time, in the order of an unfiltered `list`; controls without evidence.
   * With `dimensions`, each input also carries the cluster's environment, location and tags.
   */
  listSummaryInputs(top: number, continuationToken: string | undefined, options?: { readonly dimensions?: boolean }): Promise<Page<import('../domain/fleet-summary.js').SummaryInput>>;
}

/** The cluster store of the app (the Table adapter): what the evaluation writes and every listing. */
export interface EvaluationClusterStateRepository extends ClusterStateRepository, ClusterSummaryListing, SummaryInputListing {
  /** Removes clusters that no longer exist in ARM (with their index rows); returns how many were removed. */
  deleteMany(clusters: readonly { readonly subscriptionId: string; readonly resourceGroup: string; readonly name: string }[]): Promise<number>;
}

export interface HistoryRepository {
  appendMany(entries: readonly ClusterHistoryEntry[]): Promise<void>;
  list(clusterId: string, from: string, to: string): Promise<ClusterHistoryEntry[]>;
  /**
   * Retention: deletes entries evaluated before the cutoff, possibly in coarse units (an adapter may
   * keep entries up to one calendar month older than the cutoff, which `list`'s `from` filters out).
   * Returns how many units it removed, entries or whole storage units (e.g. month tables) as the
   * adapter defines; for logs only.
   */
  purgeOlderThan(cutoff: string): Promise<number>;
}

/** One page of exceptions, latest `expiresAt` first; `status` is judged at `at` (ISO time). */
export interface ExceptionPageQuery {
  readonly status?: 'active' | 'expired' | undefined;
  readonly at: string;
  readonly top: number;
  readonly continuationToken?: string | undefined;
}

export interface ExceptionRepository {
  create(exception: ControlException): Promise<void>;
  get(id: string): Promise<ControlException | undefined>;
  /** Every exception ever recorded, expired ones included (kept forever): prefer `listActive`/`listPage`. */
  list(): Promise<ControlException[]>;
  /** The exceptions with `expiresAt` after `at`; reads only those. */
  listActive(at: string): Promise<ControlException[]>;
  /** Reads only the page asked for (and, with `status`, only that status's range). */
  listPage(query: ExceptionPageQuery): Promise<Page<ControlException>>;
  delete(id: string): Promise<boolean>;
}

export interface AuditLog {
  append(record: AuditRecord): Promise<void>;
  list(top: number, continuationToken?: string): Promise<Page<AuditRecord>>;
}

// ---------------------------------------------------------------------------------------------
// Queues
// ---------------------------------------------------------------------------------------------

export interface MessageQueue<T> {
  send(message: T, options?: { visibilityDelaySeconds?: number }): Promise<void>;
  sendMany(messages: readonly T[]): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export interface SummaryRepository {
  /** Stores the run's summary and makes it the latest. Idempotent per run id. */
  put(summary: FleetSummary): Promise<void>;
  getLatest(): Promise<FleetSummary | undefined>;
  /** Summaries generated at or after `since`, oldest first. */
  listTrends(since: string): Promise<TrendPoint[]>;
  /** Stores a run's trend slices (idempotent per run). */
  putTrendSlices(slices: import('../domain/trend-slices.js').TrendSlices): Promise<void>;
  /** Trend slices of runs generated at or after `since`, oldest first (runs finished before slices existed have none). */
  listTrendSlices(since: string): Promise<import('../domain/trend-slices.js').TrendSlices[]>;
}

// ---------------------------------------------------------------------------------------------
// Remediation (Azure Policy remediation tasks; implemented by adapters/arm/policy-admin.ts)
// ---------------------------------------------------------------------------------------------

/** Progress of one Azure Policy remediation task as ARM reports it. */
export interface RemediationTaskState {
  /** ARM id of the `Microsoft.PolicyInsights/remediations` resource. */
  readonly armId: string;
  readonly subscriptionId: string;
  /** `Accepted`, `Evaluating`, `Succeeded`, `Failed`, `Canceled`… as ARM returns it. */
  readonly provisioningState: string;
  readonly totalDeployments: number;
  readonly successfulDeployments: number;
  readonly failedDeployments: number;
  /** ARM's `lastUpdatedOn` (ISO 8601), when it reports one: fixed once the task is terminal. */
  readonly lastUpdatedOn?: string | undefined;
}

/**
 * Starts and reads Azure Policy remediation tasks. `start` finds the policy assignment of the
 * DeployIfNotExists definition in the subscription (direct, else through an initiative assignment)
 * and creates a remediation limited to the given resources (`filters.resourceIds`, which ARM caps at
 * 100 ids: callers split larger sets over several tasks); it throws a `NotRemediable` AppError when
 * the definition is not assigned there.
 */
export interface RemediationStarter {
  start(request: {
    readonly name: string;
    readonly subscriptionId: string;
    readonly policyDefinitionId: string;
    readonly resourceIds: readonly string[];
  }): Promise<RemediationTaskState>;
  get(armId: string): Promise<RemediationTaskState | undefined>;
}

export interface RemediationRepository {
  create(record: RemediationRecord): Promise<void>;
  get(id: string): Promise<RemediationRecord | undefined>;
  /** Newest first (by `createdAt`). */
  list(top: number, continuationToken?: string): Promise<Page<RemediationRecord>>;
  /** Records that polling stopped (the first record stands: a later call changes nothing). */
  recordPollingStopped(id: string, stop: RemediationPollingStop): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Outbound events, webhooks and ServiceNow (docs/webhooks.md)
// ---------------------------------------------------------------------------------------------

/**
 * Publishes an event to every webhook subscription that wants it (`application/webhook-service.ts`
 * implements it: one delivery record and one queue message per matching subscription). Publishers
 * (evaluation, rollouts, remediation) build `OutboundEvent`s from `domain/webhook-events.ts`.
 * Resolves once the deliveries are recorded and queued, not when they are delivered.
 */
export interface EventPublisher {
  publish(event: OutboundEvent): Promise<void>;
}

/** A ServiceNow change request update that concerns a rollout wave. */
export interface ChangeApprovalRequest {
  readonly rolloutId: string;
  readonly waveId: string;
  /** Change request number, e.g. `CHG0030001`. */
  readonly changeNumber: string;
  /** State as ServiceNow sent it (`approved`, `rejected`, `canceled`…). */
  readonly changeState: string;
  /** Recorded as the wave's approver (or who paused it): `servicenow:<user>` or `servicenow:<change number>`. */
  readonly actor: string;
  readonly receivedAt: string;
}

/**
 * Rollout gate actions driven by ServiceNow (implemented by the rollout service). `approveFromChange`
 * satisfies the wave's approval gate; `pauseFromChange` pauses the rollout. Both throw `NotFoundError`
 * for an unknown rollout or wave and `ConflictError` when the wave is not in a state that allows it.
 */
export interface RolloutApprovals {
  approveFromChange(request: ChangeApprovalRequest): Promise<void>;
  pauseFromChange(request: ChangeApprovalRequest): Promise<void>;
}

export interface WebhookSubscriptionRepository {
  create(subscription: WebhookSubscription): Promise<void>;
  get(id: string): Promise<WebhookSubscription | undefined>;
  /** Every subscription (a handful; read on each publish). */
  listAll(): Promise<WebhookSubscription[]>;
  list(top: number, continuationToken?: string): Promise<Page<WebhookSubscription>>;
  /** Replaces the record. */
  update(subscription: WebhookSubscription): Promise<void>;
  delete(id: string): Promise<boolean>;
}

export interface WebhookDeliveryRepository {
  create(delivery: WebhookDelivery): Promise<void>;
  get(webhookId: string, deliveryId: string): Promise<WebhookDelivery | undefined>;
  update(delivery: WebhookDelivery): Promise<void>;
  /** Newest first. */
  list(webhookId: string, top: number, continuationToken?: string): Promise<Page<WebhookDelivery>>;
  deleteAll(webhookId: string): Promise<number>;
  /**
   * Deletes the webhook's finished deliveries (delivered, failed, dead-lettered, canceled) whose
   * time-ordered id is at or before `cutoff`, with a row-key range query on the webhook's partition;
   * pending or retrying ones are kept. Returns how many were deleted.
   */
  deleteFinishedBefore(webhookId: string, cutoff: string): Promise<number>;
}

/**
 * Remembers inbound message ids so a replay is refused (and delivery-attempt claims, so one attempt
 * calls its receiver once); entries expire after `WEBHOOK_INBOUND_RETENTION_DAYS` (webhook-service.ts).
 */
export interface InboundMessageIdStore {
  /**
   * Atomically records the id, with who claimed it (`owner`, e.g. a queue message id) in the same
   * write; false when it was already recorded.
   */
  claim(source: string, id: string, at: string, owner?: string): Promise<boolean>;
  /** The `owner` an existing claim was made with; undefined when unclaimed or claimed without one. */
  ownerOf(source: string, id: string): Promise<string | undefined>;
  /** Forgets a claimed id (the message could not be processed and may be sent again). */
  release(source: string, id: string): Promise<void>;
  /**
   * Deletes the claims of `source` made on a UTC day before the cutoff's (ISO); returns how many.
   * Never a younger one.
   */
  forgetClaimedBefore(source: string, cutoff: string): Promise<number>;
}

/**
 * Protects webhook signing secrets at rest (AES-256-GCM under `WEBHOOK_SECRET_KEY`). `context` (the
 * webhook id) is bound to the ciphertext, so a protected secret cannot be moved to another webhook.
 */
export interface SecretProtector {
  protect(secret: string, context: string): Promise<string>;
  reveal(stored: string, context: string): Promise<string>;
}

export interface OutboundHttpRequest {
  readonly method: 'GET' | 'POST' | 'PATCH';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | undefined;
}

/** A response (body capped), a network failure, or a refusal by the SSRF policy (nothing sent). */
export type OutboundHttpResult =
  | { readonly kind: 'response'; readonly status: number; readonly retryAfter: string | undefined; readonly contentType: string | undefined; readonly body: string }
  | { readonly kind: 'network'; readonly error: string }
  | { readonly kind: 'refused'; readonly reason: string };

/**
 * HTTP to untrusted targets: resolves the host at every call, refuses targets the SSRF policy refuses,
 * connects to the vetted address, follows no redirects, enforces timeouts and a response size cap.
 */
export interface OutboundHttp {
  request(request: OutboundHttpRequest): Promise<OutboundHttpResult>;
  /** Subscription-time check of a URL (scheme, allowlist, DNS resolution); the reason when refused. */
  vet(url: string): Promise<string | undefined>;
}

// ---------------------------------------------------------------------------------------------
// Staged enforcement (rollouts; implemented by adapters/arm/policy-assignment-writer.ts and
// adapters/storage/table-rollout-repository.ts)
// ---------------------------------------------------------------------------------------------

/** A latest policy state of one cluster, as the rollout reads it for gates, verify and bake. */
export type RolloutStateRecord = import('../domain/rollout-model.js').RolloutPolicyState & {
  /** Lower-cased ARM id of the evaluated resource. */
  readonly resourceId: string;
};

/**
 * Reads and writes policy assignments and reads their policy states (real SDK clients:
 * `@azure/arm-policy` PolicyClient 2025-03-01, `@azure/arm-policyinsights`).
 */
export interface PolicyAssignmentGateway {
  /** Undefined when the assignment does not exist. */
  get(assignmentId: string): Promise<import('../domain/rollout-model.js').PolicyAssignmentModel | undefined>;
  /** Creates or replaces the assignment with exactly these properties; returns what ARM answered. */
  put(assignment: import('../domain/rollout-model.js').PolicyAssignmentModel): Promise<import('../domain/rollout-model.js').PolicyAssignmentModel>;
  /** Deletes the assignment; a missing one is not an error. */
  delete(assignmentId: string): Promise<void>;
  /** Starts an on-demand policy evaluation of the subscription (does not wait for it). */
  triggerEvaluation(subscriptionId: string): Promise<void>;
  /** Latest states in the subscription of the given assignments (one query with `$filter` on `policyAssignmentId`). */
  queryAssignmentStates(subscriptionId: string, assignmentIds: readonly string[]): Promise<RolloutStateRecord[]>;
}

export interface StoredRollout {
  readonly rollout: import('../domain/rollout-model.js').Rollout;
  /** Optimistic-concurrency token of the stored record. */
  readonly etag: string;
}

/**
 * Rollout records with optimistic concurrency and their append-only event logs. A record and the
 * events of one transition are stored atomically (one entity-group transaction).
 */
export interface RolloutRepository {
  /**
   * Makes `rolloutId` the active rollout of its assignment: a `ConflictError` when another rollout of
   * the same assignment (case-insensitive id) is active (`isActive` says which states are).
   */
  claimAssignment(policyAssignmentId: string, rolloutId: string, isActive: (rolloutId: string) => Promise<boolean>): Promise<void>;
  /** Stores a new rollout and its first events. */
  create(rollout: import('../domain/rollout-model.js').Rollout, events: readonly import('../domain/rollout-model.js').RolloutEvent[]): Promise<string>;
  get(rolloutId: string): Promise<StoredRollout | undefined>;
  /** Replaces the record if its ETag still matches and appends the events; `PreconditionFailedError` otherwise. */
  save(rollout: import('../domain/rollout-model.js').Rollout, events: readonly import('../domain/rollout-model.js').RolloutEvent[], etag: string): Promise<string>;
  /** Newest first. */
  list(top: number, continuationToken?: string): Promise<Page<import('../domain/rollout-model.js').Rollout>>;
  events(rolloutId: string): Promise<import('../domain/rollout-model.js').RolloutEvent[]>;
  /** The active rollouts (for the outbox sweeper). */
  listActive(): Promise<StoredRollout[]>;
}

// ---------------------------------------------------------------------------------------------
// Control-plane watch (Azure Activity Log; docs/controls.md, "Control-plane watch")
// ---------------------------------------------------------------------------------------------

/** Reads a subscription's Azure Activity Log (`adapters/arm/activity-log-reader.ts`). */
export interface ActivityLogReader {
  /** Every entry with `eventTimestamp` in [from, to], all pages (the service requires the range; `from` at most 90 days back). */
  list(subscriptionId: string, from: Date, to: Date): Promise<import('../domain/control-plane-events.js').ActivityLogEntry[]>;
}

/** What the watch of one subscription has read, and how its last attempt went. */
export interface ControlPlaneWatchState {
  readonly subscriptionId: string;
  /** The continuous `eventTimestamp` range read so far; absent before the first successful read. */
  readonly coverage?: import('../domain/control-plane-events.js').WatchCoverage | undefined;
  readonly lastAttemptAt?: string | undefined;
  readonly lastSuccessAt?: string | undefined;
  /**
   * The latest failed attempt, kept after later successes (the subscription is failing while its `at`
   * is after `lastSuccessAt`, or there was no success).
   */
  readonly lastFailure?: ControlPlaneWatchFailure | undefined;
}

/**
 * Where a watch attempt failed: `read` (the Activity Log did not answer), `store` (events not stored or
 * published; the watermark stays), `poison` (the host gave up on the subscription's watch message).
 */
export type ControlPlaneWatchFailureStage = 'read' | 'store' | 'poison';

export interface ControlPlaneWatchFailure {
  readonly at: string;
  readonly stage: ControlPlaneWatchFailureStage;
  /**
   * Stable code: the ARM error code of a read (`AuthorizationFailed`, `HTTP 500`, `RequestTimeout`…),
   * else `ActivityLogReadFailed`, `EventsNotStored` or `Poisoned`.
   */
  readonly code: string;
  readonly message: string;
  /** What an operator should do, for a permanent ARM failure (a missing role, a disabled subscription). */
  readonly hint?: string | undefined;
}

export interface ControlPlaneEventQuery {
  /** Only events at or after this time (ISO). */
  readonly since?: string | undefined;
  /** Only this operation (catalog spelling, compared case-insensitively). */
  readonly operation?: string | undefined;
  readonly subscriptionId?: string | undefined;
  /** Only events concerning this cluster (lower-cased ARM id), resource-group changes included. */
  readonly clusterId?: string | undefined;
  readonly top: number;
  readonly continuationToken?: string | undefined;
}

/**
 * Kept control-plane events, keyed by the Activity Log's `eventDataId` (a second read of the same entry
 * changes nothing), with per-cluster copies for the cluster views, each subscription's watch state, and
 * the extension types last listed per cluster (the log names an extension, never its type).
 */
export interface ControlPlaneEventRepository {
  /** Stores the event unless it is stored; says whether it was already published (`controlplane.change.detected`). */
  record(event: import('../domain/control-plane-events.js').ControlPlaneEvent): Promise<{ readonly published: boolean }>;
  markPublished(event: import('../domain/control-plane-events.js').ControlPlaneEvent): Promise<void>;
  /** Newest first. */
  list(query: ControlPlaneEventQuery): Promise<Page<import('../domain/control-plane-events.js').ControlPlaneEvent>>;
  /** A cluster's events with `eventTimestamp` in [from, to], newest first (resource-group changes included). */
  listForCluster(clusterId: string, from: string, to: string): Promise<import('../domain/control-plane-events.js').ControlPlaneEvent[]>;
  getWatchState(subscriptionId: string): Promise<ControlPlaneWatchState | undefined>;
  saveWatchState(state: ControlPlaneWatchState): Promise<void>;
  /** Every subscription's watch state. */
  listWatchStates(): Promise<ControlPlaneWatchState[]>;
  /** Replaces the extension name → type map of each cluster of a subscription (names and types lower-cased). */
  recordExtensionTypes(subscriptionId: string, types: ReadonlyMap<string, ReadonlyMap<string, string>>): Promise<void>;
  /** The extension name → type maps of the subscription's clusters, by lower-cased cluster id. */
  extensionTypes(subscriptionId: string): Promise<Map<string, Map<string, string>>>;
  /** Retention: deletes events older than `cutoff` (ISO); returns how many rows. */
  purgeOlderThan(cutoff: string): Promise<number>;
}

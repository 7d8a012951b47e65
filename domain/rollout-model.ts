/**
 * Types of staged enforcement: a rollout moves one Azure Policy assignment from audit to
 * deny in waves, each wave gated, applied, verified and baked. Pure data; the planner
 * (`rollout-planner.ts`) builds plans and the state machine (`rollout-state-machine.ts`) moves them.
 */

/** One selector expression of an override or a resource selector (`in` XOR `notIn`). */
export interface AssignmentSelector {
  readonly kind: string;
  readonly in?: readonly string[] | undefined;
  readonly notIn?: readonly string[] | undefined;
}

/** A policy property value override (kind `policyEffect` or `definitionVersion`). */
export interface AssignmentOverride {
  readonly kind: string;
  readonly value: string;
  readonly selectors?: readonly AssignmentSelector[] | undefined;
}

export interface AssignmentResourceSelector {
  readonly name: string;
  readonly selectors: readonly AssignmentSelector[];
}

/**
 * A policy assignment as the rollout reads and writes it: the writable properties of the
 * 2025-03-01 API, flattened as the `@azure/arm-policy` SDK models them. The snapshot taken before a
 * rollout is one of these, and rollback writes it back unchanged.
 */
export interface PolicyAssignmentModel {
  /** ARM id as ARM returned it (original casing). */
  readonly id: string;
  readonly name: string;
  /** The scope the assignment lives at (a management group, subscription or resource group id). */
  readonly scope: string;
  readonly policyDefinitionId: string;
  readonly displayName?: string | undefined;
  readonly description?: string | undefined;
  readonly definitionVersion?: string | undefined;
  /** `Default` | `DoNotEnforce`. */
  readonly enforcementMode?: string | undefined;
  readonly parameters?: Readonly<Record<string, { readonly value?: unknown }>> | undefined;
  readonly notScopes?: readonly string[] | undefined;
  readonly overrides?: readonly AssignmentOverride[] | undefined;
  readonly resourceSelectors?: readonly AssignmentResourceSelector[] | undefined;
  readonly nonComplianceMessages?: readonly { readonly message: string; readonly policyDefinitionReferenceId?: string | undefined }[] | undefined;
  readonly metadata?: unknown;
  readonly location?: string | undefined;
  readonly identity?: unknown;
}

/** The assignments a wave's desired state consists of: the parent and the resource-group-scoped deny children. */
export interface DesiredAssignments {
  readonly parent: PolicyAssignmentModel;
  readonly children: readonly PolicyAssignmentModel[];
}

export type RolloutState = 'running' | 'blocked' | 'awaiting_approval' | 'paused' | 'completed' | 'failed' | 'rolled_back' | 'aborted';
export type WaveState = 'pending' | 'gating' | 'blocked' | 'awaiting_approval' | 'applying' | 'verifying' | 'baking' | 'completed' | 'rolled_back';
export type RolloutStep = 'gate' | 'apply' | 'verify' | 'bake' | 'rollback';
export type WaveMechanism = 'locationOverride' | 'resourceGroupAssignment';

export const ACTIVE_ROLLOUT_STATES: readonly RolloutState[] = Object.freeze(['running', 'blocked', 'awaiting_approval', 'paused']);

export interface RolloutGates {
  /** Most non-compliant clusters a wave may have at its gate (default 0). */
  readonly maxNonCompliant: number;
  readonly bakeMinutes: number;
  readonly requireApproval: boolean;
  readonly maxEvidenceAgeHours: number;
}

export const DEFAULT_GATES: RolloutGates = Object.freeze({ maxNonCompliant: 0, bakeMinutes: 60, requireApproval: true, maxEvidenceAgeHours: 24 });

export interface WaveRequest {
  readonly name: string;
  readonly locations?: readonly string[] | undefined;
  /** Resource group ARM ids (`/subscriptions/{id}/resourceGroups/{name}`). */
  readonly resourceGroups?: readonly string[] | undefined;
}

/** The body of `POST /api/v1/rollouts`. */
export interface RolloutRequest {
  readonly policyAssignmentId: string;
  readonly waves: readonly WaveRequest[];
  readonly gates?: Partial<RolloutGates> | undefined;
  readonly autoRollback?: boolean | undefined;
}

/** One latest policy state of a cluster for the rollout's assignment (or one of its deny children). */
export interface RolloutPolicyState {
  readonly policyAssignmentId: string;
  readonly policyDefinitionName: string;
  readonly policyDefinitionReferenceId?: string | undefined;
  readonly complianceState: string;
  readonly policyDefinitionAction: string;
  /** Offending in-cluster resources (components), when known. */
  readonly components?: number | undefined;
  readonly timestamp?: string | undefined;
}

/** What the planner and the gates know about one cluster: identity, evidence, live policy states. */
export interface RolloutClusterFacts {
  readonly id: string;
  readonly name: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly connectivityStatus: string | undefined;
  /** When arc-compliance last evaluated the cluster (the evidence); undefined = never. */
  readonly evaluatedAt: string | undefined;
  /** True when the last evaluation run could not collect the cluster. */
  readonly stale: boolean;
  /** Latest states of the rollout's assignment (and its deny children) for this cluster. */
  readonly states: readonly RolloutPolicyState[];
  /**
   * In-cluster resources the latest stored evaluation names as offenders, per policy key (see
   * `storedOffendersByPolicy` in `rollout-evidence.ts`). Absent or missing a key = not known.
   */
  readonly storedOffenders?: Readonly<Record<string, readonly string[]>> | undefined;
}

/** One resource deny would refuse: its cluster, and the in-cluster resource when the evidence names it. */
export interface OffendingResource {
  /** ARM id of the cluster. */
  readonly clusterId: string;
  /** In-cluster resource as the evaluation recorded it (e.g. `Pod default/web-0`); absent when only the cluster is known. */
  readonly resource?: string | undefined;
}

/** A bounded list of offending resources: at most a fixed number of items, `total` = all of them. */
export interface OffendingResources {
  readonly items: readonly OffendingResource[];
  readonly total: number;
}

export interface WouldDeny {
  /** Policy reference id inside an initiative, else the definition GUID. */
  readonly policy: string;
  /**
   * Offending resources deny would refuse: the live components, else the in-cluster resources the
   * latest stored evaluation names (a lower bound when its offender list was cut); 0 when only the
   * non-compliant state is known.
   */
  readonly resources: number;
  /** Which resources: one item per named in-cluster resource, or one per cluster when none is named. */
  readonly offenders: OffendingResources;
}

export interface PlannedCluster {
  readonly id: string;
  readonly name: string;
  readonly location: string;
  readonly resourceGroup: string;
  readonly connectivityStatus: string | undefined;
  readonly evaluatedAt: string | undefined;
  /** Non-compliant policies of the assignment on this cluster now. */
  readonly nonCompliant: number;
  readonly wouldDeny: readonly WouldDeny[];
  /** The assignment whose states prove deny after the wave (the parent, or its resource-group child). */
  readonly enforcingAssignmentId: string;
}

export interface WavePlan {
  readonly name: string;
  readonly locations: readonly string[];
  readonly resourceGroups: readonly string[];
  readonly mechanisms: readonly WaveMechanism[];
  readonly clusters: readonly PlannedCluster[];
  /** Clusters of the wave with at least one non-compliant policy of the assignment. */
  readonly nonCompliant: number;
  readonly wouldDeny: readonly WouldDeny[];
  /** Every assignment as it must be once this wave is applied (cumulative over earlier waves). */
  readonly desired: DesiredAssignments;
}

export interface RolloutPlan {
  readonly policyAssignmentId: string;
  readonly snapshot: PolicyAssignmentModel;
  readonly gates: RolloutGates;
  readonly autoRollback: boolean;
  readonly waves: readonly WavePlan[];
  readonly warnings: readonly string[];
}

export interface WaveApproval {
  readonly by: string;
  readonly at: string;
  /** The approver's comment, when one was given. */
  readonly comment?: string | undefined;
}

export interface RolloutWave {
  readonly name: string;
  readonly locations: readonly string[];
  readonly resourceGroups: readonly string[];
  readonly mechanisms: readonly WaveMechanism[];
  readonly state: WaveState;
  /** ARM ids of the wave's clusters. */
  readonly clusters: readonly string[];
  /** Latest gate result: clusters non-compliant. */
  readonly nonCompliant: number;
  /** Why the gate holds (empty when it passed or has not run), or why the bake regressed. */
  readonly reasons: readonly string[];
  readonly approval?: WaveApproval | undefined;
  /** Cluster id (lower-case) → enforcing assignment id (lower-case). */
  readonly enforcement: Readonly<Record<string, string>>;
  /** Non-compliant policy keys per cluster (lower-case id) when the gate passed: the bake compares with it. */
  readonly baseline?: Readonly<Record<string, readonly string[]>> | undefined;
  readonly desired: DesiredAssignments;
  readonly gatePassedAt?: string | undefined;
  readonly appliedAt?: string | undefined;
  readonly verifyStartedAt?: string | undefined;
  readonly bakeStartedAt?: string | undefined;
  readonly completedAt?: string | undefined;
}

/** Which step message the rollout expects next; any other message is a duplicate or stale. */
export interface StepCursor {
  readonly wave: number;
  readonly step: RolloutStep;
  readonly attempt: number;
}

/** A step message on the `rollout-steps` queue. */
export interface RolloutStepMessage extends StepCursor {
  readonly kind: 'rollout-step';
  readonly rolloutId: string;
}

/** A message the state machine asks to send after the transition is stored. */
export interface OutgoingStep {
  readonly message: RolloutStepMessage;
  readonly visibilityDelaySeconds: number;
}

export interface Rollout {
  readonly id: string;
  readonly policyAssignmentId: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly state: RolloutState;
  readonly gates: RolloutGates;
  readonly autoRollback: boolean;
  /** The parent assignment before the rollout: rollback writes it back exactly. */
  readonly snapshot: PolicyAssignmentModel;
  readonly waves: readonly RolloutWave[];
  /** Index of the wave in progress. */
  readonly currentWave: number;
  /** The expected next step; undefined when nothing is in flight (paused, terminal). */
  readonly cursor: StepCursor | undefined;
  /** The last step handled, and what it sent: a redelivered copy re-sends `outbox` (lost-send repair). */
  readonly lastHandled?: StepCursor | undefined;
  readonly outbox?: OutgoingStep | undefined;
  /**
   * When the outbox message becomes visible (the transition's time plus its delay, or the time of
   * the last re-send plus its delay): a rollout still expecting it well after that lost it.
   */
  readonly outboxDueAt?: string | undefined;
  /** False when sending the outbox is known to have failed: the next redelivery or sweep re-sends it at once. */
  readonly outboxSent?: boolean | undefined;
  /**
   * What the `rollback` step restores: `all` (the snapshot, every resource-group deny assignment
   * removed; the rollback command) or `wave` (only the current wave: the previous wave's desired state,
   * then paused; a bake regression with `autoRollback`). Absent = `all`.
   */
  readonly rollbackScope?: 'all' | 'wave' | undefined;
  /** The state `pause` came from. */
  readonly pausedFrom?: RolloutState | undefined;
  /** Why the rollout failed, was rolled back or paused by a regression. */
  readonly cause?: string | undefined;
  /** Number of events in the log (the next event's sequence number is `eventCount + 1`). */
  readonly eventCount: number;
}

export type RolloutEventType =
  | 'created'
  | 'gate-passed'
  | 'gate-blocked'
  | 'approved'
  | 'wave-applied'
  | 'verify-pending'
  | 'wave-verified'
  | 'wave-baked'
  | 'regression'
  | 'completed'
  | 'paused'
  | 'resumed'
  | 'aborted'
  | 'rollback-requested'
  | 'rolled-back'
  | 'failed';

export interface RolloutEvent {
  readonly seq: number;
  readonly at: string;
  readonly type: RolloutEventType;
  readonly wave?: number | undefined;
  readonly actor?: string | undefined;
  readonly message: string;
  /** A person's comment on the command (an approval's). */
  readonly comment?: string | undefined;
}

/** Lower-cased, spaceless Azure location: `West Europe` → `westeurope`. */
export function normaliseLocation(location: string): string {
  return location.replace(/\s+/g, '').toLowerCase();
}

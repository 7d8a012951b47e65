/**
 * The emulator's world: a fleet of Arc-connected clusters and the Azure Policy objects around them.
 *
 * `fleet/` generates it (seeded, deterministic); `server/` serves it over the ARM wire format and
 * mutates it (policy assignment writes, remediations, evaluations). Policy states are never stored:
 * they are derived on each query from clusters' workload facts and the *current* assignments, so an
 * assignment update (an override to Deny for some locations) changes later states.
 */

/** Any ARM resource as JSON on the wire (id, name, type, location, tags, kind, properties…). */
export type ArmResource = Record<string, unknown> & { id: string; name: string; type: string };

/** A policy definition the cluster's workloads violate, and which in-cluster resources do. */
export interface WorkloadViolation {
  /** Built-in policy definition GUID (lower-case), from ../shared/azure-policy-builtins or named in the issues. */
  readonly policyDefinitionName: string;
  /** In-cluster offenders, reported as policy state components (`$expand=components`). */
  readonly components: readonly { readonly id: string; readonly name: string; readonly type: string }[];
}

export interface FleetCluster {
  /** Microsoft.Kubernetes/connectedClusters in the api-version 2026-03-01 shape. */
  resource: ArmResource;
  /** Microsoft.KubernetesConfiguration/extensions (2023-05-01 shape). */
  extensions: ArmResource[];
  /** Microsoft.KubernetesConfiguration/fluxConfigurations (2023-05-01 shape). */
  fluxConfigurations: ArmResource[];
  /** What runs in the cluster, as far as policies can see; empty = every workload complies. */
  violations: WorkloadViolation[];
  /** Set by fault mode: after an assignment update selects this cluster, it starts violating these. */
  regressAfterApply?: WorkloadViolation[];
}

/** One Azure Activity Log entry (`EventData`, Microsoft.Insights 2015-04-01) as served on the wire. */
export type ActivityLogRecord = Record<string, unknown>;

export interface FleetSubscription {
  readonly subscriptionId: string;
  readonly displayName: string;
  readonly state: 'Enabled' | 'Disabled' | 'Warned';
}

/** Member of an initiative (policy set definition). */
export interface PolicySetMember {
  readonly policyDefinitionId: string;
  readonly policyDefinitionReferenceId: string;
}

export interface FleetModel {
  readonly tenantId: string;
  readonly subscriptions: FleetSubscription[];
  readonly clusters: FleetCluster[];
  /** Microsoft.Authorization/policyAssignments (2025-03-01 shape). Mutated by PUT/PATCH. */
  readonly policyAssignments: ArmResource[];
  /** Microsoft.Authorization/policyExemptions (2024-12-01-preview shape). */
  readonly policyExemptions: ArmResource[];
  /**
   * Initiative name (lower-case) → members: the real built-in initiatives (keyed by GUID), plus the
   * custom ones a client PUTs at subscription scope (keyed by their name, which the emulator's route
   * registers here so that derived policy states and remediations see them).
   */
  readonly policySets: Record<string, readonly PolicySetMember[]>;
  /** Microsoft.PolicyInsights/remediations created through the emulator. */
  readonly remediations: ArmResource[];
  /**
   * The Activity Log of every subscription (each entry names its `subscriptionId`); tests append to it.
   * Absent = empty. Served by `activityLogs.list` with the service's `$filter` rules and paging.
   */
  readonly activityLog?: ActivityLogRecord[];
  /**
   * Microsoft.PolicyInsights/policyMetadata resources (2019-10-01 wire shape), served verbatim.
   * Absent = one per group of the five regulatory initiatives, without a title (see
   * `wire/routes/policy-metadata-routes.ts`).
   */
  readonly policyMetadata?: ArmResource[];
}

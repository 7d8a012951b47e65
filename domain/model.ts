/**
 * The shared vocabulary of arc-compliance: what the collector observes about a cluster
 * ({@link ClusterSnapshot}) and what the evaluator concludes ({@link ClusterEvaluation}).
 *
 * Pure types only. Adapters translate ARM wire JSON into these shapes; nothing here knows about
 * Azure SDKs, HTTP or storage.
 */

export type Severity = 'high' | 'medium' | 'low';
export type ControlStatus = 'pass' | 'fail' | 'unknown' | 'not_applicable' | 'exempt';

/** One installed cluster extension (Microsoft.KubernetesConfiguration/extensions). */
export interface ExtensionFact {
  readonly name: string;
  /** As ARM returns it; compare case-insensitively (several spellings exist). */
  readonly extensionType: string;
  readonly provisioningState: string | undefined;
  readonly version: string | undefined;
}

/** One Flux configuration (Microsoft.KubernetesConfiguration/fluxConfigurations). */
export interface FluxFact {
  readonly name: string;
  readonly complianceState: string | undefined;
}

/** One in-cluster resource reported by `$expand=components` on a policy state. */
export interface PolicyComponentFact {
  readonly id: string;
  readonly name: string | undefined;
  readonly type: string | undefined;
  readonly complianceState: string | undefined;
}

/**
 * One latest policy state for a cluster (Microsoft.PolicyInsights policyStates/latest).
 * Ids are lower-cased by the adapter: Policy Insights returns lower-case resource ids and ARM
 * ids compare case-insensitively.
 */
export interface PolicyStateFact {
  /** Lower-cased ARM id of the evaluated resource (the cluster). */
  readonly resourceId: string;
  readonly policyAssignmentId: string;
  /** Lower-cased full id, e.g. `/providers/microsoft.authorization/policydefinitions/<guid>`. */
  readonly policyDefinitionId: string;
  /** The definition GUID (last id segment), lower-cased. */
  readonly policyDefinitionName: string;
  /** Initiative GUID when the state came through an initiative, lower-cased. */
  readonly policySetDefinitionName: string | undefined;
  readonly policyDefinitionReferenceId: string | undefined;
  /** `Compliant`, `NonCompliant`, `Exempt`, `Conflicting`, `Unknown`… as ARM returns it. */
  readonly complianceState: string;
  /** Effect in force, lower-case as Policy Insights reports it (`audit`, `deny`, …). */
  readonly policyDefinitionAction: string;
  readonly timestamp: string | undefined;
  /** In-cluster offenders (only when the query used `$expand=components`). */
  readonly components: readonly PolicyComponentFact[] | undefined;
}

/** Connected-cluster properties the controls read (2026-03-01 wire shape, all optional). */
export interface ClusterProperties {
  readonly distribution?: string | undefined;
  readonly kubernetesVersion?: string | undefined;
  readonly infrastructure?: string | undefined;
  readonly agentVersion?: string | undefined;
  readonly totalNodeCount?: number | undefined;
  readonly provisioningState?: string | undefined;
  readonly connectivityStatus?: string | undefined;
  readonly lastConnectivityTime?: string | undefined;
  readonly managedIdentityCertificateExpirationTime?: string | undefined;
  readonly aadProfile?: { readonly enableAzureRBAC?: boolean | undefined; readonly adminGroupObjectIDs?: readonly string[] | undefined; readonly tenantID?: string | undefined } | undefined;
  readonly arcAgentProfile?: { readonly agentAutoUpgrade?: string | undefined; readonly desiredAgentVersion?: string | undefined } | undefined;
  readonly securityProfile?: { readonly workloadIdentity?: { readonly enabled?: boolean | undefined } | undefined } | undefined;
  readonly oidcIssuerProfile?: { readonly enabled?: boolean | undefined; readonly issuerUrl?: string | undefined } | undefined;
}

/**
 * Everything collected about one Arc-connected cluster in one run.
 * A `null` collection means that part could not be collected (controls reading it report `unknown`);
 * an empty array means it was collected and there is nothing.
 */
export interface ClusterSnapshot {
  /** ARM resource id as ARM returned it (original casing). */
  readonly id: string;
  readonly name: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** Normalised Azure location (lower-case, no spaces), e.g. `westeurope`. */
  readonly location: string;
  /** `ProvisionedCluster` for AKS on Azure Local; undefined for a connected (bring-your-own) cluster. */
  readonly kind: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  readonly properties: ClusterProperties;
  readonly extensions: readonly ExtensionFact[] | null;
  readonly fluxConfigurations: readonly FluxFact[] | null;
  readonly policyStates: readonly PolicyStateFact[] | null;
  /**
   * Admin kubeconfig downloads (break-glass) read from the Azure Activity Log for ARC-TD-04; `null` or
   * absent when the log could not be read for the run (the control is then `unknown`).
   */
  readonly breakGlass?: readonly import('./control-plane-events.js').BreakGlassFact[] | null | undefined;
}

/** Bounded list of offenders: at most a fixed number of items plus the total, so storage limits hold. */
export interface OffenderList {
  readonly items: readonly string[];
  readonly total: number;
}

/** The outcome of one control for one cluster. */
export interface ControlResult {
  readonly controlId: string;
  readonly status: ControlStatus;
  readonly severity: Severity;
  /** Human-readable statement of what was observed, e.g. `aadProfile.enableAzureRBAC is false`. */
  readonly evidence: string;
  /** Machine-readable reason for non-pass outcomes: `not-assigned`, `not-collected`, `exception:<id>`, … */
  readonly reason?: string | undefined;
  /** Offending policies / in-cluster resources for policy controls. */
  readonly offenders?: OffenderList | undefined;
}

/** A cluster's evaluation in one run. */
export interface ClusterEvaluation {
  readonly clusterId: string;
  readonly evaluatedAt: string;
  readonly runId: string;
  readonly controls: readonly ControlResult[];
  /** Severity-weighted score 0..100 (see `domain/scoring.ts`). */
  readonly score: number;
  readonly failedControls: readonly string[];
}

/** A time-bound waiver of one control for one cluster or a whole resource group. */
export interface ControlException {
  readonly id: string;
  readonly controlId: string;
  /** Lower-cased ARM id of a cluster or a resource group. */
  readonly scope: string;
  readonly justification: string;
  readonly ticket: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly expiresAt: string;
}

/** Count of clusters per status for one control. */
export type StatusTally = Record<ControlStatus, number>;

export interface PostureTotals {
  readonly clusters: number;
  /** Clusters with no control in `fail` (exempt, unknown and not_applicable do not fail a cluster). */
  readonly compliant: number;
  readonly noncompliant: number;
  readonly stale: number;
  /** Mean of cluster scores, 0..100, one decimal. */
  readonly averageScore: number;
}

/**
 * One framework's requirements by status over the fleet (the statuses of its unfiltered report:
 * `domain/framework-report.ts`).
 */
export interface FrameworkPosture {
  readonly requirements: number;
  readonly passing: number;
  readonly failing: number;
  readonly notAssessed: number;
  readonly manual: number;
}

/** Fleet posture precomputed at the end of each run so that reads never scan. */
export interface FleetSummary {
  readonly runId: string;
  readonly generatedAt: string;
  readonly totals: PostureTotals;
  readonly perControl: Readonly<Record<string, StatusTally>>;
  readonly perSubscription: Readonly<Record<string, PostureTotals>>;
  /** Per framework id; absent from summaries stored before it was computed at finalize. */
  readonly perFramework?: Readonly<Record<string, FrameworkPosture>>;
}

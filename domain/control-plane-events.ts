/**
 * Control-plane watch: which Azure Activity Log entries concern an Arc-connected cluster, what kind of
 * change each one is, how severe, and what the `controlplane.change.detected` event and the
 * break-glass control (ARC-TD-04) read from them. Pure: time is always passed in.
 *
 * Watched operations (names as each resource provider's operation list spells them; the Activity Log
 * writes them in any case, so they compare case-insensitively); see docs/controls.md for the sources:
 * - `Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action` — the
 *   admin client certificate of AKS enabled by Azure Arc, which bypasses Entra ID (break-glass);
 * - `Microsoft.Kubernetes/connectedClusters/listClusterUserCredential/action` — cluster connect;
 * - `Microsoft.KubernetesConfiguration/extensions/delete` and `/write`;
 * - `Microsoft.Authorization/roleAssignments/write` and `/delete` on a cluster or its resource group;
 * - `Microsoft.Authorization/policyAssignments/write|delete` and `policyExemptions/write|delete` on a
 *   cluster or its resource group, by anyone but arc-compliance's own identity.
 */
import type { Severity } from './model.js';

export type ControlPlaneEventKind =
  | 'break-glass-credential'
  | 'cluster-connect-credential'
  | 'extension-deleted'
  | 'extension-written'
  | 'role-assignment-written'
  | 'role-assignment-deleted'
  | 'policy-assignment-written'
  | 'policy-assignment-deleted'
  | 'policy-exemption-written'
  | 'policy-exemption-deleted';

/** Where the operation must happen to concern a cluster. */
type Target = 'cluster-or-child' | 'cluster-or-resource-group';

interface WatchedOperation {
  readonly operation: string;
  readonly kind: ControlPlaneEventKind;
  readonly target: Target;
  /** Changes arc-compliance makes itself (rollouts write policy assignments) are not reported. */
  readonly ignoreOwnIdentity: boolean;
}

/** Every watched operation, in the resource providers' spelling. */
export const WATCHED_OPERATIONS: readonly WatchedOperation[] = Object.freeze([
  { operation: 'Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action', kind: 'break-glass-credential', target: 'cluster-or-child', ignoreOwnIdentity: false },
  { operation: 'Microsoft.Kubernetes/connectedClusters/listClusterUserCredential/action', kind: 'cluster-connect-credential', target: 'cluster-or-child', ignoreOwnIdentity: false },
  { operation: 'Microsoft.KubernetesConfiguration/extensions/delete', kind: 'extension-deleted', target: 'cluster-or-child', ignoreOwnIdentity: false },
  { operation: 'Microsoft.KubernetesConfiguration/extensions/write', kind: 'extension-written', target: 'cluster-or-child', ignoreOwnIdentity: false },
  { operation: 'Microsoft.Authorization/roleAssignments/write', kind: 'role-assignment-written', target: 'cluster-or-resource-group', ignoreOwnIdentity: false },
  { operation: 'Microsoft.Authorization/roleAssignments/delete', kind: 'role-assignment-deleted', target: 'cluster-or-resource-group', ignoreOwnIdentity: false },
  { operation: 'Microsoft.Authorization/policyAssignments/write', kind: 'policy-assignment-written', target: 'cluster-or-resource-group', ignoreOwnIdentity: true },
  { operation: 'Microsoft.Authorization/policyAssignments/delete', kind: 'policy-assignment-deleted', target: 'cluster-or-resource-group', ignoreOwnIdentity: true },
  { operation: 'Microsoft.Authorization/policyExemptions/write', kind: 'policy-exemption-written', target: 'cluster-or-resource-group', ignoreOwnIdentity: true },
  { operation: 'Microsoft.Authorization/policyExemptions/delete', kind: 'policy-exemption-deleted', target: 'cluster-or-resource-group', ignoreOwnIdentity: true },
]);

const BY_OPERATION = new Map(WATCHED_OPERATIONS.map((o) => [o.operation.toLowerCase(), o]));

/** The catalog spelling of a watched operation (any case), or undefined. */
export function watchedOperation(name: string): string | undefined {
  return BY_OPERATION.get(name.toLowerCase())?.operation;
}

/** The operation the break-glass control (ARC-TD-04) counts. */
export const BREAK_GLASS_OPERATION = 'Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action';

/** The Activity Log's retention: the service refuses an `eventTimestamp` range starting earlier. */
export const ACTIVITY_LOG_MAX_DAYS = 90;

/**
 * One Activity Log entry as the adapter reads it (`EventData`, 2015-04-01), reduced to what the watch
 * needs. Strings as logged; absent fields undefined.
 */
export interface ActivityLogEntry {
  readonly eventDataId: string;
  readonly eventTimestamp: string;
  readonly submissionTimestamp?: string | undefined;
  readonly operationName: string;
  /** `Started`, `Accepted`, `Succeeded`, `Failed`… (`status.value`). */
  readonly status: string;
  readonly subStatus?: string | undefined;
  readonly caller?: string | undefined;
  /** `claims.appid`: the application (client) id of the caller's token. */
  readonly callerAppId?: string | undefined;
  /** `claims.http://schemas.microsoft.com/identity/claims/objectidentifier`. */
  readonly callerObjectId?: string | undefined;
  readonly resourceId: string;
  readonly subscriptionId: string;
  readonly correlationId?: string | undefined;
  readonly clientIpAddress?: string | undefined;
}

/** The security extensions whose deletion opens an incident, and the control each one backs. */
export type SecurityExtension = 'defender' | 'azure-policy' | 'monitoring';
export const SECURITY_EXTENSION_CONTROL: Readonly<Record<SecurityExtension, string>> = Object.freeze({
  defender: 'ARC-TD-01',
  'azure-policy': 'ARC-PL-01',
  monitoring: 'ARC-TD-02',
});

/** Extension types (lower-case) of each security extension, legacy spellings included. */
const SECURITY_EXTENSION_TYPES: Readonly<Record<string, SecurityExtension>> = Object.freeze({
  'microsoft.azuredefender.kubernetes': 'defender',
  'microsoft.policyinsights': 'azure-policy',
  'microsoft.azuremonitor.containers': 'monitoring',
  'azuremonitor-containers': 'monitoring',
});

/**
 * Extension names the Azure CLI and portal give these extensions by default; used when the
 * extension's type is not known (the Activity Log names the extension, never its type).
 */
const DEFAULT_EXTENSION_NAMES: Readonly<Record<string, SecurityExtension>> = Object.freeze({
  'microsoft.azuredefender.kubernetes': 'defender',
  azurepolicy: 'azure-policy',
  'azuremonitor-containers': 'monitoring',
  containerinsights: 'monitoring',
});

/** Which security extension an extension is, from its type when known, else its default name. */
export function securityExtensionOf(name: string, extensionType: string | undefined): SecurityExtension | undefined {
  if (extensionType !== undefined && extensionType !== '') return SECURITY_EXTENSION_TYPES[extensionType.toLowerCase()];
  return DEFAULT_EXTENSION_NAMES[name.toLowerCase()];
}

/** A kept control-plane change, as stored and served by the API. */
export interface ControlPlaneEvent {
  /** The Activity Log's unique id of the entry: the key that makes reading it twice harmless. */
  readonly eventDataId: string;
  readonly kind: ControlPlaneEventKind;
  /** Catalog spelling of the operation. */
  readonly operation: string;
  readonly status: string;
  readonly subStatus?: string | undefined;
  /** Who did it (UPN, or object id of a service principal), `unknown` when the log names nobody. */
  readonly caller: string;
  readonly callerAppId?: string | undefined;
  readonly eventTimestamp: string;
  readonly submissionTimestamp?: string | undefined;
  /** Lower-cased. */
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** The resource the operation targeted, as logged. */
  readonly resourceId: string;
  /** The cluster concerned (ARM id, lower-cased); absent for a resource-group change (see `clusterIds`). */
  readonly clusterId?: string | undefined;
  readonly clusterName?: string | undefined;
  /** A resource-group change: the clusters of the group known when it was read (lower-cased ids, at most {@link MAX_CLUSTERS_PER_EVENT}). */
  readonly clusterIds?: readonly string[] | undefined;
  readonly extensionName?: string | undefined;
  readonly securityExtension?: SecurityExtension | undefined;
  readonly severity: Severity;
  readonly correlationId?: string | undefined;
  readonly clientIpAddress?: string | undefined;
  /** The Azure location of the cluster(s) concerned when known (a resource-group change: when all its clusters share one). */
  readonly location?: string | undefined;
}

/** Clusters listed on one resource-group change (a group holds a handful of edge clusters). */
export const MAX_CLUSTERS_PER_EVENT = 100;

/** Entry statuses that are not an outcome: the terminal entry of the same operation follows. */
const NON_TERMINAL = new Set(['started', 'accepted', 'in progress', 'inprogress']);

const CONNECTED_CLUSTER = /^(\/subscriptions\/[^/]+\/resourcegroups\/([^/]+)\/providers\/microsoft\.kubernetes\/connectedclusters\/([^/]+))(\/.*)?$/i;
const RESOURCE_GROUP_SCOPE = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.authorization\/(?:roleassignments|policyassignments|policyexemptions)\/[^/]+$/i;
const EXTENSION = /\/providers\/microsoft\.kubernetesconfiguration\/extensions\/([^/]+)$/i;

export interface ClassifyContext {
  /** arc-compliance's own identity (client id, and object id when known): its policy changes are not reported. */
  readonly ownIdentities: readonly string[];
  /** Lower-cased resource group → lower-cased ids of the clusters in it (subscription of the entry). */
  readonly clustersByResourceGroup: ReadonlyMap<string, readonly string[]>;
  /** Lower-cased cluster id → extension name (lower-case) → type, as last listed. */
  readonly extensionTypes?: ReadonlyMap<string, ReadonlyMap<string, string>> | undefined;
  /** Lower-cased cluster id → Azure location, as last listed (the Activity Log does not carry it). */
  readonly clusterLocations?: ReadonlyMap<string, string> | undefined;
}

function severityOf(kind: ControlPlaneEventKind, securityExtension: SecurityExtension | undefined): Severity {
  switch (kind) {
    case 'break-glass-credential':
      return 'high';
    case 'extension-deleted':
      return securityExtension === 'defender' || securityExtension === 'azure-policy' ? 'high' : securityExtension === 'monitoring' ? 'medium' : 'low';
    case 'role-assignment-written':
    case 'role-assignment-deleted':
    case 'policy-assignment-deleted':
    case 'policy-exemption-written':
      return 'medium';
    case 'extension-written':
      return securityExtension !== undefined ? 'medium' : 'low';
    default:
      return 'low';
  }
}

/**
 * The control-plane event an Activity Log entry stands for, or undefined when the watch ignores it:
 * an operation not watched, an entry that is not an outcome (`Started`, `Accepted`), a resource that
 * is neither an Arc-connected cluster nor a child of one (nor, for role and policy changes, a
 * resource group holding one), or a policy change made by arc-compliance itself.
 */
export function classifyActivityLogEntry(entry: ActivityLogEntry, context: ClassifyContext): ControlPlaneEvent | undefined {
  const watched = BY_OPERATION.get(entry.operationName.toLowerCase());
  if (watched === undefined) return undefined;
  if (entry.eventDataId === '' || Number.isNaN(Date.parse(entry.eventTimestamp))) return undefined;
  if (NON_TERMINAL.has(entry.status.trim().toLowerCase())) return undefined;
  if (watched.ignoreOwnIdentity) {
    const own = new Set(context.ownIdentities.map((i) => i.toLowerCase()).filter((i) => i !== ''));
    const who = [entry.callerAppId, entry.callerObjectId, entry.caller].filter((x): x is string => x !== undefined).map((x) => x.toLowerCase());
    if (who.some((w) => own.has(w))) return undefined;
  }
  const cluster = CONNECTED_CLUSTER.exec(entry.resourceId);
  let clusterId: string | undefined;
  let clusterName: string | undefined;
  let clusterIds: readonly string[] | undefined;
  let resourceGroup: string;
  if (cluster !== null) {
    clusterId = cluster[1]!.toLowerCase();
    resourceGroup = cluster[2]!;
    clusterName = cluster[3]!;
  } else {
    if (watched.target !== 'cluster-or-resource-group') return undefined;
    const rg = RESOURCE_GROUP_SCOPE.exec(entry.resourceId);
    if (rg === null) return undefined;
    resourceGroup = rg[2]!;
    const inGroup = context.clustersByResourceGroup.get(resourceGroup.toLowerCase()) ?? [];
    if (inGroup.length === 0) return undefined;
    clusterIds = [...inGroup].sort().slice(0, MAX_CLUSTERS_PER_EVENT);
  }
  const extensionName = watched.kind === 'extension-deleted' || watched.kind === 'extension-written' ? EXTENSION.exec(entry.resourceId)?.[1] : undefined;
  if ((watched.kind === 'extension-deleted' || watched.kind === 'extension-written') && extensionName === undefined) return undefined;
  const knownType = extensionName !== undefined && clusterId !== undefined ? context.extensionTypes?.get(clusterId)?.get(extensionName.toLowerCase()) : undefined;
  const securityExtension = extensionName !== undefined ? securityExtensionOf(extensionName, knownType) : undefined;
  const locations = new Set((clusterId !== undefined ? [clusterId] : (clusterIds ?? [])).map((id) => context.clusterLocations?.get(id)));
  const location = locations.size === 1 ? [...locations][0] : undefined;
  return {
    eventDataId: entry.eventDataId,
    kind: watched.kind,
    operation: watched.operation,
    status: entry.status,
    ...(entry.subStatus !== undefined && entry.subStatus !== '' ? { subStatus: entry.subStatus } : {}),
    caller: entry.caller !== undefined && entry.caller !== '' ? entry.caller : 'unknown',
    ...(entry.callerAppId !== undefined ? { callerAppId: entry.callerAppId } : {}),
    eventTimestamp: new Date(Date.parse(entry.eventTimestamp)).toISOString(),
    ...(entry.submissionTimestamp !== undefined && !Number.isNaN(Date.parse(entry.submissionTimestamp)) ? { submissionTimestamp: new Date(Date.parse(entry.submissionTimestamp)).toISOString() } : {}),
    subscriptionId: entry.subscriptionId.toLowerCase(),
    resourceGroup,
    resourceId: entry.resourceId,
    ...(clusterId !== undefined ? { clusterId, clusterName } : {}),
    ...(clusterIds !== undefined ? { clusterIds } : {}),
    ...(extensionName !== undefined ? { extensionName } : {}),
    ...(securityExtension !== undefined ? { securityExtension } : {}),
    severity: severityOf(watched.kind, securityExtension),
    ...(entry.correlationId !== undefined && entry.correlationId !== '' ? { correlationId: entry.correlationId } : {}),
    ...(entry.clientIpAddress !== undefined && entry.clientIpAddress !== '' ? { clientIpAddress: entry.clientIpAddress } : {}),
    ...(location !== undefined && location !== '' ? { location } : {}),
  };
}

/** Every cluster an event concerns (lower-cased ids). */
export function clustersOf(event: Pick<ControlPlaneEvent, 'clusterId' | 'clusterIds'>): string[] {
  return event.clusterId !== undefined ? [event.clusterId] : [...(event.clusterIds ?? [])];
}

const DAY_MS = 86_400_000;

/**
 * The `$filter` of one Activity Log read: the `eventTimestamp` range the service requires (callers take
 * the range from {@link nextReadWindow}, which never starts more than {@link ACTIVITY_LOG_MAX_DAYS} back).
 */
export function activityLogFilter(from: Date, to: Date): string {
  return `eventTimestamp ge '${from.toISOString()}' and eventTimestamp le '${to.toISOString()}'`;
}

/**
 * How much earlier than the watermark each read starts. The Activity Log makes an entry readable
 * minutes after it happened (`submissionTimestamp` after `eventTimestamp`), so a read up to `now` can
 * miss entries of its last minutes that appear later with an earlier `eventTimestamp`. Re-reading an
 * hour is harmless: entries are keyed by `eventDataId`.
 */
export const ACTIVITY_LOG_INGESTION_OVERLAP_MS = 60 * 60 * 1000;

/** What a subscription's watch has read so far: the continuous `eventTimestamp` range covered. */
export interface WatchCoverage {
  readonly from: string;
  readonly to: string;
}

/**
 * The range of the next read of a subscription: from the watermark minus the ingestion overlap, or
 * from `lookbackDays` back when the coverage does not reach that far (a first read, a raised lookback),
 * clamped to the service's 90 days (a minute inside it, so a slow request is not refused).
 *
 * `lookbackFrom` (default `now`) is the instant the lookback is counted back from. A run's collect
 * passes the run start: a large estate collects subscriptions for minutes after the run started, and a
 * first read counted back from its own `now` would start after the run's lookback window and never
 * cover it (see {@link coversLookback}).
 */
export function nextReadWindow(coverage: WatchCoverage | undefined, now: Date, lookbackDays: number, lookbackFrom: Date = now): { from: Date; to: Date } {
  const oldest = now.getTime() - ACTIVITY_LOG_MAX_DAYS * DAY_MS + 60_000;
  const wantedFrom = Math.min(now.getTime(), lookbackFrom.getTime()) - lookbackDays * DAY_MS;
  let from: number;
  if (coverage === undefined || Date.parse(coverage.from) > wantedFrom || Date.parse(coverage.to) < wantedFrom) {
    from = wantedFrom;
  } else {
    from = Date.parse(coverage.to) - ACTIVITY_LOG_INGESTION_OVERLAP_MS;
  }
  return { from: new Date(Math.max(oldest, Math.min(from, now.getTime()))), to: now };
}

/** The coverage after a successful read of `window` (extended when it continues the previous one). */
export function extendCoverage(coverage: WatchCoverage | undefined, window: { from: Date; to: Date }): WatchCoverage {
  const from = window.from.toISOString();
  const to = window.to.toISOString();
  if (coverage === undefined || Date.parse(coverage.to) < window.from.getTime()) return { from, to };
  return { from: Date.parse(coverage.from) < window.from.getTime() ? coverage.from : from, to: Date.parse(coverage.to) > window.to.getTime() ? coverage.to : to };
}

/** Whether the coverage holds every entry ARC-TD-04 reads for a run started at `runStartedAt`. */
export function coversLookback(coverage: WatchCoverage | undefined, runStartedAt: Date, lookbackDays: number): boolean {
  if (coverage === undefined) return false;
  const need = runStartedAt.getTime() - Math.min(lookbackDays, ACTIVITY_LOG_MAX_DAYS) * DAY_MS + 60_000;
  return Date.parse(coverage.from) <= need && Date.parse(coverage.to) >= runStartedAt.getTime();
}

// ---------------------------------------------------------------------------------------------
// ARC-TD-04: break-glass admin access reviewed
// ---------------------------------------------------------------------------------------------

/** A break-glass download as ARC-TD-04 reads it. */
export interface BreakGlassFact {
  readonly eventDataId: string;
  readonly caller: string;
  readonly eventTimestamp: string;
  readonly status: string;
}

/** Default of `BREAK_GLASS_LOOKBACK_DAYS`. */
export const DEFAULT_BREAK_GLASS_LOOKBACK_DAYS = 30;

/**
 * The Succeeded admin-credential downloads within `lookbackDays` before the run start (a later one
 * belongs to the next run), oldest first.
 */
export function breakGlassWithin(facts: readonly BreakGlassFact[], runStartedAt: Date, lookbackDays: number): BreakGlassFact[] {
  const end = runStartedAt.getTime();
  const start = end - lookbackDays * DAY_MS;
  return facts
    .filter((f) => f.status.toLowerCase() === 'succeeded')
    .filter((f) => {
      const t = Date.parse(f.eventTimestamp);
      return t > start && t <= end;
    })
    .sort((a, b) => Date.parse(a.eventTimestamp) - Date.parse(b.eventTimestamp) || a.eventDataId.localeCompare(b.eventDataId));
}

// ---------------------------------------------------------------------------------------------
// controlplane.change.detected
// ---------------------------------------------------------------------------------------------

/** `data` of `controlplane.change.detected`: the stored event as is. */
export type ControlPlaneChangeDetectedData = ControlPlaneEvent;

/** Whether an event opens (or refreshes) a ServiceNow incident, and under which control's correlation id. */
export function incidentControlOf(event: Pick<ControlPlaneEvent, 'kind' | 'status' | 'securityExtension'>): string | undefined {
  if (event.status.toLowerCase() !== 'succeeded') return undefined;
  if (event.kind === 'break-glass-credential') return 'ARC-TD-04';
  if (event.kind === 'extension-deleted' && event.securityExtension !== undefined) return SECURITY_EXTENSION_CONTROL[event.securityExtension];
  return undefined;
}

/** What ARC-TD-04 concludes for one cluster, before severity and exceptions are applied. */
export interface BreakGlassOutcome {
  readonly status: 'pass' | 'fail' | 'unknown' | 'not_applicable';
  readonly reason?: string | undefined;
  readonly evidence: string;
  readonly offenders?: readonly string[] | undefined;
}

/**
 * ARC-TD-04 "Break-glass admin access reviewed": applies to `kind: ProvisionedCluster` (AKS enabled by
 * Azure Arc, the only kind with an admin client certificate); `unknown` when the Activity Log could not
 * be read for the run (`facts` null or absent); `fail` (`break-glass-used`) when a Succeeded
 * `listAdminKubeconfig` happened within `lookbackDays` before the run start, naming each caller and
 * time; else `pass`. Exceptions are applied by the evaluator like for every control.
 */
export function evaluateBreakGlass(kind: string | undefined, facts: readonly BreakGlassFact[] | null | undefined, runStartedAt: Date, lookbackDays: number): BreakGlassOutcome {
  if (kind === undefined || kind.toLowerCase() !== 'provisionedcluster') {
    return { status: 'not_applicable', evidence: `only AKS enabled by Azure Arc (kind ProvisionedCluster) has an admin client certificate; kind is ${kind ?? 'not set'}` };
  }
  if (facts === null || facts === undefined) {
    return { status: 'unknown', reason: 'not-collected', evidence: 'the Azure Activity Log could not be read for this run' };
  }
  const used = breakGlassWithin(facts, runStartedAt, lookbackDays);
  if (used.length === 0) {
    return { status: 'pass', evidence: `no admin kubeconfig download (listAdminKubeconfig) in the ${lookbackDays} days before the run start` };
  }
  const who = used.map((f) => `${f.caller} at ${f.eventTimestamp}`);
  return {
    status: 'fail',
    reason: 'break-glass-used',
    evidence: `${used.length} admin kubeconfig download${used.length === 1 ? '' : 's'} (listAdminKubeconfig, break-glass) in the ${lookbackDays} days before the run start: ${who.join('; ')}`,
    offenders: used.map((f) => `${f.caller} at ${f.eventTimestamp} (Activity Log event ${f.eventDataId})`),
  };
}

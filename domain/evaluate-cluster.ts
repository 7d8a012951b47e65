/**
 * Evaluates one cluster snapshot against the control catalog. Pure and deterministic: the same
 * snapshot, context and exceptions always give the same evaluation (redelivered queue messages
 * store the same result), and every time rule uses the run's start time, never a clock.
 *
 * Semantics (pinned by test/unit/domain):
 * - Statuses: `pass | fail | unknown | not_applicable | exempt`.
 * - `unknown` (reason `not-collected`) only when the collection a control reads is `null`, i.e. could
 *   not be collected. A missing property means "not configured" and fails (reason `not-configured`).
 * - Policy controls read the cluster's latest policy states for the control's definitions (whether
 *   assigned directly or through any initiative) and states that came through its named initiatives.
 *   No such state → fail `not-assigned`; any `NonCompliant` → fail `noncompliant` with the offending
 *   policies and in-cluster components; otherwise any state neither Compliant, NonCompliant nor
 *   Exempt (`Unknown`, `Conflicting`, …) → fail `not-evaluated`; otherwise any `Exempt` → exempt
 *   (`policy-exemption`); otherwise (all `Compliant`) → pass.
 * - Extension controls: extension types compare case-insensitively, legacy spellings included; pass
 *   when a matching extension has provisioningState `Succeeded`; none → fail `not-installed`;
 *   present but not Succeeded → fail `not-healthy`.
 * - ARC-AC-04: the `environment` tag (name and value case-insensitive) must be dev, test or prod
 *   (`missing-environment-tag` / `invalid-environment`). Mixing fails BOTH sides: a prod cluster whose
 *   subscription + resource group also holds a non-prod cluster fails, and so does every non-prod
 *   cluster sharing a resource group with a prod one (reason `mixed-resource-group`, offenders = the
 *   clusters on the other side). The resource group is the Azure RBAC boundary: the mix is a property of
 *   the group, and each cluster in it is reachable by the other environment's role assignments. A peer
 *   without a valid tag counts as non-prod (only a cluster known to be prod is treated as prod).
 * - ARC-PL-04: not_applicable unless the cluster is tagged prod. On prod: unknown when policy states
 *   were not collected; fail `not-assigned` when no ARC-PL-02/ARC-PL-03 state exists; fail
 *   `not-enforced` when any of those states has an action other than `deny`; else pass.
 * - ARC-OP-01: `connectivityStatus` Connected (case-insensitive) and `lastConnectivityTime` no more
 *   than 24 h before the run start (a time after the run start counts as recent).
 * - ARC-OP-02: `managedIdentityCertificateExpirationTime` strictly more than 30 days after the run start.
 * - Exceptions: a `fail` becomes `exempt` with reason `exception:<id>` when an exception for the control
 *   is scoped to the cluster id or its resource group id (case-insensitive) and has not expired at the
 *   run start. Other statuses are left alone.
 */
import {
  getControl,
  listControls,
  type ControlDefinition,
  type ControlId,
} from './control-catalog.js';
import { DEFAULT_BREAK_GLASS_LOOKBACK_DAYS, evaluateBreakGlass } from './control-plane-events.js';
import { environmentOf, environmentTagValue } from './environment.js';
import { findActiveException, resourceGroupId } from './exceptions.js';
import type {
  ClusterEvaluation,
  ClusterSnapshot,
  ControlException,
  ControlResult,
  ControlStatus,
  ExtensionFact,
  PolicyStateFact,
} from './model.js';
import { boundedEvidence, boundedOffenders } from './offender-list.js';
import { scoreControls } from './scoring.js';

export interface EvaluationContext {
  readonly runId: string;
  /** The run's start: every time rule is measured from it. */
  readonly runStartedAt: Date;
  /** Every cluster in the same subscription and resource group, the evaluated one included. */
  readonly resourceGroupPeers: readonly ClusterSnapshot[];
  readonly exceptions: readonly ControlException[];
  /** ARC-TD-04: days before the run start in which a break-glass download fails the control (default 30). */
  readonly breakGlassLookbackDays?: number | undefined;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** ARC-OP-01: last heartbeat no older than this before the run start. */
export const CONNECTIVITY_MAX_AGE_MS = 24 * HOUR_MS;
/** ARC-OP-02: certificate must outlive the run start by more than this. */
export const CERTIFICATE_MIN_REMAINING_MS = 30 * DAY_MS;

/** Accepted extension types per extension control (lower-case; legacy spellings included). */
export const EXTENSION_TYPES = Object.freeze({
  'ARC-PL-01': ['microsoft.policyinsights'],
  'ARC-TD-01': ['microsoft.azuredefender.kubernetes'],
  'ARC-TD-02': ['microsoft.azuremonitor.containers', 'azuremonitor-containers'],
  'ARC-TD-03': ['microsoft.dataprotection.kubernetes'],
} as const satisfies Partial<Record<ControlId, readonly string[]>>);

/** What a control check returns before severity and exceptions are applied. */
interface Outcome {
  readonly status: ControlStatus;
  readonly evidence: string;
  readonly reason?: string | undefined;
  readonly offenders?: readonly string[] | undefined;
}

const eq = (a: string | undefined, b: string): boolean => a !== undefined && a.toLowerCase() === b.toLowerCase();

const notCollected = (what: string): Outcome => ({
  status: 'unknown',
  reason: 'not-collected',
  evidence: `${what} could not be collected in this run`,
});

// ---------------------------------------------------------------------------------------------
// Policy controls
// ---------------------------------------------------------------------------------------------

/** The states a policy-backed control reads. */
export function policyStatesFor(control: ControlDefinition, states: readonly PolicyStateFact[]): PolicyStateFact[] {
  const source = control.policy;
  if (source === undefined) return [];
  const defs = new Set(source.policyDefinitionIds.map((d) => d.toLowerCase()));
  const sets = new Set(source.policySetDefinitionIds.map((d) => d.toLowerCase()));
  return states.filter(
    (s) =>
      defs.has(s.policyDefinitionName.toLowerCase()) ||
      (s.policySetDefinitionName !== undefined && sets.has(s.policySetDefinitionName.toLowerCase())),
  );
}

function policyLabel(s: PolicyStateFact): string {
  const ref = s.policyDefinitionReferenceId;
  const assignment = s.policyAssignmentId.split('/').pop() ?? s.policyAssignmentId;
  return `policy ${ref !== undefined && ref !== '' ? `${ref} (${s.policyDefinitionName})` : s.policyDefinitionName} via assignment ${assignment}`;
}

function componentLabel(c: { id: string; name: string | undefined; type: string | undefined }): string {
  return `component ${c.type !== undefined && c.type !== '' ? `${c.type} ` : ''}${c.id}`;
}

function evaluatePolicyControl(control: ControlDefinition, states: readonly PolicyStateFact[] | null): Outcome {
  if (states === null) return notCollected('Azure Policy compliance states');
  const relevant = policyStatesFor(control, states);
  if (relevant.length === 0) {
    return { status: 'fail', reason: 'not-assigned', evidence: 'no Azure Policy state for this control: the policy is not assigned to the cluster' };
  }
  const nonCompliant = relevant.filter((s) => eq(s.complianceState, 'NonCompliant'));
  if (nonCompliant.length > 0) {
    const policies = nonCompliant.map(policyLabel);
    const components = nonCompliant.flatMap((s) =>
      (s.components ?? []).filter((c) => c.complianceState === undefined || eq(c.complianceState, 'NonCompliant')).map(componentLabel),
    );
    const distinctPolicies = new Set(policies).size;
    const distinctComponents = new Set(components).size;
    return {
      status: 'fail',
      reason: 'noncompliant',
      evidence: `${nonCompliant.length} of ${relevant.length} policy states NonCompliant (${distinctPolicies} polic${distinctPolicies === 1 ? 'y' : 'ies'}` +
        (distinctComponents > 0 ? `, ${distinctComponents} non-compliant in-cluster resource${distinctComponents === 1 ? '' : 's'})` : ')'),
      offenders: [...policies, ...components],
    };
  }
  const notEvaluated = relevant.filter((s) => !eq(s.complianceState, 'Compliant') && !eq(s.complianceState, 'Exempt'));
  if (notEvaluated.length > 0) {
    const states = [...new Set(notEvaluated.map((s) => s.complianceState))].join(', ');
    return {
      status: 'fail',
      reason: 'not-evaluated',
      evidence: `${notEvaluated.length} of ${relevant.length} policy states are not Compliant (${states})`,
      offenders: notEvaluated.map(policyLabel),
    };
  }
  const exempt = relevant.filter((s) => eq(s.complianceState, 'Exempt'));
  if (exempt.length > 0) {
    return {
      status: 'exempt',
      reason: 'policy-exemption',
      evidence: `${exempt.length} of ${relevant.length} policy states Exempt (Azure Policy exemption), the rest Compliant`,
      offenders: exempt.map(policyLabel),
    };
  }
  return { status: 'pass', evidence: `all ${relevant.length} policy state${relevant.length === 1 ? '' : 's'} Compliant` };
}

function evaluateEnforcement(control: ControlDefinition, snapshot: ClusterSnapshot): Outcome {
  const env = environmentOf(snapshot.tags);
  if (env !== 'prod') {
    return { status: 'not_applicable', evidence: `enforcement is required on prod clusters only; environment is ${env ?? 'not set'}` };
  }
  if (snapshot.policyStates === null) return notCollected('Azure Policy compliance states');
  const sources = (control.readsPolicyStatesOf ?? []).map((id) => getControl(id)).filter((c) => c !== undefined);
  const states = [...new Set(sources.flatMap((c) => policyStatesFor(c, snapshot.policyStates ?? [])))];
  if (states.length === 0) {
    return { status: 'fail', reason: 'not-assigned', evidence: 'no pod security or allowed-images policy state on this prod cluster' };
  }
  const notDeny = states.filter((s) => !eq(s.policyDefinitionAction, 'deny'));
  if (notDeny.length > 0) {
    const actions = [...new Set(notDeny.map((s) => s.policyDefinitionAction.toLowerCase()))].join(', ');
    return {
      status: 'fail',
      reason: 'not-enforced',
      evidence: `${notDeny.length} of ${states.length} pod security / allowed-images policy states are not enforced (effect ${actions})`,
      offenders: notDeny.map((s) => `${policyLabel(s)} effect ${s.policyDefinitionAction}`),
    };
  }
  return { status: 'pass', evidence: `all ${states.length} pod security / allowed-images policy states have effect deny` };
}

// ---------------------------------------------------------------------------------------------
// Extension controls
// ---------------------------------------------------------------------------------------------

function evaluateExtension(types: readonly string[], extensions: readonly ExtensionFact[] | null): Outcome {
  if (extensions === null) return notCollected('cluster extensions');
  const wanted = new Set(types.map((t) => t.toLowerCase()));
  const matching = extensions.filter((e) => wanted.has(e.extensionType.toLowerCase()));
  const label = types[0] ?? '';
  if (matching.length === 0) {
    return { status: 'fail', reason: 'not-installed', evidence: `no extension of type ${label} installed` };
  }
  const healthy = matching.find((e) => eq(e.provisioningState, 'Succeeded'));
  if (healthy !== undefined) {
    return { status: 'pass', evidence: `extension ${healthy.name} (${healthy.extensionType}) provisioningState Succeeded` };
  }
  return {
    status: 'fail',
    reason: 'not-healthy',
    evidence: `extension of type ${label} present but not Succeeded: ${matching.map((e) => `${e.name} ${e.provisioningState ?? 'no provisioningState'}`).join(', ')}`,
    offenders: matching.map((e) => `extension ${e.name} provisioningState ${e.provisioningState ?? 'missing'}`),
  };
}

// ---------------------------------------------------------------------------------------------
// Property, tag, GitOps and time controls
// ---------------------------------------------------------------------------------------------

function boolProperty(path: string, value: boolean | undefined): Outcome {
  if (value === undefined) return { status: 'fail', reason: 'not-configured', evidence: `${path} is not set` };
  return value ? { status: 'pass', evidence: `${path} is true` } : { status: 'fail', reason: 'disabled', evidence: `${path} is false` };
}

function evaluateWorkloadIdentity(snapshot: ClusterSnapshot): Outcome {
  const wi = boolProperty('securityProfile.workloadIdentity.enabled', snapshot.properties.securityProfile?.workloadIdentity?.enabled);
  const oidc = boolProperty('oidcIssuerProfile.enabled', snapshot.properties.oidcIssuerProfile?.enabled);
  if (wi.status === 'pass' && oidc.status === 'pass') return { status: 'pass', evidence: `${wi.evidence} and ${oidc.evidence}` };
  const failing = [wi, oidc].filter((o) => o.status !== 'pass');
  const reason = failing.some((o) => o.reason === 'not-configured') ? 'not-configured' : 'disabled';
  return { status: 'fail', reason, evidence: [wi.evidence, oidc.evidence].join('; ') };
}

function sameResourceGroup(a: ClusterSnapshot, b: ClusterSnapshot): boolean {
  return a.subscriptionId.toLowerCase() === b.subscriptionId.toLowerCase() && a.resourceGroup.toLowerCase() === b.resourceGroup.toLowerCase();
}

function evaluateEnvironmentSeparation(snapshot: ClusterSnapshot, peers: readonly ClusterSnapshot[]): Outcome {
  const raw = environmentTagValue(snapshot.tags);
  const env = environmentOf(snapshot.tags);
  if (raw === undefined) return { status: 'fail', reason: 'missing-environment-tag', evidence: 'no environment tag' };
  if (env === undefined) return { status: 'fail', reason: 'invalid-environment', evidence: `environment tag is '${raw}', expected dev, test or prod` };
  const self = snapshot.id.toLowerCase();
  const others = peers.filter((p) => p.id.toLowerCase() !== self && sameResourceGroup(p, snapshot));
  const conflicting = others.filter((p) => (env === 'prod') !== (environmentOf(p.tags) === 'prod'));
  if (conflicting.length > 0) {
    const side = env === 'prod' ? 'non-prod' : 'prod';
    return {
      status: 'fail',
      reason: 'mixed-resource-group',
      evidence: `environment ${env}, but resource group ${snapshot.resourceGroup} also holds ${conflicting.length} ${side} cluster${conflicting.length === 1 ? '' : 's'}`,
      offenders: conflicting.map((p) => `cluster ${p.name} (environment ${environmentTagValue(p.tags) ?? 'not set'})`),
    };
  }
  return { status: 'pass', evidence: `environment ${env}; resource group ${snapshot.resourceGroup} holds no ${env === 'prod' ? 'non-prod' : 'prod'} cluster` };
}

function evaluateGitOps(snapshot: ClusterSnapshot): Outcome {
  const flux = snapshot.fluxConfigurations;
  if (flux === null) return notCollected('Flux configurations');
  if (flux.length === 0) return { status: 'fail', reason: 'no-gitops', evidence: 'no Flux configuration' };
  const compliant = flux.filter((f) => eq(f.complianceState, 'Compliant'));
  if (compliant.length > 0) return { status: 'pass', evidence: `${compliant.length} of ${flux.length} Flux configurations Compliant` };
  return {
    status: 'fail',
    reason: 'gitops-not-compliant',
    evidence: `none of ${flux.length} Flux configurations is Compliant`,
    offenders: flux.map((f) => `flux ${f.name} ${f.complianceState ?? 'no complianceState'}`),
  };
}

function evaluateAgentUpgrade(snapshot: ClusterSnapshot): Outcome {
  const value = snapshot.properties.arcAgentProfile?.agentAutoUpgrade;
  if (value === undefined) return { status: 'fail', reason: 'not-configured', evidence: 'arcAgentProfile.agentAutoUpgrade is not set' };
  return eq(value, 'Enabled')
    ? { status: 'pass', evidence: 'arcAgentProfile.agentAutoUpgrade is Enabled' }
    : { status: 'fail', reason: 'disabled', evidence: `arcAgentProfile.agentAutoUpgrade is ${value}` };
}

function parseTime(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

function evaluateConnectivity(snapshot: ClusterSnapshot, runStart: number): Outcome {
  const { connectivityStatus, lastConnectivityTime } = snapshot.properties;
  if (connectivityStatus === undefined) return { status: 'fail', reason: 'not-configured', evidence: 'connectivityStatus is not set' };
  if (!eq(connectivityStatus, 'Connected')) {
    return { status: 'fail', reason: 'disconnected', evidence: `connectivityStatus is ${connectivityStatus}` };
  }
  const last = parseTime(lastConnectivityTime);
  if (last === undefined) {
    return lastConnectivityTime === undefined || lastConnectivityTime === ''
      ? { status: 'fail', reason: 'not-configured', evidence: 'connectivityStatus is Connected but lastConnectivityTime is not set' }
      : { status: 'fail', reason: 'invalid-timestamp', evidence: `lastConnectivityTime '${lastConnectivityTime}' is not a date-time` };
  }
  const age = runStart - last;
  if (age > CONNECTIVITY_MAX_AGE_MS) {
    return { status: 'fail', reason: 'stale-connection', evidence: `last connected ${lastConnectivityTime}, ${(age / HOUR_MS).toFixed(1)} h before the run start (limit 24 h)` };
  }
  return { status: 'pass', evidence: `Connected, last connected ${lastConnectivityTime}` };
}

function evaluateCertificate(snapshot: ClusterSnapshot, runStart: number): Outcome {
  const raw = snapshot.properties.managedIdentityCertificateExpirationTime;
  const expires = parseTime(raw);
  if (expires === undefined) {
    return raw === undefined || raw === ''
      ? { status: 'fail', reason: 'not-configured', evidence: 'managedIdentityCertificateExpirationTime is not set' }
      : { status: 'fail', reason: 'invalid-timestamp', evidence: `managedIdentityCertificateExpirationTime '${raw}' is not a date-time` };
  }
  const remaining = expires - runStart;
  if (remaining <= CERTIFICATE_MIN_REMAINING_MS) {
    const reason = remaining <= 0 ? 'certificate-expired' : 'certificate-expiring';
    return { status: 'fail', reason, evidence: `managed identity certificate expires ${raw}, ${(remaining / DAY_MS).toFixed(1)} days after the run start (needs more than 30)` };
  }
  return { status: 'pass', evidence: `managed identity certificate expires ${raw}, ${(remaining / DAY_MS).toFixed(1)} days after the run start` };
}

// ---------------------------------------------------------------------------------------------
// Orchestration
// ---------------------------------------------------------------------------------------------

type Check = (control: ControlDefinition, snapshot: ClusterSnapshot, context: EvaluationContext) => Outcome;

const extension = (types: readonly string[]): Check => (_control, snapshot) => evaluateExtension(types, snapshot.extensions);
const policyStates: Check = (control, snapshot) => evaluatePolicyControl(control, snapshot.policyStates);

/**
 * One check per catalog control. Keyed by `ControlId` and checked with `satisfies`, so a control added
 * to the catalog without a check does not compile.
 */
const CHECKS = {
  'ARC-AC-01': (_c, snapshot) => boolProperty('aadProfile.enableAzureRBAC', snapshot.properties.aadProfile?.enableAzureRBAC),
  'ARC-AC-02': policyStates,
  'ARC-AC-03': (_c, snapshot) => evaluateWorkloadIdentity(snapshot),
  'ARC-AC-04': (_c, snapshot, context) => evaluateEnvironmentSeparation(snapshot, context.resourceGroupPeers),
  'ARC-AC-05': (_c, snapshot) => evaluateGitOps(snapshot),
  'ARC-PL-01': extension(EXTENSION_TYPES['ARC-PL-01']),
  'ARC-PL-02': policyStates,
  'ARC-PL-03': policyStates,
  'ARC-PL-04': (control, snapshot) => evaluateEnforcement(control, snapshot),
  'ARC-TD-01': extension(EXTENSION_TYPES['ARC-TD-01']),
  'ARC-TD-02': extension(EXTENSION_TYPES['ARC-TD-02']),
  'ARC-TD-03': extension(EXTENSION_TYPES['ARC-TD-03']),
  'ARC-TD-04': (_c, snapshot, context) =>
    evaluateBreakGlass(snapshot.kind, snapshot.breakGlass, context.runStartedAt, context.breakGlassLookbackDays ?? DEFAULT_BREAK_GLASS_LOOKBACK_DAYS),
  'ARC-UP-01': policyStates,
  'ARC-UP-02': (_c, snapshot) => evaluateAgentUpgrade(snapshot),
  'ARC-OP-01': (_c, snapshot, context) => evaluateConnectivity(snapshot, context.runStartedAt.getTime()),
  'ARC-OP-02': (_c, snapshot, context) => evaluateCertificate(snapshot, context.runStartedAt.getTime()),
} satisfies Record<ControlId, Check>;

function evaluateControl(control: ControlDefinition, snapshot: ClusterSnapshot, context: EvaluationContext): Outcome {
  return CHECKS[control.id](control, snapshot, context);
}

function toResult(control: ControlDefinition, outcome: Outcome): ControlResult {
  return {
    controlId: control.id,
    status: outcome.status,
    severity: control.severity,
    evidence: boundedEvidence(outcome.evidence),
    ...(outcome.reason !== undefined ? { reason: outcome.reason } : {}),
    ...(outcome.offenders !== undefined ? { offenders: boundedOffenders(outcome.offenders) } : {}),
  };
}

function applyException(result: ControlResult, snapshot: ClusterSnapshot, context: EvaluationContext): ControlResult {
  if (result.status !== 'fail') return result;
  const exception = findActiveException(
    context.exceptions,
    result.controlId,
    { clusterId: snapshot.id, resourceGroupId: resourceGroupId(snapshot.subscriptionId, snapshot.resourceGroup) },
    context.runStartedAt,
  );
  if (exception === undefined) return result;
  return {
    ...result,
    status: 'exempt',
    reason: `exception:${exception.id}`,
    evidence: boundedEvidence(`waived by exception ${exception.id} (ticket ${exception.ticket}) until ${exception.expiresAt}; observed: ${result.evidence}`),
  };
}

/** Evaluates one control for a cluster (exceptions applied). */
export function evaluateControlForCluster(control: ControlDefinition, snapshot: ClusterSnapshot, context: EvaluationContext): ControlResult {
  return applyException(toResult(control, evaluateControl(control, snapshot, context)), snapshot, context);
}

/**
 * Evaluates every catalog control for one cluster snapshot, in catalog order, with the score
 * (see `scoring.ts`) and the ids of the controls that fail after exceptions.
 * `evaluatedAt` is the run start, so re-evaluating the same run yields an identical result.
 */
export function evaluateCluster(snapshot: ClusterSnapshot, context: EvaluationContext): ClusterEvaluation {
  const controls = listControls().map((c) => evaluateControlForCluster(c, snapshot, context));
  return {
    clusterId: snapshot.id,
    evaluatedAt: context.runStartedAt.toISOString(),
    runId: context.runId,
    controls,
    score: scoreControls(controls),
    failedControls: controls.filter((c) => c.status === 'fail').map((c) => c.controlId),
  };
}

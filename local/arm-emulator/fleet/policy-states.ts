/**
 * Latest policy states derived from the fleet and the *current* assignments, in the Policy Insights
 * 2024-10-01 wire shape (`policyStates/latest/queryResults`). Nothing is stored: an assignment update
 * (an override to Deny for some locations, a new notScope) changes every later query — unless the
 * emulator runs with a compliance lag (behaviours/compliance-lag.ts), which passes the assignments and
 * exemptions of the last completed evaluation in `fleet` instead.
 *
 * Semantics, following the Azure Policy assignment structure documentation:
 * - Applicability: the cluster is under the assignment's `scope` (subscription, resource group or a
 *   management group, which covers the whole tenant here), not under any `notScopes` entry, and, when
 *   `resourceSelectors` is non-empty, satisfies at least one resource selector (all of whose selectors
 *   match). Selector kinds: `resourceLocation` (normalised, case-insensitive), `resourceType`; other
 *   kinds never match.
 * - Expansion: an initiative assignment gives one state per member (from `fleet.policySets`; an unknown
 *   initiative gives none); a definition assignment gives one state.
 * - Effect: the `effect` parameter of the assignment (initiative members take the initiative's), else
 *   the definition's default (catalog), else `Audit`; then the first override of kind `policyEffect`
 *   (in array order) whose selectors all match — `resourceLocation` and `policyDefinitionReferenceId`,
 *   `in`/`notIn`, case-insensitive; no selectors matches everything. `Disabled` means not evaluated: no
 *   state. Reported lower-case in `policyDefinitionAction`.
 * - `enforcementMode: DoNotEnforce` does not change the reported action (Policy Insights still reports
 *   the effect; only enforcement at admission is off). It does stop `regressAfterApply`.
 * - Exemptions: an exemption whose id-scope covers the cluster, whose `policyAssignmentId` is this
 *   assignment, whose `policyDefinitionReferenceIds` is empty or lists the member, that has not expired
 *   (`expiresOn` after `now`) and whose `resourceSelectors` (if any) match → `Exempt` (no components).
 * - Otherwise `NonCompliant` with `components` when the cluster's workloads violate the definition,
 *   else `Compliant`.
 * - Fault mode: when a state's effective action is `deny` under `enforcementMode` Default, the
 *   cluster's `regressAfterApply` violations for that definition count as violations too — "the
 *   enforcement broke these workloads", so a bake step sees new non-compliance after the wave applied.
 */
import type { ArmResource, FleetCluster, FleetModel, PolicySetMember } from '../fleet-model.js';
import { CONNECTED_CLUSTER_TYPE } from './arm-resources.js';
import { BUILTIN_INITIATIVES } from './builtin-initiatives.js';
import { BUILTIN_DEFINITIONS } from './policy-catalog.js';
import { clustersInSubscription, policyAssignmentsReaching } from './fleet-queries.js';

export interface DerivePolicyStatesOptions {
  /** Include `components` on NonCompliant states (as `$expand=components` does). Default true. */
  readonly expandComponents?: boolean;
  /** `timestamp` of every state (last evaluation). Default: `now`. */
  readonly evaluatedAt?: Date;
}

interface Selector {
  readonly kind: string;
  readonly in: readonly string[] | undefined;
  readonly notIn: readonly string[] | undefined;
}

interface Override {
  readonly kind: string;
  readonly value: string;
  readonly selectors: readonly Selector[];
}

interface StateTemplate {
  readonly policyDefinitionId: string;
  readonly policyDefinitionName: string;
  readonly policyDefinitionVersion: string | null;
  readonly policySetDefinitionId: string;
  readonly policySetDefinitionName: string;
  readonly policySetDefinitionVersion: string | null;
  readonly policyDefinitionReferenceId: string;
  readonly baseEffect: string;
}

/** One assignment, parsed once per query. */
export interface ParsedAssignment {
  readonly id: string;
  readonly idLower: string;
  readonly name: string;
  readonly scope: string;
  readonly scopeLower: string;
  readonly notScopesLower: readonly string[];
  readonly resourceSelectors: readonly (readonly Selector[])[];
  readonly overrides: readonly Override[];
  readonly enforcementMode: string;
  readonly parametersJson: string;
  readonly templates: readonly StateTemplate[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined;
}

/** `West Europe` / `westeurope` / `WestEurope` → `westeurope`. */
export function normaliseLocation(location: string): string {
  return location.replace(/\s+/g, '').toLowerCase();
}

/** The scope an extension resource (assignment, exemption) lives at: its id up to `/providers/Microsoft.Authorization/`. */
export function scopeOfExtensionResource(id: string): string {
  const i = id.toLowerCase().lastIndexOf('/providers/microsoft.authorization/');
  return i < 0 ? '' : id.slice(0, i);
}

/** True when `resourceIdLower` is `scopeLower` or below it. Management-group scopes cover the whole (single-tenant) fleet. */
export function isUnderScope(resourceIdLower: string, scopeLower: string): boolean {
  if (scopeLower.startsWith('/providers/microsoft.management/managementgroups/')) return true;
  const trimmed = scopeLower.endsWith('/') ? scopeLower.slice(0, -1) : scopeLower;
  return resourceIdLower === trimmed || resourceIdLower.startsWith(`${trimmed}/`);
}

function parseSelectors(value: unknown): Selector[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isRecord).map((s) => ({
    kind: str(s['kind']) ?? '',
    in: strings(s['in']),
    notIn: strings(s['notIn']),
  }));
}

/** Does one selector match? `values` are the facts of the kind it selects on (lower-cased). */
export function selectorMatches(selector: Selector, facts: Readonly<Record<string, string | undefined>>): boolean {
  const fact = facts[selector.kind.toLowerCase()];
  if (fact === undefined) return false;
  const norm = (v: string): string => (selector.kind.toLowerCase() === 'resourcelocation' ? normaliseLocation(v) : v.toLowerCase());
  if (selector.in !== undefined) return selector.in.some((v) => norm(v) === fact);
  if (selector.notIn !== undefined) return !selector.notIn.some((v) => norm(v) === fact);
  return false;
}

function templatesFor(policyDefinitionId: string, effect: string | undefined, policySets: FleetModel['policySets']): StateTemplate[] {
  const lower = policyDefinitionId.toLowerCase();
  const guid = lower.split('/').pop() ?? '';
  if (lower.includes('/policysetdefinitions/')) {
    const members: readonly PolicySetMember[] | undefined = policySets[guid];
    if (members === undefined) return [];
    const version = BUILTIN_INITIATIVES.find((i) => i.name === guid)?.version ?? null;
    return members.map((m) => {
      const defLower = m.policyDefinitionId.toLowerCase();
      const defName = defLower.split('/').pop() ?? '';
      return {
        policyDefinitionId: defLower,
        policyDefinitionName: defName,
        policyDefinitionVersion: BUILTIN_DEFINITIONS.get(defName)?.version ?? null,
        policySetDefinitionId: lower,
        policySetDefinitionName: guid,
        policySetDefinitionVersion: version,
        policyDefinitionReferenceId: m.policyDefinitionReferenceId,
        // Both built-in PSS initiatives pass their `effect` (default Audit) to every member.
        baseEffect: effect ?? 'Audit',
      };
    });
  }
  const def = BUILTIN_DEFINITIONS.get(guid);
  return [
    {
      policyDefinitionId: lower,
      policyDefinitionName: guid,
      policyDefinitionVersion: def?.version ?? null,
      policySetDefinitionId: '',
      policySetDefinitionName: '',
      policySetDefinitionVersion: null,
      policyDefinitionReferenceId: '',
      baseEffect: effect ?? def?.defaultEffect ?? 'Audit',
    },
  ];
}

export function parseAssignment(assignment: ArmResource, policySets: FleetModel['policySets']): ParsedAssignment {
  const props = isRecord(assignment['properties']) ? assignment['properties'] : {};
  const scope = str(props['scope']) ?? scopeOfExtensionResource(assignment.id);
  const parameters = isRecord(props['parameters']) ? props['parameters'] : {};
  const effectParam = parameters['effect'];
  const effect = isRecord(effectParam) ? str(effectParam['value']) : undefined;
  const overrides: Override[] = Array.isArray(props['overrides'])
    ? props['overrides'].filter(isRecord).map((o) => ({ kind: str(o['kind']) ?? '', value: str(o['value']) ?? '', selectors: parseSelectors(o['selectors']) }))
    : [];
  const resourceSelectors = Array.isArray(props['resourceSelectors'])
    ? props['resourceSelectors'].filter(isRecord).map((rs) => parseSelectors(rs['selectors']))
    : [];
  return {
    id: assignment.id,
    idLower: assignment.id.toLowerCase(),
    name: assignment.name,
    scope,
    scopeLower: scope.toLowerCase(),
    notScopesLower: (strings(props['notScopes']) ?? []).map((s) => s.toLowerCase()),
    resourceSelectors,
    overrides,
    enforcementMode: str(props['enforcementMode']) ?? 'Default',
    parametersJson: JSON.stringify(parameters),
    templates: templatesFor(str(props['policyDefinitionId']) ?? '', effect, policySets),
  };
}

interface ClusterFacts {
  readonly idLower: string;
  readonly location: string;
  readonly facts: Readonly<Record<string, string | undefined>>;
}

function clusterFacts(cluster: FleetCluster): ClusterFacts {
  const location = normaliseLocation(str(cluster.resource['location']) ?? '');
  return {
    idLower: cluster.resource.id.toLowerCase(),
    location,
    facts: { resourcelocation: location, resourcetype: CONNECTED_CLUSTER_TYPE.toLowerCase() },
  };
}

/** Whether the assignment applies to the cluster at all (scope, notScopes, resourceSelectors). */
export function assignmentApplies(a: ParsedAssignment, c: ClusterFacts): boolean {
  if (!isUnderScope(c.idLower, a.scopeLower)) return false;
  if (a.notScopesLower.some((ns) => isUnderScope(c.idLower, ns))) return false;
  if (a.resourceSelectors.length > 0 && !a.resourceSelectors.some((group) => group.every((s) => selectorMatches(s, c.facts)))) return false;
  return true;
}

/** The effect in force for one member on one cluster (first matching `policyEffect` override wins). */
export function effectiveEffect(a: ParsedAssignment, t: StateTemplate, c: ClusterFacts): string {
  const facts = { ...c.facts, policydefinitionreferenceid: t.policyDefinitionReferenceId === '' ? undefined : t.policyDefinitionReferenceId.toLowerCase() };
  for (const o of a.overrides) {
    if (o.kind.toLowerCase() !== 'policyeffect') continue;
    if (o.selectors.every((s) => selectorMatches(s, facts))) return o.value;
  }
  return t.baseEffect;
}

interface ParsedExemption {
  readonly scopeLower: string;
  readonly assignmentIdLower: string;
  readonly referenceIdsLower: readonly string[];
  readonly expiresOn: number | undefined;
  readonly resourceSelectors: readonly (readonly Selector[])[];
}

function parseExemption(e: ArmResource): ParsedExemption {
  const props = isRecord(e['properties']) ? e['properties'] : {};
  const expires = str(props['expiresOn']);
  return {
    scopeLower: scopeOfExtensionResource(e.id).toLowerCase(),
    assignmentIdLower: (str(props['policyAssignmentId']) ?? '').toLowerCase(),
    referenceIdsLower: (strings(props['policyDefinitionReferenceIds']) ?? []).map((r) => r.toLowerCase()),
    expiresOn: expires === undefined ? undefined : Date.parse(expires),
    resourceSelectors: Array.isArray(props['resourceSelectors']) ? props['resourceSelectors'].filter(isRecord).map((rs) => parseSelectors(rs['selectors'])) : [],
  };
}

function isExempt(exemptions: readonly ParsedExemption[], a: ParsedAssignment, t: StateTemplate, c: ClusterFacts, nowMs: number): boolean {
  return exemptions.some(
    (e) =>
      e.assignmentIdLower === a.idLower &&
      isUnderScope(c.idLower, e.scopeLower) &&
      (e.referenceIdsLower.length === 0 || e.referenceIdsLower.includes(t.policyDefinitionReferenceId.toLowerCase())) &&
      (e.expiresOn === undefined || Number.isNaN(e.expiresOn) || e.expiresOn > nowMs) &&
      (e.resourceSelectors.length === 0 || e.resourceSelectors.some((group) => group.every((s) => selectorMatches(s, c.facts)))),
  );
}

function resourceGroupOf(id: string): string {
  const parts = id.split('/');
  const i = parts.findIndex((p) => p.toLowerCase() === 'resourcegroups');
  return i >= 0 ? (parts[i + 1] ?? '') : '';
}

/**
 * Latest policy states for every cluster of one subscription, in Policy Insights wire shape (field
 * names and order of PolicyStates_QuerySubscriptionScope.json value items). Ids are lower-cased as
 * Policy Insights returns them; `policySet*` and `policyDefinitionReferenceId` are `''` for
 * non-initiative assignments, as in the service's responses.
 */
export function derivePolicyStates(
  fleet: FleetModel,
  subscriptionId: string,
  now: Date,
  options: DerivePolicyStatesOptions = {},
): Record<string, unknown>[] {
  const expand = options.expandComponents ?? true;
  const timestamp = (options.evaluatedAt ?? now).toISOString();
  const nowMs = now.getTime();
  const subLower = `/subscriptions/${subscriptionId.toLowerCase()}`;
  const clusters = clustersInSubscription(fleet, subscriptionId);
  if (clusters.length === 0) return [];
  // Only assignments that can reach this subscription (its own, or tenant-wide management groups).
  const assignments = policyAssignmentsReaching(fleet.policyAssignments, subscriptionId)
    .filter((a) => {
      const scope = scopeOfExtensionResource(a.id).toLowerCase();
      return isUnderScope(subLower, scope) || scope.startsWith(`${subLower}/`);
    })
    .map((a) => parseAssignment(a, fleet.policySets));
  const exemptions = fleet.policyExemptions.map(parseExemption);
  const context = `https://management.azure.com/subscriptions/${subscriptionId}/providers/Microsoft.PolicyInsights/policyStates/$metadata#latest/$entity`;
  const out: Record<string, unknown>[] = [];
  for (const cluster of clusters) {
    const c = clusterFacts(cluster);
    const resourceGroup = resourceGroupOf(cluster.resource.id).toLowerCase();
    for (const a of assignments) {
      if (!assignmentApplies(a, c)) continue;
      for (const t of a.templates) {
        const effect = effectiveEffect(a, t, c).toLowerCase();
        if (effect === 'disabled') continue;
        let complianceState: 'Compliant' | 'NonCompliant' | 'Exempt';
        let components: { id: string; name: string; type: string }[] = [];
        if (isExempt(exemptions, a, t, c, nowMs)) {
          complianceState = 'Exempt';
        } else {
          for (const v of cluster.violations) if (v.policyDefinitionName.toLowerCase() === t.policyDefinitionName) components.push(...v.components);
          if (effect === 'deny' && a.enforcementMode.toLowerCase() !== 'donotenforce') {
            for (const v of cluster.regressAfterApply ?? []) if (v.policyDefinitionName.toLowerCase() === t.policyDefinitionName) components.push(...v.components);
          }
          complianceState = components.length > 0 ? 'NonCompliant' : 'Compliant';
          if (complianceState === 'Compliant') components = [];
        }
        const isSet = t.policySetDefinitionId !== '';
        const state: Record<string, unknown> = {
          '@odata.id': null,
          '@odata.context': context,
          timestamp,
          resourceId: c.idLower,
          policyAssignmentId: a.idLower,
          policyDefinitionId: t.policyDefinitionId,
          effectiveParameters: '',
          isCompliant: complianceState === 'Compliant',
          subscriptionId,
          resourceType: CONNECTED_CLUSTER_TYPE,
          resourceLocation: c.location,
          resourceGroup,
          resourceTags: 'tbd',
          policyAssignmentName: a.name,
          policyAssignmentOwner: 'tbd',
          policyAssignmentParameters: a.parametersJson,
          policyAssignmentScope: a.scope,
          policyDefinitionName: t.policyDefinitionName,
          policyDefinitionAction: effect,
          policyDefinitionCategory: 'tbd',
          policySetDefinitionId: t.policySetDefinitionId,
          policySetDefinitionName: t.policySetDefinitionName,
          policySetDefinitionOwner: isSet ? 'tbd' : '',
          policySetDefinitionCategory: isSet ? 'tbd' : '',
          policySetDefinitionParameters: isSet ? a.parametersJson : '',
          managementGroupIds: fleet.tenantId,
          policyDefinitionReferenceId: t.policyDefinitionReferenceId,
          complianceState,
          policyDefinitionGroupNames: [],
          policyDefinitionVersion: t.policyDefinitionVersion,
          policySetDefinitionVersion: t.policySetDefinitionVersion,
          policyAssignmentVersion: null,
        };
        if (expand && complianceState === 'NonCompliant') {
          state['components'] = components.map((comp) => ({ id: comp.id, type: comp.type, name: comp.name, timestamp, complianceState: 'NonCompliant' }));
        }
        out.push(state);
      }
    }
  }
  return out;
}

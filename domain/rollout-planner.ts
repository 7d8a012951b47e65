/**
 * The rollout planner (pure): from a policy assignment, the requested waves and the latest evidence
 * about the fleet, the plan per wave — its clusters, their current non-compliance for the
 * assignment's policies, what deny would refuse — and the assignments as they must be once each
 * wave is applied.
 *
 * Mechanisms (Azure Policy safe deployment):
 * - location waves: ONE `policyEffect` override to `Deny` with a `resourceLocation` `in` selector,
 *   placed first (the first matching override wins) and widened wave by wave;
 * - resource-group waves: a deny assignment scoped to each resource group (a copy of the parent
 *   with a selector-less `policyEffect: Deny` override) plus the group in the parent's `notScopes`.
 * Documented limits: at most 10 overrides per assignment and 50 values per selector.
 */
import { InvalidRequestError, UnprocessableError, type ErrorDetail } from './errors.js';
import { MAX_OFFENDER_ITEMS } from './offender-list.js';
import { assignmentAppliesTo, assignmentIdAt, isUnderScope, parseAssignmentId, resourceGroupIdOf } from './rollout-assignment.js';
import {
  DEFAULT_GATES,
  normaliseLocation,
  type AssignmentOverride,
  type DesiredAssignments,
  type OffendingResource,
  type PlannedCluster,
  type PolicyAssignmentModel,
  type RolloutClusterFacts,
  type RolloutGates,
  type RolloutPlan,
  type RolloutPolicyState,
  type RolloutRequest,
  type WaveMechanism,
  type WavePlan,
  type WouldDeny,
} from './rollout-model.js';

export const ROLLOUT_LIMITS = Object.freeze({
  /** Azure Policy: overrides per assignment. */
  maxOverrides: 10,
  /** Azure Policy: values per selector (`in` / `notIn`). */
  maxSelectorValues: 50,
  maxWaves: 20,
  /** Assignment names at resource-group scope. */
  maxAssignmentNameLength: 64,
});

const WAVE_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;
const LOCATION = /^[a-z0-9]{1,64}$/;
const RESOURCE_GROUP_ID = /^\/subscriptions\/[0-9a-fA-F-]{36}\/resourceGroups\/[-\w._()]{1,90}$/i;

export interface NormalisedWave {
  readonly name: string;
  readonly locations: readonly string[];
  readonly resourceGroups: readonly string[];
}

export interface NormalisedRolloutRequest {
  readonly policyAssignmentId: string;
  readonly waves: readonly NormalisedWave[];
  readonly gates: RolloutGates;
  readonly autoRollback: boolean;
}

function intIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/**
 * Validates the request and applies defaults (gates: maxNonCompliant 0, bakeMinutes 60,
 * requireApproval true, maxEvidenceAgeHours 24; autoRollback true). Throws
 * {@link InvalidRequestError} listing every problem in `details`.
 */
export function normaliseRolloutRequest(request: RolloutRequest): NormalisedRolloutRequest {
  const problems: ErrorDetail[] = [];
  const bad = (target: string, message: string): void => {
    problems.push({ code: 'InvalidValue', target, message });
  };
  if (parseAssignmentId(request.policyAssignmentId) === undefined) bad('policyAssignmentId', 'must be a policy assignment ARM id');
  if (request.waves.length === 0) bad('waves', 'at least one wave is required');
  if (request.waves.length > ROLLOUT_LIMITS.maxWaves) bad('waves', `at most ${ROLLOUT_LIMITS.maxWaves} waves`);
  const names = new Set<string>();
  const seenLocations = new Map<string, string>();
  const seenGroups = new Map<string, string>();
  const waves: NormalisedWave[] = request.waves.map((w, i) => {
    const target = `waves[${i}]`;
    if (!WAVE_NAME.test(w.name)) bad(`${target}.name`, 'must be 1-64 letters, digits, spaces, dots, dashes or underscores');
    if (names.has(w.name.toLowerCase())) bad(`${target}.name`, `duplicate wave name "${w.name}"`);
    names.add(w.name.toLowerCase());
    const locations: string[] = [];
    for (const [j, raw] of (w.locations ?? []).entries()) {
      const loc = normaliseLocation(raw);
      if (!LOCATION.test(loc)) bad(`${target}.locations[${j}]`, `"${raw}" is not an Azure location name`);
      else if (seenLocations.has(loc)) bad(`${target}.locations[${j}]`, `location "${loc}" is already in wave "${seenLocations.get(loc) ?? ''}"`);
      else {
        seenLocations.set(loc, w.name);
        locations.push(loc);
      }
    }
    const resourceGroups: string[] = [];
    for (const [j, raw] of (w.resourceGroups ?? []).entries()) {
      const rg = raw.replace(/\/+$/, '');
      if (!RESOURCE_GROUP_ID.test(rg)) bad(`${target}.resourceGroups[${j}]`, `"${raw}" is not a resource group id (/subscriptions/{id}/resourceGroups/{name})`);
      else if (seenGroups.has(rg.toLowerCase())) bad(`${target}.resourceGroups[${j}]`, `resource group is already in wave "${seenGroups.get(rg.toLowerCase()) ?? ''}"`);
      else {
        seenGroups.set(rg.toLowerCase(), w.name);
        resourceGroups.push(rg);
      }
    }
    if ((w.locations ?? []).length === 0 && (w.resourceGroups ?? []).length === 0) bad(target, 'a wave selects clusters by locations and/or resourceGroups');
    return { name: w.name, locations, resourceGroups };
  });
  const g = request.gates ?? {};
  const gates: RolloutGates = {
    maxNonCompliant: g.maxNonCompliant ?? DEFAULT_GATES.maxNonCompliant,
    bakeMinutes: g.bakeMinutes ?? DEFAULT_GATES.bakeMinutes,
    requireApproval: g.requireApproval ?? DEFAULT_GATES.requireApproval,
    maxEvidenceAgeHours: g.maxEvidenceAgeHours ?? DEFAULT_GATES.maxEvidenceAgeHours,
  };
  if (!intIn(gates.maxNonCompliant, 0, 100_000)) bad('gates.maxNonCompliant', 'must be an integer >= 0');
  if (!intIn(gates.bakeMinutes, 0, 7 * 24 * 60)) bad('gates.bakeMinutes', 'must be an integer between 0 and 10080 (7 days)');
  if (!intIn(gates.maxEvidenceAgeHours, 1, 24 * 30)) bad('gates.maxEvidenceAgeHours', 'must be an integer between 1 and 720');
  if (problems.length > 0) throw new InvalidRequestError('The rollout request is invalid.', problems[0]?.target, problems);
  return { policyAssignmentId: request.policyAssignmentId, waves, gates, autoRollback: request.autoRollback ?? true };
}

/** Name of the resource-group-scoped deny assignment of a parent (deterministic, <= 64 characters). */
export function childAssignmentName(parentName: string): string {
  return `${parentName.slice(0, ROLLOUT_LIMITS.maxAssignmentNameLength - 5)}-deny`;
}

/** The override a location wave adds: deny in the cumulative locations. */
export function locationDenyOverride(locations: readonly string[]): AssignmentOverride {
  return { kind: 'policyEffect', value: 'Deny', selectors: [{ kind: 'resourceLocation', in: [...locations] }] };
}

/** A selector-less `policyEffect` override applies to every policy of the assignment. */
const DENY_EVERYTHING: AssignmentOverride = { kind: 'policyEffect', value: 'Deny' };

/** The deny assignment at one resource group: the parent's definition, parameters and selectors, effect Deny. */
export function childAssignment(parent: PolicyAssignmentModel, resourceGroupId: string): PolicyAssignmentModel {
  const name = childAssignmentName(parent.name);
  const rg = resourceGroupId.toLowerCase();
  return {
    id: assignmentIdAt(resourceGroupId, name),
    name,
    scope: resourceGroupId,
    policyDefinitionId: parent.policyDefinitionId,
    displayName: `${parent.displayName ?? parent.name} (deny)`.slice(0, 128),
    description: `Deny wave of the staged rollout of ${parent.id}.`,
    ...(parent.definitionVersion !== undefined ? { definitionVersion: parent.definitionVersion } : {}),
    enforcementMode: 'Default',
    ...(parent.parameters !== undefined ? { parameters: parent.parameters } : {}),
    notScopes: (parent.notScopes ?? []).filter((ns) => isUnderScope(ns, rg) && ns.toLowerCase() !== rg),
    overrides: [DENY_EVERYTHING, ...(parent.overrides ?? []).filter((o) => o.kind.toLowerCase() !== 'policyeffect')],
    ...(parent.resourceSelectors !== undefined ? { resourceSelectors: parent.resourceSelectors } : {}),
    ...(parent.nonComplianceMessages !== undefined ? { nonComplianceMessages: parent.nonComplianceMessages } : {}),
    metadata: { createdBy: 'arc-compliance rollout', parentAssignmentId: parent.id },
  };
}

/** The parent and children once the cumulative locations and resource groups are enforced. */
export function desiredAssignments(snapshot: PolicyAssignmentModel, locations: readonly string[], resourceGroups: readonly string[]): DesiredAssignments {
  const parent: PolicyAssignmentModel = {
    ...snapshot,
    overrides: locations.length > 0 ? [locationDenyOverride(locations), ...(snapshot.overrides ?? [])] : snapshot.overrides,
    notScopes: resourceGroups.length > 0 ? [...(snapshot.notScopes ?? []), ...resourceGroups] : snapshot.notScopes,
  };
  return { parent, children: resourceGroups.map((rg) => childAssignment(snapshot, rg)) };
}

/** Key of a policy inside the assignment: its reference id in an initiative, else its definition GUID. */
export function policyKey(state: RolloutPolicyState): string {
  return (state.policyDefinitionReferenceId !== undefined && state.policyDefinitionReferenceId !== '' ? state.policyDefinitionReferenceId : state.policyDefinitionName).toLowerCase();
}

/** Non-compliant policy keys of the cluster for one assignment (sorted, distinct). */
export function nonCompliantPolicies(states: readonly RolloutPolicyState[], assignmentId: string): string[] {
  const id = assignmentId.toLowerCase();
  const keys = new Set<string>();
  for (const s of states) if (s.policyAssignmentId.toLowerCase() === id && s.complianceState.toLowerCase() === 'noncompliant') keys.add(policyKey(s));
  return [...keys].sort();
}

/**
 * What deny would refuse on one cluster, per non-compliant policy of the assignment: the live
 * components' count, and the in-cluster resources the stored evaluation names (the live query cannot
 * name them). Without names the cluster itself is the one item, so a plan always says where.
 */
export function wouldDenyOf(cluster: Pick<RolloutClusterFacts, 'id' | 'states' | 'storedOffenders'>, assignmentId: string): WouldDeny[] {
  const id = assignmentId.toLowerCase();
  const byPolicy = new Map<string, number>();
  for (const s of cluster.states) {
    if (s.policyAssignmentId.toLowerCase() !== id || s.complianceState.toLowerCase() !== 'noncompliant') continue;
    const k = policyKey(s);
    byPolicy.set(k, (byPolicy.get(k) ?? 0) + (s.components ?? 0));
  }
  return [...byPolicy.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([policy, components]) => {
      const names = cluster.storedOffenders?.[policy] ?? [];
      const items: OffendingResource[] = names.length > 0 ? names.map((resource) => ({ clusterId: cluster.id, resource })) : [{ clusterId: cluster.id }];
      return { policy, resources: Math.max(components, names.length), offenders: { items: items.slice(0, MAX_OFFENDER_ITEMS), total: items.length } };
    });
}

/** Per policy over a wave's clusters (in wave order): resources summed, offender items capped, totals summed. */
export function sumWouldDeny(lists: readonly (readonly WouldDeny[])[]): WouldDeny[] {
  const total = new Map<string, { resources: number; items: OffendingResource[]; total: number }>();
  for (const list of lists) {
    for (const w of list) {
      const acc = total.get(w.policy) ?? { resources: 0, items: [], total: 0 };
      acc.resources += w.resources;
      acc.total += w.offenders.total;
      for (const item of w.offenders.items) if (acc.items.length < MAX_OFFENDER_ITEMS) acc.items.push(item);
      total.set(w.policy, acc);
    }
  }
  return [...total.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([policy, acc]) => ({ policy, resources: acc.resources, offenders: { items: acc.items, total: acc.total } }));
}

export interface PlanInput {
  readonly request: NormalisedRolloutRequest;
  /** The parent assignment as ARM holds it now (the snapshot). */
  readonly assignment: PolicyAssignmentModel;
  /** Latest evidence for the clusters under the assignment's scope (others are ignored). */
  readonly clusters: readonly RolloutClusterFacts[];
}

/**
 * Plans the rollout. Throws {@link InvalidRequestError} for waves that cannot apply to this
 * assignment (a resource group outside its scope or already excluded) and
 * `UnprocessableError('LimitExceeded')` when a wave's desired assignment would exceed Azure Policy's
 * limits (details name each offending wave).
 */
export function planRollout(input: PlanInput): RolloutPlan {
  const { request, assignment } = input;
  const problems: ErrorDetail[] = [];
  const scopeIsResourceGroup = resourceGroupIdOf(assignment.scope) !== undefined;
  request.waves.forEach((w, i) => {
    w.resourceGroups.forEach((rg, j) => {
      const target = `waves[${i}].resourceGroups[${j}]`;
      if (scopeIsResourceGroup) problems.push({ code: 'InvalidValue', target, message: 'the assignment is scoped to a resource group; use a location wave' });
      else if (!isUnderScope(rg, assignment.scope)) problems.push({ code: 'InvalidValue', target, message: `${rg} is not under the assignment scope ${assignment.scope}` });
      else if ((assignment.notScopes ?? []).some((ns) => isUnderScope(rg, ns))) problems.push({ code: 'InvalidValue', target, message: `${rg} is already excluded by the assignment's notScopes` });
    });
  });
  if (problems.length > 0) throw new InvalidRequestError('The waves do not fit the policy assignment.', problems[0]?.target, problems);

  const limitProblems: ErrorDetail[] = [];
  const existingOverrides = (assignment.overrides ?? []).length;
  const hasLocationWave = request.waves.some((w) => w.locations.length > 0);
  if (hasLocationWave && existingOverrides + 1 > ROLLOUT_LIMITS.maxOverrides) {
    limitProblems.push({
      code: 'TooManyOverrides',
      target: 'waves',
      message: `the assignment already has ${existingOverrides} overrides; a location wave adds one and at most ${ROLLOUT_LIMITS.maxOverrides} are allowed`,
    });
  }
  let cumulativeLocations: string[] = [];
  let cumulativeGroups: string[] = [];
  const desiredPerWave: DesiredAssignments[] = [];
  request.waves.forEach((w, i) => {
    cumulativeLocations = [...cumulativeLocations, ...w.locations];
    cumulativeGroups = [...cumulativeGroups, ...w.resourceGroups];
    if (cumulativeLocations.length > ROLLOUT_LIMITS.maxSelectorValues) {
      limitProblems.push({
        code: 'TooManySelectorValues',
        target: `waves[${i}].locations`,
        message: `after wave "${w.name}" the resourceLocation selector would hold ${cumulativeLocations.length} values; at most ${ROLLOUT_LIMITS.maxSelectorValues} are allowed`,
      });
    }
    desiredPerWave.push(desiredAssignments(assignment, cumulativeLocations, cumulativeGroups));
  });
  if (limitProblems.length > 0) throw new UnprocessableError('LimitExceeded', 'The plan exceeds Azure Policy limits.', limitProblems[0]?.target, limitProblems);

  const applicable = input.clusters.filter((c) => assignmentAppliesTo(assignment, c));
  const taken = new Set<string>();
  const warnings: string[] = [];
  const waves: WavePlan[] = request.waves.map((w, i) => {
    const locations = new Set(w.locations);
    const groups = new Set(w.resourceGroups.map((rg) => rg.toLowerCase()));
    const desired = desiredPerWave[i] as DesiredAssignments;
    const clusters: PlannedCluster[] = [];
    for (const c of applicable) {
      const idLower = c.id.toLowerCase();
      if (taken.has(idLower)) continue;
      const rg = resourceGroupIdOf(c.id) ?? '';
      const byGroup = groups.has(rg);
      if (!byGroup && !locations.has(normaliseLocation(c.location))) continue;
      taken.add(idLower);
      const child = byGroup ? desired.children.find((ch) => ch.scope.toLowerCase() === rg) : undefined;
      clusters.push({
        id: c.id,
        name: c.name,
        location: normaliseLocation(c.location),
        resourceGroup: c.resourceGroup,
        connectivityStatus: c.connectivityStatus,
        evaluatedAt: c.evaluatedAt,
        nonCompliant: nonCompliantPolicies(c.states, assignment.id).length,
        wouldDeny: wouldDenyOf(c, assignment.id),
        enforcingAssignmentId: (child ?? assignment).id,
      });
    }
    if (clusters.length === 0) warnings.push(`wave "${w.name}" selects no cluster the assignment applies to`);
    const mechanisms: WaveMechanism[] = [...(w.locations.length > 0 ? ['locationOverride' as const] : []), ...(w.resourceGroups.length > 0 ? ['resourceGroupAssignment' as const] : [])];
    return {
      name: w.name,
      locations: w.locations,
      resourceGroups: w.resourceGroups,
      mechanisms,
      clusters,
      nonCompliant: clusters.filter((c) => c.nonCompliant > 0).length,
      wouldDeny: sumWouldDeny(clusters.map((c) => c.wouldDeny)),
      desired,
    };
  });
  const uncovered = applicable.length - taken.size;
  if (uncovered > 0) warnings.push(`${uncovered} cluster(s) under the assignment are in no wave and stay in the assignment's current effect`);
  return { policyAssignmentId: assignment.id, snapshot: assignment, gates: request.gates, autoRollback: request.autoRollback, waves, warnings };
}

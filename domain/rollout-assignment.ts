/**
 * Policy assignment semantics the rollout needs: which clusters an assignment applies to, and
 * whether what ARM returned is what was written. Follows the Azure Policy assignment structure:
 * scope minus `notScopes`, and (when present) at least one resource selector whose selectors all match.
 */
import type { AssignmentSelector, PolicyAssignmentModel } from './rollout-model.js';
import { normaliseLocation } from './rollout-model.js';

const CLUSTER_TYPE = 'microsoft.kubernetes/connectedclusters';

/** True when `resourceId` is `scope` or below it. Management-group scopes cover every subscription (single tenant). */
export function isUnderScope(resourceId: string, scope: string): boolean {
  const r = resourceId.toLowerCase();
  const s = scope.toLowerCase().replace(/\/+$/, '');
  if (s.startsWith('/providers/microsoft.management/managementgroups/')) return true;
  return r === s || r.startsWith(`${s}/`);
}

function selectorMatches(selector: AssignmentSelector, facts: Readonly<Record<string, string>>): boolean {
  const kind = selector.kind.toLowerCase();
  const fact = facts[kind];
  if (fact === undefined) return false;
  const norm = (v: string): string => (kind === 'resourcelocation' ? normaliseLocation(v) : v.toLowerCase());
  if (selector.in !== undefined) return selector.in.some((v) => norm(v) === fact);
  if (selector.notIn !== undefined) return !selector.notIn.some((v) => norm(v) === fact);
  return false;
}

/** Does the assignment apply to the cluster (scope, notScopes, resourceSelectors)? */
export function assignmentAppliesTo(assignment: PolicyAssignmentModel, cluster: { readonly id: string; readonly location: string }): boolean {
  if (!isUnderScope(cluster.id, assignment.scope)) return false;
  if ((assignment.notScopes ?? []).some((ns) => isUnderScope(cluster.id, ns))) return false;
  const groups = assignment.resourceSelectors ?? [];
  if (groups.length === 0) return true;
  const facts = { resourcelocation: normaliseLocation(cluster.location), resourcetype: CLUSTER_TYPE };
  return groups.some((g) => g.selectors.every((s) => selectorMatches(s, facts)));
}

/** Metadata keys ARM maintains itself on every write: never part of what was written. */
const ARM_METADATA_KEYS = new Set(['createdby', 'createdon', 'updatedby', 'updatedon']);

function userMetadata(metadata: unknown): unknown {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) return metadata ?? {};
  return Object.fromEntries(Object.entries(metadata).filter(([k]) => !ARM_METADATA_KEYS.has(k.toLowerCase())));
}

/** The parts of an assignment a rollout writes, in a canonical form for comparison. */
function canonical(a: PolicyAssignmentModel): unknown {
  const sortedLower = (xs: readonly string[] | undefined): string[] => [...(xs ?? [])].map((x) => x.toLowerCase()).sort();
  return {
    policyDefinitionId: a.policyDefinitionId.toLowerCase(),
    enforcementMode: (a.enforcementMode ?? 'Default').toLowerCase(),
    notScopes: sortedLower(a.notScopes),
    parameters: a.parameters ?? {},
    overrides: (a.overrides ?? []).map((o) => ({
      kind: o.kind.toLowerCase(),
      value: o.value.toLowerCase(),
      selectors: (o.selectors ?? []).map((s) => ({ kind: s.kind.toLowerCase(), in: s.in ? sortedLower(s.in) : null, notIn: s.notIn ? sortedLower(s.notIn) : null })),
    })),
    // Descriptive properties too: a rollback whose snapshot differs only in them must still PUT.
    displayName: a.displayName ?? '',
    description: a.description ?? '',
    definitionVersion: (a.definitionVersion ?? '').toLowerCase(),
    metadata: userMetadata(a.metadata),
    nonComplianceMessages: (a.nonComplianceMessages ?? []).map((m) => ({ message: m.message, policyDefinitionReferenceId: (m.policyDefinitionReferenceId ?? '').toLowerCase() })),
    resourceSelectors: (a.resourceSelectors ?? []).map((g) => ({
      name: g.name,
      selectors: g.selectors.map((s) => ({ kind: s.kind.toLowerCase(), in: s.in ? sortedLower(s.in) : null, notIn: s.notIn ? sortedLower(s.notIn) : null })),
    })),
  };
}

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Whether ARM holds what the rollout wrote: definition and its version, enforcement mode, notScopes,
 * parameters, overrides, resource selectors, display name, description, non-compliance messages and
 * metadata (without the keys ARM maintains: createdBy/On, updatedBy/On). Ids and locations compare
 * case-insensitively.
 */
export function sameEnforcement(written: PolicyAssignmentModel, readBack: PolicyAssignmentModel): boolean {
  return stable(canonical(written)) === stable(canonical(readBack));
}

/** What applying one assignment must do, given what the previous wave left (`expected`; undefined = absent). */
export type ApplyAction = 'skip' | 'write' | 'changed-outside';

/**
 * Read-modify-write decision for one assignment of a wave: `skip` when ARM already holds `desired`,
 * `write` when ARM holds what the previous wave (or the snapshot) left, `changed-outside` otherwise —
 * someone changed the assignment outside the rollout, and writing would silently undo that change.
 */
export function applyAction(desired: PolicyAssignmentModel, expected: PolicyAssignmentModel | undefined, current: PolicyAssignmentModel | undefined): ApplyAction {
  if (current !== undefined && sameEnforcement(desired, current)) return 'skip';
  if (expected === undefined ? current === undefined : current !== undefined && sameEnforcement(expected, current)) return 'write';
  return 'changed-outside';
}

/** Resource group id (`/subscriptions/{sub}/resourceGroups/{rg}`) of a resource id, lower-cased. */
export function resourceGroupIdOf(resourceId: string): string | undefined {
  const m = /^(\/subscriptions\/[^/]+\/resourcegroups\/[^/]+)(\/|$)/i.exec(resourceId);
  return m?.[1]?.toLowerCase();
}

/** The ARM id of an assignment named `name` at `scope`. */
export function assignmentIdAt(scope: string, name: string): string {
  return `${scope.replace(/\/+$/, '')}/providers/Microsoft.Authorization/policyAssignments/${name}`;
}

/** Scope of an assignment id: everything before `/providers/Microsoft.Authorization/policyAssignments/`. */
export function parseAssignmentId(id: string): { scope: string; name: string } | undefined {
  const m = /^(.*)\/providers\/Microsoft\.Authorization\/policyAssignments\/([^/]+)\/?$/i.exec(id);
  if (!m || m[2] === undefined) return undefined;
  const scope = m[1] ?? '';
  if (!/^\/(subscriptions\/[^/]+(\/resourceGroups\/[^/]+)?|providers\/Microsoft\.Management\/managementGroups\/[^/]+)$/i.test(scope)) return undefined;
  return { scope, name: m[2] };
}

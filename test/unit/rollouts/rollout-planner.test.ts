import { describe, expect, it } from 'vitest';
import { AppError, InvalidRequestError, UnprocessableError } from '../../../domain/errors.js';
import { assignmentAppliesTo, sameEnforcement } from '../../../domain/rollout-assignment.js';
import { childAssignmentName, normaliseRolloutRequest, ROLLOUT_LIMITS } from '../../../domain/rollout-planner.js';
import type { AssignmentOverride } from '../../../domain/rollout-model.js';
import { ASSIGNMENT_ID, SCOPE, assignment, cluster, fleet, plan, rgId, state } from './builders.js';

function caught(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
}

describe('rollout planner: mechanisms', () => {
  it('widens one resourceLocation Deny override wave by wave, first in the list', () => {
    const existing: AssignmentOverride = { kind: 'definitionVersion', value: '1.*.*', selectors: [{ kind: 'resourceLocation', in: ['eastus'] }] };
    const p = plan({}, assignment({ overrides: [existing] }));
    const [w1, w2, w3] = p.waves;
    expect(w1?.desired.parent.overrides).toEqual([{ kind: 'policyEffect', value: 'Deny', selectors: [{ kind: 'resourceLocation', in: ['westeurope'] }] }, existing]);
    expect(w2?.desired.parent.overrides?.[0]).toEqual({ kind: 'policyEffect', value: 'Deny', selectors: [{ kind: 'resourceLocation', in: ['westeurope', 'northeurope'] }] });
    // The resource-group wave keeps the widened override and adds scope-based enforcement.
    expect(w3?.desired.parent.overrides?.[0]?.selectors?.[0]?.in).toEqual(['westeurope', 'northeurope']);
    expect(w1?.mechanisms).toEqual(['locationOverride']);
    expect(w3?.mechanisms).toEqual(['resourceGroupAssignment']);
  });

  it('turns a resource-group wave into a deny assignment at the group plus notScopes on the parent', () => {
    const p = plan({ waves: [{ name: 'uk', resourceGroups: [rgId('rg-uks')] }, { name: 'weu', resourceGroups: [rgId('rg-weu')] }] }, assignment({ notScopes: [rgId('rg-old')] }));
    const [w1, w2] = p.waves;
    expect(w1?.desired.parent.notScopes).toEqual([rgId('rg-old'), rgId('rg-uks')]);
    expect(w1?.desired.parent.overrides).toBeUndefined();
    expect(w1?.desired.children).toHaveLength(1);
    const child = w1!.desired.children[0]!;
    expect(child.scope).toBe(rgId('rg-uks'));
    expect(child.id).toBe(`${rgId('rg-uks')}/providers/Microsoft.Authorization/policyAssignments/pss-baseline-deny`);
    expect(child.policyDefinitionId).toBe(assignment().policyDefinitionId);
    expect(child.parameters).toEqual({ effect: { value: 'Audit' } });
    expect(child.overrides).toEqual([{ kind: 'policyEffect', value: 'Deny' }]);
    expect(child.enforcementMode).toBe('Default');
    expect(w2?.desired.parent.notScopes).toEqual([rgId('rg-old'), rgId('rg-uks'), rgId('rg-weu')]);
    expect(w2?.desired.children.map((c) => c.scope)).toEqual([rgId('rg-uks'), rgId('rg-weu')]);
    // The clusters of a resource-group wave prove deny through the child assignment.
    expect(w1?.clusters.map((c) => c.enforcingAssignmentId)).toEqual([child.id]);
  });

  it('never changes the snapshot and leaves the snapshot restorable exactly', () => {
    const model = assignment({ overrides: [{ kind: 'policyEffect', value: 'Disabled', selectors: [{ kind: 'resourceLocation', in: ['eastus'] }] }] });
    const before = JSON.stringify(model);
    const p = plan({}, model);
    expect(JSON.stringify(p.snapshot)).toBe(before);
    expect(sameEnforcement(p.snapshot, model)).toBe(true);
    expect(sameEnforcement(p.waves[0]!.desired.parent, model)).toBe(false);
  });

  it('assigns each cluster to the first wave selecting it and reports non-compliance and what would be denied', () => {
    const clusters = [
      cluster('weu-1', 'westeurope', 'rg-weu', { states: [state('noPrivileged', 'NonCompliant', { components: 3 }), state('noHostNetwork', 'NonCompliant', { components: 1 })] }),
      cluster('weu-2', 'West Europe', 'rg-weu'),
      cluster('uks-1', 'uksouth', 'rg-uks', { states: [state('noPrivileged', 'NonCompliant', { components: 4 })] }),
      cluster('other', 'eastus', 'rg-x'),
    ];
    const p = plan({ waves: [{ name: 'w1', locations: ['westeurope'] }, { name: 'w2', locations: ['uksouth'], resourceGroups: [rgId('rg-weu')] }] }, assignment(), clusters);
    expect(p.waves[0]?.clusters.map((c) => c.name)).toEqual(['weu-1', 'weu-2']);
    expect(p.waves[0]?.nonCompliant).toBe(1);
    expect(p.waves[0]?.clusters[0]?.nonCompliant).toBe(2);
    const weu1 = clusters[0]!.id;
    expect(p.waves[0]?.wouldDeny).toEqual([
      { policy: 'nohostnetwork', resources: 1, offenders: { items: [{ clusterId: weu1 }], total: 1 } },
      { policy: 'noprivileged', resources: 3, offenders: { items: [{ clusterId: weu1 }], total: 1 } },
    ]);
    expect(p.waves[1]?.clusters.map((c) => c.name)).toEqual(['uks-1']);
    expect(p.waves[1]?.wouldDeny).toEqual([{ policy: 'noprivileged', resources: 4, offenders: { items: [{ clusterId: clusters[2]!.id }], total: 1 } }]);
    expect(p.warnings).toContain("1 cluster(s) under the assignment are in no wave and stay in the assignment's current effect");
  });

  it('ignores clusters the assignment does not apply to (notScopes, resourceSelectors, other scopes)', () => {
    const model = assignment({ notScopes: [rgId('rg-neu')], resourceSelectors: [{ name: 'eu', selectors: [{ kind: 'resourceLocation', notIn: ['uksouth'] }] }] });
    const outside = cluster('x', 'westeurope', 'rg-weu', { id: '/subscriptions/99999999-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/x' });
    const p = plan({ waves: [{ name: 'all', locations: ['westeurope', 'uksouth'] }] }, model, [...fleet(), outside]);
    expect(p.waves[0]?.clusters.map((c) => c.name)).toEqual(['weu-1', 'weu-2']);
    expect(assignmentAppliesTo(model, { id: `${rgId('rg-neu')}/providers/x/y/z`, location: 'westeurope' })).toBe(false);
  });

  it('warns about a wave without clusters', () => {
    const p = plan({ waves: [{ name: 'nowhere', locations: ['brazilsouth'] }] });
    expect(p.waves[0]?.clusters).toEqual([]);
    expect(p.warnings[0]).toMatch(/selects no cluster/);
  });
});

describe('rollout planner: limits', () => {
  it('refuses more than 50 cumulative location values with LimitExceeded naming the wave', () => {
    const locs = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `region${from + i}`);
    const err = caught(() => plan({ waves: [{ name: 'a', locations: locs(0, 30) }, { name: 'b', locations: locs(30, 21) }] }));
    expect(err).toBeInstanceOf(UnprocessableError);
    expect(err.code).toBe('LimitExceeded');
    expect(err.details).toEqual([expect.objectContaining({ code: 'TooManySelectorValues', target: 'waves[1].locations' })]);
    // Exactly 50 is allowed.
    expect(plan({ waves: [{ name: 'a', locations: locs(0, 30) }, { name: 'b', locations: locs(30, 20) }] }).waves[1]?.desired.parent.overrides?.[0]?.selectors?.[0]?.in).toHaveLength(50);
  });

  it('refuses a location wave when the assignment already holds 10 overrides', () => {
    const ten: AssignmentOverride[] = Array.from({ length: ROLLOUT_LIMITS.maxOverrides }, (_, i) => ({ kind: 'policyEffect', value: 'Audit', selectors: [{ kind: 'resourceLocation', in: [`r${i}`] }] }));
    const err = caught(() => plan({}, assignment({ overrides: ten })));
    expect(err.code).toBe('LimitExceeded');
    expect(err.details?.[0]?.code).toBe('TooManyOverrides');
    // A resource-group-only rollout adds no override and is fine.
    expect(plan({ waves: [{ name: 'uk', resourceGroups: [rgId('rg-uks')] }] }, assignment({ overrides: ten })).waves).toHaveLength(1);
    const nine = ten.slice(1);
    expect(plan({}, assignment({ overrides: nine })).waves[0]?.desired.parent.overrides).toHaveLength(10);
  });
});

describe('rollout planner: validation', () => {
  it('applies defaults', () => {
    const n = normaliseRolloutRequest({ policyAssignmentId: ASSIGNMENT_ID, waves: [{ name: 'w', locations: ['West Europe'] }] });
    expect(n.gates).toEqual({ maxNonCompliant: 0, bakeMinutes: 60, requireApproval: true, maxEvidenceAgeHours: 24 });
    expect(n.autoRollback).toBe(true);
    expect(n.waves[0]?.locations).toEqual(['westeurope']);
  });

  it.each([
    ['no waves', { waves: [] }, 'waves'],
    ['empty wave', { waves: [{ name: 'w' }] }, 'waves[0]'],
    ['duplicate wave names', { waves: [{ name: 'w', locations: ['a'] }, { name: 'W', locations: ['b'] }] }, 'waves[1].name'],
    ['a location in two waves', { waves: [{ name: 'a', locations: ['westeurope'] }, { name: 'b', locations: ['West Europe'] }] }, 'waves[1].locations[0]'],
    ['a bad location', { waves: [{ name: 'a', locations: ['west/europe'] }] }, 'waves[0].locations[0]'],
    ['a bad resource group id', { waves: [{ name: 'a', resourceGroups: ['rg-weu'] }] }, 'waves[0].resourceGroups[0]'],
    ['a resource group in two waves', { waves: [{ name: 'a', resourceGroups: [rgId('x')] }, { name: 'b', resourceGroups: [rgId('X')] }] }, 'waves[1].resourceGroups[0]'],
    ['negative maxNonCompliant', { gates: { maxNonCompliant: -1 } }, 'gates.maxNonCompliant'],
    ['not an assignment id', { policyAssignmentId: `${SCOPE}/providers/Microsoft.Authorization/policyDefinitions/x` }, 'policyAssignmentId'],
  ])('refuses %s', (_, patch, target) => {
    const err = caught(() => plan(patch));
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(err.details?.map((d) => d.target)).toContain(target);
  });

  it('refuses resource groups outside the scope or already excluded', () => {
    const other = '/subscriptions/99999999-2222-3333-4444-555555555555/resourceGroups/rg';
    const err = caught(() => plan({ waves: [{ name: 'a', resourceGroups: [other, rgId('rg-old')] }] }, assignment({ notScopes: [rgId('rg-old')] })));
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(err.details?.map((d) => d.target)).toEqual(['waves[0].resourceGroups[0]', 'waves[0].resourceGroups[1]']);
  });

  it('names child assignments within 64 characters', () => {
    expect(childAssignmentName('a'.repeat(80))).toHaveLength(64);
    expect(childAssignmentName('pss')).toBe('pss-deny');
  });
});

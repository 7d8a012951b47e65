import { describe, expect, it } from 'vitest';
import type { ArmResource } from '../../../local/arm-emulator/fleet-model.js';
import { clustersInSubscription, derivePolicyStates, generateFleet } from '../../../local/arm-emulator/fleet/index.js';
import { policyAssignmentsReaching } from '../../../local/arm-emulator/fleet/fleet-queries.js';

const NOW = new Date('2026-05-01T02:00:00Z');
const A = '00000000-0000-0000-0000-00000000000a';
const B = '00000000-0000-0000-0000-00000000000b';
const assignment = (scope: string, name: string): ArmResource => ({ id: `${scope}/providers/Microsoft.Authorization/policyAssignments/${name}`, name, type: 'Microsoft.Authorization/policyAssignments' });

describe('policy assignments by subscription', () => {
  it("gives a subscription's own assignments (any depth, any casing) and the management groups', in array order, and follows in-place edits", () => {
    const list = [
      assignment(`/subscriptions/${A}`, 'a1'),
      assignment(`/subscriptions/${B}`, 'b1'),
      assignment('/providers/Microsoft.Management/managementGroups/root', 'mg'),
      assignment(`/subscriptions/${A.toUpperCase()}/resourceGroups/rg-1`, 'a-rg'),
      assignment(`/subscriptions/${B}/resourceGroups/rg-2`, 'b-rg'),
    ];
    const names = (sub: string): string[] => policyAssignmentsReaching(list, sub).map((a) => a.name);
    expect(names(A.toUpperCase())).toEqual(['a1', 'mg', 'a-rg']);
    expect(names(B)).toEqual(['b1', 'mg', 'b-rg']);
    expect(names('00000000-0000-0000-0000-0000000000cc')).toEqual(['mg']);
    // PUT replaces in place, DELETE splices, a create pushes: the next query sees each.
    list[1] = assignment(`/subscriptions/${A}`, 'moved');
    expect(names(A)).toEqual(['a1', 'moved', 'mg', 'a-rg']);
    list.splice(2, 1);
    expect(names(B)).toEqual(['b-rg']);
    list.push(assignment(`/subscriptions/${B}`, 'b2'));
    expect(names(B)).toEqual(['b-rg', 'b2']);
  });

  it('derives the same policy states as a scan of every assignment of the fleet', () => {
    const fleet = generateFleet({ mode: 'scale', seed: 5, subscriptions: 4, clustersPerSubscription: 3, policyStatesPerCluster: 15, extensionsPerCluster: 1 }, NOW);
    const sub = fleet.subscriptions[2]!.subscriptionId;
    const indexed = derivePolicyStates(fleet, sub, NOW);
    expect(indexed.length).toBe(3 * 15);
    // A fleet object without the index (a fresh array) gives the same answer.
    expect(derivePolicyStates({ ...fleet, policyAssignments: [...fleet.policyAssignments] }, sub, NOW)).toEqual(indexed);
    expect(new Set(indexed.map((s) => String(s['policyAssignmentId']).split('/')[2]))).toEqual(new Set([sub.toLowerCase()]));
  });
});

describe('clusters by subscription', () => {
  it('sees an array emptied and refilled to the same length', () => {
    const first = generateFleet({ mode: 'scale', seed: 1, subscriptions: 2, clustersPerSubscription: 2, policyStatesPerCluster: 0, extensionsPerCluster: 0 }, NOW);
    const other = generateFleet({ mode: 'scale', seed: 2, subscriptions: 2, clustersPerSubscription: 2, policyStatesPerCluster: 0, extensionsPerCluster: 0 }, NOW);
    const sub = first.subscriptions[0]!.subscriptionId;
    expect(clustersInSubscription(first, sub)).toHaveLength(2);
    const replacement = other.clusters.map((c) => ({ ...c, resource: { ...c.resource, id: c.resource.id.replace(/^\/subscriptions\/[^/]+/, `/subscriptions/${first.subscriptions[1]!.subscriptionId}`) } }));
    first.clusters.length = 0;
    first.clusters.push(...replacement);
    expect(clustersInSubscription(first, sub)).toEqual([]);
    expect(clustersInSubscription(first, first.subscriptions[1]!.subscriptionId)).toHaveLength(4);
  });
});

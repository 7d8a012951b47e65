import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clustersInSubscription, derivePolicyStates, findCluster, generateFleet } from '../../../local/arm-emulator/fleet/index.js';
import { planScaleAssignments } from '../../../local/arm-emulator/fleet/scale-fleet.js';

const NOW = new Date('2026-05-01T02:00:00Z');

describe('determinism', () => {
  it('the same seed and time give a deep-equal demo fleet; another seed changes details, not the shape', () => {
    const a = generateFleet({ mode: 'demo', seed: 7 }, NOW);
    expect(generateFleet({ mode: 'demo', seed: 7 }, NOW)).toEqual(a);
    const b = generateFleet({ mode: 'demo', seed: 8 }, NOW);
    expect(b).not.toEqual(a);
    expect(b.clusters.map((c) => c.resource.id)).toEqual(a.clusters.map((c) => c.resource.id));
  });

  it('the same seed gives a deep-equal scale fleet and the same states', () => {
    const options = { mode: 'scale' as const, seed: 3, subscriptions: 3, clustersPerSubscription: 5, policyStatesPerCluster: 12, extensionsPerCluster: 6 };
    const a = generateFleet(options, NOW);
    expect(generateFleet(options, NOW)).toEqual(a);
    const sub = a.subscriptions[1]!.subscriptionId;
    expect(derivePolicyStates(generateFleet(options, NOW), sub, NOW)).toEqual(derivePolicyStates(a, sub, NOW));
  });
});

describe('scale mode', () => {
  it('plans assignments that expand to exactly K states (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 120 }), (k) => {
        const plan = planScaleAssignments(k);
        expect(plan.reduce((n, p) => n + p.definitionNames.length, 0)).toBe(k);
        expect(new Set(plan.map((p) => p.name)).size).toBe(plan.length);
      }),
      { seed: 7 },
    );
  });

  it('has exactly subscriptions × clusters, E extensions and K policy states per cluster', () => {
    const fleet = generateFleet({ mode: 'scale', subscriptions: 4, clustersPerSubscription: 6, policyStatesPerCluster: 40, extensionsPerCluster: 4 }, NOW);
    expect(fleet.subscriptions).toHaveLength(4);
    expect(fleet.clusters).toHaveLength(24);
    expect(new Set(fleet.clusters.map((c) => c.resource.id.toLowerCase())).size).toBe(24);
    for (const c of fleet.clusters) expect(c.extensions).toHaveLength(4);
    const types = fleet.clusters[0]!.extensions.map((e) => (e['properties'] as Record<string, unknown>)['extensionType']);
    expect(types).toEqual(['microsoft.policyinsights', 'microsoft.azuredefender.kubernetes', 'microsoft.azuremonitor.containers', 'microsoft.dataprotection.kubernetes']);
    for (const s of fleet.subscriptions) {
      const states = derivePolicyStates(fleet, s.subscriptionId, NOW);
      expect(states).toHaveLength(6 * 40);
      const perCluster = new Map<string, number>();
      for (const st of states) perCluster.set(String(st['resourceId']), (perCluster.get(String(st['resourceId'])) ?? 0) + 1);
      expect([...perCluster.values()]).toEqual(Array(6).fill(40));
    }
    const all = fleet.subscriptions.flatMap((s) => derivePolicyStates(fleet, s.subscriptionId, NOW));
    expect(all.some((s) => s['complianceState'] === 'NonCompliant')).toBe(true);
    expect(all.some((s) => s['complianceState'] === 'Compliant')).toBe(true);
  });

  it('generates the benchmark size (200 × 50, 40 states, 4 extensions) with exact counts', () => {
    const fleet = generateFleet({ mode: 'scale', subscriptions: 200, clustersPerSubscription: 50, policyStatesPerCluster: 40, extensionsPerCluster: 4 }, NOW);
    expect(fleet.clusters).toHaveLength(10_000);
    expect(fleet.subscriptions).toHaveLength(200);
    const last = fleet.subscriptions[199]!.subscriptionId;
    expect(clustersInSubscription(fleet, last)).toHaveLength(50);
    expect(derivePolicyStates(fleet, last, NOW, { expandComponents: false })).toHaveLength(2_000);
  });

  it('rejects invalid sizes', () => {
    expect(() => generateFleet({ mode: 'scale', subscriptions: -1, clustersPerSubscription: 1, policyStatesPerCluster: 1, extensionsPerCluster: 1 }, NOW)).toThrow(RangeError);
    expect(() => generateFleet({ mode: 'scale', subscriptions: 1, clustersPerSubscription: 1.5, policyStatesPerCluster: 1, extensionsPerCluster: 1 }, NOW)).toThrow(RangeError);
  });
});

describe('lookups', () => {
  it('findCluster compares ids case-insensitively; clustersInSubscription keeps fleet order', () => {
    const fleet = generateFleet({ mode: 'demo' }, NOW);
    const c = fleet.clusters[4]!;
    expect(findCluster(fleet, c.resource.id.toUpperCase())).toBe(c);
    expect(findCluster(fleet, c.resource.id.toLowerCase() + '/')).toBe(c);
    expect(findCluster(fleet, c.resource.id + 'x')).toBeUndefined();
    const sub = fleet.subscriptions[0]!.subscriptionId;
    const mine = clustersInSubscription(fleet, sub.toUpperCase());
    expect(mine).toEqual(fleet.clusters.filter((x) => x.resource.id.startsWith(`/subscriptions/${sub}/`)));
    expect(clustersInSubscription(fleet, '00000000-0000-0000-0000-000000000000')).toEqual([]);
  });

  it('sees clusters appended after the first lookup', () => {
    const fleet = generateFleet({ mode: 'demo' }, NOW);
    const sub = fleet.subscriptions[0]!.subscriptionId;
    const before = clustersInSubscription(fleet, sub).length;
    const copy = { ...fleet.clusters[0]!, resource: { ...fleet.clusters[0]!.resource, id: fleet.clusters[0]!.resource.id + '-copy' } };
    fleet.clusters.push(copy);
    expect(clustersInSubscription(fleet, sub)).toHaveLength(before + 1);
    expect(findCluster(fleet, copy.resource.id)).toBe(copy);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TAG_VALUES, TrendSliceBuilder, filteredTrendPoint, type TrendDimensions } from '../../../domain/trend-slices.js';
import type { ControlStatus } from '../../../domain/model.js';

interface C {
  readonly subscriptionId: string;
  readonly dimensions: TrendDimensions;
  readonly evaluation: { readonly score: number; readonly controls: { controlId: string; status: ControlStatus }[] };
}

const slicesOf = (clusters: readonly C[]) => {
  const b = new TrendSliceBuilder();
  for (const c of clusters) b.add(c);
  return b.build('run-1', '2026-03-10T03:00:00.000Z');
};

describe('trend slices', () => {
  it('property: a filtered point equals the figures computed directly over the matching clusters', () => {
    const clusterArb = fc.record({
      subscriptionId: fc.constantFrom('SUB-A', 'sub-a', 'sub-b'),
      dimensions: fc.record({
        environment: fc.constantFrom('prod', 'Prod', 'dev', null),
        location: fc.constantFrom('westeurope', 'WestEurope', 'eastus'),
        tags: fc.dictionary(fc.constantFrom('team', 'Team', 'tier'), fc.constantFrom('a', 'b')),
      }),
      evaluation: fc.record({
        score: fc.integer({ min: 0, max: 100 }),
        controls: fc.array(fc.record({ controlId: fc.constantFrom('ARC-AC-01', 'ARC-PL-01'), status: fc.constantFrom<ControlStatus>('pass', 'fail', 'unknown') }), { maxLength: 2 }),
      }),
    });
    const filterArb = fc.record({
      environment: fc.constantFrom(undefined, 'PROD', 'dev'),
      subscriptionId: fc.constantFrom(undefined, 'sub-A', 'sub-b'),
      location: fc.constantFrom(undefined, 'westeurope'),
      tag: fc.constantFrom(undefined, 'team', 'TEAM=a', 'tier=b'),
    });
    fc.assert(
      fc.property(fc.array(clusterArb, { maxLength: 25 }), filterArb, (clusters, f) => {
        const point = filteredTrendPoint(slicesOf(clusters), f);
        const tagOf = (c: C, key: string): string | undefined => Object.entries(c.dimensions.tags).find(([k]) => k.toLowerCase() === key)?.[1];
        const matching = clusters.filter((c) => {
          if (f.environment !== undefined && c.dimensions.environment?.toLowerCase() !== f.environment.toLowerCase()) return false;
          if (f.subscriptionId !== undefined && c.subscriptionId.toLowerCase() !== f.subscriptionId.toLowerCase()) return false;
          if (f.location !== undefined && c.dimensions.location.toLowerCase() !== f.location) return false;
          if (f.tag !== undefined) {
            const [k, v] = f.tag.split('=');
            const value = tagOf(c, (k ?? '').toLowerCase());
            if (value === undefined || (v !== undefined && value !== v)) return false;
          }
          return true;
        });
        const noncompliant = matching.filter((c) => c.evaluation.controls.some((r) => r.status === 'fail')).length;
        const sum = matching.reduce((n, c) => n + c.evaluation.score, 0);
        expect(point).toMatchObject({ clusters: matching.length, noncompliant, averageScore: matching.length === 0 ? 100 : Math.round((10 * sum) / matching.length) / 10 });
        const failing = matching.filter((c) => c.evaluation.controls.some((r) => r.controlId === 'ARC-AC-01' && r.status === 'fail')).length;
        expect(point?.failingByControl['ARC-AC-01'] ?? 0).toBe(failing);
      }),
      { numRuns: 200 },
    );
  });

  it('leaves out a tag key with too many values (one group per site otherwise) and refuses to filter by it', () => {
    const clusters: C[] = Array.from({ length: MAX_TAG_VALUES + 1 }, (_, i) => ({
      subscriptionId: 's',
      dimensions: { environment: 'prod', location: 'westeurope', tags: { site: `site-${i}`, team: 'edge' } },
      evaluation: { score: 90, controls: [] },
    }));
    const slices = slicesOf(clusters);
    expect(slices.tagKeysLeftOut).toEqual(['site']);
    expect(slices.groups).toHaveLength(1);
    expect(filteredTrendPoint(slices, { tag: 'site=site-1' })).toBeUndefined();
    expect(filteredTrendPoint(slices, { tag: 'team=edge' })).toMatchObject({ clusters: MAX_TAG_VALUES + 1, averageScore: 90 });
  });
});

import { describe, expect, it } from 'vitest';
import { listControls } from '../../../domain/control-catalog.js';
import { controlMatrix, environmentClass, type MatrixInput } from '../../../domain/control-matrix.js';
import type { ControlStatus } from '../../../domain/model.js';

const SUB_A = 'AAAAAAAA-0000-4000-8000-000000000001';
const SUB_B = 'bbbbbbbb-0000-4000-8000-000000000002';
const cluster = (subscriptionId: string, environment: string | undefined, statuses: Record<string, ControlStatus>): MatrixInput => ({
  subscriptionId,
  environment,
  controls: Object.entries(statuses).map(([controlId, status]) => ({ controlId, status })),
});

describe('controlMatrix', () => {
  it('groups by subscription (lower-cased) and environment, production first and untagged last, with a tally per catalog control', () => {
    const m = controlMatrix([
      cluster(SUB_A, 'dev', { 'ARC-AC-01': 'pass' }),
      cluster(SUB_A, undefined, { 'ARC-AC-01': 'unknown' }),
      cluster(SUB_A, 'Prod', { 'ARC-AC-01': 'fail' }),
      cluster(SUB_A, 'prod', { 'ARC-AC-01': 'exempt' }),
      cluster(SUB_B, 'test', { 'ARC-AC-01': 'pass' }),
    ]);
    expect(m.groups.map((g) => [g.subscriptionId, g.environment, g.clusters])).toEqual([
      [SUB_A.toLowerCase(), 'prod', 2],
      [SUB_A.toLowerCase(), 'dev', 1],
      [SUB_A.toLowerCase(), null, 1],
      [SUB_B, 'test', 1],
    ]);
    expect(m.groups[0]!.cells['ARC-AC-01']).toEqual({ pass: 0, fail: 1, unknown: 0, not_applicable: 0, exempt: 1 });
    expect(m.controls.slice(0, listControls().length)).toEqual(listControls().map((c) => c.id));
    for (const g of m.groups) expect(Object.keys(g.cells)).toEqual(m.controls);
  });

  it('keeps control ids outside the catalog as extra columns, and its totals equal the sum over clusters', () => {
    const inputs = [cluster(SUB_A, 'prod', { 'ARC-AC-01': 'fail', 'X-NEW': 'pass' }), cluster(SUB_B, 'prod', { 'ARC-AC-01': 'pass' })];
    const m = controlMatrix(inputs);
    expect(m.controls.at(-1)).toBe('X-NEW');
    const fails = m.groups.reduce((n, g) => n + (g.cells['ARC-AC-01']?.fail ?? 0) + (g.cells['ARC-AC-01']?.pass ?? 0), 0);
    expect(fails).toBe(2);
  });

  it('flags controls failing in production while development passes, and only those', () => {
    const m = controlMatrix([
      cluster(SUB_A, 'production', { 'ARC-AC-01': 'fail', 'ARC-AC-02': 'fail', 'ARC-AC-03': 'fail' }),
      cluster(SUB_A, 'Development', { 'ARC-AC-01': 'pass', 'ARC-AC-02': 'fail', 'ARC-AC-03': 'not_applicable' }),
      cluster(SUB_B, 'dev', { 'ARC-AC-01': 'pass', 'ARC-AC-02': 'pass' }),
    ]);
    expect(m.productionOnlyFailures).toEqual([{ controlId: 'ARC-AC-01', productionFailing: 1, developmentPassing: 2 }]);
  });

  it('reads prod/production and dev/development in any case as the two ends, nothing else', () => {
    expect(['PROD', 'production', 'dev', 'DEVELOPMENT', 'test', 'staging', '', null, undefined].map(environmentClass)).toEqual([
      'production', 'production', 'development', 'development', undefined, undefined, undefined, undefined, undefined,
    ]);
  });

  it('is empty for an empty fleet', () => {
    expect(controlMatrix([])).toMatchObject({ groups: [], productionOnlyFailures: [] });
  });
});

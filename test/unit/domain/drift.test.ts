import { describe, expect, it } from 'vitest';
import { buildHistoryEntry, classifyDrift, computeDrift } from '../../../domain/drift.js';
import type { ClusterHistoryEntry } from '../../../application/ports.js';
import type { ClusterEvaluation, ControlStatus } from '../../../domain/model.js';

function evaluation(statuses: Record<string, ControlStatus>, runId = 'run-2'): ClusterEvaluation {
  const controls = Object.entries(statuses).map(([controlId, status]) => ({ controlId, status, severity: 'medium' as const, evidence: `long evidence for ${controlId}`, offenders: { items: ['x'], total: 1 } }));
  return { clusterId: '/subscriptions/s/resourcegroups/rg/providers/microsoft.kubernetes/connectedclusters/c', evaluatedAt: '2026-03-10T02:00:00.000Z', runId, controls, score: 50, failedControls: [] };
}

describe('computeDrift', () => {
  it('reports pass→fail, fail→pass and every other change, in current order', () => {
    const prev = evaluation({ A: 'pass', B: 'fail', C: 'pass', D: 'unknown', E: 'exempt' });
    const cur = evaluation({ A: 'fail', B: 'pass', C: 'pass', D: 'pass', E: 'fail' });
    expect(computeDrift(prev, cur)).toEqual([
      { controlId: 'A', from: 'pass', to: 'fail' },
      { controlId: 'B', from: 'fail', to: 'pass' },
      { controlId: 'D', from: 'unknown', to: 'pass' },
      { controlId: 'E', from: 'exempt', to: 'fail' },
    ]);
  });
  it('is empty on the first run and for unchanged statuses', () => {
    const cur = evaluation({ A: 'pass' });
    expect(computeDrift(undefined, cur)).toEqual([]);
    expect(computeDrift(cur, cur)).toEqual([]);
  });
  it('skips controls the previous evaluation did not have (new catalog control)', () => {
    expect(computeDrift(evaluation({ A: 'pass' }), evaluation({ A: 'pass', NEW: 'fail' }))).toEqual([]);
  });
});

describe('classifyDrift', () => {
  it('regression when a control starts failing, improvement when it stops, other otherwise', () => {
    expect(classifyDrift({ from: 'pass', to: 'fail' })).toBe('regression');
    expect(classifyDrift({ from: 'exempt', to: 'fail' })).toBe('regression');
    expect(classifyDrift({ from: 'fail', to: 'pass' })).toBe('improvement');
    expect(classifyDrift({ from: 'fail', to: 'exempt' })).toBe('improvement');
    expect(classifyDrift({ from: 'pass', to: 'unknown' })).toBe('other');
    expect(classifyDrift({ from: 'not_applicable', to: 'pass' })).toBe('other');
  });
});

describe('buildHistoryEntry', () => {
  it('keeps only statuses, score and drift (no evidence)', () => {
    const entry = buildHistoryEntry(evaluation({ A: 'fail', B: 'pass' }), evaluation({ A: 'pass', B: 'pass' }, 'run-1'));
    expect(entry).toEqual({
      clusterId: '/subscriptions/s/resourcegroups/rg/providers/microsoft.kubernetes/connectedclusters/c',
      runId: 'run-2',
      evaluatedAt: '2026-03-10T02:00:00.000Z',
      score: 50,
      statuses: { A: 'fail', B: 'pass' },
      drift: [{ controlId: 'A', from: 'pass', to: 'fail' }],
    });
    expect(JSON.stringify(entry)).not.toContain('evidence');
    // Compile-time: the domain entry is the storage port's history entry.
    const asPort: ClusterHistoryEntry = entry;
    expect(asPort.runId).toBe('run-2');
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ControlStatus, Severity } from '../../../domain/model.js';
import { isCompliant, scoreControls, SEVERITY_WEIGHTS } from '../../../domain/scoring.js';

const r = (status: ControlStatus, severity: Severity = 'medium') => ({ status, severity });
const statusArb = fc.constantFrom<ControlStatus>('pass', 'fail', 'unknown', 'not_applicable', 'exempt');
const severityArb = fc.constantFrom<Severity>('high', 'medium', 'low');
const resultsArb = fc.array(fc.record({ status: statusArb, severity: severityArb }), { maxLength: 40 });

describe('scoreControls', () => {
  it('weighs high 3, medium 2, low 1', () => {
    expect(SEVERITY_WEIGHTS).toEqual({ high: 3, medium: 2, low: 1 });
    // passed high (3) of high + low (4) = 75
    expect(scoreControls([r('pass', 'high'), r('fail', 'low')])).toBe(75);
    expect(scoreControls([r('fail', 'high'), r('pass', 'low')])).toBe(25);
  });
  it('rounds to one decimal', () => {
    // 2 / 3 → 66.7
    expect(scoreControls([r('pass', 'medium'), r('fail', 'low')])).toBe(66.7);
  });
  it('scores 100 with no applicable control', () => {
    expect(scoreControls([])).toBe(100);
    expect(scoreControls([r('not_applicable'), r('unknown'), r('exempt')])).toBe(100);
  });
  it('ignores exempt, unknown and not_applicable', () => {
    const base = [r('pass', 'high'), r('fail', 'medium')];
    for (const s of ['exempt', 'unknown', 'not_applicable'] as const) {
      expect(scoreControls([...base, r(s, 'high')])).toBe(scoreControls(base));
    }
  });
  it('property: always within [0, 100]', () => {
    fc.assert(fc.property(resultsArb, (rs) => {
      const s = scoreControls(rs);
      return s >= 0 && s <= 100;
    }));
  });
  it('property: turning any fail into pass never lowers the score', () => {
    fc.assert(fc.property(resultsArb, fc.nat(), (rs, pick) => {
      const fails = rs.map((x, i) => (x.status === 'fail' ? i : -1)).filter((i) => i >= 0);
      fc.pre(fails.length > 0);
      const i = fails[pick % fails.length] ?? 0;
      const improved = rs.map((x, j) => (j === i ? { ...x, status: 'pass' as const } : x));
      return scoreControls(improved) >= scoreControls(rs);
    }));
  });
  it('property: all pass → 100, all fail → 0', () => {
    fc.assert(fc.property(fc.array(severityArb, { minLength: 1, maxLength: 20 }), (sev) => {
      return scoreControls(sev.map((s) => r('pass', s))) === 100 && scoreControls(sev.map((s) => r('fail', s))) === 0;
    }));
  });
});

describe('isCompliant', () => {
  it('is false exactly when a control fails', () => {
    expect(isCompliant([r('pass'), r('exempt'), r('unknown'), r('not_applicable')])).toBe(true);
    expect(isCompliant([r('pass'), r('fail')])).toBe(false);
    expect(isCompliant({ controls: [r('fail')] })).toBe(false);
    expect(isCompliant({ controls: [] })).toBe(true);
  });
});

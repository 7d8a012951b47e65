import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listControls } from '../../../domain/control-catalog.js';
import { evaluateCluster } from '../../../domain/evaluate-cluster.js';
import { csvField, FleetSummaryBuilder, summarizeFleet, toCsv, type SummaryInput } from '../../../domain/fleet-summary.js';
import { FRAMEWORK_REPORT_CSV_HEADER, frameworkReportToCsv, type RequirementReportRow } from '../../../domain/framework-report.js';
import type { ControlStatus } from '../../../domain/model.js';
import { context, snapshot } from './builders.js';

const allPass = evaluateCluster(snapshot(), context());
const noRbac = evaluateCluster(snapshot({ properties: { ...snapshot().properties, aadProfile: undefined } }), context());
const devNoExtensions = evaluateCluster(snapshot({ name: 'c2', tags: { environment: 'dev' }, extensions: null }), context());

const input = (subscriptionId: string, evaluation: SummaryInput['evaluation'], stale = false): SummaryInput => ({ subscriptionId, stale, evaluation });

describe('summarizeFleet', () => {
  const clusters = [input('SUB-A', allPass), input('sub-a', noRbac, true), input('sub-b', devNoExtensions)];
  const summary = summarizeFleet('run-9', '2026-03-10T03:00:00Z', clusters);

  it('computes totals: compliant = no fail; stale counted; mean score with one decimal', () => {
    expect(summary.runId).toBe('run-9');
    expect(summary.totals.clusters).toBe(3);
    expect(summary.totals.compliant).toBe(2);
    expect(summary.totals.noncompliant).toBe(1);
    expect(summary.totals.stale).toBe(1);
    expect(summary.totals.averageScore).toBe(Math.round(((allPass.score + noRbac.score + devNoExtensions.score) / 3) * 10) / 10);
  });

  it('tallies every catalog control, zeros included', () => {
    expect(Object.keys(summary.perControl)).toEqual(listControls().map((c) => c.id));
    expect(summary.perControl['ARC-AC-01']).toEqual({ pass: 2, fail: 1, unknown: 0, not_applicable: 0, exempt: 0 });
    expect(summary.perControl['ARC-PL-01']).toEqual({ pass: 2, fail: 0, unknown: 1, not_applicable: 0, exempt: 0 });
    expect(summary.perControl['ARC-PL-04']).toEqual({ pass: 2, fail: 0, unknown: 0, not_applicable: 1, exempt: 0 });
  });

  it('groups subscriptions case-insensitively (lower-cased keys)', () => {
    expect(Object.keys(summary.perSubscription)).toEqual(['sub-a', 'sub-b']);
    expect(summary.perSubscription['sub-a']).toMatchObject({ clusters: 2, compliant: 1, noncompliant: 1, stale: 1 });
  });

  it('an empty fleet has zero clusters and an average of 100', () => {
    const empty = summarizeFleet('r', 't', []);
    expect(empty.totals).toEqual({ clusters: 0, compliant: 0, noncompliant: 0, stale: 0, averageScore: 100 });
  });

  it('property: totals == cluster count, compliant + noncompliant == clusters', () => {
    const statusArb = fc.constantFrom<ControlStatus>('pass', 'fail', 'unknown', 'not_applicable', 'exempt');
    const evalArb = fc.record({
      controls: fc.array(fc.record({ controlId: fc.constantFrom(...listControls().map((c) => c.id)), status: statusArb, severity: fc.constant('high' as const), evidence: fc.constant('') }), { maxLength: listControls().length }),
      score: fc.integer({ min: 0, max: 100 }),
    });
    const clustersArb = fc.array(fc.record({ subscriptionId: fc.constantFrom('s1', 's2', 'S1'), stale: fc.boolean(), evaluation: evalArb }), { maxLength: 30 });
    fc.assert(fc.property(clustersArb, (cs) => {
      const s = summarizeFleet('r', 't', cs);
      const perSub = Object.values(s.perSubscription).reduce((n, t) => n + t.clusters, 0);
      return (
        s.totals.clusters === cs.length &&
        s.totals.compliant + s.totals.noncompliant === cs.length &&
        perSub === cs.length &&
        s.totals.averageScore >= 0 && s.totals.averageScore <= 100
      );
    }));
  });
});

describe('CSV escaping', () => {
  it('quotes fields with commas, quotes, CR or LF and doubles inner quotes (RFC 4180)', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line1\nline2')).toBe('"line1\nline2"');
    expect(csvField('a\r\nb')).toBe('"a\r\nb"');
  });
  it('neutralises formula injection: = + - @ tab CR at the start get a leading quote', () => {
    expect(csvField('=HYPERLINK("http://x")')).toBe('"\'=HYPERLINK(""http://x"")"');
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('-2+3')).toBe("'-2+3");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('\tx')).toBe("'\tx");
    expect(csvField('\rx')).toBe('"\'\rx"');
    expect(csvField('a=b')).toBe('a=b');
  });
  it('neutralises a leading LF too (spreadsheets drop it and read the next line as the cell)', () => {
    expect(csvField('\n=1+1')).toBe('"\'\n=1+1"');
    expect(csvField('\nplain')).toBe('"\'\nplain"');
  });
  it('writes numbers and booleans as data, null/undefined/non-finite as empty', () => {
    expect(csvField(-5)).toBe('-5');
    expect(csvField(66.7)).toBe('66.7');
    expect(csvField(true)).toBe('true');
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
    expect(csvField(Number.NaN)).toBe('');
  });
  it('joins records with CRLF and a trailing CRLF', () => {
    expect(toCsv([['a', 'b'], [1, 'x,y']])).toBe('a,b\r\n1,"x,y"\r\n');
    expect(toCsv([])).toBe('');
  });
  it('property: a parsed field round-trips (minus the formula guard)', () => {
    const parseField = (f: string) => (f.startsWith('"') ? f.slice(1, -1).replace(/""/g, '"') : f);
    fc.assert(fc.property(fc.string(), (s) => {
      const back = parseField(csvField(s));
      return /^[=+\-@\t\r\n]/.test(s) ? back === `'${s}` : back === s;
    }));
  });
});

/** An independent RFC 4180 reader: records of fields, quotes undone. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      field = '';
      record = [];
      i += 1;
    } else field += c;
  }
  return records;
}

const FORMULA_LOOKING = fc.tuple(fc.constantFrom('=', '+', '-', '@', '\t', '\r', '\n'), fc.string()).map(([lead, rest]) => `${lead}${rest}`);

describe('CSV exports hold no formula', () => {
  // A cell a spreadsheet would evaluate starts with one of these once it is read back.
  const executable = (cell: string) => /^[=+\-@\t\r\n]/.test(cell);

  it('property: framework report rows with formula-looking text in every text field export as text', () => {
    fc.assert(
      fc.property(FORMULA_LOOKING, FORMULA_LOOKING, FORMULA_LOOKING, fc.array(FORMULA_LOOKING, { minLength: 1, maxLength: 3 }), (id, name, title, controls) => {
        const row = { id, policyMetadataName: name, title, controls, status: 'failing', clustersPassing: 1, clustersFailing: -1, clustersNotAssessed: 0 } as unknown as RequirementReportRow;
        const csv = frameworkReportToCsv('cis', [row]);
        const [header, record, ...rest] = parseCsv(csv);
        expect(header).toEqual([...FRAMEWORK_REPORT_CSV_HEADER]);
        expect(rest).toEqual([]);
        expect(record).toEqual(['cis', `'${id}`, `'${name}`, `'${title}`, `'${controls.join(';')}`, 'failing', '1', '-1', '0']);
        for (const cell of record ?? []) if (cell !== '-1') expect(executable(cell)).toBe(false);
      }),
    );
  });

  it('property: toCsv never emits an executable text cell and keeps the record structure', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.oneof(FORMULA_LOOKING, fc.string()), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }), (records) => {
        const back = parseCsv(toCsv(records));
        expect(back.map((r) => r.length)).toEqual(records.map((r) => r.length));
        for (const cell of back.flat()) expect(executable(cell)).toBe(false);
      }),
    );
  });
});

describe('FleetSummaryBuilder', () => {
  it('property: fed page by page, it gives the summary of the whole fleet at once (and build leaves it usable)', () => {
    const statusArb = fc.constantFrom<ControlStatus>('pass', 'fail', 'unknown', 'not_applicable', 'exempt');
    const evalArb = fc.record({
      controls: fc.array(fc.record({ controlId: fc.constantFrom(...listControls().map((c) => c.id), 'X-OTHER'), status: statusArb, severity: fc.constant('high' as const), evidence: fc.constant('') }), { maxLength: 6 }),
      score: fc.integer({ min: 0, max: 100 }),
    });
    const clustersArb = fc.array(fc.record({ subscriptionId: fc.constantFrom('s1', 's2', 'S1', 's3'), stale: fc.boolean(), evaluation: evalArb }), { maxLength: 40 });
    fc.assert(
      fc.property(clustersArb, fc.integer({ min: 1, max: 7 }), (cs, pageSize) => {
        const builder = new FleetSummaryBuilder();
        for (let i = 0; i < cs.length; i += pageSize) {
          for (const c of cs.slice(i, i + pageSize)) builder.add(c);
          builder.build('r', 't'); // an intermediate build must not change what follows
        }
        expect(builder.clusters).toBe(cs.length);
        expect(builder.build('r', 't')).toEqual(summarizeFleet('r', 't', cs));
      }),
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONTROL_IDS } from '../../../domain/control-catalog.js';
import { frameworkPostures, frameworkReport, frameworkReportToCsv, requirementStanding, type ReportCluster } from '../../../domain/framework-report.js';
import { summarizeRun } from '../../../domain/run-summary.js';
import { FRAMEWORK_IDS, frameworkRequirements } from '../../../domain/frameworks.js';
import type { ControlStatus } from '../../../domain/model.js';

const cluster = (statuses: Partial<Record<string, ControlStatus>>): ReportCluster => ({
  controls: Object.entries(statuses).map(([controlId, status]) => ({ controlId, status: status ?? 'unknown' })),
});

describe('requirementStanding', () => {
  const s = (o: Record<string, ControlStatus>) => new Map(Object.entries(o));
  it('fails when any control fails, even alongside passes', () => expect(requirementStanding(s({ A: 'pass', B: 'fail' }), ['A', 'B'])).toBe('failing'));
  it('passes on one pass or exemption when none fails; unknown and not_applicable do not block it', () => {
    expect(requirementStanding(s({ A: 'exempt', B: 'unknown' }), ['A', 'B'])).toBe('passing');
    expect(requirementStanding(s({ A: 'not_applicable', B: 'pass' }), ['A', 'B'])).toBe('passing');
  });
  it('is not assessed when its controls are only unknown, not applicable or absent', () => {
    expect(requirementStanding(s({ A: 'unknown', B: 'not_applicable' }), ['A', 'B'])).toBe('not_assessed');
    expect(requirementStanding(s({ Z: 'fail' }), ['A'])).toBe('not_assessed');
    expect(requirementStanding(s({ A: 'fail' }), [])).toBe('not_assessed');
  });
});

describe('frameworkReport', () => {
  const titles = new Map([['PCI_DSS_v4.0.1_7.2.1', 'A title from policy metadata']]);

  it('reports every requirement of the framework, manual ones included, with statuses and counts', () => {
    const clusters = [
      cluster({ 'ARC-AC-02': 'pass', 'ARC-PL-02': 'pass', 'ARC-TD-01': 'pass', 'ARC-PL-01': 'unknown' }),
      cluster({ 'ARC-AC-02': 'fail', 'ARC-PL-02': 'pass', 'ARC-TD-01': 'pass', 'ARC-PL-01': 'not_applicable' }),
      cluster({ 'ARC-AC-02': 'exempt', 'ARC-PL-02': 'unknown', 'ARC-TD-01': 'unknown', 'ARC-PL-01': 'unknown' }),
    ];
    const rows = frameworkReport('pci-dss-4.0.1', clusters, titles);
    expect(rows.map((r) => r.id)).toEqual(frameworkRequirements('pci-dss-4.0.1').map((r) => r.id));
    expect(rows.find((r) => r.id === '7.2.1')).toEqual({
      id: '7.2.1',
      policyMetadataName: 'PCI_DSS_v4.0.1_7.2.1',
      title: 'A title from policy metadata',
      controls: ['ARC-AC-02', 'ARC-PL-02', 'ARC-TD-01'],
      status: 'failing',
      clustersPassing: 2,
      clustersFailing: 1,
      clustersNotAssessed: 0,
    });
    // 2.2.1 is met by ARC-PL-01 (the Azure Policy extension) and ARC-PL-02 and the Defender sensor; here pass/unknown only.
    const r221 = rows.find((r) => r.id === '2.2.1');
    expect(r221?.status).toBe('passing');
    const manual = rows.filter((r) => r.controls.length === 0);
    expect(manual.length).toBeGreaterThan(0);
    for (const r of manual) expect(r).toMatchObject({ status: 'manual', clustersPassing: 0, clustersFailing: 0, clustersNotAssessed: 3, title: null });
  });

  it('is not_assessed when controls exist but no cluster passes or fails, and every count is zero on an empty fleet', () => {
    const rows = frameworkReport('mcsb', [cluster({ 'ARC-TD-01': 'unknown' })], new Map());
    expect(rows.find((r) => r.id === 'LT-1')).toMatchObject({ status: 'not_assessed', clustersNotAssessed: 1 });
    for (const r of frameworkReport('nist-csf-2.0', [], new Map())) {
      expect(r.clustersPassing + r.clustersFailing + r.clustersNotAssessed).toBe(0);
      expect(['not_assessed', 'manual']).toContain(r.status);
    }
  });

  it('keeps the seed documents\' titles and has no metadata name for them', () => {
    const rows = frameworkReport('cis', [], new Map());
    expect(rows.find((r) => r.id === '5.1.6')).toMatchObject({ policyMetadataName: null, title: 'Ensure that Service Account Tokens are only mounted where necessary', controls: ['ARC-AC-02'] });
  });

  it('property: for every framework, counts match an independent per-cluster computation', () => {
    const statusArb = fc.constantFrom<ControlStatus>('pass', 'fail', 'unknown', 'not_applicable', 'exempt');
    const clusterArb = fc.dictionary(fc.constantFrom(...CONTROL_IDS), statusArb).map((d) => cluster(d));
    fc.assert(
      fc.property(fc.array(clusterArb, { maxLength: 12 }), fc.constantFrom(...FRAMEWORK_IDS), (clusters, framework) => {
        const rows = frameworkReport(framework, clusters, new Map());
        return rows.every((row) => {
          let pass = 0;
          let fail = 0;
          for (const c of clusters) {
            const statuses = c.controls.filter((r) => row.controls.includes(r.controlId as (typeof CONTROL_IDS)[number])).map((r) => r.status);
            if (statuses.includes('fail')) fail++;
            else if (statuses.includes('pass') || statuses.includes('exempt')) pass++;
          }
          const status = row.controls.length === 0 ? 'manual' : fail > 0 ? 'failing' : pass > 0 ? 'passing' : 'not_assessed';
          return row.clustersPassing === pass && row.clustersFailing === fail && row.clustersNotAssessed === clusters.length - pass - fail && row.status === status;
        });
      }),
      { numRuns: 60 },
    );
  });
});

describe('frameworkPostures and the run summary', () => {
  it('property: each framework counts its unfiltered report\'s requirements by status; the run summary carries them', () => {
    const statusArb = fc.constantFrom<ControlStatus>('pass', 'fail', 'unknown', 'not_applicable', 'exempt');
    const clusterArb = fc.dictionary(fc.constantFrom(...CONTROL_IDS), statusArb).map((d) => cluster(d));
    fc.assert(
      fc.property(fc.array(clusterArb, { maxLength: 10 }), (clusters) => {
        const postures = frameworkPostures(clusters);
        const summary = summarizeRun('r', '2026-03-10T03:00:00Z', clusters.map((c) => ({ subscriptionId: 's', stale: false, evaluation: { score: 50, controls: c.controls.map((r) => ({ ...r, severity: 'high' as const, evidence: '' })) } })));
        expect(summary.perFramework).toEqual(postures);
        for (const f of FRAMEWORK_IDS) {
          const rows = frameworkReport(f, clusters, new Map());
          const n = (s: string): number => rows.filter((r) => r.status === s).length;
          expect(postures[f]).toEqual({ requirements: rows.length, passing: n('passing'), failing: n('failing'), notAssessed: n('not_assessed'), manual: n('manual') });
        }
      }),
      { numRuns: 30 },
    );
  });
});

describe('frameworkReportToCsv', () => {
  it('writes a header and one row per requirement, controls joined with ;, null title empty', () => {
    const rows = frameworkReport('pci-dss-4.0.1', [cluster({ 'ARC-AC-02': 'fail' })], new Map([['PCI_DSS_v4.0.1_7.2.1', '=cmd, "quoted"']]));
    const lines = frameworkReportToCsv('pci-dss-4.0.1', rows).split('\r\n');
    expect(lines[0]).toBe('framework,requirement,policyMetadataName,title,controls,status,clustersPassing,clustersFailing,clustersNotAssessed');
    expect(lines).toHaveLength(rows.length + 2);
    expect(lines.find((l) => l.startsWith('pci-dss-4.0.1,7.2.1,'))).toBe(`pci-dss-4.0.1,7.2.1,PCI_DSS_v4.0.1_7.2.1,"'=cmd, ""quoted""",ARC-AC-02;ARC-PL-02;ARC-TD-01,failing,0,1,0`);
    expect(lines.find((l) => l.startsWith('pci-dss-4.0.1,1.2.1,'))).toMatch(/^pci-dss-4\.0\.1,1\.2\.1,PCI_DSS_v4\.0\.1_1\.2\.1,,/);
  });
});

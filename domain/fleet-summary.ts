/**
 * Fleet posture precomputed at the end of a run (so reads never scan), the per-framework report
 * derived from it, and CSV rendering.
 */
import { FRAMEWORKS, frameworkSections, listControls } from './control-catalog.js';
import type {
  ClusterEvaluation,
  ControlStatus,
  FleetSummary,
  Framework,
  FrameworkSectionPosture,
  PostureTotals,
  StatusTally,
} from './model.js';
import { isCompliant } from './scoring.js';

/** One cluster as the summary sees it: its latest evaluation (possibly from an earlier run if stale). */
export interface SummaryInput {
  readonly subscriptionId: string;
  readonly stale: boolean;
  readonly evaluation: Pick<ClusterEvaluation, 'controls' | 'score'>;
}

const emptyTally = (): Record<ControlStatus, number> => ({ pass: 0, fail: 0, unknown: 0, not_applicable: 0, exempt: 0 });

/** Mean score with one decimal; an empty set of clusters scores 100, like a cluster with nothing to fail. */
function totalsOf(clusters: readonly SummaryInput[]): PostureTotals {
  let compliant = 0;
  let stale = 0;
  let scoreSum = 0;
  for (const c of clusters) {
    if (isCompliant(c.evaluation)) compliant++;
    if (c.stale) stale++;
    scoreSum += c.evaluation.score;
  }
  const averageScore = clusters.length === 0 ? 100 : Math.round((10 * scoreSum) / clusters.length) / 10;
  return { clusters: clusters.length, compliant, noncompliant: clusters.length - compliant, stale, averageScore };
}

/**
 * A cluster's standing on one framework section (the controls citing it):
 * - failing: at least one of those controls is `fail`;
 * - passing: none fails, none is `unknown`, and at least one is `pass` or `exempt` (controls that are
 *   not_applicable to the cluster are ignored);
 * - otherwise (unknown, or nothing applicable) it counts as neither.
 */
export function sectionStanding(controls: readonly { controlId: string; status: ControlStatus }[], sectionControls: ReadonlySet<string>): 'passing' | 'failing' | 'neither' {
  let applicable = 0;
  let unknown = false;
  for (const c of controls) {
    if (!sectionControls.has(c.controlId)) continue;
    if (c.status === 'fail') return 'failing';
    if (c.status === 'unknown') unknown = true;
    else if (c.status === 'pass' || c.status === 'exempt') applicable++;
  }
  return !unknown && applicable > 0 ? 'passing' : 'neither';
}

/**
 * Summarises the fleet: totals (compliant = no control in `fail`), a status tally per control (every
 * catalog control, zeros included, plus any other control id seen), totals per subscription, and per
 * framework section the number of clusters passing and failing (see {@link sectionStanding}).
 * `totals.clusters` always equals `clusters.length`.
 */
export function summarizeFleet(runId: string, generatedAt: string, clusters: readonly SummaryInput[]): FleetSummary {
  const perControl: Record<string, StatusTally> = {};
  for (const control of listControls()) perControl[control.id] = emptyTally();
  for (const c of clusters) {
    for (const r of c.evaluation.controls) {
      const tally = (perControl[r.controlId] ??= emptyTally());
      tally[r.status]++;
    }
  }

  const bySubscription = new Map<string, SummaryInput[]>();
  for (const c of clusters) {
    const key = c.subscriptionId.toLowerCase();
    const list = bySubscription.get(key);
    if (list === undefined) bySubscription.set(key, [c]);
    else list.push(c);
  }
  const perSubscription: Record<string, PostureTotals> = {};
  for (const key of [...bySubscription.keys()].sort()) perSubscription[key] = totalsOf(bySubscription.get(key) ?? []);

  const perFrameworkSection: FrameworkSectionPosture[] = [];
  for (const framework of FRAMEWORKS) {
    for (const section of frameworkSections(framework)) {
      const ids = new Set<string>(section.controls);
      let clustersPassing = 0;
      let clustersFailing = 0;
      for (const c of clusters) {
        const standing = sectionStanding(c.evaluation.controls, ids);
        if (standing === 'passing') clustersPassing++;
        else if (standing === 'failing') clustersFailing++;
      }
      perFrameworkSection.push({ framework, section: section.section, title: section.title, controls: [...section.controls], clustersPassing, clustersFailing });
    }
  }

  return { runId, generatedAt, totals: totalsOf(clusters), perControl, perSubscription, perFrameworkSection };
}

/** One row of a framework report. */
export interface FrameworkReportRow {
  readonly framework: Framework;
  readonly section: string;
  readonly title: string;
  readonly controls: readonly string[];
  readonly clustersPassing: number;
  readonly clustersFailing: number;
  /** Clusters neither passing nor failing the section (unknown, or nothing applicable). */
  readonly clustersNotAssessed: number;
}

/**
 * The report for one framework, read from a precomputed summary (no scan): one row per section the
 * catalog cites, in section order. Sections absent from an older summary are reported with zeros.
 */
export function frameworkReport(summary: FleetSummary, framework: Framework): FrameworkReportRow[] {
  const stored = new Map(summary.perFrameworkSection.filter((s) => s.framework === framework).map((s) => [s.section, s]));
  return frameworkSections(framework).map((section) => {
    const s = stored.get(section.section);
    const clustersPassing = s?.clustersPassing ?? 0;
    const clustersFailing = s?.clustersFailing ?? 0;
    return {
      framework,
      section: section.section,
      title: section.title,
      controls: [...section.controls],
      clustersPassing,
      clustersFailing,
      clustersNotAssessed: Math.max(0, summary.totals.clusters - clustersPassing - clustersFailing),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

export type CsvCell = string | number | boolean | null | undefined;

const FORMULA_START = /^[=+\-@\t\r\n]/;

/**
 * One CSV field: RFC 4180 quoting (a field with a comma, double quote, CR or LF is enclosed in double
 * quotes, inner quotes doubled), and spreadsheet formula-injection protection: a text cell starting
 * with `=`, `+`, `-`, `@`, tab, CR or LF is prefixed with a single quote so it is shown, not executed
 * (spreadsheets trim leading line breaks and would evaluate what follows).
 * Numbers and booleans are written as-is (a negative number is data, not a formula); null/undefined
 * is empty.
 */
export function csvField(cell: CsvCell): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'number') return Number.isFinite(cell) ? String(cell) : '';
  if (typeof cell === 'boolean') return cell ? 'true' : 'false';
  const text = FORMULA_START.test(cell) ? `'${cell}` : cell;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Records (the first usually a header) to CSV text: CRLF line breaks, a trailing CRLF after the last record. */
export function toCsv(records: readonly (readonly CsvCell[])[]): string {
  return records.map((r) => `${r.map(csvField).join(',')}\r\n`).join('');
}

export const FRAMEWORK_REPORT_CSV_HEADER = ['framework', 'section', 'title', 'controls', 'clustersPassing', 'clustersFailing', 'clustersNotAssessed'] as const;

/** A framework report as CSV with a header row; controls are joined with `;`. */
export function frameworkReportToCsv(rows: readonly FrameworkReportRow[]): string {
  return toCsv([
    FRAMEWORK_REPORT_CSV_HEADER,
    ...rows.map((r) => [r.framework, r.section, r.title, r.controls.join(';'), r.clustersPassing, r.clustersFailing, r.clustersNotAssessed]),
  ]);
}

/**
 * Fleet posture precomputed at the end of a run (so reads never scan), and CSV rendering.
 */
import { listControls } from './control-catalog.js';
import type { ClusterEvaluation, ControlStatus, FleetSummary, PostureTotals, StatusTally } from './model.js';
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
 * Summarises the fleet: totals (compliant = no control in `fail`), a status tally per control (every
 * catalog control, zeros included, plus any other control id seen) and totals per subscription.
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

  return { runId, generatedAt, totals: totalsOf(clusters), perControl, perSubscription };
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

/**
 * Fleet posture precomputed at the end of a run (so reads never scan), and CSV rendering.
 */
import { listControls } from './control-catalog.js';
import type { ClusterEvaluation, ControlStatus, FleetSummary, PostureTotals, StatusTally } from './model.js';
import { isCompliant } from './scoring.js';
import type { TrendDimensions } from './trend-slices.js';

/** One cluster as the summary sees it: its latest evaluation (possibly from an earlier run if stale). */
export interface SummaryInput {
  readonly subscriptionId: string;
  readonly stale: boolean;
  readonly evaluation: Pick<ClusterEvaluation, 'controls' | 'score'>;
  /** Environment, location and tags, when the reader asked for them (the run's trend slices). */
  readonly dimensions?: TrendDimensions | undefined;
}

const emptyTally = (): Record<ControlStatus, number> => ({ pass: 0, fail: 0, unknown: 0, not_applicable: 0, exempt: 0 });

interface TotalsAccumulator {
  clusters: number;
  compliant: number;
  stale: number;
  scoreSum: number;
}

const emptyTotals = (): TotalsAccumulator => ({ clusters: 0, compliant: 0, stale: 0, scoreSum: 0 });

/** Mean score with one decimal; an empty set of clusters scores 100, like a cluster with nothing to fail. */
function totalsOf(t: TotalsAccumulator): PostureTotals {
  const averageScore = t.clusters === 0 ? 100 : Math.round((10 * t.scoreSum) / t.clusters) / 10;
  return { clusters: t.clusters, compliant: t.compliant, noncompliant: t.clusters - t.compliant, stale: t.stale, averageScore };
}

/**
 * The fleet summary built one cluster at a time, holding only counters (per control and per
 * subscription), so a run's finalize reads the fleet page by page instead of keeping every cluster in
 * memory. `build` gives what {@link summarizeFleet} gives for the same clusters in the same order.
 */
export class FleetSummaryBuilder {
  private readonly perControl: Record<string, StatusTally> = {};
  private readonly perSubscription = new Map<string, TotalsAccumulator>();
  private readonly totals = emptyTotals();

  constructor() {
    for (const control of listControls()) this.perControl[control.id] = emptyTally();
  }

  /** Clusters added so far. */
  get clusters(): number {
    return this.totals.clusters;
  }

  add(c: SummaryInput): void {
    for (const r of c.evaluation.controls) {
      const tally = (this.perControl[r.controlId] ??= emptyTally());
      tally[r.status]++;
    }
    const key = c.subscriptionId.toLowerCase();
    let sub = this.perSubscription.get(key);
    if (sub === undefined) this.perSubscription.set(key, (sub = emptyTotals()));
    const compliant = isCompliant(c.evaluation);
    for (const t of [this.totals, sub]) {
      t.clusters++;
      if (compliant) t.compliant++;
      if (c.stale) t.stale++;
      t.scoreSum += c.evaluation.score;
    }
  }

  build(runId: string, generatedAt: string): FleetSummary {
    const perControl: Record<string, StatusTally> = {};
    for (const [id, tally] of Object.entries(this.perControl)) perControl[id] = { ...tally };
    const perSubscription: Record<string, PostureTotals> = {};
    for (const key of [...this.perSubscription.keys()].sort()) perSubscription[key] = totalsOf(this.perSubscription.get(key) ?? emptyTotals());
    return { runId, generatedAt, totals: totalsOf(this.totals), perControl, perSubscription };
  }
}

/**
 * Summarises the fleet: totals (compliant = no control in `fail`), a status tally per control (every
 * catalog control, zeros included, plus any other control id seen) and totals per subscription.
 * `totals.clusters` always equals `clusters.length`.
 */
export function summarizeFleet(runId: string, generatedAt: string, clusters: readonly SummaryInput[]): FleetSummary {
  const builder = new FleetSummaryBuilder();
  for (const c of clusters) builder.add(c);
  return builder.build(runId, generatedAt);
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

/**
 * The cluster score.
 *
 * Formula: each scored control weighs by severity — high 3, medium 2, low 1 —
 *
 *     score = 100 × Σ weight(pass) / Σ weight(pass or fail)
 *
 * rounded to one decimal. Only `pass` and `fail` are scored:
 * - `exempt` is an accepted, time-bound risk: it neither earns credit (the control is not met) nor
 *   costs any (someone accountable accepted it), so it leaves the score as if the control did not exist;
 * - `not_applicable` does not concern the cluster;
 * - `unknown` means the data could not be collected; guessing either way would move the score for
 *   reasons unrelated to the cluster (the stale flag and the status say so instead).
 * A cluster with no scored control scores 100 (nothing fails).
 *
 * Properties (tested): the score is within [0, 100]; turning a `fail` into a `pass` never lowers it;
 * all controls passing gives 100 and all failing gives 0.
 */
import type { ControlResult, ControlStatus, Severity } from './model.js';

export const SEVERITY_WEIGHTS: Readonly<Record<Severity, number>> = Object.freeze({ high: 3, medium: 2, low: 1 });

/** Statuses that count in the score. */
export const SCORED_STATUSES: readonly ControlStatus[] = Object.freeze(['pass', 'fail'] as const);

/** Severity-weighted score 0..100 with one decimal (see the module documentation). */
export function scoreControls(results: readonly Pick<ControlResult, 'status' | 'severity'>[]): number {
  let earned = 0;
  let possible = 0;
  for (const r of results) {
    if (r.status !== 'pass' && r.status !== 'fail') continue;
    const w = SEVERITY_WEIGHTS[r.severity];
    possible += w;
    if (r.status === 'pass') earned += w;
  }
  if (possible === 0) return 100;
  return Math.round((1000 * earned) / possible) / 10;
}

/** A cluster is compliant when no control is in `fail` (exempt, unknown and not_applicable do not fail it). */
export function isCompliant(subject: { readonly controls: readonly Pick<ControlResult, 'status'>[] } | readonly Pick<ControlResult, 'status'>[]): boolean {
  const controls = 'controls' in subject ? subject.controls : subject;
  return !controls.some((c) => c.status === 'fail');
}

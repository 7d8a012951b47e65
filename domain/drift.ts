/**
 * Drift between two consecutive evaluations of a cluster, and the compact per-run history entry
 * stored for the API and webhooks.
 */
import type { ClusterEvaluation, ControlStatus } from './model.js';

/** One control whose status changed between consecutive runs. */
export interface DriftChange {
  readonly controlId: string;
  readonly from: ControlStatus;
  readonly to: ControlStatus;
}

/**
 * - `regression`: the control now fails and did not before (pass→fail, exempt→fail when an
 *   exception expired, unknown→fail, …);
 * - `improvement`: the control failed and no longer does (fail→pass, fail→exempt, …);
 * - `other`: any other change (pass→unknown, pass→exempt, not_applicable→pass, …).
 */
export type DriftKind = 'regression' | 'improvement' | 'other';

/** The kind of a change (see {@link DriftKind}). */
export function classifyDrift(change: Pick<DriftChange, 'from' | 'to'>): DriftKind {
  if (change.to === 'fail' && change.from !== 'fail') return 'regression';
  if (change.from === 'fail' && change.to !== 'fail') return 'improvement';
  return 'other';
}

/**
 * Every control whose status differs between `previous` and `current`, in `current`'s control
 * order. With no previous evaluation (first run) there is no drift; a control absent from the
 * previous evaluation (added to the catalog since) has no "from" and is not reported.
 */
export function computeDrift(previous: Pick<ClusterEvaluation, 'controls'> | undefined, current: Pick<ClusterEvaluation, 'controls'>): DriftChange[] {
  if (previous === undefined) return [];
  const before = new Map(previous.controls.map((c) => [c.controlId, c.status]));
  const changes: DriftChange[] = [];
  for (const c of current.controls) {
    const from = before.get(c.controlId);
    if (from !== undefined && from !== c.status) changes.push({ controlId: c.controlId, from, to: c.status });
  }
  return changes;
}

/** Compact per-run record of one cluster (structurally the `ClusterHistoryEntry` of the ports). */
export interface HistoryEntry {
  readonly clusterId: string;
  readonly runId: string;
  readonly evaluatedAt: string;
  readonly score: number;
  readonly statuses: Readonly<Record<string, ControlStatus>>;
  readonly drift: readonly DriftChange[];
}

/**
 * The history entry for `current`, with drift against the previous run's evaluation of the same
 * cluster. Holds only statuses (no evidence), so it stays a few hundred bytes per cluster and run.
 */
export function buildHistoryEntry(current: ClusterEvaluation, previous: Pick<ClusterEvaluation, 'controls'> | undefined): HistoryEntry {
  const statuses: Record<string, ControlStatus> = {};
  for (const c of current.controls) statuses[c.controlId] = c.status;
  return {
    clusterId: current.clusterId,
    runId: current.runId,
    evaluatedAt: current.evaluatedAt,
    score: current.score,
    statuses,
    drift: computeDrift(previous, current),
  };
}

/**
 * The control × cluster matrix of a fleet, aggregated so that it stays readable (and cheap to send)
 * at 10,000 clusters: one row per subscription and environment, one status tally per control in each,
 * and the controls that fail in production while development passes (drift between environments is
 * the first thing a security lead wants to see).
 */
import { listControls } from './control-catalog.js';
import type { ControlStatus, StatusTally } from './model.js';

/** One cluster as the matrix needs it. */
export interface MatrixInput {
  readonly subscriptionId: string;
  /** The `environment` tag as stored (any spelling); undefined when untagged. */
  readonly environment: string | undefined;
  readonly controls: readonly { readonly controlId: string; readonly status: ControlStatus }[];
}

export interface MatrixGroup {
  /** Lower-cased subscription id. */
  readonly subscriptionId: string;
  /** The environment as tagged (lower-cased), or null for clusters without the tag. */
  readonly environment: string | null;
  readonly clusters: number;
  /** Status tally per control id (every control of {@link ControlMatrix.controls}). */
  readonly cells: Readonly<Record<string, StatusTally>>;
}

export interface ProductionOnlyFailure {
  readonly controlId: string;
  /** Production clusters failing the control. */
  readonly productionFailing: number;
  /** Development clusters passing it (none fails). */
  readonly developmentPassing: number;
}

export interface ControlMatrix {
  /** Catalog controls first (catalog order), then any other control id seen. */
  readonly controls: readonly string[];
  /** By subscription, then environment (production, test, development, others, untagged). */
  readonly groups: readonly MatrixGroup[];
  readonly productionOnlyFailures: readonly ProductionOnlyFailure[];
}

/** `prod`/`production` and `dev`/`development` (any case) are the two ends compared; others are neither. */
export function environmentClass(environment: string | null | undefined): 'production' | 'development' | undefined {
  const e = environment?.toLowerCase();
  if (e === 'prod' || e === 'production') return 'production';
  if (e === 'dev' || e === 'development') return 'development';
  return undefined;
}

const ENV_ORDER = (env: string | null): number => {
  const c = environmentClass(env);
  if (c === 'production') return 0;
  if (env === 'test' || env === 'staging') return 1;
  if (c === 'development') return 2;
  return env === null ? 4 : 3;
};

const emptyTally = (): Record<ControlStatus, number> => ({ pass: 0, fail: 0, unknown: 0, not_applicable: 0, exempt: 0 });

/** Aggregates clusters into the matrix; totals per control over all groups equal the fleet's tallies. */
export function controlMatrix(clusters: Iterable<MatrixInput>): ControlMatrix {
  const controls: string[] = listControls().map((c) => c.id);
  const known = new Set(controls);
  const groups = new Map<string, { subscriptionId: string; environment: string | null; clusters: number; cells: Record<string, Record<ControlStatus, number>> }>();
  for (const c of clusters) {
    const subscriptionId = c.subscriptionId.toLowerCase();
    const environment = c.environment === undefined || c.environment === '' ? null : c.environment.toLowerCase();
    const key = `${subscriptionId}\u0000${environment ?? ''}\u0000${environment === null ? 'n' : 'e'}`;
    let g = groups.get(key);
    if (g === undefined) {
      g = { subscriptionId, environment, clusters: 0, cells: {} };
      groups.set(key, g);
    }
    g.clusters++;
    for (const r of c.controls) {
      if (!known.has(r.controlId)) {
        known.add(r.controlId);
        controls.push(r.controlId);
      }
      (g.cells[r.controlId] ??= emptyTally())[r.status]++;
    }
  }
  const ordered = [...groups.values()].sort(
    (a, b) => a.subscriptionId.localeCompare(b.subscriptionId) || ENV_ORDER(a.environment) - ENV_ORDER(b.environment) || (a.environment ?? '').localeCompare(b.environment ?? ''),
  );
  const out: MatrixGroup[] = ordered.map((g) => ({
    subscriptionId: g.subscriptionId,
    environment: g.environment,
    clusters: g.clusters,
    cells: Object.fromEntries(controls.map((id) => [id, g.cells[id] ?? emptyTally()])),
  }));
  const productionOnlyFailures: ProductionOnlyFailure[] = [];
  for (const id of controls) {
    let productionFailing = 0;
    let developmentFailing = 0;
    let developmentPassing = 0;
    for (const g of out) {
      const cls = environmentClass(g.environment);
      const t = g.cells[id];
      if (t === undefined) continue;
      if (cls === 'production') productionFailing += t.fail;
      if (cls === 'development') {
        developmentFailing += t.fail;
        developmentPassing += t.pass;
      }
    }
    if (productionFailing > 0 && developmentFailing === 0 && developmentPassing > 0) productionOnlyFailures.push({ controlId: id, productionFailing, developmentPassing });
  }
  return { controls, groups: out, productionOnlyFailures };
}

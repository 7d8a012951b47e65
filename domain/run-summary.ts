/**
 * The summary a finished run stores: the fleet summary (`fleet-summary.ts`) and each framework's
 * requirement posture (`framework-report.ts`), both over the same clusters. Kept apart from
 * `fleet-summary.ts`, which the dashboard bundles for its CSV export and which must not pull in the
 * framework mappings.
 */
import { FleetSummaryBuilder, type SummaryInput } from './fleet-summary.js';
import { FrameworkPostureBuilder } from './framework-report.js';
import type { FleetSummary } from './model.js';
import { TrendSliceBuilder, type TrendSlices } from './trend-slices.js';

/**
 * {@link FleetSummaryBuilder} plus `perFramework`, folded one cluster at a time, so the posture per
 * framework is read with the summary rather than computed by one report per framework, each of which
 * reads every cluster.
 */
export class RunSummaryBuilder {
  private readonly fleet = new FleetSummaryBuilder();
  private readonly frameworks = new FrameworkPostureBuilder();
  private readonly slices = new TrendSliceBuilder();

  /** Clusters added so far. */
  get clusters(): number {
    return this.fleet.clusters;
  }

  add(c: SummaryInput): void {
    this.fleet.add(c);
    this.frameworks.add(c.evaluation);
    if (c.dimensions !== undefined) this.slices.add({ subscriptionId: c.subscriptionId, dimensions: c.dimensions, evaluation: c.evaluation });
  }

  /** The run's trend slices over the clusters added with their dimensions. */
  trendSlices(runId: string, generatedAt: string): TrendSlices {
    return this.slices.build(runId, generatedAt);
  }

  build(runId: string, generatedAt: string): FleetSummary {
    return { ...this.fleet.build(runId, generatedAt), perFramework: this.frameworks.build() };
  }
}

/** The summary of a run over `clusters` (what finalize stores; tests and benchmarks seed it). */
export function summarizeRun(runId: string, generatedAt: string, clusters: readonly SummaryInput[]): FleetSummary {
  const builder = new RunSummaryBuilder();
  for (const c of clusters) builder.add(c);
  return builder.build(runId, generatedAt);
}

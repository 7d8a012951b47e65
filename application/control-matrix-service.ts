/**
 * The control × cluster matrix behind the dashboard's heatmap: the aggregate by subscription and
 * environment (`domain/control-matrix.ts`), and a group's clusters with one status per control.
 *
 * The aggregate reads every stored cluster's subscription, environment and control statuses once per
 * evaluation run and instance (pages of 1000, the Table service's maximum), without the evidence: the
 * whole states (~30 KB each) made the first request of a run take seconds at 10,000 clusters. It then
 * serves that run's matrix from memory: posture changes once per run, and the latest summary (one
 * point read) says which run is current. Concurrent first readers share one build.
 */
import { controlMatrix, type ControlMatrix, type MatrixInput } from '../domain/control-matrix.js';
import { deepFreeze } from '../domain/deep-freeze.js';
import { NotFoundError } from '../domain/errors.js';
import type { ControlStatus } from '../domain/model.js';
import type { ClusterControlStatusListing, ClusterStateRepository, Page, SummaryRepository } from './ports.js';

export interface ControlMatrixView extends ControlMatrix {
  readonly runId: string;
  readonly generatedAt: string;
  /** Clusters aggregated (every stored cluster, stale ones included). */
  readonly clusters: number;
}

export interface MatrixClusterView {
  readonly id: string;
  readonly name: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly environment: string | null;
  readonly stale: boolean;
  readonly statuses: Readonly<Record<string, ControlStatus>>;
}

export interface MatrixClusterQuery {
  readonly subscriptionId: string;
  readonly environment?: string | undefined;
  readonly top: number;
  readonly continuationToken?: string | undefined;
}

const SCAN_PAGE = 1000;

export class ControlMatrixService {
  private cached: { readonly key: string; readonly view: Promise<ControlMatrixView> } | undefined;

  constructor(
    private readonly deps: { readonly clusters: Pick<ClusterStateRepository, 'list'> & ClusterControlStatusListing; readonly summaries: Pick<SummaryRepository, 'getLatest'> },
  ) {}

  async getMatrix(): Promise<ControlMatrixView> {
    const summary = await this.deps.summaries.getLatest();
    if (summary === undefined) throw new NotFoundError('No evaluation run has completed yet.', 'summary');
    const key = `${summary.runId}|${summary.generatedAt}`;
    if (this.cached?.key !== key) {
      const view = this.build(summary.runId, summary.generatedAt);
      this.cached = { key, view };
      // A failed build is not kept: the next request tries again.
      view.catch(() => {
        if (this.cached?.view === view) this.cached = undefined;
      });
    }
    return this.cached.view;
  }

  private async build(runId: string, generatedAt: string): Promise<ControlMatrixView> {
    const inputs: MatrixInput[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.deps.clusters.listControlStatuses({ top: SCAN_PAGE, continuationToken });
      inputs.push(...page.items);
      continuationToken = page.continuationToken;
    } while (continuationToken !== undefined);
    // Shared by every request of the run: frozen, so the HTTP layer serializes it once.
    return deepFreeze({ runId, generatedAt, clusters: inputs.length, ...controlMatrix(inputs) });
  }

  /** One group's clusters (the API's cluster filters), each with its status per control. */
  async listClusters(query: MatrixClusterQuery): Promise<Page<MatrixClusterView>> {
    const page = await this.deps.clusters.list({ subscriptionId: query.subscriptionId, environment: query.environment, top: query.top, continuationToken: query.continuationToken });
    return {
      items: page.items.map((c) => ({
        id: c.id,
        name: c.name,
        resourceGroup: c.resourceGroup,
        location: c.location,
        environment: c.environment ?? null,
        stale: c.stale,
        statuses: Object.fromEntries(c.evaluation.controls.map((r) => [r.controlId, r.status])),
      })),
      continuationToken: page.continuationToken,
    };
  }
}

/**
 * Read side of the control-plane watch for the API: the kept events, newest first and paged, for the
 * fleet (filters `since`, `operation`, `subscriptionId`, `clusterId`) or for one stored cluster; and
 * each subscription's watch state, so a subscription whose Activity Log cannot be read shows up, and so
 * does one the latest evaluation found clusters in but the watch has never read (the timer never
 * queued it, or its message still waits).
 */
import type { ControlPlaneEvent } from '../domain/control-plane-events.js';
import { NotFoundError } from '../domain/errors.js';
import type { ClusterStateRepository, ControlPlaneEventQuery, ControlPlaneEventRepository, ControlPlaneWatchFailure, ControlPlaneWatchState, Page, SummaryRepository } from './ports.js';

/**
 * `failing` while the latest attempt failed (or none ever succeeded); `ok` after a successful read;
 * `never-read` for a subscription of the latest evaluation that the watch holds no state for.
 */
export type ControlPlaneWatchStatus = 'ok' | 'failing' | 'never-read';

/** One subscription's watch state as operators see it. */
export interface ControlPlaneWatchView {
  readonly subscriptionId: string;
  readonly status: ControlPlaneWatchStatus;
  /** End of the continuous range read so far: the next read starts an hour before it. */
  readonly watermark?: string | undefined;
  readonly coverage?: { readonly from: string; readonly to: string } | undefined;
  readonly lastAttemptAt?: string | undefined;
  readonly lastSuccessAt?: string | undefined;
  readonly lastFailure?: ControlPlaneWatchFailure | undefined;
}

export interface ControlPlaneWatchReport {
  /** Failing subscriptions first, then by subscription id. */
  readonly value: readonly ControlPlaneWatchView[];
  readonly failing: number;
  /** Subscriptions of the latest evaluation the watch has never read. */
  readonly neverRead: number;
}

/** Failing first, then never read, then the rest; by subscription id within each. */
const STATUS_ORDER: Readonly<Record<ControlPlaneWatchStatus, number>> = { failing: 0, 'never-read': 1, ok: 2 };

/** Whether the subscription's latest watch attempt failed. */
export function watchStatusOf(state: ControlPlaneWatchState): ControlPlaneWatchStatus {
  const failure = state.lastFailure;
  if (failure === undefined) return 'ok';
  return state.lastSuccessAt === undefined || Date.parse(failure.at) >= Date.parse(state.lastSuccessAt) ? 'failing' : 'ok';
}

function toView(state: ControlPlaneWatchState): ControlPlaneWatchView {
  const view: ControlPlaneWatchView = {
    subscriptionId: state.subscriptionId.toLowerCase(),
    status: watchStatusOf(state),
    watermark: state.coverage?.to,
    coverage: state.coverage,
    lastAttemptAt: state.lastAttemptAt,
    lastSuccessAt: state.lastSuccessAt,
    lastFailure: state.lastFailure,
  };
  // Absent stays absent in API answers (no `undefined` keys).
  return Object.fromEntries(Object.entries(view).filter(([, v]) => v !== undefined)) as unknown as ControlPlaneWatchView;
}

export class ControlPlaneQueryService {
  constructor(
    private readonly deps: {
      readonly events: ControlPlaneEventRepository;
      readonly clusters: Pick<ClusterStateRepository, 'get'>;
      /** The latest summary names the subscriptions the last evaluation found clusters in. */
      readonly summaries: Pick<SummaryRepository, 'getLatest'>;
    },
  ) {}

  list(filters: ControlPlaneEventQuery): Promise<Page<ControlPlaneEvent>> {
    return this.deps.events.list({
      since: filters.since !== undefined ? new Date(filters.since).toISOString() : undefined,
      operation: filters.operation,
      subscriptionId: filters.subscriptionId?.toLowerCase(),
      clusterId: filters.clusterId?.toLowerCase(),
      top: filters.top,
      continuationToken: filters.continuationToken,
    });
  }

  /** A stored cluster's events (resource-group changes included); `NotFound` for a cluster never collected. */
  async listForCluster(
    cluster: { readonly subscriptionId: string; readonly resourceGroup: string; readonly clusterName: string },
    filters: Omit<ControlPlaneEventQuery, 'clusterId' | 'subscriptionId'>,
  ): Promise<Page<ControlPlaneEvent>> {
    const state = await this.deps.clusters.get(cluster.subscriptionId, cluster.resourceGroup, cluster.clusterName);
    if (state === undefined) throw new NotFoundError(`Cluster ${cluster.clusterName} was not found in resource group ${cluster.resourceGroup} of subscription ${cluster.subscriptionId}.`, 'clusterName');
    return this.list({ ...filters, clusterId: state.id });
  }

  /** Every watched subscription's state: failing ones first. */
  async watchStates(): Promise<ControlPlaneWatchReport> {
    const [states, latest] = await Promise.all([this.deps.events.listWatchStates(), this.deps.summaries.getLatest()]);
    const views = states.map(toView);
    const known = new Set(views.map((v) => v.subscriptionId));
    for (const subscriptionId of Object.keys(latest?.perSubscription ?? {}).map((id) => id.toLowerCase())) {
      if (!known.has(subscriptionId)) views.push({ subscriptionId, status: 'never-read' });
      known.add(subscriptionId);
    }
    views.sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || (a.subscriptionId < b.subscriptionId ? -1 : a.subscriptionId > b.subscriptionId ? 1 : 0));
    return { value: views, failing: views.filter((v) => v.status === 'failing').length, neverRead: views.filter((v) => v.status === 'never-read').length };
  }
}

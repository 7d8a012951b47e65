/**
 * Read side of the control-plane watch for the API: the kept events, newest first and paged, for the
 * fleet (filters `since`, `operation`, `subscriptionId`, `clusterId`) or for one stored cluster; and
 * each subscription's watch state, so a subscription whose Activity Log cannot be read shows up.
 */
import type { ControlPlaneEvent } from '../domain/control-plane-events.js';
import { NotFoundError } from '../domain/errors.js';
import type { ClusterStateRepository, ControlPlaneEventQuery, ControlPlaneEventRepository, ControlPlaneWatchFailure, ControlPlaneWatchState, Page } from './ports.js';

/** `failing` while the latest attempt failed (or none ever succeeded); `ok` after a successful read. */
export type ControlPlaneWatchStatus = 'ok' | 'failing';

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
}

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
  constructor(private readonly deps: { readonly events: ControlPlaneEventRepository; readonly clusters: Pick<ClusterStateRepository, 'get'> }) {}

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
    const views = (await this.deps.events.listWatchStates()).map(toView);
    views.sort((a, b) => (a.status === b.status ? a.subscriptionId.localeCompare(b.subscriptionId) : a.status === 'failing' ? -1 : 1));
    return { value: views, failing: views.filter((v) => v.status === 'failing').length };
  }
}

/**
 * Read side of the control-plane watch for the API: the kept events, newest first and paged, for the
 * fleet (filters `since`, `operation`, `subscriptionId`, `clusterId`) or for one stored cluster.
 */
import type { ControlPlaneEvent } from '../domain/control-plane-events.js';
import { NotFoundError } from '../domain/errors.js';
import type { ClusterStateRepository, ControlPlaneEventRepository, Page } from './ports.js';

export interface ControlPlaneEventFilters {
  readonly since?: string | undefined;
  readonly operation?: string | undefined;
  readonly subscriptionId?: string | undefined;
  readonly clusterId?: string | undefined;
  readonly top: number;
  readonly continuationToken?: string | undefined;
}

export class ControlPlaneQueryService {
  constructor(private readonly deps: { readonly events: ControlPlaneEventRepository; readonly clusters: Pick<ClusterStateRepository, 'get'> }) {}

  list(filters: ControlPlaneEventFilters): Promise<Page<ControlPlaneEvent>> {
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
    filters: Omit<ControlPlaneEventFilters, 'clusterId' | 'subscriptionId'>,
  ): Promise<Page<ControlPlaneEvent>> {
    const state = await this.deps.clusters.get(cluster.subscriptionId, cluster.resourceGroup, cluster.clusterName);
    if (state === undefined) throw new NotFoundError(`Cluster ${cluster.clusterName} was not found in resource group ${cluster.resourceGroup} of subscription ${cluster.subscriptionId}.`, 'clusterName');
    return this.list({ ...filters, clusterId: state.id });
  }
}

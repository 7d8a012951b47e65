/**
 * Lookups the server needs on every request. ARM ids compare case-insensitively. Indexes are cached
 * per clusters array and rebuilt when its length changes (clusters are only ever appended).
 */
import type { FleetCluster, FleetModel } from '../fleet-model.js';

interface ClusterIndex {
  readonly size: number;
  readonly byId: ReadonlyMap<string, FleetCluster>;
  readonly bySubscription: ReadonlyMap<string, FleetCluster[]>;
}

const indexes = new WeakMap<readonly FleetCluster[], ClusterIndex>();

function subscriptionOf(id: string): string {
  return (id.split('/')[2] ?? '').toLowerCase();
}

function indexFor(fleet: FleetModel): ClusterIndex {
  const cached = indexes.get(fleet.clusters);
  if (cached !== undefined && cached.size === fleet.clusters.length) return cached;
  const byId = new Map<string, FleetCluster>();
  const bySubscription = new Map<string, FleetCluster[]>();
  for (const cluster of fleet.clusters) {
    byId.set(cluster.resource.id.toLowerCase(), cluster);
    const sub = subscriptionOf(cluster.resource.id);
    const list = bySubscription.get(sub);
    if (list === undefined) bySubscription.set(sub, [cluster]);
    else list.push(cluster);
  }
  const index = { size: fleet.clusters.length, byId, bySubscription };
  indexes.set(fleet.clusters, index);
  return index;
}

/** The cluster with this ARM id (any casing), or undefined. */
export function findCluster(fleet: FleetModel, id: string): FleetCluster | undefined {
  const key = id.endsWith('/') ? id.slice(0, -1) : id;
  return indexFor(fleet).byId.get(key.toLowerCase());
}

/** Clusters of one subscription (any casing), in fleet order. */
export function clustersInSubscription(fleet: FleetModel, subscriptionId: string): readonly FleetCluster[] {
  return indexFor(fleet).bySubscription.get(subscriptionId.toLowerCase()) ?? [];
}

/** Clusters of one resource group (names compare case-insensitively), in fleet order. */
export function clustersInResourceGroup(fleet: FleetModel, subscriptionId: string, resourceGroup: string): FleetCluster[] {
  const rg = resourceGroup.toLowerCase();
  return clustersInSubscription(fleet, subscriptionId).filter((c) => (c.resource.id.split('/')[4] ?? '').toLowerCase() === rg);
}

/**
 * Lookups the server needs on every request. ARM ids compare case-insensitively. Indexes are cached
 * per clusters array and rebuilt when its length changes (clusters are only ever appended); per
 * assignments array, rebuilt when any element changed (assignments are replaced and removed too).
 */
import type { ArmResource, FleetCluster, FleetModel } from '../fleet-model.js';

interface ClusterIndex {
  readonly size: number;
  /** The array's elements when indexed (a test may empty the array and refill it to the same length). */
  readonly snapshot: readonly FleetCluster[];
  readonly byId: ReadonlyMap<string, FleetCluster>;
  readonly bySubscription: ReadonlyMap<string, FleetCluster[]>;
}

const indexes = new WeakMap<readonly FleetCluster[], ClusterIndex>();

/** Same length and the same objects at every position (a plain loop: ~1 ns an element, run per listing). */
function sameElements<T>(snapshot: readonly T[], live: readonly T[]): boolean {
  if (snapshot.length !== live.length) return false;
  for (let i = 0; i < live.length; i += 1) if (snapshot[i] !== live[i]) return false;
  return true;
}

function subscriptionOf(id: string): string {
  return (id.split('/')[2] ?? '').toLowerCase();
}

/**
 * `exact`: also check every element is the one indexed (a pointer comparison each: cheap for a
 * per-subscription listing, while per-cluster lookups rely on the length and re-check what they find).
 */
function indexFor(fleet: FleetModel, exact = false): ClusterIndex {
  const cached = indexes.get(fleet.clusters);
  if (cached !== undefined && cached.size === fleet.clusters.length && (!exact || sameElements(cached.snapshot, fleet.clusters))) return cached;
  const byId = new Map<string, FleetCluster>();
  const bySubscription = new Map<string, FleetCluster[]>();
  for (const cluster of fleet.clusters) {
    byId.set(cluster.resource.id.toLowerCase(), cluster);
    const sub = subscriptionOf(cluster.resource.id);
    const list = bySubscription.get(sub);
    if (list === undefined) bySubscription.set(sub, [cluster]);
    else list.push(cluster);
  }
  const index = { size: fleet.clusters.length, snapshot: [...fleet.clusters], byId, bySubscription };
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
  return indexFor(fleet, true).bySubscription.get(subscriptionId.toLowerCase()) ?? [];
}

/** Clusters of one resource group (names compare case-insensitively), in fleet order. */
export function clustersInResourceGroup(fleet: FleetModel, subscriptionId: string, resourceGroup: string): FleetCluster[] {
  const rg = resourceGroup.toLowerCase();
  return clustersInSubscription(fleet, subscriptionId).filter((c) => (c.resource.id.split('/')[4] ?? '').toLowerCase() === rg);
}

interface AssignmentIndex {
  /** The array's elements when indexed: PUT/PATCH/DELETE replace, push or splice elements in place. */
  readonly snapshot: readonly ArmResource[];
  /** Lower-cased subscription id → assignments scoped to it or below it, in array order. */
  readonly bySubscription: ReadonlyMap<string, ArmResource[]>;
  /** Assignments not scoped under one subscription (management groups, tenant root), in array order. */
  readonly wide: readonly ArmResource[];
  readonly position: ReadonlyMap<ArmResource, number>;
}

const assignmentIndexes = new WeakMap<readonly ArmResource[], AssignmentIndex>();
const SUBSCRIPTION_SCOPE = /^\/subscriptions\/([^/]+)(?:\/|$)/;

/** The subscription an assignment (or exemption) id is scoped under, lower-cased, or undefined. */
function subscriptionScopeOf(id: string): string | undefined {
  const lower = id.toLowerCase();
  const i = lower.indexOf('/providers/microsoft.authorization/');
  const scope = i < 0 ? lower : lower.slice(0, i);
  return SUBSCRIPTION_SCOPE.exec(scope)?.[1];
}

function assignmentIndexFor(assignments: readonly ArmResource[]): AssignmentIndex {
  const cached = assignmentIndexes.get(assignments);
  // Checking identity element by element is cheap next to re-reading every id, and catches in-place edits.
  if (cached !== undefined && sameElements(cached.snapshot, assignments)) return cached;
  const bySubscription = new Map<string, ArmResource[]>();
  const wide: ArmResource[] = [];
  for (const a of assignments) {
    const sub = subscriptionScopeOf(a.id);
    if (sub === undefined) wide.push(a);
    else {
      const list = bySubscription.get(sub);
      if (list === undefined) bySubscription.set(sub, [a]);
      else list.push(a);
    }
  }
  const index = { snapshot: [...assignments], bySubscription, wide, position: new Map(assignments.map((a, i) => [a, i])) };
  assignmentIndexes.set(assignments, index);
  return index;
}

/**
 * The policy assignments that can reach resources of one subscription: those scoped to it or below
 * it, and those not scoped under any subscription (management groups). In array order; callers still
 * apply their own scope test — this only leaves out assignments of other subscriptions, so a
 * per-subscription query does not read every assignment of the fleet.
 */
export function policyAssignmentsReaching(assignments: readonly ArmResource[], subscriptionId: string): readonly ArmResource[] {
  const index = assignmentIndexFor(assignments);
  const own = index.bySubscription.get(subscriptionId.toLowerCase()) ?? [];
  if (index.wide.length === 0) return own;
  if (own.length === 0) return index.wide;
  return [...own, ...index.wide].sort((a, b) => (index.position.get(a) ?? 0) - (index.position.get(b) ?? 0));
}

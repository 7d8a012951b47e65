import type { ArmResource, FleetCluster, FleetModel } from '../fleet-model.js';
import type { DerivePolicyStates } from './arm-http.js';

export interface PageSizes {
  /** connectedClusters, extensions, fluxConfigurations, policyAssignments, subscriptions… (default 100). */
  readonly resources: number;
  /** Policy Insights query results (default 1000, the service's page size). */
  readonly policyStates: number;
}

export interface EvaluationOperation {
  readonly id: string;
  readonly scope: string;
  readonly startedAt: number;
  readonly completesAt: number;
}

/** Mutable world behind the routes: the fleet plus what only the emulator tracks. */
export class EmulatorState {
  /** Lower-cased remediation id → its deployments (wire shape of `listDeployments`). */
  readonly remediationDeployments = new Map<string, Record<string, unknown>[]>();
  readonly evaluations = new Map<string, EvaluationOperation>();
  /**
   * Lower-cased id → custom policy set definitions created by PUT at subscription scope (wire shape).
   * Their members are also registered in `fleet.policySets` under the lower-cased name.
   */
  readonly customPolicySetDefinitions = new Map<string, ArmResource>();
  /** Policy-state snapshots behind `$skiptoken`s, so the pages of one query stay consistent. */
  private readonly snapshots = new Map<string, Record<string, unknown>[]>();
  private snapshotSeq = 0;
  /**
   * Fidelity knob: `$expand=components` is documented for resource-scope policy-state queries; when
   * true, a subscription-scope query that asks for it gets a 400, as the real service might.
   */
  refuseSubscriptionScopeExpand = false;

  constructor(
    public fleet: FleetModel,
    readonly derivePolicyStates: DerivePolicyStates,
    readonly now: () => Date,
    readonly pageSizes: PageSizes,
    readonly evaluationDelayMs: number,
    readonly remediationDelayMs: number,
  ) {}

  hasSubscription(subscriptionId: string): boolean {
    return this.fleet.subscriptions.some((s) => s.subscriptionId.toLowerCase() === subscriptionId.toLowerCase());
  }

  findCluster(clusterId: string): FleetCluster | undefined {
    const id = clusterId.toLowerCase();
    // Every extension/Flux listing asks, so a scan made a 10,000-cluster run quadratic. The index
    // remembers positions and the element now at that position is re-checked: tests edit the fleet
    // in place (clear and refill the array, replace entries), and a stale index then falls back to the
    // scan and is rebuilt, so the answer is always the scan's.
    const clusters = this.fleet.clusters;
    if (this.positions?.clusters === clusters) {
      const at = this.positions.byId.get(id);
      const hit = at === undefined ? undefined : clusters[at];
      if (hit !== undefined && hit.resource.id.toLowerCase() === id) return hit;
    }
    const found = clusters.find((c) => c.resource.id.toLowerCase() === id);
    if (found !== undefined) {
      const byId = new Map<string, number>();
      clusters.forEach((c, i) => {
        const key = c.resource.id.toLowerCase();
        if (!byId.has(key)) byId.set(key, i);
      });
      this.positions = { clusters, byId };
    }
    return found;
  }

  private positions: { readonly clusters: readonly FleetCluster[]; readonly byId: ReadonlyMap<string, number> } | undefined;

  findById(list: readonly ArmResource[], id: string): ArmResource | undefined {
    const lower = id.toLowerCase();
    return list.find((r) => r.id.toLowerCase() === lower);
  }

  /** Latest states of one subscription, derived now from the fleet and the current assignments. */
  policyStates(subscriptionId: string): Record<string, unknown>[] {
    return this.derivePolicyStates(this.fleet, subscriptionId, this.now());
  }

  saveSnapshot(records: Record<string, unknown>[]): string {
    const id = `s${++this.snapshotSeq}`;
    this.snapshots.set(id, records);
    // Bounded: a client abandoning a paged query must not leak memory in long benchmark runs.
    if (this.snapshots.size > 256) {
      const oldest = this.snapshots.keys().next().value;
      if (oldest !== undefined) this.snapshots.delete(oldest);
    }
    return id;
  }

  snapshot(id: string | undefined): Record<string, unknown>[] | undefined {
    return id === undefined ? undefined : this.snapshots.get(id);
  }
}

import type { ArmResource, FleetCluster, FleetModel } from '../fleet-model.js';
import type { DerivePolicyStates } from '../wire/arm-http.js';
import { PolicyInputHistory, resourceGroupOfId, type ComplianceLag } from '../behaviours/compliance-lag.js';

export interface PageSizes {
  /** connectedClusters, extensions, fluxConfigurations, policyAssignments, subscriptions… (default 100). */
  readonly resources: number;
  /** Policy Insights query results (default 1000, the service's page size). */
  readonly policyStates: number;
  /** Activity Log entries per page (default 200). */
  readonly activityLog: number;
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
  /** Set while a compliance lag is on (see behaviours/compliance-lag.ts); undefined = states follow the live assignments. */
  private history: PolicyInputHistory | undefined;

  constructor(
    public fleet: FleetModel,
    readonly derivePolicyStates: DerivePolicyStates,
    readonly now: () => Date,
    readonly pageSizes: PageSizes,
    readonly evaluationDelayMs: number,
    readonly remediationDelayMs: number,
    complianceLag: ComplianceLag = 'live',
  ) {
    this.complianceLag = complianceLag;
  }

  /** How policy states follow assignment writes; see {@link ComplianceLag}. */
  get complianceLag(): ComplianceLag {
    return this.history?.lag ?? 'live';
  }

  /**
   * Switches the lag at runtime. Switching it on (or changing it) starts from the inputs as they are
   * now, as if an evaluation had just completed; `live` drops the recorded history.
   */
  set complianceLag(lag: ComplianceLag) {
    if (typeof lag === 'object' && !(Number.isFinite(lag.cycleMs) && lag.cycleMs >= 0)) throw new RangeError(`complianceLag.cycleMs must be a non-negative number (got ${lag.cycleMs}).`);
    this.history = lag === 'live' ? undefined : new PolicyInputHistory(lag, this.fleet, Date.now());
  }

  /** Records the current assignments and exemptions when a lag is on (called around every ARM request). */
  observePolicyInputs(): void {
    this.history?.observe(this.fleet, Date.now());
  }

  hasSubscription(subscriptionId: string): boolean {
    const id = subscriptionId.toLowerCase();
    // Every subscription-scoped request asks, so a scan made a run quadratic in subscriptions (1,000
    // compared per request at 1,000 subscriptions). As for clusters, a hit is re-checked against the
    // element now at that position, and a miss is settled by the scan, so the answer is always the scan's.
    const subscriptions = this.fleet.subscriptions;
    if (this.subscriptionPositions?.subscriptions === subscriptions) {
      const at = this.subscriptionPositions.byId.get(id);
      if (at !== undefined && subscriptions[at]?.subscriptionId.toLowerCase() === id) return true;
    }
    const found = subscriptions.some((s) => s.subscriptionId.toLowerCase() === id);
    if (found) {
      const byId = new Map<string, number>();
      subscriptions.forEach((s, i) => {
        const key = s.subscriptionId.toLowerCase();
        if (!byId.has(key)) byId.set(key, i);
      });
      this.subscriptionPositions = { subscriptions, byId };
    }
    return found;
  }

  private subscriptionPositions: { readonly subscriptions: FleetModel['subscriptions']; readonly byId: ReadonlyMap<string, number> } | undefined;

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

  /**
   * Latest states of one subscription, derived now from the fleet and the current assignments — or,
   * with a compliance lag, from the assignments and exemptions its last completed evaluation saw.
   */
  policyStates(subscriptionId: string): Record<string, unknown>[] {
    const now = this.now();
    if (this.history === undefined) return this.derivePolicyStates(this.fleet, subscriptionId, now);
    this.history.observe(this.fleet, Date.now());
    const view = this.history.view(subscriptionId, this.evaluations.values(), Date.now());
    const base = this.derivePolicyStates({ ...this.fleet, ...view.base }, subscriptionId, now);
    if (view.resourceGroups.size === 0) return base;
    // Clusters of a resource group scanned after the subscription's last evaluation show that scan's result.
    const out = base.filter((r) => !view.resourceGroups.has(resourceGroupOfId(r['resourceId']) ?? ''));
    for (const [rg, inputs] of view.resourceGroups) {
      out.push(...this.derivePolicyStates({ ...this.fleet, ...inputs }, subscriptionId, now).filter((r) => resourceGroupOfId(r['resourceId']) === rg));
    }
    return out;
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

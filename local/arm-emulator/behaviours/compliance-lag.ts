/**
 * Eventual consistency of Azure Policy compliance, as an opt-in emulator knob.
 *
 * Real Policy Insights reports what the last evaluation found: a new assignment, a changed effect
 * (an override to Deny) or a new exemption shows in policy states only after an evaluation cycle or a
 * triggered on-demand scan (`triggerEvaluation`) completes. By default the emulator derives states from
 * the *current* assignments, so a write shows at once and a client's "not evaluated yet" path is never
 * exercised. With a lag, states are derived from the policy inputs (assignments and exemptions) as they
 * were at the last completed evaluation of the cluster's scope.
 *
 * How: every version of the policy inputs is recorded with the wall-clock time it was first seen
 * ({@link PolicyInputHistory.observe}, called around every ARM request). The time a subscription's
 * states reflect is the latest of: when the lag was switched on, the completion of the latest
 * subscription-scope scan that has completed, and (with `cycleMs`) `now - cycleMs`. A completed
 * resource-group scan that is newer than that re-evaluates the clusters of its resource group only. A
 * scan's snapshot is the version in force when it *completed*, whether or not anyone polled it.
 *
 * Only assignments and exemptions lag. Cluster facts (workload violations, connectivity) and
 * initiative membership stay live, so tests that edit the fleet keep working as before.
 */
import type { ArmResource, FleetModel } from '../fleet-model.js';

/**
 * `live` (default): states follow the current assignments. `until-scan`: they change only when a
 * triggered evaluation completes. `{ cycleMs }`: as `until-scan`, plus a standard evaluation cycle that
 * makes every write visible `cycleMs` after it (Azure's cycle is about 24 h).
 */
export type ComplianceLag = 'live' | 'until-scan' | { readonly cycleMs: number };

/** A completed or running on-demand scan, as the emulator tracks it (wall-clock ms). */
export interface ScanRecord {
  /** `/subscriptions/{id}` or `/subscriptions/{id}/resourceGroups/{name}`. */
  readonly scope: string;
  readonly completesAt: number;
}

interface InputVersion {
  readonly at: number;
  readonly fingerprint: string;
  readonly policyAssignments: readonly ArmResource[];
  readonly policyExemptions: readonly ArmResource[];
}

/** The policy inputs a lagging derivation reads in place of the fleet's current ones. */
export interface PolicyInputs {
  readonly policyAssignments: ArmResource[];
  readonly policyExemptions: ArmResource[];
}

/** What a subscription's states reflect now: the base inputs, and newer ones per re-scanned resource group. */
export interface LaggedView {
  readonly base: PolicyInputs;
  /** Lower-cased resource group name → the inputs its last (newer) resource-group scan saw. */
  readonly resourceGroups: ReadonlyMap<string, PolicyInputs>;
}

const SCOPE = /^\/subscriptions\/([^/]+)(?:\/resourceGroups\/([^/]+))?\/?$/i;

/** Versions of the fleet's assignments and exemptions over time. */
export class PolicyInputHistory {
  private readonly versions: InputVersion[] = [];

  constructor(
    readonly lag: Exclude<ComplianceLag, 'live'>,
    fleet: FleetModel,
    nowMs: number,
  ) {
    this.observe(fleet, nowMs);
  }

  /** When the lag was switched on: nothing older is known. */
  get enabledAt(): number {
    return this.versions[0]?.at ?? 0;
  }

  /**
   * Records the fleet's inputs if they changed since the last version. A change made by a route is
   * seen right after it; a test editing the fleet directly is seen at the next ARM request.
   */
  observe(fleet: FleetModel, nowMs: number): void {
    const fingerprint = JSON.stringify([fleet.policyAssignments, fleet.policyExemptions]);
    if (this.versions.at(-1)?.fingerprint === fingerprint) return;
    // Copies: routes replace entries and tests edit them in place; a version must not move with them.
    const copy = JSON.parse(fingerprint) as [ArmResource[], ArmResource[]];
    this.versions.push({ at: nowMs, fingerprint, policyAssignments: copy[0], policyExemptions: copy[1] });
  }

  /**
   * The inputs in force at `atMs`: the last version seen strictly before it (the first version for
   * earlier times). A write in the same millisecond as a scan's completion or the switch-on counts as
   * after it: the clock cannot order them, and the lag is what this knob must not lose.
   */
  inputsAt(atMs: number): PolicyInputs {
    let found = this.versions[0];
    for (const v of this.versions.slice(1)) {
      if (v.at >= atMs) break;
      found = v;
    }
    // A fresh array per derivation: derivePolicyStates only reads, but callers get their own copy.
    return { policyAssignments: [...(found?.policyAssignments ?? [])], policyExemptions: [...(found?.policyExemptions ?? [])] };
  }

  /** What the states of `subscriptionId` reflect at `nowMs`, given the scans started so far. */
  view(subscriptionId: string, scans: Iterable<ScanRecord>, nowMs: number): LaggedView {
    const sub = subscriptionId.toLowerCase();
    let base = this.enabledAt;
    if (typeof this.lag === 'object') base = Math.max(base, nowMs - this.lag.cycleMs);
    const groups = new Map<string, number>();
    for (const scan of scans) {
      if (scan.completesAt > nowMs) continue;
      const m = SCOPE.exec(scan.scope);
      if (m === null || m[1]?.toLowerCase() !== sub) continue;
      const rg = m[2]?.toLowerCase();
      if (rg === undefined) base = Math.max(base, scan.completesAt);
      else groups.set(rg, Math.max(groups.get(rg) ?? 0, scan.completesAt));
    }
    const resourceGroups = new Map<string, PolicyInputs>();
    for (const [rg, at] of groups) if (at > base) resourceGroups.set(rg, this.inputsAt(at));
    return { base: this.inputsAt(base), resourceGroups };
  }
}

/** Lower-cased resource group of an ARM id under a subscription, or undefined. */
export function resourceGroupOfId(id: unknown): string | undefined {
  if (typeof id !== 'string') return undefined;
  return /^\/subscriptions\/[^/]+\/resourcegroups\/([^/]+)/i.exec(id)?.[1]?.toLowerCase();
}

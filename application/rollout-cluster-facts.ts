/**
 * What a rollout knows about the clusters under an assignment: identity and evidence from the latest
 * stored evaluation, the live policy states of the assignments involved and, for the bake check, ARM's
 * current connectivity. Planning (create) and the gate and bake steps read it.
 */
import { isUnderScope } from '../domain/rollout-assignment.js';
import { storedOffendersByPolicy } from '../domain/rollout-evidence.js';
import type { RolloutClusterFacts } from '../domain/rollout-model.js';
import type { AzureInventoryReader, ClusterState, ClusterStateRepository, PolicyAssignmentGateway } from './ports.js';

export interface ClusterFactsDeps {
  readonly assignments: Pick<PolicyAssignmentGateway, 'queryAssignmentStates'>;
  readonly clusters: ClusterStateRepository;
  /** Live connectivity for the bake check; without it the latest evaluation's is used. */
  readonly inventory?: Pick<AzureInventoryReader, 'listConnectedClusters'> | undefined;
}

const SUBSCRIPTION = /^\/subscriptions\/([^/]+)/i;

/** The lower-cased subscription id of an ARM resource id, if it has one. */
export function subscriptionOf(id: string): string | undefined {
  return SUBSCRIPTION.exec(id)?.[1]?.toLowerCase();
}

function toFacts(state: ClusterState): Omit<RolloutClusterFacts, 'states'> {
  return {
    id: state.id,
    name: state.name,
    subscriptionId: state.subscriptionId,
    resourceGroup: state.resourceGroup,
    location: state.location,
    connectivityStatus: state.connectivityStatus,
    evaluatedAt: state.evaluation.evaluatedAt,
    stale: state.stale,
  };
}

export class ClusterFactsReader {
  constructor(private readonly deps: ClusterFactsDeps) {}

  /**
   * Facts for the clusters under `scope` (or just `clusterIds`): identity and evidence from the latest
   * evaluation, the live policy states of `assignmentIds`, and (with `liveConnectivity`) ARM's
   * current connectivity status.
   */
  async gather(scope: string, clusterIds: readonly string[] | undefined, assignmentIds: readonly string[], liveConnectivity: boolean): Promise<RolloutClusterFacts[]> {
    const wanted = clusterIds === undefined ? undefined : new Set(clusterIds.map((id) => id.toLowerCase()));
    let subscriptions: string[];
    if (wanted !== undefined) subscriptions = [...new Set([...wanted].map(subscriptionOf).filter((s): s is string => s !== undefined))];
    else if (subscriptionOf(scope) !== undefined) subscriptions = [subscriptionOf(scope) as string];
    else subscriptions = await this.allSubscriptions();

    // In-cluster offenders come from the stored evaluation (its labels name assignments by name):
    // the live state query cannot expand components at subscription scope, and this costs no ARM call.
    const assignmentNames = assignmentIds.map((id) => id.replace(/\/+$/, '').split('/').pop() ?? id);
    const out: RolloutClusterFacts[] = [];
    for (const sub of subscriptions) {
      const [states, records, live] = await Promise.all([
        this.deps.assignments.queryAssignmentStates(sub, assignmentIds),
        this.deps.clusters.listBySubscription(sub),
        liveConnectivity && this.deps.inventory ? this.deps.inventory.listConnectedClusters(sub) : Promise.resolve(undefined),
      ]);
      const connectivity = new Map((live ?? []).map((c) => [c.id.toLowerCase(), c.properties.connectivityStatus]));
      for (const record of records) {
        const lower = record.id.toLowerCase();
        if (wanted !== undefined ? !wanted.has(lower) : !isUnderScope(record.id, scope)) continue;
        const facts = toFacts(record);
        out.push({
          ...facts,
          ...(live !== undefined ? { connectivityStatus: connectivity.has(lower) ? connectivity.get(lower) : 'NotFound' } : {}),
          states: states.filter((s) => s.resourceId === lower),
          storedOffenders: storedOffendersByPolicy(record.evaluation.controls, assignmentNames),
        });
      }
    }
    return out;
  }

  private async allSubscriptions(): Promise<string[]> {
    const subs = new Set<string>();
    let token: string | undefined;
    do {
      const page = await this.deps.clusters.list({ top: 1000, continuationToken: token });
      for (const c of page.items) subs.add(c.subscriptionId.toLowerCase());
      token = page.continuationToken;
    } while (token !== undefined);
    return [...subs];
  }
}

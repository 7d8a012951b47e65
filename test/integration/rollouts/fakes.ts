/**
 * In-memory ports for rollout service tests: an assignment gateway whose policy states follow the
 * current assignments (overrides, notScopes, resource-group children), a cluster-state repository and
 * a recording queue.
 */
import type { ClusterQuery, ClusterState, ClusterStateRepository, Page, PolicyAssignmentGateway, RolloutStateRecord } from '../../../application/ports.js';
import { assignmentAppliesTo } from '../../../domain/rollout-assignment.js';
import type { PolicyAssignmentModel } from '../../../domain/rollout-model.js';
import { POLICY_IDS } from '../../../domain/control-catalog.js';
import { evaluateCluster } from '../../../domain/evaluate-cluster.js';
import type { ClusterEvaluation, ClusterSnapshot } from '../../../domain/model.js';

export const SUB = '11111111-2222-3333-4444-555555555555';
export const SCOPE = `/subscriptions/${SUB}`;
export const ASSIGNMENT_ID = `${SCOPE}/providers/Microsoft.Authorization/policyAssignments/pss-baseline`;
export const rgId = (rg: string): string => `${SCOPE}/resourceGroups/${rg}`;
const POLICIES = ['noPrivileged', 'noHostNetwork'];

export interface FakeCluster {
  readonly id: string;
  readonly name: string;
  readonly rg: string;
  readonly location: string;
  connectivity: string;
  /** Policy reference ids the workloads violate. */
  violations: string[];
  /** Violations that appear once deny is enforced (a regression). */
  regressAfterApply: string[];
  /**
   * When set, the stored evaluation is the real evaluator's over the current violations, with these
   * in-cluster offenders (policy reference id → component ids, e.g. `default/web-0`) as components.
   */
  storedWorkloads?: Record<string, string[]>;
}

export function fakeCluster(name: string, location: string, rg: string): FakeCluster {
  return { id: `${rgId(rg)}/providers/Microsoft.Kubernetes/connectedClusters/${name}`, name, rg, location, connectivity: 'Connected', violations: [], regressAfterApply: [] };
}

function effectFor(a: PolicyAssignmentModel, location: string): string {
  for (const o of a.overrides ?? []) {
    if (o.kind !== 'policyEffect') continue;
    const ok = (o.selectors ?? []).every((s) => (s.in ? s.in.includes(location) : s.notIn ? !s.notIn.includes(location) : false));
    if (ok) return o.value.toLowerCase();
  }
  const p = a.parameters?.['effect']?.value;
  return typeof p === 'string' ? p.toLowerCase() : 'audit';
}

export class FakeGateway implements PolicyAssignmentGateway {
  readonly assignments = new Map<string, PolicyAssignmentModel>();
  readonly puts: string[] = [];
  readonly deletes: string[] = [];
  evaluations = 0;
  failPuts: Error | undefined;
  /** When false, states keep reporting the old effect (eventual consistency). */
  consistent = true;
  private frozen: RolloutStateRecord[] | undefined;

  constructor(readonly clusters: FakeCluster[]) {}

  async get(id: string): Promise<PolicyAssignmentModel | undefined> {
    const a = this.assignments.get(id.toLowerCase());
    return a === undefined ? undefined : structuredClone(a);
  }
  async put(a: PolicyAssignmentModel): Promise<PolicyAssignmentModel> {
    if (this.failPuts) throw this.failPuts;
    if (!this.consistent && this.frozen === undefined) this.frozen = this.states();
    this.puts.push(a.id);
    this.assignments.set(a.id.toLowerCase(), structuredClone(a));
    return structuredClone(a);
  }
  async delete(id: string): Promise<void> {
    this.deletes.push(id);
    this.assignments.delete(id.toLowerCase());
  }
  async triggerEvaluation(): Promise<void> {
    this.evaluations += 1;
  }
  async queryAssignmentStates(_sub: string, ids: readonly string[]): Promise<RolloutStateRecord[]> {
    const wanted = new Set(ids.map((i) => i.toLowerCase()));
    const all = !this.consistent && this.frozen !== undefined ? this.frozen : this.states();
    return all.filter((s) => wanted.has(s.policyAssignmentId));
  }
  private states(): RolloutStateRecord[] {
    const out: RolloutStateRecord[] = [];
    for (const c of this.clusters) {
      for (const a of this.assignments.values()) {
        if (!assignmentAppliesTo(a, c)) continue;
        const effect = effectFor(a, c.location);
        for (const ref of POLICIES) {
          const bad = c.violations.includes(ref) || (effect === 'deny' && c.regressAfterApply.includes(ref));
          out.push({ resourceId: c.id.toLowerCase(), policyAssignmentId: a.id.toLowerCase(), policyDefinitionName: `def-${ref}`.toLowerCase(), policyDefinitionReferenceId: ref, complianceState: bad ? 'NonCompliant' : 'Compliant', policyDefinitionAction: effect, components: bad ? 1 : undefined });
        }
      }
    }
    return out;
  }
}

export class FakeClusterRepository implements ClusterStateRepository {
  constructor(
    private readonly clusters: FakeCluster[],
    public evaluatedAt: string,
  ) {}
  private state(c: FakeCluster): ClusterState {
    return {
      id: c.id,
      name: c.name,
      subscriptionId: SUB,
      resourceGroup: c.rg,
      location: c.location,
      kind: undefined,
      tags: {},
      environment: undefined,
      distribution: undefined,
      kubernetesVersion: undefined,
      connectivityStatus: c.connectivity,
      evaluation: c.storedWorkloads === undefined ? { clusterId: c.id, evaluatedAt: this.evaluatedAt, runId: 'run-1', controls: [], score: 100, failedControls: [] } : this.evaluated(c, c.storedWorkloads),
      stale: false,
      lastSeenAt: this.evaluatedAt,
    };
  }
  /** The evaluation arc-compliance stored for the cluster: policy states of the baseline initiative with components. */
  private evaluated(c: FakeCluster, workloads: Record<string, string[]>): ClusterEvaluation {
    const snapshot: ClusterSnapshot = {
      id: c.id,
      name: c.name,
      subscriptionId: SUB,
      resourceGroup: c.rg,
      location: c.location,
      kind: undefined,
      tags: { environment: 'dev' },
      properties: {},
      extensions: [],
      fluxConfigurations: [],
      policyStates: POLICIES.map((ref) => ({
        resourceId: c.id.toLowerCase(),
        policyAssignmentId: ASSIGNMENT_ID.toLowerCase(),
        policyDefinitionId: `/providers/microsoft.authorization/policydefinitions/def-${ref.toLowerCase()}`,
        policyDefinitionName: `def-${ref.toLowerCase()}`,
        policySetDefinitionName: POLICY_IDS.podSecurityBaselineInitiative,
        policyDefinitionReferenceId: ref,
        complianceState: c.violations.includes(ref) ? 'NonCompliant' : 'Compliant',
        policyDefinitionAction: 'audit',
        timestamp: undefined,
        components: (workloads[ref] ?? []).map((id) => ({ id, name: id.split('/').pop(), type: 'Pod', complianceState: 'NonCompliant' })),
      })),
    };
    return { ...evaluateCluster(snapshot, { runId: 'run-1', runStartedAt: new Date(this.evaluatedAt), resourceGroupPeers: [snapshot], exceptions: [] }), evaluatedAt: this.evaluatedAt };
  }
  async upsertMany(): Promise<void> {}
  async get(): Promise<ClusterState | undefined> {
    return undefined;
  }
  async list(_q: ClusterQuery): Promise<Page<ClusterState>> {
    return { items: this.clusters.map((c) => this.state(c)), continuationToken: undefined };
  }
  async listBySubscription(sub: string): Promise<ClusterState[]> {
    return sub.toLowerCase() === SUB ? this.clusters.map((c) => this.state(c)) : [];
  }
  async markStale(): Promise<number> {
    return 0;
  }
}


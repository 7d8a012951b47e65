import type { ClusterEvaluation, ControlResult } from '../../../domain/model.js';
import type { ClusterState } from '../../../application/ports.js';

export const SUB_A = '00000000-0000-0000-0000-00000000000a';
export const SUB_B = '00000000-0000-0000-0000-00000000000b';

let prefixCounter = 0;
/** Alphanumeric table prefix unique within a test file (tests share one Azurite). */
export function uniquePrefix(): string {
  prefixCounter += 1;
  return `t${process.pid}x${prefixCounter}`;
}

export function evaluation(runId: string, failing: readonly string[], overrides: Partial<ClusterEvaluation> = {}): ClusterEvaluation {
  const ids = ['ARC-AC-01', 'ARC-AC-04', 'ARC-PL-02', 'ARC-OP-01'];
  const controls: ControlResult[] = ids.map((controlId) => ({
    controlId,
    status: failing.includes(controlId) ? 'fail' : 'pass',
    severity: 'high',
    evidence: failing.includes(controlId) ? `${controlId} failed` : `${controlId} ok`,
  }));
  return { clusterId: 'x', evaluatedAt: '2026-05-01T02:00:00.000Z', runId, controls, score: failing.length === 0 ? 100 : 50, failedControls: [...failing], ...overrides };
}

export function clusterState(sub: string, rg: string, name: string, opts: { env?: string; location?: string; failing?: string[]; runId?: string; stale?: boolean } = {}): ClusterState {
  const id = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Kubernetes/connectedClusters/${name}`;
  return {
    id,
    name,
    subscriptionId: sub,
    resourceGroup: rg,
    location: opts.location ?? 'westeurope',
    kind: undefined,
    tags: opts.env ? { environment: opts.env } : {},
    environment: opts.env,
    distribution: 'k3s',
    kubernetesVersion: '1.30.4',
    connectivityStatus: 'Connected',
    evaluation: { ...evaluation(opts.runId ?? 'run-1', opts.failing ?? []), clusterId: id.toLowerCase() },
    stale: opts.stale ?? false,
    lastSeenAt: '2026-05-01T02:00:00.000Z',
  };
}

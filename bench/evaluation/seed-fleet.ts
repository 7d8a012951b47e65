/**
 * A fleet evaluated in process and written through the real Table repositories — what the pipeline
 * (evaluation timer → queues → tables) stores, in seconds instead of minutes at 10,000 clusters. The
 * snapshots are those the inventory reader would build from the emulator's wire JSON; the domain
 * evaluator judges them; cluster states + index, a finished run with one outcome per subscription and
 * the run's summary are written. The API path under test is unchanged; only how the tables got filled is.
 */
import type { ClusterState, EvaluationClusterStateRepository, EvaluationRunRepository, SummaryRepository } from '../../application/ports.js';
import type { FleetModel } from '../../local/arm-emulator/fleet-model.js';

export interface SeedRepositories {
  readonly clusters: EvaluationClusterStateRepository;
  readonly summaries: SummaryRepository;
  readonly runs: EvaluationRunRepository;
}

export async function seedEvaluatedFleet(repositories: SeedRepositories, fleet: FleetModel, now: Date): Promise<{ seconds: number; status: string; clusters: number }> {
  const { derivePolicyStates } = await import('../../local/arm-emulator/fleet/index.js');
  const { toConnectedClusterRecord, toExtensionFact, toFluxFact, toPolicyStateFact } = await import('../../adapters/arm/arm-wire-mapping.js');
  const { evaluateCluster } = await import('../../domain/evaluate-cluster.js');
  const { toClusterState } = await import('../../application/evaluation-run.js');
  const { summarizeRun } = await import('../../domain/run-summary.js');
  type ClusterSnapshot = import('../../domain/model.js').ClusterSnapshot;
  const started = performance.now();
  const runId = `bench-seed-${now.getTime()}`;
  const createdAt = now.toISOString();
  await repositories.runs.create({
    id: runId, trigger: 'timer', status: 'running', requestedBy: undefined, createdAt, startedAt: createdAt, completedAt: undefined,
    subscriptionsTotal: fleet.subscriptions.length, subscriptionsSucceeded: 0, subscriptionsFailed: 0, failures: [], clustersEvaluated: 0,
  });
  const flatten = (r: Record<string, unknown>): Record<string, unknown> => ({ name: r['name'], ...(r['properties'] as Record<string, unknown>) });
  const inputs: import('../../domain/fleet-summary.js').SummaryInput[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < fleet.subscriptions.length) {
      const subscriptionId = (fleet.subscriptions[next++] as { subscriptionId: string }).subscriptionId;
      const states = derivePolicyStates(fleet, subscriptionId, now).map(toPolicyStateFact).filter((f) => f !== undefined);
      const prefix = `/subscriptions/${subscriptionId.toLowerCase()}/`;
      const snapshots: ClusterSnapshot[] = [];
      for (const c of fleet.clusters) {
        if (!c.resource.id.toLowerCase().startsWith(prefix)) continue;
        const record = toConnectedClusterRecord(c.resource);
        if (record === undefined) continue;
        snapshots.push({
          ...record,
          extensions: c.extensions.map((e) => toExtensionFact(flatten(e))).filter((f) => f !== undefined),
          fluxConfigurations: c.fluxConfigurations.map((f) => toFluxFact(flatten(f))).filter((f) => f !== undefined),
          policyStates: states.filter((s) => s.resourceId === record.id.toLowerCase()),
        });
      }
      const result: ClusterState[] = snapshots.map((snapshot) =>
        toClusterState(
          snapshot,
          evaluateCluster(snapshot, {
            runId,
            runStartedAt: now,
            resourceGroupPeers: snapshots.filter((p) => p.resourceGroup.toLowerCase() === snapshot.resourceGroup.toLowerCase()),
            exceptions: [],
          }),
          now.toISOString(),
        ),
      );
      await repositories.clusters.upsertMany(result);
      await repositories.runs.recordSubscriptionOutcome(runId, subscriptionId, { ok: true, clusters: result.length }, new Date().toISOString());
      for (const s of result) inputs.push({ subscriptionId: s.subscriptionId, stale: s.stale, evaluation: s.evaluation });
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  await repositories.summaries.put(summarizeRun(runId, new Date().toISOString(), inputs));
  const run = await repositories.runs.refresh(runId, new Date().toISOString(), { final: true });
  return { seconds: (performance.now() - started) / 1000, status: `seeded (run ${run?.status ?? 'missing'})`, clusters: inputs.length };
}

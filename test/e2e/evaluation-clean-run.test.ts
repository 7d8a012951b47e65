/**
 * A whole timer-triggered evaluation of the demo fleet through the local runtime (timer → collect
 * queue → finalize queue → Table Storage), read back through the HTTP API with real tokens; the
 * expected results come from the fleet the emulator serves, not from the evaluator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterPath, startE2eStack, type E2eStack } from '../support/e2e-stack.js';
import type { ClusterHistoryView, ClusterSummaryView, ClusterView, EvaluationView } from '../../application/compliance-query-service.js';
import type { FleetSummary } from '../../domain/model.js';
import type { FleetCluster } from '../../local/arm-emulator/fleet-model.js';

let e: E2eStack;
let run: EvaluationView;

beforeAll(async () => {
  e = await startE2eStack();
  run = await e.timerRun();
});
afterAll(async () => {
  await e?.stop();
});

const props = (c: FleetCluster): Record<string, unknown> => c.resource['properties'] as Record<string, unknown>;
const control = (view: ClusterView, id: string): ClusterView['controls'][number] => {
  const found = view.controls.find((c) => c.controlId === id);
  if (found === undefined) throw new Error(`${view.name} has no result for ${id}`);
  return found;
};

async function allClusters(): Promise<ClusterSummaryView[]> {
  const res = await e.api<{ value: ClusterSummaryView[]; nextLink?: string }>('/v1/clusters?top=1000');
  expect(res.status).toBe(200);
  expect(res.body.nextLink).toBeUndefined();
  return res.body.value;
}

describe('a clean timer run of the demo fleet', () => {
  it('succeeds over the three subscriptions and evaluates every cluster', async () => {
    const fleet = e.stack.emulator!.fleet;
    expect(run.trigger).toBe('timer');
    expect(run.status).toBe('succeeded');
    expect(run.subscriptions).toEqual({ total: 3, succeeded: 3, failed: 0 });
    expect(run.failures).toEqual([]);
    expect(run.clustersEvaluated).toBe(fleet.clusters.length);
    expect(run.completedAt).not.toBeNull();

    const clusters = await allClusters();
    expect(clusters.map((c) => c.id.toLowerCase()).sort()).toEqual(fleet.clusters.map((c) => c.resource.id.toLowerCase()).sort());
    for (const c of clusters) {
      expect(c.stale).toBe(false);
      expect(c.lastEvaluatedAt).toBe(run.startedAt);
    }
    expect(run).toMatchObject({ clustersIncomplete: 0, eventsNotPublished: 0, subscriptionsNotDiscovered: [] });
    // Nothing was poisoned on the way (the poison handlers drain their queues, so they must not have run).
    for (const q of ['evaluation-collect-poison', 'evaluation-finalize-poison']) {
      const exists = await e.queue(q).exists();
      if (exists) expect((await e.queue(q).getProperties()).approximateMessagesCount).toBe(0);
    }
    expect(e.logs.some((l) => l.functionName === 'evaluationCollectPoison' || l.functionName === 'evaluationFinalizePoison')).toBe(false);
  });

  it('stores a fleet summary whose totals equal the cluster count', async () => {
    const fleet = e.stack.emulator!.fleet;
    const res = await e.api<FleetSummary>('/v1/summary');
    expect(res.status).toBe(200);
    const summary = res.body;
    expect(summary.runId).toBe(run.id);
    expect(summary.totals.clusters).toBe(fleet.clusters.length);
    expect(summary.totals.compliant + summary.totals.noncompliant).toBe(fleet.clusters.length);
    expect(summary.totals.stale).toBe(0);
    expect(Object.keys(summary.perSubscription).sort()).toEqual(fleet.subscriptions.map((s) => s.subscriptionId.toLowerCase()).sort());
    const perSubTotal = Object.values(summary.perSubscription).reduce((n, t) => n + t.clusters, 0);
    expect(perSubTotal).toBe(fleet.clusters.length);
    for (const [controlId, tally] of Object.entries(summary.perControl)) {
      const counted = Object.values(tally as Record<string, number>).reduce((n, v) => n + v, 0);
      expect(counted, controlId).toBe(fleet.clusters.length);
    }
    const noncompliant = (await allClusters()).filter((c) => c.failedControls.length > 0).length;
    expect(summary.totals.noncompliant).toBe(noncompliant);
  });

  it('evaluates ARC-AC-01, ARC-TD-02 and kind as the fleet says, for every cluster', async () => {
    const fleet = e.stack.emulator!.fleet;
    for (const c of fleet.clusters) {
      const res = await e.api<ClusterView>(clusterPath(c));
      expect(res.status, c.resource.name).toBe(200);
      const view = res.body;
      expect(view.runId).toBe(run.id);
      expect(view.kind).toBe((c.resource['kind'] as string | undefined) ?? null);

      const aad = props(c)['aadProfile'] as { enableAzureRBAC?: boolean } | undefined;
      expect(control(view, 'ARC-AC-01').status, `${c.resource.name} ARC-AC-01`).toBe(aad?.enableAzureRBAC === true ? 'pass' : 'fail');

      const monitoring = c.extensions
        .map((x) => x['properties'] as { extensionType: string; provisioningState: string })
        .filter((p) => ['microsoft.azuremonitor.containers', 'azuremonitor-containers'].includes(p.extensionType.toLowerCase()));
      const td02 = monitoring.some((p) => p.provisioningState === 'Succeeded') ? 'pass' : 'fail';
      expect(control(view, 'ARC-TD-02').status, `${c.resource.name} ARC-TD-02`).toBe(td02);
    }
  });

  it('reports the situations the demo fleet was built to show', async () => {
    const get = async (name: string): Promise<ClusterView> => (await e.api<ClusterView>(clusterPath(e.cluster(name)))).body;

    // Azure RBAC explicitly off; ProvisionedCluster (AKS on Azure Local); legacy monitoring type.
    const dub = await get('store-dub-003');
    expect(dub.kind).toBe('ProvisionedCluster');
    expect(control(dub, 'ARC-AC-01')).toMatchObject({ status: 'fail' });
    expect(control(dub, 'ARC-TD-02')).toMatchObject({ status: 'pass' });
    expect(control(dub, 'ARC-TD-01')).toMatchObject({ status: 'fail', reason: 'not-installed' });
    expect(dub.failedControls).toContain('ARC-AC-01');

    // aadProfile absent: not configured is a failure, never unknown.
    const cork = await get('store-cork-004');
    expect(control(cork, 'ARC-AC-01')).toMatchObject({ status: 'fail', reason: 'not-configured' });
    expect(control(cork, 'ARC-PL-01')).toMatchObject({ status: 'fail', reason: 'not-healthy' });

    // 250 non-compliant pods against the allowed-images policy: fails, offenders bounded with the total kept.
    const dev = await get('store-dev-weu-005');
    const pl03 = control(dev, 'ARC-PL-03');
    expect(pl03).toMatchObject({ status: 'fail', reason: 'noncompliant' });
    expect(pl03.offenders!.items.length).toBeLessThanOrEqual(20);
    expect(pl03.offenders!.total).toBeGreaterThanOrEqual(250);
    expect(control(dev, 'ARC-PL-04').status).toBe('not_applicable');

    // A healthy production ProvisionedCluster passes every control but the ones its fleet lacks.
    const par = await get('branch-par-021');
    expect(par.kind).toBe('ProvisionedCluster');
    expect(control(par, 'ARC-AC-01').status).toBe('pass');
    expect(control(par, 'ARC-PL-03').status).toBe('pass');
    // Branch offices have no probes assignment on purpose.
    expect(control(par, 'ARC-UP-01')).toMatchObject({ status: 'fail', reason: 'not-assigned' });

    // No environment tag at all.
    expect(control(await get('factory-aus-019'), 'ARC-AC-04')).toMatchObject({ status: 'fail', reason: 'missing-environment-tag' });
  });

  it('keeps exactly one history entry per cluster, without drift', async () => {
    for (const name of ['store-dub-003', 'factory-sea-011', 'branch-lab-030']) {
      const c = e.cluster(name);
      const res = await e.api<ClusterHistoryView>(`${clusterPath(c)}/history`);
      expect(res.status).toBe(200);
      expect(res.body.value).toHaveLength(1);
      const [entry] = res.body.value;
      expect(entry!.runId).toBe(run.id);
      expect(entry!.drift).toEqual([]);
      const view = (await e.api<ClusterView>(clusterPath(c))).body;
      expect(entry!.score).toBe(view.score);
      expect(entry!.statuses).toEqual(Object.fromEntries(view.controls.map((x) => [x.controlId, x.status])));
    }
    // One history row per cluster in storage, all for this run.
    const rows = await e.historyEntities();
    expect(rows).toHaveLength(e.stack.emulator!.fleet.clusters.length);
  });
});

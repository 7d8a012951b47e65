/**
 * `GET /api/v1/control-plane-events` and `GET /api/v1/clusters/{…}/control-plane-events`: filters,
 * paging by nextLink, the documented shapes, bad input refused, unknown cluster 404; and
 * `GET /api/v1/control-plane-watch`: each subscription's watch state, failing ones first, then the
 * latest evaluation's subscriptions the watch has never read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documented } from '../../support/api-expect.js';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { SUB_A, SUB_B, clusterId, seedFleet } from '../../support/api-fixtures.js';
import { classifyActivityLogEntry, type ActivityLogEntry } from '../../../domain/control-plane-events.js';
import { summarizeFleet } from '../../../domain/fleet-summary.js';

let h: ApiHarness;
let reader: string;

const STORE_1 = clusterId(SUB_A, 'rg-edge', 'store-001');
const PLANT_1 = clusterId(SUB_B, 'rg-plant', 'plant-001');
const ADMIN = 'Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action';

function entry(n: number, sub: string, resourceId: string, operationName: string, minutesAgo: number): ActivityLogEntry {
  return {
    eventDataId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    eventTimestamp: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
    operationName,
    status: 'Succeeded',
    caller: `user${n}@contoso.example`,
    resourceId,
    subscriptionId: sub,
  };
}

beforeAll(async () => {
  h = await startApiHarness();
  await seedFleet(h.ports);
  reader = await h.token(['Compliance.Read']);
  const byGroup = new Map([['rg-edge', [STORE_1.toLowerCase(), clusterId(SUB_A, 'rg-edge', 'store-002').toLowerCase()]]]);
  const entries = [
    entry(1, SUB_A, `${STORE_1}/providers/Microsoft.HybridContainerService/provisionedClusterInstances/default`, ADMIN, 300),
    entry(2, SUB_A, `${STORE_1}/providers/Microsoft.KubernetesConfiguration/extensions/azurepolicy`, 'Microsoft.KubernetesConfiguration/extensions/delete', 200),
    entry(3, SUB_A, `/subscriptions/${SUB_A}/resourceGroups/rg-edge/providers/Microsoft.Authorization/roleAssignments/r1`, 'Microsoft.Authorization/roleAssignments/write', 100),
    entry(4, SUB_B, `${PLANT_1}/providers/Microsoft.HybridContainerService/provisionedClusterInstances/default`, ADMIN, 50),
  ];
  for (const e of entries) {
    const event = classifyActivityLogEntry(e, { ownIdentities: [], clustersByResourceGroup: byGroup });
    if (event === undefined) throw new Error('fixture entry not kept');
    await h.ports.controlPlaneEvents.record(event);
  }
});
afterAll(async () => h?.stop());

type List = { value: Record<string, unknown>[]; nextLink?: string; error?: { code: string } };
async function get(op: string, path: string): Promise<{ status: number; body: List }> {
  const res = await h.request('GET', path, { token: reader });
  return { status: res.status, body: (await documented(op, res)) as List };
}

describe('GET /api/v1/control-plane-events', () => {
  it('lists every event newest first, in pages that follow nextLink', async () => {
    const first = await get('listControlPlaneEvents', '/api/v1/control-plane-events?top=3');
    expect(first.status).toBe(200);
    expect(first.body.value.map((e) => e['caller'])).toEqual(['user4@contoso.example', 'user3@contoso.example', 'user2@contoso.example']);
    const next = new URL(first.body.nextLink ?? '');
    const second = await get('listControlPlaneEvents', `${next.pathname}${next.search}`);
    expect(second.body.value.map((e) => e['caller'])).toEqual(['user1@contoso.example']);
    expect(second.body.nextLink).toBeUndefined();
  });

  it('filters by subscription, operation, cluster (resource-group changes included) and since', async () => {
    expect((await get('listControlPlaneEvents', `/api/v1/control-plane-events?subscriptionId=${SUB_B}`)).body.value.map((e) => e['caller'])).toEqual(['user4@contoso.example']);
    expect((await get('listControlPlaneEvents', `/api/v1/control-plane-events?operation=${encodeURIComponent(ADMIN)}`)).body.value.map((e) => e['caller'])).toEqual(['user4@contoso.example', 'user1@contoso.example']);
    const byCluster = await get('listControlPlaneEvents', `/api/v1/control-plane-events?clusterId=${encodeURIComponent(STORE_1)}`);
    expect(byCluster.body.value.map((e) => e['caller'])).toEqual(['user3@contoso.example', 'user2@contoso.example', 'user1@contoso.example']);
    const since = new Date(Date.now() - 150 * 60_000).toISOString();
    expect((await get('listControlPlaneEvents', `/api/v1/control-plane-events?since=${encodeURIComponent(since)}`)).body.value.map((e) => e['caller'])).toEqual(['user4@contoso.example', 'user3@contoso.example']);
  });

  it('refuses bad filters with 400 and details', async () => {
    for (const q of ['since=yesterday', 'operation=Microsoft.Compute/virtualMachines/write', 'subscriptionId=x', 'clusterId=/subscriptions/x', 'top=0', 'color=red']) {
      const { status, body } = await get('listControlPlaneEvents', `/api/v1/control-plane-events?${q}`);
      expect(status, q).toBe(400);
      expect(body.error?.code, q).toBe('InvalidRequest');
    }
  });
});

describe('GET /api/v1/clusters/{…}/control-plane-events', () => {
  it("lists the cluster's events, its resource group's included", async () => {
    const { status, body } = await get('listClusterControlPlaneEvents', `/api/v1/clusters/${SUB_A}/rg-edge/store-002/control-plane-events`);
    expect(status).toBe(200);
    expect(body.value.map((e) => e['kind'])).toEqual(['role-assignment-written']);
    const store1 = await get('listClusterControlPlaneEvents', `/api/v1/clusters/${SUB_A}/rg-edge/store-001/control-plane-events?operation=${encodeURIComponent(ADMIN)}`);
    expect(store1.body.value).toEqual([expect.objectContaining({ caller: 'user1@contoso.example', severity: 'high', clusterName: 'store-001' })]);
  });

  it('404 for a cluster that was never collected', async () => {
    const { status, body } = await get('listClusterControlPlaneEvents', `/api/v1/clusters/${SUB_A}/rg-edge/nope/control-plane-events`);
    expect(status).toBe(404);
    expect(body.error?.code).toBe('NotFound');
  });
});

describe('GET /api/v1/control-plane-watch', () => {
  it('lists every subscription: failing first with the failure, recovered ones with theirs kept, documented shapes', async () => {
    const at = (minutesAgo: number): string => new Date(Date.now() - minutesAgo * 60_000).toISOString();
    await h.ports.controlPlaneEvents.saveWatchState({ subscriptionId: SUB_A, coverage: { from: at(600), to: at(10) }, lastAttemptAt: at(10), lastSuccessAt: at(10), lastFailure: { at: at(25), stage: 'read', code: 'HTTP 500', message: 'Activity Log not read: 500' } });
    await h.ports.controlPlaneEvents.saveWatchState({
      subscriptionId: SUB_B,
      coverage: { from: at(600), to: at(40) },
      lastAttemptAt: at(10),
      lastSuccessAt: at(40),
      lastFailure: { at: at(10), stage: 'read', code: 'AuthorizationFailed', message: 'Activity Log not read: <b>denied</b>', hint: 'grant Reader' },
    });
    const res = await h.request('GET', '/api/v1/control-plane-watch', { token: reader });
    expect(res.status).toBe(200);
    const body = (await documented('getControlPlaneWatch', res)) as { value: Record<string, unknown>[]; failing: number; neverRead: number };
    expect(body.failing).toBe(1);
    // Both subscriptions of the latest evaluation have a state.
    expect(body.neverRead).toBe(0);
    expect(body.value.map((v) => [v['subscriptionId'], v['status']])).toEqual([
      [SUB_B.toLowerCase(), 'failing'],
      [SUB_A.toLowerCase(), 'ok'],
    ]);
    expect(body.value[0]).toMatchObject({ lastFailure: { stage: 'read', code: 'AuthorizationFailed', hint: 'grant Reader', message: 'Activity Log not read: <b>denied</b>' } });
    expect(body.value[0]!['watermark']).toBe((body.value[0]!['coverage'] as { to: string }).to);
    expect(body.value[1]!['lastFailure']).toMatchObject({ code: 'HTTP 500' });
  });

  it('lists a subscription of the latest evaluation that the watch has never read, after the failing ones', async () => {
    const SUB_C = '00000000-0000-0000-0000-00000000000c';
    const evaluation = { controls: [], score: 100 };
    await h.ports.summaries.put(summarizeFleet('run-with-a-new-subscription', new Date().toISOString(), [SUB_A, SUB_B, SUB_C].map((subscriptionId) => ({ subscriptionId, stale: false, evaluation }))));
    const res = await h.request('GET', '/api/v1/control-plane-watch', { token: reader });
    const body = (await documented('getControlPlaneWatch', res)) as { value: Record<string, unknown>[]; failing: number; neverRead: number };
    expect([body.failing, body.neverRead]).toEqual([1, 1]);
    expect(body.value.map((v) => [v['subscriptionId'], v['status']])).toEqual([
      [SUB_B.toLowerCase(), 'failing'],
      [SUB_C, 'never-read'],
      [SUB_A.toLowerCase(), 'ok'],
    ]);
    // Nothing is known of it but that it was never read.
    expect(body.value[1]).toEqual({ subscriptionId: SUB_C, status: 'never-read' });
  });

  it('needs Compliance.Read', async () => {
    expect((await h.request('GET', '/api/v1/control-plane-watch', { token: await h.token(['Webhooks.Manage']) })).status).toBe(403);
    expect((await h.request('GET', '/api/v1/control-plane-watch')).status).toBe(401);
  });
});

/**
 * The control-plane watch through the real pieces: `@azure/arm-monitor` against the ARM emulator's
 * Activity Log (the service's `$filter` rules and paging), the event store on Azurite, the watch
 * service. Paging, the 90-day bound, the watermark across runs (no second alert), an unreadable log
 * (recorded, ARC-TD-04 input `null`) and entries about non-cluster resources (ignored).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ManagedIdentityCredential } from '@azure/identity';
import { startArmEmulator, type ArmEmulator } from '../../../local/arm-emulator/index.js';
import { generateFleet, derivePolicyStates, DEMO_SUBSCRIPTIONS } from '../../../local/arm-emulator/fleet/index.js';
import { activityLogEntry, operationEntries } from '../../../local/arm-emulator/fleet/activity-log.js';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableStore } from '../../../adapters/storage/table-store.js';
import { TableControlPlaneEventRepository } from '../../../adapters/storage/table-control-plane-repository.js';
import { ArmActivityLogReader } from '../../../adapters/arm/activity-log-reader.js';
import { ControlPlaneWatchService } from '../../../application/control-plane-watch-service.js';
import type { ControlPlaneWatchMessage } from '../../../application/messages.js';
import type { EventPublisher } from '../../../application/ports.js';
import { DependencyError } from '../../../domain/errors.js';
import type { OutboundEvent } from '../../../domain/webhook-events.js';
import { FixedClock, InMemoryClusterStateRepository, RecordingMessageQueue } from '../../support/in-memory-ports.js';
import { uniquePrefix } from '../storage/fixtures.js';
import { emulatorConnection, rawArm, armToken, useEmulatorIdentity } from './support/emulator-clients.js';

const DAY_MS = 86_400_000;
const START = new Date('2026-03-01T12:00:00.000Z');
const RETAIL = DEMO_SUBSCRIPTIONS.retail;
const STORE_AMS = `/subscriptions/${RETAIL}/resourceGroups/rg-stores-prod-weu/providers/Microsoft.Kubernetes/connectedClusters/store-ams-001`;
const PAGE = 3;

const clock = new FixedClock(START);
let emulator: ArmEmulator;
let credential: ManagedIdentityCredential;
let azurite: RunningAzurite;
let repo: TableControlPlaneEventRepository;
let published: OutboundEvent[];
let failPublish = 0;
const publisher: EventPublisher = {
  publish: async (event) => {
    if (failPublish > 0) {
      failPublish -= 1;
      throw new Error('webhook store unavailable (test fault)');
    }
    published.push(event);
  },
};

function service(): ControlPlaneWatchService {
  return new ControlPlaneWatchService({
    activityLog: new ArmActivityLogReader(emulatorConnection(emulator, credential)),
    events: repo,
    clusters: new InMemoryClusterStateRepository(),
    inventory: { listSubscriptions: async () => [] },
    queue: new RecordingMessageQueue<ControlPlaneWatchMessage>(),
    clock,
    settings: { lookbackDays: 30, ownIdentities: ['5e8f2a91-3c47-4d6b-9a10-7b2e4c6d8f01'], subscriptionIds: undefined, retentionDays: 90 },
    publisher,
  });
}

/** The demo subscription's clusters, as the collect passes them. */
function retailClusters(): { id: string; resourceGroup: string }[] {
  return emulator.fleet.clusters
    .filter((c) => c.resource.id.toLowerCase().startsWith(`/subscriptions/${RETAIL}/`))
    .map((c) => ({ id: c.resource.id, resourceGroup: c.resource.id.split('/')[4]! }));
}

beforeAll(async () => {
  emulator = await startArmEmulator({ fleet: generateFleet({ mode: 'demo' }, START), derivePolicyStates, now: () => clock.now(), pageSizes: { activityLog: PAGE } });
  credential = useEmulatorIdentity(emulator);
  azurite = await startAzurite();
});
afterAll(async () => {
  await emulator?.stop();
  await azurite?.stop();
});
beforeEach(async () => {
  clock.set(START);
  published = [];
  failPublish = 0;
  emulator.faults.clear();
  emulator.requests.reset();
  repo = await TableControlPlaneEventRepository.open(await TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: uniquePrefix() }));
});

describe('the emulator serves the Activity Log as the service does', () => {
  const path = `/subscriptions/${RETAIL}/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01`;

  it('refuses a read without an eventTimestamp start, and one starting more than 90 days back, in the ARM error format', async () => {
    const token = await armToken(credential, emulator);
    const none = await rawArm(emulator, 'GET', path, { token });
    expect(none.status).toBe(400);
    expect(none.body).toEqual({ error: { code: 'BadRequest', message: expect.stringContaining('$filter') } });
    const noStart = await rawArm(emulator, 'GET', `${path}&$filter=${encodeURIComponent("resourceGroupName eq 'rg-stores-prod-weu'")}`, { token });
    expect(noStart.status).toBe(400);
    const old = new Date(START.getTime() - 91 * DAY_MS).toISOString();
    const tooOld = await rawArm(emulator, 'GET', `${path}&$filter=${encodeURIComponent(`eventTimestamp ge '${old}' and eventTimestamp le '${START.toISOString()}'`)}`, { token });
    expect(tooOld.status).toBe(400);
    expect(tooOld.body).toEqual({ error: { code: 'BadRequest', message: expect.stringContaining('older than 90 days') } });
    const unknownField = await rawArm(emulator, 'GET', `${path}&$filter=${encodeURIComponent(`eventTimestamp ge '${START.toISOString()}' and caller eq 'x'`)}`, { token });
    expect(unknownField.status).toBe(400);
  });

  it('the reader refuses to ask for more than 90 days (a typed dependency failure carrying the 400)', async () => {
    const reader = new ArmActivityLogReader(emulatorConnection(emulator, credential));
    const error = await reader.list(RETAIL, new Date(START.getTime() - 91 * DAY_MS), START).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as Error).message).toMatch(/activityLogs\.list failed \(400 BadRequest\)/);
  });

  it('pages newest first with nextLink; the reader follows every page and returns each entry once', async () => {
    const reader = new ArmActivityLogReader(emulatorConnection(emulator, credential));
    const entries = await reader.list(RETAIL, new Date(START.getTime() - 89 * DAY_MS), START);
    const expected = (emulator.fleet.activityLog ?? []).filter((r) => r['subscriptionId'] === RETAIL);
    expect(expected.length).toBeGreaterThan(PAGE * 2);
    expect(entries.map((e) => e.eventDataId).sort()).toEqual(expected.map((r) => String(r['eventDataId'])).sort());
    expect(new Set(entries.map((e) => e.eventDataId)).size).toBe(entries.length);
    const times = entries.map((e) => Date.parse(e.eventTimestamp));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(emulator.requests.count('activityLogs.list')).toBe(Math.ceil(expected.length / PAGE));
  });
});

describe('the watch', () => {
  it('keeps only cluster events: storage accounts and groups without clusters are ignored, as are Started entries and its own policy writes', async () => {
    const watch = service();
    const outcome = await watch.watchSubscription(RETAIL, { clusters: retailClusters() });
    const kept = (await repo.list({ top: 100 })).items;
    expect(kept.map((e) => e.operation).sort()).toEqual(
      [
        'Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action',
        'Microsoft.KubernetesConfiguration/extensions/delete',
        'Microsoft.KubernetesConfiguration/extensions/delete',
        'Microsoft.Authorization/roleAssignments/write',
        'Microsoft.Authorization/policyAssignments/write',
      ].sort(),
    );
    expect(kept.every((e) => e.status !== 'Started')).toBe(true);
    expect(kept.some((e) => /storageAccounts|rg-stores-shared/i.test(e.resourceId))).toBe(false);
    expect(outcome.read).toBeGreaterThan(outcome.kept);
    const breakGlass = kept.find((e) => e.kind === 'break-glass-credential');
    expect(breakGlass).toMatchObject({ clusterId: STORE_AMS.toLowerCase(), clusterName: 'store-ams-001', caller: 'oncall-admin@contoso.example', status: 'Succeeded', severity: 'high' });
    const defender = kept.find((e) => e.extensionName === 'microsoft.azuredefender.kubernetes');
    expect(defender).toMatchObject({ kind: 'extension-deleted', securityExtension: 'defender', severity: 'high' });
    const rgPolicy = kept.find((e) => e.kind === 'policy-assignment-written');
    expect(rgPolicy?.clusterIds?.length).toBe(2);
    expect(published.map((e) => e.type)).toEqual(kept.map(() => 'controlplane.change.detected'));
  });

  it('an entry about a non-cluster resource added to the log is read and ignored', async () => {
    const watch = service();
    await watch.watchSubscription(RETAIL, { clusters: retailClusters() });
    clock.set(new Date(START.getTime() + 15 * 60_000));
    emulator.fleet.activityLog!.push(
      activityLogEntry({
        subscriptionId: RETAIL,
        tenantId: emulator.fleet.tenantId,
        resourceId: `/subscriptions/${RETAIL}/resourceGroups/rg-stores-prod-weu/providers/Microsoft.Compute/virtualMachines/jumpbox/extensions/CustomScript`,
        operationName: 'Microsoft.Compute/virtualMachines/extensions/delete',
        status: 'Succeeded',
        caller: 'store-ops@contoso.example',
        appId: 'x',
        objectId: 'y',
        at: new Date(clock.now().getTime() - 60_000),
        eventDataId: 'a0000000-0000-4000-8000-000000000001',
        correlationId: 'a0000000-0000-4000-8000-000000000002',
        method: 'DELETE',
      }),
    );
    const before = published.length;
    const outcome = await watch.watchSubscription(RETAIL, { clusters: retailClusters() });
    expect(outcome.read).toBeGreaterThan(0);
    expect(outcome.published).toBe(0);
    expect(published.length).toBe(before);
    expect((await repo.list({ top: 100 })).items.some((e) => e.eventDataId === 'a0000000-0000-4000-8000-000000000001')).toBe(false);
  });

  it('reads from the watermark on the next run: overlapping entries are neither stored nor alerted twice, new ones once', async () => {
    const watch = service();
    await watch.watchSubscription(RETAIL, { clusters: retailClusters() });
    const first = published.length;
    const kept = (await repo.list({ top: 100 })).items.length;
    // 15 minutes later: a second break-glass download happened 5 minutes ago.
    clock.set(new Date(START.getTime() + 15 * 60_000));
    emulator.fleet.activityLog!.push(
      ...operationEntries(
        { subscriptionId: RETAIL, resourceGroup: 'rg-stores-prod-weu', cluster: 'store-ams-001', path: '/providers/Microsoft.HybridContainerService/provisionedClusterInstances/default/listAdminKubeconfig', operation: 'Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action', caller: 'night-shift@contoso.example', daysAgo: 5 / (24 * 60), method: 'POST' },
        emulator.fleet.tenantId,
        clock.now(),
        (() => {
          let n = 0;
          return () => `b0000000-0000-4000-8000-00000000000${(n += 1)}`;
        })(),
      ),
    );
    emulator.requests.reset();
    const second = await watch.watchSubscription(RETAIL, { clusters: retailClusters() });
    expect(second.published).toBe(1);
    expect(published.length).toBe(first + 1);
    expect(published.at(-1)?.data).toMatchObject({ caller: 'night-shift@contoso.example', kind: 'break-glass-credential' });
    expect((await repo.list({ top: 100 })).items.length).toBe(kept + 1);
    // The read started at the watermark minus the ingestion overlap, not 30 days back again.
    expect(second.window.from).toBe(new Date(START.getTime() - 60 * 60_000).toISOString());
    expect(emulator.requests.count('activityLogs.list')).toBe(1);
    // A third run reads the same entries again (inside the overlap): nothing new, nothing published.
    clock.set(new Date(START.getTime() + 30 * 60_000));
    const third = await watch.watchSubscription(RETAIL, { clusters: retailClusters() });
    expect(third.kept).toBeGreaterThan(0);
    expect(third.published).toBe(0);
    expect(published.length).toBe(first + 1);
  });

  it('a publish that fails keeps the watermark; the retry publishes the same events once', async () => {
    const watch = service();
    failPublish = 1;
    await expect(watch.watchSubscription(RETAIL, { clusters: retailClusters() })).rejects.toThrow(/test fault/);
    const state = await repo.getWatchState(RETAIL);
    expect(state?.coverage).toBeUndefined();
    expect(state?.lastFailure).toMatchObject({ stage: 'store', code: 'EventsNotStored', at: START.toISOString(), message: expect.stringMatching(/not stored or published/) });
    const afterFailure = published.length;
    const retry = await watch.watchSubscription(RETAIL, { clusters: retailClusters() });
    expect(retry.published).toBe(1);
    const ids = published.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(published.length).toBe(afterFailure + 1);
    // Recovered: the failure stays on record, before the last success.
    const recovered = await repo.getWatchState(RETAIL);
    expect(recovered?.lastFailure?.code).toBe('EventsNotStored');
    expect(recovered?.lastSuccessAt).toBe(START.toISOString());
  });

  it('an unreadable log is recorded on the watch state, and ARC-TD-04 gets no input (unknown) unless earlier reads cover the run', async () => {
    const watch = service();
    emulator.faults.failSubscription(RETAIL);
    const view = await watch.forRun(RETAIL, retailClusters(), START);
    expect(view.breakGlass).toBeNull();
    expect(view.error).toMatch(/activityLogs\.list failed \(500/);
    expect((await repo.getWatchState(RETAIL))?.lastFailure).toMatchObject({ stage: 'read', code: 'InternalServerError', message: expect.stringMatching(/^Activity Log not read/) });
    await expect(watch.watchSubscription(RETAIL)).rejects.toBeInstanceOf(DependencyError);
    emulator.faults.healSubscription(RETAIL);

    // Read successfully at 12:00; at 12:10 the log fails again, but the stored events cover a run that started at 12:00.
    await watch.watchSubscription(RETAIL, { clusters: retailClusters() });
    clock.set(new Date(START.getTime() + 10 * 60_000));
    emulator.faults.failSubscription(RETAIL);
    const covered = await watch.forRun(RETAIL, retailClusters(), START);
    expect(covered.error).toBeDefined();
    expect(covered.breakGlass?.get(STORE_AMS.toLowerCase())).toEqual([expect.objectContaining({ caller: 'oncall-admin@contoso.example', status: 'Succeeded' })]);
    // A run that started after the last successful read is not covered: unknown.
    expect((await watch.forRun(RETAIL, retailClusters(), clock.now())).breakGlass).toBeNull();
    emulator.faults.healSubscription(RETAIL);
  });

  it("a subscription collected minutes after the run started (first read) still covers the run's lookback", async () => {
    const watch = service();
    clock.set(new Date(START.getTime() + 25 * 60_000));
    const view = await watch.forRun(RETAIL, retailClusters(), START);
    expect(view.error).toBeUndefined();
    expect(view.breakGlass?.get(STORE_AMS.toLowerCase())).toEqual([expect.objectContaining({ caller: 'oncall-admin@contoso.example', status: 'Succeeded' })]);
    expect((await repo.getWatchState(RETAIL))?.coverage?.from).toBe(new Date(START.getTime() - 30 * DAY_MS).toISOString());
  });

  it('a refused read records the ARM code and the hint; a poisoned message names it, unless a later read succeeded', async () => {
    const watch = service();
    const requestedAt = START.toISOString();
    emulator.faults.denyAccess({ subscriptionId: RETAIL });
    try {
      for (let attempt = 0; attempt < 2; attempt += 1) await expect(watch.watchSubscription(RETAIL)).rejects.toBeInstanceOf(DependencyError);
    } finally {
      emulator.faults.clear();
    }
    const refused = (await repo.getWatchState(RETAIL))?.lastFailure;
    expect(refused).toMatchObject({ stage: 'read', code: 'AuthorizationFailed', hint: expect.stringContaining('Reader') });
    expect((await repo.getWatchState(RETAIL))?.lastSuccessAt).toBeUndefined();

    clock.set(new Date(START.getTime() + 5 * 60_000));
    const poisoned = await watch.recordPoisoned({ kind: 'controlplane-watch', subscriptionId: RETAIL, requestedAt }, 5);
    expect(poisoned.kind).toBe('recorded');
    const state = await repo.getWatchState(RETAIL);
    expect(state?.lastFailure).toMatchObject({ stage: 'poison', code: 'Poisoned', at: clock.now().toISOString(), hint: refused?.hint, message: expect.stringContaining('AuthorizationFailed') });
    expect(state?.coverage).toBeUndefined();

    // The next tick reads from the unchanged watermark; a late poison of the earlier message changes nothing.
    await watch.watchSubscription(RETAIL, { clusters: retailClusters() });
    const late = await watch.recordPoisoned({ kind: 'controlplane-watch', subscriptionId: RETAIL, requestedAt }, 5);
    expect(late).toEqual({ kind: 'superseded', lastSuccessAt: clock.now().toISOString() });
    expect((await repo.getWatchState(RETAIL))?.lastFailure?.stage).toBe('poison');
    expect((await repo.getWatchState(RETAIL))?.lastSuccessAt).toBe(clock.now().toISOString());
  });

  it('retention deletes events older than the limit with their per-cluster copies', async () => {
    const watch = service();
    await watch.watchSubscription(RETAIL, { clusters: retailClusters() });
    const before = (await repo.list({ top: 100 })).items;
    const cutoff = new Date(START.getTime() - 4 * DAY_MS).toISOString();
    const removed = await repo.purgeOlderThan(cutoff);
    const after = (await repo.list({ top: 100 })).items;
    expect(removed).toBe(before.filter((e) => e.eventTimestamp < cutoff).length);
    expect(after.every((e) => e.eventTimestamp >= cutoff)).toBe(true);
    expect(await repo.listForCluster('/subscriptions/' + RETAIL + '/resourcegroups/rg-stores-pilot-uks/providers/microsoft.kubernetes/connectedclusters/store-man-009', cutoff.replace('2026', '2025'), START.toISOString())).toEqual([]);
  });
});

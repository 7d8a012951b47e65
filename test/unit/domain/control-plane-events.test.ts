import { describe, expect, it } from 'vitest';
import { controlPlaneEventCodec, controlPlaneWatchCodec } from '../../../adapters/storage/records/control-plane-records.js';
import {
  ACTIVITY_LOG_INGESTION_OVERLAP_MS,
  classifyActivityLogEntry,
  coversLookback,
  evaluateBreakGlass,
  extendCoverage,
  incidentControlOf,
  nextReadWindow,
  securityExtensionOf,
  watchedOperation,
  type ActivityLogEntry,
  type ClassifyContext,
} from '../../../domain/control-plane-events.js';

const SUB = '7c3e1a52-4b9d-4f0e-9a61-2d8f5c7b1e01';
const CLUSTER = `/subscriptions/${SUB}/resourceGroups/rg-edge/providers/Microsoft.Kubernetes/connectedClusters/store-1`;
const DAY = 86_400_000;
const NOW = new Date('2026-03-01T12:00:00.000Z');
const OWN = '5e8f2a91-3c47-4d6b-9a10-7b2e4c6d8f01';
const ctx: ClassifyContext = { ownIdentities: [OWN], clustersByResourceGroup: new Map([['rg-edge', [CLUSTER.toLowerCase()]]]) };

function entry(over: Partial<ActivityLogEntry>): ActivityLogEntry {
  return {
    eventDataId: 'e1',
    eventTimestamp: '2026-02-28T10:00:00.1234567Z',
    operationName: 'Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action',
    status: 'Succeeded',
    caller: 'admin@contoso.example',
    resourceId: `${CLUSTER}/providers/Microsoft.HybridContainerService/provisionedClusterInstances/default`,
    subscriptionId: SUB.toUpperCase(),
    ...over,
  };
}

describe('classifyActivityLogEntry', () => {
  it('keeps a break-glass download on a child of a cluster, case-insensitively, with the cluster and caller', () => {
    const e = classifyActivityLogEntry(entry({ operationName: 'microsoft.hybridcontainerservice/provisionedclusterinstances/listadminkubeconfig/action' }), ctx);
    expect(e).toMatchObject({
      kind: 'break-glass-credential',
      operation: 'Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action',
      clusterId: CLUSTER.toLowerCase(),
      clusterName: 'store-1',
      resourceGroup: 'rg-edge',
      subscriptionId: SUB,
      caller: 'admin@contoso.example',
      severity: 'high',
      eventTimestamp: '2026-02-28T10:00:00.123Z',
    });
  });

  it('ignores operations not watched, Started/Accepted entries, entries without an id or a valid time', () => {
    expect(classifyActivityLogEntry(entry({ operationName: 'Microsoft.Storage/storageAccounts/write' }), ctx)).toBeUndefined();
    expect(classifyActivityLogEntry(entry({ status: 'Started' }), ctx)).toBeUndefined();
    expect(classifyActivityLogEntry(entry({ status: 'Accepted' }), ctx)).toBeUndefined();
    expect(classifyActivityLogEntry(entry({ eventDataId: '' }), ctx)).toBeUndefined();
    expect(classifyActivityLogEntry(entry({ eventTimestamp: 'yesterday' }), ctx)).toBeUndefined();
    // A Failed attempt is an outcome: kept (the control counts only Succeeded ones).
    expect(classifyActivityLogEntry(entry({ status: 'Failed' }), ctx)?.status).toBe('Failed');
  });

  it('keeps cluster-child operations only on Arc-connected clusters, never on other resources', () => {
    const vmExtension = `/subscriptions/${SUB}/resourceGroups/rg-edge/providers/Microsoft.Compute/virtualMachines/vm1/providers/Microsoft.KubernetesConfiguration/extensions/x`;
    expect(classifyActivityLogEntry(entry({ operationName: 'Microsoft.KubernetesConfiguration/extensions/delete', resourceId: vmExtension }), ctx)).toBeUndefined();
    const aks = `/subscriptions/${SUB}/resourceGroups/rg-edge/providers/Microsoft.ContainerService/managedClusters/aks1/providers/Microsoft.KubernetesConfiguration/extensions/azurepolicy`;
    expect(classifyActivityLogEntry(entry({ operationName: 'Microsoft.KubernetesConfiguration/extensions/delete', resourceId: aks }), ctx)).toBeUndefined();
    // A break-glass download is never a resource-group event.
    expect(classifyActivityLogEntry(entry({ resourceId: `/subscriptions/${SUB}/resourceGroups/rg-edge/providers/Microsoft.Authorization/roleAssignments/r1` }), ctx)).toBeUndefined();
  });

  it('names the security extension a deletion removes: from the recorded type, else the default name', () => {
    const del = (name: string, types?: ClassifyContext['extensionTypes']) =>
      classifyActivityLogEntry(entry({ operationName: 'Microsoft.KubernetesConfiguration/extensions/delete', resourceId: `${CLUSTER}/providers/Microsoft.KubernetesConfiguration/extensions/${name}` }), { ...ctx, extensionTypes: types });
    expect(del('microsoft.azuredefender.kubernetes')).toMatchObject({ kind: 'extension-deleted', securityExtension: 'defender', severity: 'high', extensionName: 'microsoft.azuredefender.kubernetes' });
    expect(del('azurepolicy')).toMatchObject({ securityExtension: 'azure-policy', severity: 'high' });
    expect(del('ClusterMonitor')?.securityExtension).toBeUndefined();
    expect(del('ClusterMonitor', new Map([[CLUSTER.toLowerCase(), new Map([['clustermonitor', 'azuremonitor-containers']])]]))).toMatchObject({ securityExtension: 'monitoring', severity: 'medium' });
    // A recorded type wins over a misleading name.
    expect(del('azurepolicy', new Map([[CLUSTER.toLowerCase(), new Map([['azurepolicy', 'microsoft.flux']])]]))?.securityExtension).toBeUndefined();
    expect(del('flux')?.securityExtension).toBeUndefined();
    expect(del('flux')?.severity).toBe('low');
  });

  it('keeps role and policy changes on a resource group that holds clusters, listing them; not on one without', () => {
    const rgRole = entry({ operationName: 'Microsoft.Authorization/roleAssignments/write', resourceId: `/subscriptions/${SUB}/resourceGroups/RG-EDGE/providers/Microsoft.Authorization/roleAssignments/r1` });
    expect(classifyActivityLogEntry(rgRole, ctx)).toMatchObject({ kind: 'role-assignment-written', clusterIds: [CLUSTER.toLowerCase()], severity: 'medium' });
    expect(classifyActivityLogEntry(rgRole, ctx)?.clusterId).toBeUndefined();
    const otherRg = entry({ operationName: 'Microsoft.Authorization/roleAssignments/write', resourceId: `/subscriptions/${SUB}/resourceGroups/rg-shared/providers/Microsoft.Authorization/roleAssignments/r1` });
    expect(classifyActivityLogEntry(otherRg, ctx)).toBeUndefined();
    const subscriptionScope = entry({ operationName: 'Microsoft.Authorization/roleAssignments/write', resourceId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/r1` });
    expect(classifyActivityLogEntry(subscriptionScope, ctx)).toBeUndefined();
  });

  it("drops arc-compliance's own policy changes (by app id, object id or caller), never its other operations", () => {
    const policy = { operationName: 'Microsoft.Authorization/policyAssignments/write', resourceId: `/subscriptions/${SUB}/resourceGroups/rg-edge/providers/Microsoft.Authorization/policyAssignments/p1` };
    expect(classifyActivityLogEntry(entry({ ...policy, callerAppId: OWN.toUpperCase() }), ctx)).toBeUndefined();
    expect(classifyActivityLogEntry(entry({ ...policy, caller: OWN }), ctx)).toBeUndefined();
    expect(classifyActivityLogEntry(entry({ ...policy, callerAppId: 'someone-else' }), ctx)?.kind).toBe('policy-assignment-written');
    expect(classifyActivityLogEntry(entry({ operationName: 'Microsoft.Authorization/policyExemptions/delete', resourceId: `${CLUSTER}/providers/Microsoft.Authorization/policyExemptions/x` }), ctx)?.kind).toBe('policy-exemption-deleted');
    expect(classifyActivityLogEntry(entry({ callerAppId: OWN }), ctx)?.kind).toBe('break-glass-credential');
  });

  it('round-trips through the stored form (its codec), and a damaged one is refused', () => {
    const e = classifyActivityLogEntry(entry({}), ctx)!;
    expect(controlPlaneEventCodec.decode(controlPlaneEventCodec.encode(e))).toEqual({ ok: true, value: e });
    const damaged = (over: Record<string, unknown>) => controlPlaneEventCodec.decode({ ...controlPlaneEventCodec.encode(e), event: JSON.stringify({ ...e, ...over }) }).ok;
    expect(damaged({ kind: 'coffee' })).toBe(false);
    expect(damaged({ caller: 7 })).toBe(false);
    expect(damaged({ clusterIds: [1] })).toBe(false);
    expect(controlPlaneEventCodec.decode({ event: '{not json' }).ok).toBe(false);
  });

  it('reads a watch state written before failures had their own columns: the legacy message is the failure at the last attempt', () => {
    const v1 = { schemaVersion: 1, subscriptionId: 'aa', coverageFrom: '', coverageTo: '', lastAttemptAt: '2026-05-01T12:00:00.000Z', lastSuccessAt: '' };
    expect(controlPlaneWatchCodec.decode({ ...v1, lastError: 'Activity Log not read: DependencyError: activityLogs.list failed (403)' })).toEqual({
      ok: true,
      value: { subscriptionId: 'aa', lastAttemptAt: '2026-05-01T12:00:00.000Z', lastFailure: { at: '2026-05-01T12:00:00.000Z', stage: 'read', code: 'ActivityLogReadFailed', message: 'Activity Log not read: DependencyError: activityLogs.list failed (403)' } },
    });
    expect(controlPlaneWatchCodec.decode({ ...v1, lastError: 'control-plane events not stored or published: x' })).toMatchObject({ ok: true, value: { lastFailure: { stage: 'store', code: 'EventsNotStored' } } });
    expect(controlPlaneWatchCodec.decode({ ...v1, lastError: '' })).toEqual({ ok: true, value: { subscriptionId: 'aa', lastAttemptAt: '2026-05-01T12:00:00.000Z' } });
    // Version 2: a failure with an unknown stage is refused, not shown.
    const state = { subscriptionId: 'aa', lastAttemptAt: '2026-05-01T12:00:00.000Z', lastFailure: { at: '2026-05-01T12:00:00.000Z', stage: 'poison' as const, code: 'Poisoned', message: 'gave up' } };
    expect(controlPlaneWatchCodec.decode(controlPlaneWatchCodec.encode(state))).toEqual({ ok: true, value: state });
    expect(controlPlaneWatchCodec.decode({ ...controlPlaneWatchCodec.encode(state), lastFailureStage: 'coffee' }).ok).toBe(false);
  });

  it('knows the watched operations by any case', () => {
    expect(watchedOperation('MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/LISTCLUSTERUSERCREDENTIAL/ACTION')).toBe('Microsoft.Kubernetes/connectedClusters/listClusterUserCredential/action');
    expect(watchedOperation('Microsoft.Kubernetes/connectedClusters/write')).toBeUndefined();
    expect(securityExtensionOf('x', 'Microsoft.AzureMonitor.Containers')).toBe('monitoring');
  });
});

describe('read windows and coverage', () => {
  it('reads the lookback on the first run, then from the watermark minus the ingestion overlap, never beyond 90 days', () => {
    expect(nextReadWindow(undefined, NOW, 30)).toEqual({ from: new Date(NOW.getTime() - 30 * DAY), to: NOW });
    const coverage = { from: new Date(NOW.getTime() - 30 * DAY).toISOString(), to: new Date(NOW.getTime() - 15 * 60_000).toISOString() };
    expect(nextReadWindow(coverage, NOW, 30).from.getTime()).toBe(NOW.getTime() - 15 * 60_000 - ACTIVITY_LOG_INGESTION_OVERLAP_MS);
    // A raised lookback reads back again; 90 days is the most the service allows.
    expect(nextReadWindow(coverage, NOW, 60).from.getTime()).toBe(NOW.getTime() - 60 * DAY);
    expect(nextReadWindow(undefined, NOW, 365).from.getTime()).toBe(NOW.getTime() - 90 * DAY + 60_000);
    // A coverage that stopped more than the lookback ago starts over.
    expect(nextReadWindow({ from: '2025-01-01T00:00:00Z', to: '2025-02-01T00:00:00Z' }, NOW, 30).from.getTime()).toBe(NOW.getTime() - 30 * DAY);
  });

  it('extends a continuous coverage and restarts after a gap; covers a run only from lookback to run start', () => {
    const first = extendCoverage(undefined, { from: new Date(NOW.getTime() - 30 * DAY), to: NOW });
    const later = new Date(NOW.getTime() + 15 * 60_000);
    const second = extendCoverage(first, { from: new Date(NOW.getTime() - 60 * 60_000), to: later });
    expect(second).toEqual({ from: first.from, to: later.toISOString() });
    expect(extendCoverage(first, { from: new Date(NOW.getTime() + DAY), to: new Date(NOW.getTime() + 2 * DAY) }).from).toBe(new Date(NOW.getTime() + DAY).toISOString());
    expect(coversLookback(second, NOW, 30)).toBe(true);
    expect(coversLookback(second, new Date(later.getTime() + 1), 30)).toBe(false);
    expect(coversLookback(second, NOW, 31)).toBe(false);
    expect(coversLookback(undefined, NOW, 30)).toBe(false);
  });

  it("a run's first read made minutes after the run started still covers the run's lookback (counted from the run start)", () => {
    const runStart = NOW;
    const collectedAt = new Date(NOW.getTime() + 20 * 60_000);
    // Counted back from the read's own time, the window starts 20 minutes too late for the run.
    expect(coversLookback(extendCoverage(undefined, nextReadWindow(undefined, collectedAt, 30)), runStart, 30)).toBe(false);
    const window = nextReadWindow(undefined, collectedAt, 30, runStart);
    expect(window).toEqual({ from: new Date(runStart.getTime() - 30 * DAY), to: collectedAt });
    expect(coversLookback(extendCoverage(undefined, window), runStart, 30)).toBe(true);
    // An anchor later than the read changes nothing; the 90-day clamp still applies.
    expect(nextReadWindow(undefined, NOW, 30, collectedAt).from.getTime()).toBe(NOW.getTime() - 30 * DAY);
    expect(nextReadWindow(undefined, collectedAt, 365, runStart).from.getTime()).toBe(collectedAt.getTime() - 90 * DAY + 60_000);
  });
});

describe('ARC-TD-04 evaluateBreakGlass', () => {
  const fact = (daysAgo: number, status = 'Succeeded', caller = 'admin@contoso.example') => ({ eventDataId: `e${daysAgo}`, caller, status, eventTimestamp: new Date(NOW.getTime() - daysAgo * DAY).toISOString() });

  it('applies to provisioned clusters only', () => {
    expect(evaluateBreakGlass(undefined, [fact(1)], NOW, 30).status).toBe('not_applicable');
    expect(evaluateBreakGlass('Connected', [fact(1)], NOW, 30).status).toBe('not_applicable');
    expect(evaluateBreakGlass('provisionedcluster', [fact(1)], NOW, 30).status).toBe('fail');
  });

  it('is unknown when the log was not read, passes with no download in the lookback', () => {
    expect(evaluateBreakGlass('ProvisionedCluster', null, NOW, 30)).toMatchObject({ status: 'unknown', reason: 'not-collected' });
    expect(evaluateBreakGlass('ProvisionedCluster', undefined, NOW, 30).status).toBe('unknown');
    expect(evaluateBreakGlass('ProvisionedCluster', [], NOW, 30).status).toBe('pass');
    // Outside the lookback (exactly 30 days counts as outside), after the run start, or not Succeeded: pass.
    expect(evaluateBreakGlass('ProvisionedCluster', [fact(30), fact(45), fact(-1), fact(2, 'Failed')], NOW, 30).status).toBe('pass');
  });

  it('fails naming every caller and time, oldest first', () => {
    const out = evaluateBreakGlass('ProvisionedCluster', [fact(1, 'Succeeded', 'b@contoso.example'), fact(29.9, 'Succeeded', 'a@contoso.example')], NOW, 30);
    expect(out.status).toBe('fail');
    expect(out.reason).toBe('break-glass-used');
    expect(out.evidence).toMatch(/^2 admin kubeconfig downloads .* a@contoso\.example at .*; b@contoso\.example at /);
    expect(out.offenders).toEqual([expect.stringContaining('a@contoso.example at'), expect.stringContaining('b@contoso.example at')]);
  });

  it('opens incidents only for Succeeded break-glass and security-extension deletions', () => {
    expect(incidentControlOf({ kind: 'break-glass-credential', status: 'Succeeded' })).toBe('ARC-TD-04');
    expect(incidentControlOf({ kind: 'break-glass-credential', status: 'Failed' })).toBeUndefined();
    expect(incidentControlOf({ kind: 'extension-deleted', status: 'Succeeded', securityExtension: 'defender' })).toBe('ARC-TD-01');
    expect(incidentControlOf({ kind: 'extension-deleted', status: 'Succeeded', securityExtension: 'azure-policy' })).toBe('ARC-PL-01');
    expect(incidentControlOf({ kind: 'extension-deleted', status: 'Succeeded', securityExtension: 'monitoring' })).toBe('ARC-TD-02');
    expect(incidentControlOf({ kind: 'extension-deleted', status: 'Succeeded' })).toBeUndefined();
    expect(incidentControlOf({ kind: 'role-assignment-written', status: 'Succeeded' })).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { classifyActivityLogEntry, WATCHED_OPERATIONS, type ActivityLogEntry, type ControlPlaneEvent } from '../../../domain/control-plane-events.js';
import { apiActivityOf, ocsfActivitiesOfControlPlaneChange, toApiActivity } from '../../../domain/ocsf-api-activity.js';
import { OcsfSchema } from '../../support/ocsf-validator.js';

const schema = new OcsfSchema();
const PRODUCT = { name: 'arc-compliance', vendorName: 'arc-compliance', version: '0.1.0' };
const SUB = '00000000-0000-0000-0000-0000000000aa';
const RG = `/subscriptions/${SUB}/resourceGroups/rg-edge`;
const CLUSTER = `${RG}/providers/Microsoft.Kubernetes/connectedClusters/store-17`;
const context = {
  ownIdentities: ['11111111-1111-1111-1111-111111111111'],
  clustersByResourceGroup: new Map([['rg-edge', [CLUSTER.toLowerCase(), `${RG}/providers/Microsoft.Kubernetes/connectedClusters/store-18`.toLowerCase()]]]),
};

/** The resource each watched operation targets in the Activity Log. */
function resourceOf(operation: string): string {
  if (operation.startsWith('Microsoft.HybridContainerService')) return `${CLUSTER}/providers/Microsoft.HybridContainerService/provisionedClusterInstances/default`;
  if (operation.startsWith('Microsoft.Kubernetes/')) return CLUSTER;
  if (operation.startsWith('Microsoft.KubernetesConfiguration')) return `${CLUSTER}/providers/Microsoft.KubernetesConfiguration/extensions/microsoft.azuredefender.kubernetes`;
  const type = operation.split('/')[1]!;
  return `${RG}/providers/Microsoft.Authorization/${type}/abc123`;
}

function entry(operation: string, overrides: Partial<ActivityLogEntry> = {}): ActivityLogEntry {
  return {
    eventDataId: `evt-${operation.length}`,
    eventTimestamp: '2026-03-01T08:15:00Z',
    submissionTimestamp: '2026-03-01T08:17:30Z',
    operationName: operation,
    status: 'Succeeded',
    caller: 'alice@contoso.com',
    callerAppId: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
    resourceId: resourceOf(operation),
    subscriptionId: SUB,
    correlationId: 'c0ffee00-0000-0000-0000-000000000001',
    clientIpAddress: '203.0.113.7',
    ...overrides,
  };
}

const json = (v: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(v)) as Record<string, unknown>;

describe('OCSF API Activity mapping of control-plane changes', () => {
  it('validates against the 1.8.0 schema for every watched operation, status and shape of the log entry', () => {
    let checked = 0;
    for (const { operation } of WATCHED_OPERATIONS) {
      for (const overrides of [{}, { status: 'Failed', subStatus: 'Forbidden' }, { status: 'Canceled' }, { clientIpAddress: undefined, correlationId: undefined, callerAppId: undefined, submissionTimestamp: undefined }, { caller: '3f2504e0-4f89-11d3-9a0c-0305e82c3301' }, { caller: undefined }]) {
        const event = classifyActivityLogEntry(entry(operation, overrides), context);
        expect(event, operation).toBeDefined();
        for (const location of [undefined, 'westeurope']) {
          const activity = json(toApiActivity({ ...event!, ...(location !== undefined ? { location } : {}) }, PRODUCT));
          expect(schema.validate(activity, 'api_activity'), `${operation} ${JSON.stringify(overrides)} ${location}`).toEqual([]);
          checked += 1;
        }
      }
    }
    expect(checked).toBe(WATCHED_OPERATIONS.length * 12);
  });

  it('maps a break-glass download: class, actor, api, status, time, cluster resource, cloud profile and metadata', () => {
    const event = classifyActivityLogEntry(entry('Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action'), context)!;
    const activity = json(toApiActivity({ ...event, location: 'westeurope' }, PRODUCT));
    expect(activity).toMatchObject({
      class_uid: 6003,
      class_name: 'API Activity',
      category_uid: 6,
      category_name: 'Application Activity',
      activity_id: 2,
      activity_name: 'Read',
      type_uid: 600302,
      type_name: 'API Activity: Read',
      time: Date.parse('2026-03-01T08:15:00Z'),
      severity_id: 4,
      status_id: 1,
      status: 'Success',
      status_code: 'Succeeded',
      actor: { user: { name: 'alice@contoso.com' }, app_uid: '04b07795-8ddb-461a-bbee-02f9e1bf7b46' },
      api: { operation: 'Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action', service: { name: 'Microsoft.HybridContainerService' }, request: { uid: 'c0ffee00-0000-0000-0000-000000000001' } },
      src_endpoint: { ip: '203.0.113.7' },
      cloud: { provider: 'Azure', region: 'westeurope', account: { uid: SUB, type_id: 13 } },
      metadata: { version: '1.8.0', profiles: ['cloud'], uid: event.eventDataId, correlation_uid: 'c0ffee00-0000-0000-0000-000000000001', logged_time: Date.parse('2026-03-01T08:17:30Z'), product: { name: 'arc-compliance', vendor_name: 'arc-compliance', version: '0.1.0' } },
      unmapped: { kind: 'break-glass-credential' },
    });
    const resources = activity['resources'] as { uid: string; type: string; region?: string }[];
    expect(resources.map((r) => [r.uid, r.type])).toEqual([
      [CLUSTER.toLowerCase(), 'Microsoft.Kubernetes/connectedClusters'],
      [event.resourceId, 'Microsoft.HybridContainerService/provisionedClusterInstances'],
    ]);
    expect(resources[0]!.region).toBe('westeurope');
  });

  it('lists every cluster of the group for a resource-group role change, and maps write/delete and failure', () => {
    const event = classifyActivityLogEntry(entry('Microsoft.Authorization/roleAssignments/write', { status: 'Failed', subStatus: 'Forbidden' }), context)!;
    const activity = json(toApiActivity(event, PRODUCT));
    expect(activity).toMatchObject({ activity_id: 3, type_uid: 600303, status_id: 2, status: 'Failure', status_detail: 'Forbidden', severity_id: 3 });
    expect((activity['resources'] as { uid: string }[]).map((r) => r.uid)).toEqual([...context.clustersByResourceGroup.get('rg-edge')!].sort().concat(event.resourceId));
    expect(activity['cloud']).not.toHaveProperty('region');
    const deleted = json(toApiActivity(classifyActivityLogEntry(entry('Microsoft.KubernetesConfiguration/extensions/delete'), context)!, PRODUCT));
    expect(deleted).toMatchObject({ activity_id: 4, activity_name: 'Delete', unmapped: { kind: 'extension-deleted', extensionName: 'microsoft.azuredefender.kubernetes', securityExtension: 'defender' } });
  });

  it('keeps an unmapped status and an unnamed client visible rather than inventing them', () => {
    const event = classifyActivityLogEntry(entry('Microsoft.Kubernetes/connectedClusters/listClusterUserCredential/action', { status: 'Canceled', clientIpAddress: undefined, caller: undefined }), context)!;
    const activity = json(toApiActivity(event, PRODUCT));
    expect(activity).toMatchObject({ status_id: 99, status: 'Canceled', src_endpoint: { name: 'unknown' }, actor: { user: { name: 'unknown' } } });
    expect(apiActivityOf('Microsoft.Foo/bars/restart/action')).toEqual({ id: 99, name: 'restart' });
  });

  it('takes the region from the clusters the watch listed: one cluster, or a group whose clusters share one location', () => {
    const store17 = CLUSTER.toLowerCase();
    const store18 = `${RG}/providers/Microsoft.Kubernetes/connectedClusters/store-18`.toLowerCase();
    const located = (locations: [string, string][]) => ({ ...context, clusterLocations: new Map(locations) });
    const admin = classifyActivityLogEntry(entry('Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action'), located([[store17, 'westeurope']]))!;
    expect(admin.location).toBe('westeurope');
    expect(json(toApiActivity(admin, PRODUCT))).toMatchObject({ cloud: { region: 'westeurope' }, resources: [{ uid: store17, region: 'westeurope' }, { region: 'westeurope' }] });
    const role = 'Microsoft.Authorization/roleAssignments/write';
    expect(classifyActivityLogEntry(entry(role), located([[store17, 'westeurope'], [store18, 'westeurope']]))!.location).toBe('westeurope');
    expect(classifyActivityLogEntry(entry(role), located([[store17, 'westeurope'], [store18, 'northeurope']]))!.location).toBeUndefined();
    expect(classifyActivityLogEntry(entry(role), located([[store17, 'westeurope']]))!.location).toBeUndefined();
  });

  it('turns event data into one activity, and anything else into none', () => {
    const event: ControlPlaneEvent = classifyActivityLogEntry(entry('Microsoft.Kubernetes/connectedClusters/listClusterUserCredential/action'), context)!;
    expect(ocsfActivitiesOfControlPlaneChange(json(event), PRODUCT)).toHaveLength(1);
    expect(ocsfActivitiesOfControlPlaneChange({ ...json(event), severity: 'urgent' }, PRODUCT)).toEqual([]);
    expect(ocsfActivitiesOfControlPlaneChange({ eventDataId: 'x' }, PRODUCT)).toEqual([]);
    expect(ocsfActivitiesOfControlPlaneChange(null, PRODUCT)).toEqual([]);
  });

  it('the validator catches what the mapping must get right (it can fail)', () => {
    const event = classifyActivityLogEntry(entry('Microsoft.Kubernetes/connectedClusters/listClusterUserCredential/action'), context)!;
    const good = json(toApiActivity(event, PRODUCT));
    const { src_endpoint: _src, ...noSource } = good;
    expect(schema.validate(noSource, 'api_activity').map((i) => i.path)).toContain('$.src_endpoint');
    expect(schema.validate({ ...good, type_uid: 600305 }, 'api_activity').map((i) => i.path)).toContain('$.type_uid');
    expect(schema.validate({ ...good, api: {} }, 'api_activity').map((i) => i.path)).toContain('$.api.operation');
    expect(schema.validate({ ...good, status: 'Succeeded' }, 'api_activity').map((i) => i.path)).toContain('$.status');
  });
});

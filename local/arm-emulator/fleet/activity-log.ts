/**
 * Azure Activity Log entries (`EventData`, Microsoft.Insights 2015-04-01) in the field order of the
 * official example `GetActivityLogsFiltered.json`, and the demo fleet's control-plane history: one or
 * more entries of every kind the control-plane watch keeps, plus entries it must ignore.
 */
import type { ActivityLogRecord } from '../fleet-model.js';
import { clusterId } from './arm-resources.js';
import { seededRandom } from './seeded-random.js';

const DAY_MS = 86_400_000;
/** How long after an operation its entry becomes readable (`submissionTimestamp`). */
export const ACTIVITY_LOG_SUBMISSION_DELAY_MS = 13_000;

export interface ActivityLogEntryInput {
  readonly subscriptionId: string;
  readonly tenantId: string;
  readonly resourceId: string;
  readonly operationName: string;
  /** `Started`, `Succeeded`, `Failed`… */
  readonly status: string;
  readonly subStatus?: string | undefined;
  readonly caller: string;
  /** `claims.appid` of the caller's token. */
  readonly appId: string;
  readonly objectId: string;
  readonly at: Date;
  readonly eventDataId: string;
  readonly correlationId: string;
  readonly method: string;
  readonly clientIpAddress?: string | undefined;
}

/** ARM writes seven fractional digits (`2015-01-21T22:14:26.9792776Z`). */
function ticksTime(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

/** .NET ticks (100 ns since 0001-01-01), the last segment of an entry's `id`. */
function ticks(at: Date): string {
  return (BigInt(at.getTime()) * 10_000n + 621_355_968_000_000_000n).toString();
}

const PROVIDER = /\/providers\/([^/]+)\//i;

function resourceGroupOf(resourceId: string): string {
  return /\/resourceGroups\/([^/]+)/i.exec(resourceId)?.[1] ?? '';
}

export function activityLogEntry(input: ActivityLogEntryInput): ActivityLogRecord {
  const provider = [...input.resourceId.matchAll(new RegExp(PROVIDER, 'gi'))].pop()?.[1] ?? input.operationName.split('/')[0] ?? '';
  const submitted = new Date(input.at.getTime() + ACTIVITY_LOG_SUBMISSION_DELAY_MS);
  const statusCode = input.subStatus ?? (input.status === 'Succeeded' ? 'OK' : input.status === 'Failed' ? 'Forbidden' : '');
  return {
    authorization: {
      action: input.operationName,
      scope: input.resourceId,
    },
    caller: input.caller,
    claims: {
      aud: 'https://management.core.windows.net/',
      iss: `https://sts.windows.net/${input.tenantId}/`,
      'http://schemas.microsoft.com/identity/claims/tenantid': input.tenantId,
      'http://schemas.microsoft.com/identity/claims/objectidentifier': input.objectId,
      appid: input.appId,
      ...(input.caller.includes('@') ? { 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn': input.caller, name: input.caller } : {}),
    },
    correlationId: input.correlationId,
    description: '',
    eventDataId: input.eventDataId,
    eventName: input.status === 'Started' ? { value: 'BeginRequest', localizedValue: 'Begin request' } : { value: 'EndRequest', localizedValue: 'End request' },
    category: { value: 'Administrative', localizedValue: 'Administrative' },
    httpRequest: {
      clientRequestId: input.correlationId,
      clientIpAddress: input.clientIpAddress ?? '203.0.113.10',
      method: input.method,
    },
    id: `${input.resourceId}/events/${input.eventDataId}/ticks/${ticks(input.at)}`,
    level: input.status === 'Failed' ? 'Error' : 'Informational',
    resourceGroupName: resourceGroupOf(input.resourceId),
    resourceProviderName: { value: provider, localizedValue: provider },
    resourceId: input.resourceId,
    operationId: input.correlationId,
    operationName: { value: input.operationName, localizedValue: input.operationName },
    properties: statusCode !== '' ? { statusCode } : {},
    status: { value: input.status, localizedValue: input.status },
    subStatus: statusCode !== '' ? { value: statusCode, localizedValue: statusCode } : { value: '', localizedValue: '' },
    eventTimestamp: ticksTime(input.at),
    submissionTimestamp: ticksTime(submitted),
    subscriptionId: input.subscriptionId,
    tenantId: input.tenantId,
  };
}

/** Client id the demo attributes to arc-compliance's own identity (set `AZURE_CLIENT_ID` to it to hide its own policy writes). */
export const DEMO_ARC_COMPLIANCE_CLIENT_ID = '5e8f2a91-3c47-4d6b-9a10-7b2e4c6d8f01';

/** Portal / Azure CLI client ids that appear as `appid` of interactive callers. */
const AZURE_CLI_APP_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';
const AZURE_PORTAL_APP_ID = 'c44b4083-3bb0-49c1-b47d-974e53cbdf3c';

export interface DemoActivitySpec {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly cluster?: string | undefined;
  /** Path under the cluster (`/providers/…`), or a whole resource id when `cluster` is absent. */
  readonly path: string;
  readonly operation: string;
  readonly caller: string;
  readonly appId?: string | undefined;
  readonly daysAgo: number;
  readonly status?: 'Succeeded' | 'Failed' | undefined;
  readonly method: string;
}

/**
 * The log entries of one operation: a `Started` entry and its outcome, a second apart, as ARM writes
 * them for a request (same correlation id, two event data ids).
 */
export function operationEntries(spec: DemoActivitySpec, tenantId: string, now: Date, guid: () => string): ActivityLogRecord[] {
  const resourceId = spec.cluster !== undefined ? `${clusterId(spec.subscriptionId, spec.resourceGroup, spec.cluster)}${spec.path}` : spec.path;
  const at = new Date(now.getTime() - spec.daysAgo * DAY_MS);
  const correlationId = guid();
  const objectId = guid();
  const common = {
    subscriptionId: spec.subscriptionId,
    tenantId,
    resourceId,
    operationName: spec.operation,
    caller: spec.caller,
    appId: spec.appId ?? (spec.caller.includes('@') ? AZURE_CLI_APP_ID : spec.caller),
    objectId,
    correlationId,
    method: spec.method,
  };
  return [
    activityLogEntry({ ...common, status: 'Started', subStatus: '', at: new Date(at.getTime() - 1000), eventDataId: guid() }),
    activityLogEntry({ ...common, status: spec.status ?? 'Succeeded', at, eventDataId: guid() }),
  ];
}

const ADMIN_KUBECONFIG = '/providers/Microsoft.HybridContainerService/provisionedClusterInstances/default';

/**
 * The demo fleet's control-plane history (newest first, as the service answers): every kind the
 * watch keeps at least once, inside and outside the 30-day break-glass lookback, plus a failed
 * attempt, arc-compliance's own policy write and changes to non-cluster resources (all ignored).
 */
export function demoActivityLog(subs: { retail: string; factories: string; branches: string }, tenantId: string, seed: number, now: Date): ActivityLogRecord[] {
  // A generator of its own: the fleet's other seeded details do not move when entries are added.
  const rnd = seededRandom(seed ^ 0x5eed_a11);
  const guid = (): string => rnd.guid();
  const specs: DemoActivitySpec[] = [
    // Break-glass: a recent admin kubeconfig download (fails ARC-TD-04), an old one (outside 30 days) and a failed attempt.
    { subscriptionId: subs.retail, resourceGroup: 'rg-stores-prod-weu', cluster: 'store-ams-001', path: `${ADMIN_KUBECONFIG}/listAdminKubeconfig`, operation: 'Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action', caller: 'oncall-admin@contoso.example', daysAgo: 3, method: 'POST' },
    { subscriptionId: subs.factories, resourceGroup: 'rg-factory-prod-wus2', cluster: 'factory-sea-011', path: `${ADMIN_KUBECONFIG}/listAdminKubeconfig`, operation: 'Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action', caller: 'plant-it@contoso.example', daysAgo: 45, method: 'POST' },
    { subscriptionId: subs.branches, resourceGroup: 'rg-branch-prod-weu', cluster: 'branch-par-021', path: `${ADMIN_KUBECONFIG}/listAdminKubeconfig`, operation: 'Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action', caller: 'contractor@fabrikam.example', daysAgo: 1, status: 'Failed', method: 'POST' },
    // Cluster connect.
    { subscriptionId: subs.factories, resourceGroup: 'rg-factory-prod-wus2', cluster: 'factory-pdx-012', path: '/listClusterUserCredential', operation: 'Microsoft.Kubernetes/connectedClusters/listClusterUserCredential/action', caller: 'plant-it@contoso.example', daysAgo: 2, method: 'POST' },
    // Security extensions removed (the clusters whose Defender / Azure Policy extension is missing).
    { subscriptionId: subs.retail, resourceGroup: 'rg-stores-prod-neu', cluster: 'store-dub-003', path: '/providers/Microsoft.KubernetesConfiguration/extensions/microsoft.azuredefender.kubernetes', operation: 'Microsoft.KubernetesConfiguration/extensions/delete', caller: 'store-ops@contoso.example', daysAgo: 5, method: 'DELETE' },
    { subscriptionId: subs.retail, resourceGroup: 'rg-stores-pilot-uks', cluster: 'store-man-009', path: '/providers/Microsoft.KubernetesConfiguration/extensions/azurepolicy', operation: 'Microsoft.KubernetesConfiguration/extensions/delete', caller: 'store-ops@contoso.example', daysAgo: 6, method: 'DELETE' },
    // An extension changed.
    { subscriptionId: subs.branches, resourceGroup: 'rg-branch-prod-eus', cluster: 'branch-atl-024', path: '/providers/Microsoft.KubernetesConfiguration/extensions/flux', operation: 'Microsoft.KubernetesConfiguration/extensions/write', caller: 'gitops-bot@contoso.example', daysAgo: 4, method: 'PUT' },
    // Access granted and removed: on a cluster and on a cluster's resource group.
    { subscriptionId: subs.retail, resourceGroup: 'rg-stores-prod-weu', cluster: 'store-ams-001', path: '/providers/Microsoft.Authorization/roleAssignments/6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f', operation: 'Microsoft.Authorization/roleAssignments/write', caller: 'oncall-admin@contoso.example', daysAgo: 3, method: 'PUT' },
    { subscriptionId: subs.factories, resourceGroup: 'rg-factory-test-eus', path: `/subscriptions/${subs.factories}/resourceGroups/rg-factory-test-eus/providers/Microsoft.Authorization/roleAssignments/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d`, operation: 'Microsoft.Authorization/roleAssignments/delete', caller: 'identity-team@contoso.example', daysAgo: 8, method: 'DELETE' },
    // Policy changed by someone else, and by arc-compliance itself (ignored).
    { subscriptionId: subs.factories, resourceGroup: 'rg-factory-prod-eus', cluster: 'factory-det-014', path: '/providers/Microsoft.Authorization/policyExemptions/legacy-vision-registry', operation: 'Microsoft.Authorization/policyExemptions/write', caller: 'security-lead@contoso.example', daysAgo: 30 - 0.5, method: 'PUT', appId: AZURE_PORTAL_APP_ID },
    { subscriptionId: subs.retail, resourceGroup: 'rg-stores-prod-weu', path: `/subscriptions/${subs.retail}/resourceGroups/rg-stores-prod-weu/providers/Microsoft.Authorization/policyAssignments/pss-baseline-deny`, operation: 'Microsoft.Authorization/policyAssignments/write', caller: 'platform-lead@contoso.example', daysAgo: 10, method: 'PUT' },
    { subscriptionId: subs.branches, resourceGroup: 'rg-branch-prod-weu', path: `/subscriptions/${subs.branches}/resourceGroups/rg-branch-prod-weu/providers/Microsoft.Authorization/policyAssignments/arc-rollout-deny`, operation: 'Microsoft.Authorization/policyAssignments/delete', caller: DEMO_ARC_COMPLIANCE_CLIENT_ID, appId: DEMO_ARC_COMPLIANCE_CLIENT_ID, daysAgo: 7, method: 'DELETE' },
    // Not about a cluster: a storage account and a VM extension (ignored), and a resource group without clusters.
    { subscriptionId: subs.retail, resourceGroup: 'rg-stores-shared', path: `/subscriptions/${subs.retail}/resourceGroups/rg-stores-shared/providers/Microsoft.Storage/storageAccounts/storesshared01`, operation: 'Microsoft.Storage/storageAccounts/write', caller: 'store-ops@contoso.example', daysAgo: 2, method: 'PUT' },
    { subscriptionId: subs.retail, resourceGroup: 'rg-stores-shared', path: `/subscriptions/${subs.retail}/resourceGroups/rg-stores-shared/providers/Microsoft.Authorization/roleAssignments/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d`, operation: 'Microsoft.Authorization/roleAssignments/write', caller: 'store-ops@contoso.example', daysAgo: 2, method: 'PUT' },
  ];
  const entries = specs.flatMap((s) => operationEntries(s, tenantId, now, guid));
  return entries.sort((a, b) => String(b['eventTimestamp']).localeCompare(String(a['eventTimestamp'])));
}

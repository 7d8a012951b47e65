/**
 * OCSF 1.8.0 API Activity events (class 6003, category 6 Application Activity) for control-plane
 * changes read from the Azure Activity Log: what `format: "ocsf"` webhooks send for
 * `controlplane.change.detected`. An ARM operation is an API call made by a caller, so API Activity
 * (CloudTrail-like CRUD activity) is the class OCSF meant for it; a Detection Finding would claim an
 * analysis the watch does not make. Pure and deterministic: the same event always maps the same way.
 *
 * Mapping (documented in docs/webhooks.md#ocsf):
 * - `activity_id` from the operation's last segment: `delete` → 4 Delete; `write` (ARM PUT, create or
 *   update, which the Activity Log does not tell apart) → 3 Update; `list…/action` (a credential
 *   read) → 2 Read; any other action → 99 Other (`activity_name` the segment);
 * - `status_id`: `Succeeded` → 1 Success, `Failed` → 2 Failure, anything else → 99 Other (`status` as
 *   logged); `status_code` is the logged status, `status_detail` its sub-status;
 * - `actor.user` the caller (UPN, or object id of a service principal), `actor.app_uid` the token's app id;
 * - `api.operation` the operation (catalog spelling), `api.service.name` its resource provider,
 *   `api.request.uid` the ARM correlation id;
 * - `src_endpoint.ip` the client IP address (`name: "unknown"` when the log has none: OCSF requires it);
 * - `resources[]` every cluster concerned, then the targeted resource when it is not the cluster itself;
 * - `cloud` (profile `cloud`): provider `Azure`, `region` the cluster's location when the event has it,
 *   `account.uid` the subscription;
 * - `metadata.uid` the Activity Log `eventDataId`, `correlation_uid` the correlation id;
 * - `severity_id` from the watch's severity (low 2, medium 3, high 4);
 * - `unmapped`: `kind`, `extensionName`, `securityExtension` (arc-compliance's own classification).
 */
import type { ControlPlaneEvent } from './control-plane-events.js';
import type { Severity } from './model.js';
import { OCSF_VERSION, type OcsfProduct } from './ocsf-finding.js';

export const API_ACTIVITY_CLASS_UID = 6003;
export const APPLICATION_ACTIVITY_CATEGORY_UID = 6;

/** An OCSF API Activity event as emitted (plain JSON). */
export type OcsfApiActivity = Readonly<Record<string, unknown>>;

const SEVERITY: Readonly<Record<Severity, { id: number; caption: string }>> = Object.freeze({
  low: { id: 2, caption: 'Low' },
  medium: { id: 3, caption: 'Medium' },
  high: { id: 4, caption: 'High' },
});

/** The API Activity `activity_id` / `activity_name` of an ARM operation (see the module comment). */
export function apiActivityOf(operation: string): { id: number; name: string } {
  const segments = operation.split('/');
  const last = (segments.at(-1) ?? '').toLowerCase();
  if (last === 'delete') return { id: 4, name: 'Delete' };
  if (last === 'write') return { id: 3, name: 'Update' };
  if (last === 'action') {
    const verb = segments.at(-2) ?? 'action';
    return verb.toLowerCase().startsWith('list') ? { id: 2, name: 'Read' } : { id: 99, name: verb };
  }
  return { id: 99, name: segments.at(-1) ?? operation };
}

/** The OCSF event status of an Activity Log `status.value`. */
export function apiActivityStatusOf(status: string): { id: number; name: string } {
  const s = status.trim().toLowerCase();
  if (s === 'succeeded') return { id: 1, name: 'Success' };
  if (s === 'failed') return { id: 2, name: 'Failure' };
  return { id: 99, name: status === '' ? 'Other' : status };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CLUSTER_NAME = /\/connectedclusters\/([^/]+)$/i;

/** The ARM resource type of the resource an operation targets (the operation without its verb). */
function targetType(operation: string): string {
  const segments = operation.split('/');
  const drop = segments.at(-1)?.toLowerCase() === 'action' ? 2 : 1;
  return segments.slice(0, Math.max(1, segments.length - drop)).join('/');
}

/**
 * The API Activity event of a control-plane change. `cloud.region` and the resources' `region` come from
 * the event's `location`, and are left out when it has none.
 */
export function toApiActivity(event: ControlPlaneEvent, product: OcsfProduct): OcsfApiActivity {
  const activity = apiActivityOf(event.operation);
  const status = apiActivityStatusOf(event.status);
  const severity = SEVERITY[event.severity];
  const region = event.location !== undefined && event.location !== '' ? { region: event.location } : {};
  const clusterIds = event.clusterId !== undefined ? [event.clusterId] : [...(event.clusterIds ?? [])];
  const clusters = clusterIds.map((id) => ({
    uid: id,
    name: id === event.clusterId && event.clusterName !== undefined ? event.clusterName : (CLUSTER_NAME.exec(id)?.[1] ?? id),
    type: 'Microsoft.Kubernetes/connectedClusters',
    provider: 'Azure',
    ...region,
    group: { name: event.resourceGroup },
  }));
  const targetIsCluster = clusterIds.some((id) => id === event.resourceId.toLowerCase());
  const target = targetIsCluster ? [] : [{ uid: event.resourceId, name: event.resourceId.split('/').at(-1) ?? event.resourceId, type: targetType(event.operation), provider: 'Azure', ...region, group: { name: event.resourceGroup } }];
  const where = event.clusterName ?? (clusterIds.length === 1 ? clusterIds[0] : `${clusterIds.length} clusters in ${event.resourceGroup}`);
  const unmapped = {
    kind: event.kind,
    ...(event.extensionName !== undefined ? { extensionName: event.extensionName } : {}),
    ...(event.securityExtension !== undefined ? { securityExtension: event.securityExtension } : {}),
  };
  return {
    activity_id: activity.id,
    activity_name: activity.name,
    category_uid: APPLICATION_ACTIVITY_CATEGORY_UID,
    category_name: 'Application Activity',
    class_uid: API_ACTIVITY_CLASS_UID,
    class_name: 'API Activity',
    type_uid: API_ACTIVITY_CLASS_UID * 100 + activity.id,
    type_name: `API Activity: ${activity.id === 99 ? 'Other' : activity.name}`,
    time: Date.parse(event.eventTimestamp),
    severity_id: severity.id,
    severity: severity.caption,
    status_id: status.id,
    status: status.name,
    status_code: event.status,
    ...(event.subStatus !== undefined ? { status_detail: event.subStatus } : {}),
    message: `${event.caller} called ${event.operation} on ${where}: ${event.status}`,
    metadata: {
      version: OCSF_VERSION,
      product: { name: product.name, vendor_name: product.vendorName, version: product.version },
      profiles: ['cloud'],
      uid: event.eventDataId,
      log_name: 'Azure Activity Log',
      log_provider: 'Azure Monitor',
      ...(event.correlationId !== undefined ? { correlation_uid: event.correlationId } : {}),
      ...(event.submissionTimestamp !== undefined ? { logged_time: Date.parse(event.submissionTimestamp) } : {}),
    },
    actor: {
      user: { name: event.caller, ...(GUID.test(event.caller) ? { uid: event.caller.toLowerCase() } : {}) },
      ...(event.callerAppId !== undefined ? { app_uid: event.callerAppId } : {}),
    },
    api: {
      operation: event.operation,
      service: { name: event.operation.split('/')[0] ?? event.operation },
      ...(event.correlationId !== undefined ? { request: { uid: event.correlationId } } : {}),
    },
    src_endpoint: event.clientIpAddress !== undefined ? { ip: event.clientIpAddress } : { name: 'unknown' },
    cloud: {
      provider: 'Azure',
      ...region,
      account: { uid: event.subscriptionId.toLowerCase(), type_id: 13, type: 'Azure Subscription' },
    },
    resources: [...clusters, ...target],
    unmapped,
  };
}

/**
 * The OCSF body of a `controlplane.change.detected` event's data: one API Activity event (an array,
 * like every `ocsf` webhook body). Data that is not such an event gives none.
 */
export function ocsfActivitiesOfControlPlaneChange(data: unknown, product: OcsfProduct): OcsfApiActivity[] {
  const d = data as Partial<ControlPlaneEvent> | null;
  if (d === null || typeof d !== 'object') return [];
  if (typeof d.eventDataId !== 'string' || typeof d.operation !== 'string' || typeof d.status !== 'string' || typeof d.caller !== 'string') return [];
  if (typeof d.eventTimestamp !== 'string' || Number.isNaN(Date.parse(d.eventTimestamp)) || typeof d.subscriptionId !== 'string' || typeof d.resourceId !== 'string') return [];
  if (d.severity !== 'low' && d.severity !== 'medium' && d.severity !== 'high') return [];
  return [toApiActivity(d as ControlPlaneEvent, product)];
}

/**
 * ServiceNow mapping: incidents (Table API `incident`) and Event Management records from compliance
 * events, and the inbound change-request update that approves or pauses a rollout wave.
 *
 * One incident per (cluster, control): its `correlation_id` is derived from the cluster resource id and
 * the control id, so repeated drift updates the open incident instead of opening a duplicate, and it is
 * resolved when the control passes again.
 */
import { createHash } from 'node:crypto';
import type { ClusterComplianceChangedData, EvaluationCompletedData, OutboundEvent } from './webhook-events.js';
import { incidentControlOf, type ControlPlaneEvent } from './control-plane-events.js';
import type { Severity } from './model.js';

/** ServiceNow's `correlation_id` column holds 100 characters. */
export const MAX_CORRELATION_ID_CHARS = 100;
export const CORRELATION_DISPLAY = 'arc-compliance';

/**
 * `<cluster resource id>#<control id>` lower-cased; longer than 100 characters it keeps the cluster
 * name and control readable and ends in a hash of the whole (deterministic, so it still dedupes).
 */
export function incidentCorrelationId(clusterId: string, controlId: string): string {
  const full = `${clusterId.toLowerCase()}#${controlId}`;
  if (full.length <= MAX_CORRELATION_ID_CHARS) return full;
  const digest = createHash('sha256').update(full).digest('hex').slice(0, 24);
  const name = clusterId.toLowerCase().split('/').pop() ?? '';
  const readable = `${name}#${controlId}`.slice(0, MAX_CORRELATION_ID_CHARS - digest.length - 2);
  return `${readable}#~${digest}`;
}

/**
 * Whether `url` addresses the ServiceNow instance at `instanceOrigin` (scheme, host and port equal; the
 * default port and host case normalised). Credentials are only ever sent when this holds.
 */
export function isServiceNowInstanceUrl(url: string, instanceOrigin: string): boolean {
  try {
    const origin = new URL(url).origin;
    return origin !== 'null' && origin === new URL(instanceOrigin).origin;
  } catch {
    return false;
  }
}

/** Escapes a value for a ServiceNow encoded query (`^` separates clauses and is doubled). */
export function encodedQueryValue(value: string): string {
  return value.replace(/\^/g, '^^');
}

/** Incident urgency/impact (1 high, 2 medium, 3 low) from control severity. */
export function urgencyImpact(severity: Severity): { urgency: '1' | '2' | '3'; impact: '1' | '2' | '3' } {
  switch (severity) {
    case 'high':
      return { urgency: '1', impact: '2' };
    case 'medium':
      return { urgency: '2', impact: '2' };
    case 'low':
      return { urgency: '3', impact: '3' };
  }
}

/** Incident `state` values of the standard incident state model. */
export const INCIDENT_STATE = Object.freeze({ new: '1', inProgress: '2', onHold: '3', resolved: '6', closed: '7', canceled: '8' });

export interface IncidentSettings {
  readonly category: string;
  readonly assignmentGroup?: string | undefined;
  /** Link shown in the description (the API's cluster resource), optional. */
  readonly apiBaseUrl?: string | undefined;
}

export type IncidentAction =
  | { readonly kind: 'open-or-update'; readonly correlationId: string; readonly fields: Readonly<Record<string, string>>; readonly workNote: string }
  | { readonly kind: 'resolve'; readonly correlationId: string; readonly fields: Readonly<Record<string, string>> };

/**
 * What to do in ServiceNow for a `cluster.compliance.changed` event: every failing control opens (or
 * refreshes) its incident; every control that stopped failing resolves its incident.
 */
export function planIncidentActions(data: ClusterComplianceChangedData, settings: IncidentSettings): IncidentAction[] {
  const actions: IncidentAction[] = [];
  for (const f of data.failing) {
    const correlationId = incidentCorrelationId(data.clusterId, f.controlId);
    const description = [
      `Control ${f.controlId} (${f.severity}) fails on Arc-enabled cluster ${data.clusterName}.`,
      `Cluster: ${data.clusterId}`,
      `Evidence: ${f.evidence}`,
      `Evaluation run: ${data.runId} at ${data.evaluatedAt}; cluster score ${data.score}.`,
    ].join('\n');
    actions.push({
      kind: 'open-or-update',
      correlationId,
      fields: {
        short_description: `Arc compliance: ${f.controlId} failing on ${data.clusterName}`.slice(0, 160),
        description,
        ...urgencyImpact(f.severity),
        category: settings.category,
        ...(settings.assignmentGroup !== undefined ? { assignment_group: settings.assignmentGroup } : {}),
        correlation_id: correlationId,
        correlation_display: CORRELATION_DISPLAY,
      },
      workNote: `Still failing in run ${data.runId} (${data.evaluatedAt}): ${f.evidence}`,
    });
  }
  for (const c of data.changes) {
    if (c.kind !== 'improvement') continue;
    const correlationId = incidentCorrelationId(data.clusterId, c.controlId);
    actions.push({
      kind: 'resolve',
      correlationId,
      fields: {
        state: INCIDENT_STATE.resolved,
        close_code: 'Solution provided',
        close_notes: `Control ${c.controlId} is ${c.to} again on ${data.clusterName} (run ${data.runId}, ${data.evaluatedAt}).`,
      },
    });
  }
  return actions;
}

// ---------------------------------------------------------------------------------------------
// Control-plane changes (`controlplane.change.detected`)
// ---------------------------------------------------------------------------------------------

/**
 * Incident urgency/impact of the control-plane changes that open one. A break-glass download is
 * priority 1 (urgency 1, impact 1): the admin client certificate bypasses Entra ID and every per-user
 * policy. Removing the Defender or Azure Policy extension is high (1/2), the monitoring extension
 * medium (2/2), as the controls those extensions back (ARC-TD-01, ARC-PL-01 high; ARC-TD-02 medium).
 */
export function controlPlaneUrgencyImpact(event: Pick<ControlPlaneEvent, 'kind' | 'securityExtension'>): { urgency: '1' | '2' | '3'; impact: '1' | '2' | '3' } {
  if (event.kind === 'break-glass-credential') return { urgency: '1', impact: '1' };
  return event.securityExtension === 'monitoring' ? urgencyImpact('medium') : urgencyImpact('high');
}

const CONTROL_PLANE_TITLES: Readonly<Record<string, string>> = Object.freeze({
  'ARC-TD-04': 'break-glass admin kubeconfig downloaded',
  'ARC-TD-01': 'Defender extension removed',
  'ARC-PL-01': 'Azure Policy extension removed',
  'ARC-TD-02': 'monitoring extension removed',
});

/**
 * The incident a control-plane change opens (or refreshes), or undefined: only a Succeeded break-glass
 * download and the deletion of the Defender, Azure Policy or monitoring extension open one. Its
 * correlation id is the one of the control the change breaks (`<cluster>#ARC-TD-04`, `#ARC-TD-01`, …),
 * so the nightly evaluation that then fails that control updates the same incident, and resolves it
 * when the control passes again: one incident per cluster and control, never two.
 */
export function planControlPlaneIncident(event: ControlPlaneEvent, settings: IncidentSettings): IncidentAction | undefined {
  const controlId = incidentControlOf(event);
  if (controlId === undefined || event.clusterId === undefined) return undefined;
  const correlationId = incidentCorrelationId(event.clusterId, controlId);
  const cluster = event.clusterName ?? event.clusterId.split('/').pop() ?? event.clusterId;
  const what = CONTROL_PLANE_TITLES[controlId] ?? event.kind;
  const description = [
    `Arc control plane: ${what} on cluster ${cluster}${event.extensionName !== undefined ? ` (extension ${event.extensionName})` : ''}.`,
    `Caller: ${event.caller}${event.callerAppId !== undefined ? ` (app ${event.callerAppId})` : ''} at ${event.eventTimestamp}${event.clientIpAddress !== undefined ? ` from ${event.clientIpAddress}` : ''}.`,
    `Operation: ${event.operation} (${event.status}).`,
    `Cluster: ${event.clusterId}`,
    `Control: ${controlId}. Activity Log event ${event.eventDataId}${event.correlationId !== undefined ? `, correlation ${event.correlationId}` : ''}.`,
  ].join('\n');
  return {
    kind: 'open-or-update',
    correlationId,
    fields: {
      short_description: `Arc control plane: ${what} on ${cluster} by ${event.caller}`.slice(0, 160),
      description,
      ...controlPlaneUrgencyImpact(event),
      category: settings.category,
      ...(settings.assignmentGroup !== undefined ? { assignment_group: settings.assignmentGroup } : {}),
      correlation_id: correlationId,
      correlation_display: CORRELATION_DISPLAY,
    },
    workNote: `Again: ${what} by ${event.caller} at ${event.eventTimestamp} (Activity Log event ${event.eventDataId}).`,
  };
}

// ---------------------------------------------------------------------------------------------
// Event Management (`/api/global/em/jsonv2`)
// ---------------------------------------------------------------------------------------------

/** EM severities: 1 critical, 2 major, 3 minor, 4 warning, 5 info, 0 clear. */
export type EmSeverity = '0' | '1' | '2' | '3' | '4' | '5';

export interface EmRecord {
  readonly source: string;
  readonly node: string;
  readonly resource: string;
  readonly type: string;
  readonly severity: EmSeverity;
  readonly message_key: string;
  readonly description: string;
  /** A JSON object as a string, as the jsonv2 endpoint expects. */
  readonly additional_info: string;
}

export const EM_SOURCE = 'arc-compliance';

export function emSeverity(severity: Severity): EmSeverity {
  return severity === 'high' ? '1' : severity === 'medium' ? '3' : '4';
}

/** Event Management records for an event: one per changed control for compliance changes. */
export function eventRecords(event: Pick<OutboundEvent, 'id' | 'type' | 'timestamp' | 'data'>): EmRecord[] {
  if (event.type === 'cluster.compliance.changed') {
    const data = event.data as ClusterComplianceChangedData;
    return data.changes.map((c) => ({
      source: EM_SOURCE,
      node: data.clusterName,
      resource: c.controlId,
      type: 'Arc compliance',
      severity: c.to === 'fail' ? emSeverity(c.severity) : '0',
      message_key: incidentCorrelationId(data.clusterId, c.controlId),
      description: c.to === 'fail' ? `Control ${c.controlId} fails on ${data.clusterName}: ${c.evidence}` : `Control ${c.controlId} is ${c.to} on ${data.clusterName}.`,
      additional_info: JSON.stringify({ clusterId: data.clusterId, subscriptionId: data.subscriptionId, runId: data.runId, from: c.from, to: c.to, severity: c.severity }),
    }));
  }
  if (event.type === 'controlplane.change.detected') {
    const data = event.data as ControlPlaneEvent;
    const controlId = incidentControlOf(data);
    return [
      {
        source: EM_SOURCE,
        node: data.clusterName ?? data.resourceGroup,
        resource: data.operation,
        type: 'Arc control plane',
        severity: emSeverity(data.severity),
        message_key: controlId !== undefined && data.clusterId !== undefined ? incidentCorrelationId(data.clusterId, controlId) : `controlplane#${data.eventDataId}`,
        description: `${data.operation} (${data.status}) by ${data.caller} at ${data.eventTimestamp} on ${data.resourceId}`,
        additional_info: JSON.stringify({ eventDataId: data.eventDataId, kind: data.kind, subscriptionId: data.subscriptionId, clusterId: data.clusterId, clusterIds: data.clusterIds, caller: data.caller, severity: data.severity }).slice(0, 4000),
      },
    ];
  }
  if (event.type === 'evaluation.completed') return [evaluationCompletedRecord(event.timestamp, event.data as EvaluationCompletedData)];
  const d = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as Record<string, unknown>;
  const failed = event.type === 'rollout.failed' || event.type === 'rollout.rolled_back';
  const key = typeof d['rolloutId'] === 'string' ? d['rolloutId'] : typeof d['runId'] === 'string' ? d['runId'] : event.id;
  return [
    {
      source: EM_SOURCE,
      node: typeof d['clusterName'] === 'string' ? d['clusterName'] : EM_SOURCE,
      resource: key,
      type: event.type,
      severity: failed ? '2' : '5',
      message_key: `${event.type.split('.')[0] ?? 'event'}#${key}`,
      description: `${event.type} at ${event.timestamp}`,
      additional_info: JSON.stringify(d).slice(0, 4000),
    },
  ];
}

/** Characters of `additional_info` Event Management keeps. */
const EM_ADDITIONAL_INFO_CHARS = 4000;

/**
 * The Event Management record of a finished run. Its description says whether the run covered the
 * whole estate, so an operator never reads a run of some subscriptions as the fleet's. `additional_info`
 * is the event's data as JSON that always parses: a subscription list too long for it is cut, and
 * `scopeSubscriptionIdsOmitted` says how many ids were left out (the run resource lists them all).
 */
function evaluationCompletedRecord(timestamp: string, data: EvaluationCompletedData): EmRecord {
  const ids = data.scopeSubscriptionIds ?? [];
  const partial = data.scope === 'partial-estate';
  let kept = ids.length;
  let info = JSON.stringify(data);
  while (info.length > EM_ADDITIONAL_INFO_CHARS && kept > 0) {
    kept = Math.max(0, Math.min(kept - 1, Math.floor(kept * (EM_ADDITIONAL_INFO_CHARS / info.length))));
    info = JSON.stringify({ ...data, scopeSubscriptionIds: ids.slice(0, kept), scopeSubscriptionIdsOmitted: ids.length - kept });
  }
  const scope = partial ? `partial estate: ${ids.length} subscription${ids.length === 1 ? '' : 's'}` : 'full estate';
  return {
    source: EM_SOURCE,
    node: EM_SOURCE,
    resource: data.runId,
    type: 'evaluation.completed',
    severity: '5',
    message_key: `evaluation#${data.runId}`,
    description: `evaluation.completed (${scope}) at ${timestamp}: run ${data.runId} ${data.status}, ${data.clustersEvaluated} cluster(s) evaluated`,
    additional_info: info.slice(0, EM_ADDITIONAL_INFO_CHARS),
  };
}

// ---------------------------------------------------------------------------------------------
// Inbound change-request updates
// ---------------------------------------------------------------------------------------------

export interface ChangeEvent {
  /** Change request number, e.g. `CHG0030001`. */
  readonly number: string;
  readonly state: string;
  readonly rolloutId: string;
  readonly waveId: string;
  /** Who approved in ServiceNow (user name), when sent. */
  readonly approvedBy?: string | undefined;
  readonly sysId?: string | undefined;
}

export type ChangeDecision = 'approve' | 'pause' | 'ignore';

/** `approved` approves the wave; `rejected` / `canceled` (either spelling, or state 4 Canceled) pause the rollout. */
export function changeDecision(state: string): ChangeDecision {
  const s = state.trim().toLowerCase();
  if (s === 'approved') return 'approve';
  if (s === 'rejected' || s === 'canceled' || s === 'cancelled' || s === '4') return 'pause';
  return 'ignore';
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

/**
 * Parses the JSON body of a change event: `{ "type", "timestamp", "data": { number, state, rolloutId,
 * waveId, approvedBy?, sysId? } }`. Returns the problem instead of throwing.
 */
export function parseChangeEvent(body: unknown): { ok: true; value: ChangeEvent } | { ok: false; problem: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, problem: 'the body is not a JSON object' };
  const data = (body as { data?: unknown }).data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { ok: false, problem: 'data is missing' };
  const d = data as Record<string, unknown>;
  for (const k of ['number', 'state', 'rolloutId', 'waveId'] as const) {
    const v = d[k];
    if (typeof v !== 'string' || !NAME.test(v)) return { ok: false, problem: `data.${k} is missing or malformed` };
  }
  const opt = (k: string): string | undefined => (typeof d[k] === 'string' && NAME.test(d[k]) ? d[k] : undefined);
  return {
    ok: true,
    value: { number: d['number'] as string, state: d['state'] as string, rolloutId: d['rolloutId'] as string, waveId: d['waveId'] as string, approvedBy: opt('approvedBy'), sysId: opt('sysId') },
  };
}

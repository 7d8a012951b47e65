/**
 * Delivers events to ServiceNow: `servicenow-incident` keeps one incident per (cluster, control) —
 * looked up by correlation id before creating, updated while failing, resolved when passing again —
 * and `servicenow-event` sends Event Management records. Calls are idempotent, so a retried delivery
 * never opens a duplicate incident.
 *
 * Deliveries can arrive out of order: a night's event retried after a 503 may come after the next
 * night's event was delivered. Acting on it then would undo newer news (reopen an incident, or raise
 * an alert, for a control that passes again). So every compliance-change action is compared with the
 * evaluation time of the newest action applied for the same correlation id ({@link ServiceNowWatermarks})
 * and skipped when older. Equal times are the same evaluation again (a retry, a second webhook) and
 * are applied: the calls are idempotent.
 */
import { eventRecords, isServiceNowInstanceUrl, planControlPlaneIncident, planIncidentActions, type EmRecord, type IncidentSettings } from '../domain/servicenow-mapping.js';
import type { ControlPlaneEvent } from '../domain/control-plane-events.js';
import type { ClusterComplianceChangedData, OutboundEvent } from '../domain/webhook-events.js';

/** ServiceNow REST calls (adapters/webhooks/servicenow-client.ts). Failures throw `OutboundCallFailed`. */
export interface ServiceNowApi {
  /** The active incident with this correlation id (Table API query on `correlation_id`). */
  findActiveIncident(instanceUrl: string, correlationId: string): Promise<{ sysId: string; number: string } | undefined>;
  createIncident(instanceUrl: string, fields: Readonly<Record<string, string>>): Promise<{ sysId: string; number: string }>;
  updateIncident(instanceUrl: string, sysId: string, fields: Readonly<Record<string, string>>): Promise<void>;
  sendEvents(instanceUrl: string, records: readonly EmRecord[]): Promise<void>;
}

/** Incident actions and Event Management records are ordered separately: they are independent in ServiceNow. */
export type WatermarkKind = 'incident' | 'event';

/**
 * The evaluation time of the newest compliance change applied in ServiceNow, per kind and correlation
 * id (`<cluster resource id>#<control id>`). In production a Table Storage row per id
 * (adapters/webhooks/table-servicenow-watermarks.ts).
 */
export interface ServiceNowWatermarks {
  /** ISO time of the newest evaluation applied, if any. */
  get(kind: WatermarkKind, correlationId: string): Promise<string | undefined>;
  /** Records `evaluatedAt` unless a later time is recorded already: it never moves back. */
  advance(kind: WatermarkKind, correlationId: string, evaluatedAt: string): Promise<void>;
  /**
   * Retention: forgets every watermark whose time is before `cutoff` (ISO), keeping one advanced
   * meanwhile; returns how many.
   */
  forgetOlderThan(cutoff: string): Promise<number>;
}

export interface ServiceNowDeliveryOptions {
  /** `SERVICENOW_INSTANCE_URL` (an origin): `servicenow-*` webhooks must point at it. */
  readonly instanceUrl: string;
  readonly watermarks: ServiceNowWatermarks;
}

export interface ServiceNowDeliveryResult {
  /** What was done, for the deliveries log (`created INC0010001; resolved INC0010002`). */
  readonly summary: string;
}

export class ServiceNowDelivery {
  constructor(
    private readonly api: ServiceNowApi,
    private readonly settings: IncidentSettings,
    private readonly options: ServiceNowDeliveryOptions,
  ) {}

  /** The configured instance origin (shown to callers whose webhook URL does not match it). */
  get instanceUrl(): string {
    return this.options.instanceUrl;
  }

  /** Whether a webhook URL addresses the configured instance (checked at creation). */
  accepts(url: string): boolean {
    return isServiceNowInstanceUrl(url, this.options.instanceUrl);
  }

  /**
   * Forgets watermarks older than `cutoff`. Why that cannot reopen an incident (or raise an alert)
   * wrongly: a watermark only stops an action from an evaluation *older* than it. A watermark before
   * the cutoff means nothing newer was applied for that id since; an event that it would still stop is
   * older still, and the caller picks a cutoff that such an event can no longer reach us by: automatic
   * retries end within the queue's 7-day message TTL, and a manual redelivery needs the delivery
   * record, deleted after the delivery retention (by the same event time). Events newer than the
   * forgotten watermark were applied with it anyway, and the incident itself is found by correlation
   * id in ServiceNow, not through the watermark, so forgetting never opens a duplicate.
   */
  async forgetWatermarksBefore(cutoff: string): Promise<number> {
    return this.options.watermarks.forgetOlderThan(cutoff);
  }

  /** True when a newer evaluation than `evaluatedAt` was already applied for this id. */
  private async superseded(kind: WatermarkKind, correlationId: string, evaluatedAt: string): Promise<boolean> {
    const applied = await this.options.watermarks.get(kind, correlationId);
    return applied !== undefined && Date.parse(applied) > Date.parse(evaluatedAt);
  }

  async deliver(format: 'servicenow-incident' | 'servicenow-event', instanceUrl: string, event: OutboundEvent): Promise<ServiceNowDeliveryResult> {
    const change = event.type === 'cluster.compliance.changed' ? (event.data as ClusterComplianceChangedData) : undefined;
    if (format === 'servicenow-event') {
      const records = eventRecords(event);
      if (change === undefined) {
        await this.api.sendEvents(instanceUrl, records);
        return { summary: `sent ${records.length} event record(s)` };
      }
      const current: EmRecord[] = [];
      for (const r of records) if (!(await this.superseded('event', r.message_key, change.evaluatedAt))) current.push(r);
      await this.api.sendEvents(instanceUrl, current);
      for (const r of current) await this.options.watermarks.advance('event', r.message_key, change.evaluatedAt);
      const skipped = records.length - current.length;
      return { summary: `sent ${current.length} event record(s)${skipped > 0 ? `; skipped ${skipped} superseded by a newer evaluation` : ''}` };
    }
    if (event.type === 'controlplane.change.detected') return this.deliverControlPlaneIncident(instanceUrl, event.data as ControlPlaneEvent);
    if (change === undefined) return { summary: `no incident action for ${event.type}` };
    const done: string[] = [];
    for (const action of planIncidentActions(change, this.settings)) {
      if (await this.superseded('incident', action.correlationId, change.evaluatedAt)) {
        done.push(`skipped ${action.kind} of ${action.correlationId}: a newer evaluation was applied`);
        continue;
      }
      const existing = await this.api.findActiveIncident(instanceUrl, action.correlationId);
      if (action.kind === 'resolve') {
        if (existing !== undefined) {
          await this.api.updateIncident(instanceUrl, existing.sysId, action.fields);
          done.push(`resolved ${existing.number}`);
        }
      } else if (existing === undefined) {
        const created = await this.api.createIncident(instanceUrl, action.fields);
        done.push(`created ${created.number}`);
      } else {
        await this.api.updateIncident(instanceUrl, existing.sysId, { ...action.fields, work_notes: action.workNote });
        done.push(`updated ${existing.number}`);
      }
      // Also when there was nothing to resolve: a pass seen is what an older failure must not undo.
      await this.options.watermarks.advance('incident', action.correlationId, change.evaluatedAt);
    }
    return { summary: done.length > 0 ? done.join('; ') : 'no incident changes' };
  }

  /**
   * A break-glass download or a security extension removal opens the incident of the control it
   * breaks (or adds a work note to the open one). Ordered by the change's time against the newest
   * evaluation applied for that incident: a retry arriving after a later evaluation resolved the
   * incident does not reopen it.
   */
  private async deliverControlPlaneIncident(instanceUrl: string, data: ControlPlaneEvent): Promise<ServiceNowDeliveryResult> {
    const action = planControlPlaneIncident(data, this.settings);
    if (action === undefined || action.kind !== 'open-or-update') return { summary: `no incident action for ${data.kind} (${data.status})` };
    if (await this.superseded('incident', action.correlationId, data.eventTimestamp)) {
      return { summary: `skipped open-or-update of ${action.correlationId}: a newer evaluation was applied` };
    }
    const existing = await this.api.findActiveIncident(instanceUrl, action.correlationId);
    let summary: string;
    if (existing === undefined) {
      const created = await this.api.createIncident(instanceUrl, action.fields);
      summary = `created ${created.number}`;
    } else {
      await this.api.updateIncident(instanceUrl, existing.sysId, { work_notes: action.workNote });
      summary = `updated ${existing.number}`;
    }
    await this.options.watermarks.advance('incident', action.correlationId, data.eventTimestamp);
    return { summary };
  }
}

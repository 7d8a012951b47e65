/**
 * Delivers events to ServiceNow: `servicenow-incident` keeps one incident per (cluster, control) —
 * looked up by correlation id before creating, updated while failing, resolved when passing again —
 * and `servicenow-event` sends Event Management records. Calls are idempotent, so a retried delivery
 * never opens a duplicate incident.
 */
import { eventRecords, planIncidentActions, type EmRecord, type IncidentSettings } from '../domain/servicenow-mapping.js';
import type { ClusterComplianceChangedData, OutboundEvent } from '../domain/webhook-events.js';

/** ServiceNow REST calls (adapters/webhooks/servicenow-client.ts). Failures throw `OutboundCallFailed`. */
export interface ServiceNowApi {
  /** The active incident with this correlation id (Table API query on `correlation_id`). */
  findActiveIncident(instanceUrl: string, correlationId: string): Promise<{ sysId: string; number: string } | undefined>;
  createIncident(instanceUrl: string, fields: Readonly<Record<string, string>>): Promise<{ sysId: string; number: string }>;
  updateIncident(instanceUrl: string, sysId: string, fields: Readonly<Record<string, string>>): Promise<void>;
  sendEvents(instanceUrl: string, records: readonly EmRecord[]): Promise<void>;
}

export interface ServiceNowDeliveryResult {
  /** What was done, for the deliveries log (`created INC0010001; resolved INC0010002`). */
  readonly summary: string;
}

export class ServiceNowDelivery {
  constructor(
    private readonly api: ServiceNowApi,
    private readonly settings: IncidentSettings,
  ) {}

  async deliver(format: 'servicenow-incident' | 'servicenow-event', instanceUrl: string, event: OutboundEvent): Promise<ServiceNowDeliveryResult> {
    if (format === 'servicenow-event') {
      const records = eventRecords(event);
      await this.api.sendEvents(instanceUrl, records);
      return { summary: `sent ${records.length} event record(s)` };
    }
    if (event.type !== 'cluster.compliance.changed') return { summary: `no incident action for ${event.type}` };
    const done: string[] = [];
    for (const action of planIncidentActions(event.data as ClusterComplianceChangedData, this.settings)) {
      const existing = await this.api.findActiveIncident(instanceUrl, action.correlationId);
      if (action.kind === 'resolve') {
        if (existing === undefined) continue;
        await this.api.updateIncident(instanceUrl, existing.sysId, action.fields);
        done.push(`resolved ${existing.number}`);
      } else if (existing === undefined) {
        const created = await this.api.createIncident(instanceUrl, action.fields);
        done.push(`created ${created.number}`);
      } else {
        await this.api.updateIncident(instanceUrl, existing.sysId, { ...action.fields, work_notes: action.workNote });
        done.push(`updated ${existing.number}`);
      }
    }
    return { summary: done.length > 0 ? done.join('; ') : 'no incident changes' };
  }
}

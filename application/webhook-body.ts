/**
 * The JSON body a `standard` or `ocsf` webhook receives for an event (ServiceNow formats are sent by
 * `ServiceNowDelivery` instead): the Standard Webhooks `{ type, timestamp, data }` envelope, or for
 * `ocsf` always an array of OCSF events: Compliance Findings of the controls that changed, or the API
 * Activity of a control-plane change (other events are never subscribed in this format).
 */
import { ocsfActivitiesOfControlPlaneChange } from '../domain/ocsf-api-activity.js';
import { ocsfFindingsOfComplianceChange, type OcsfProduct } from '../domain/ocsf-finding.js';
import { toEnvelope, type OutboundEvent } from '../domain/webhook-events.js';

const DEFAULT_PRODUCT: OcsfProduct = { name: 'arc-compliance', vendorName: 'arc-compliance', version: 'unknown' };

function ocsfBody(event: OutboundEvent, product: OcsfProduct): readonly Readonly<Record<string, unknown>>[] {
  if (event.type === 'cluster.compliance.changed') return ocsfFindingsOfComplianceChange(event.data, product);
  if (event.type === 'controlplane.change.detected') return ocsfActivitiesOfControlPlaneChange(event.data, product);
  return [];
}

export function webhookBody(format: 'standard' | 'ocsf', event: OutboundEvent, product: OcsfProduct = DEFAULT_PRODUCT): string {
  return JSON.stringify(format === 'ocsf' ? ocsfBody(event, product) : toEnvelope(event));
}

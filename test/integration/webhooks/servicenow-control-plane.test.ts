/**
 * `controlplane.change.detected` in ServiceNow (against the stand-in): a break-glass download opens one
 * priority-1 incident under the ARC-TD-04 correlation id, a repeat adds a work note, and the nightly
 * compliance change for ARC-TD-04 updates that same incident; security extension removals open the
 * incident of the control they break; other changes open none; Event Management gets one record.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServiceNowStandIn, type ServiceNowStandIn } from '../../../local/servicenow-stand-in.js';
import { GuardedHttpClient } from '../../../adapters/webhooks/guarded-http-client.js';
import { AesGcmSecretProtector } from '../../../adapters/webhooks/secret-protector.js';
import { ServiceNowClient } from '../../../adapters/webhooks/servicenow-client.js';
import { ServiceNowDelivery } from '../../../application/servicenow-delivery.js';
import { WebhookService } from '../../../application/webhook-service.js';
import { controlPlaneOutboundEvent } from '../../../application/control-plane-watch-service.js';
import type { WebhookDeadLetterMessage, WebhookDeliveryMessage } from '../../../application/messages.js';
import { classifyActivityLogEntry, type ActivityLogEntry } from '../../../domain/control-plane-events.js';
import { buildClusterComplianceChanged } from '../../../domain/webhook-events.js';
import { incidentCorrelationId } from '../../../domain/servicenow-mapping.js';
import { parseAllowlist } from '../../../domain/webhook-ssrf.js';
import type { ClusterEvaluation, ControlResult } from '../../../domain/model.js';
import { InMemoryInboundMessageIdStore, InMemoryServiceNowWatermarks, InMemoryWebhookDeliveryRepository, InMemoryWebhookSubscriptionRepository, FixedClock, RecordingMessageQueue } from '../../support/in-memory-ports.js';
import { silentLogger } from '../../../application/logger.js';

const credentials = { username: 'arc', password: 'pw-1', clientId: 'cid', clientSecret: 'csecret' };
let sn: ServiceNowStandIn;
beforeAll(async () => {
  sn = await startServiceNowStandIn({ credentials });
});
afterAll(async () => {
  await sn?.stop();
});

function harness() {
  const clock = new FixedClock(Date.parse('2026-04-01T02:00:00Z'));
  const http = new GuardedHttpClient({ allowlist: parseAllowlist(['127.0.0.1']).allowlist });
  const queue = new RecordingMessageQueue<WebhookDeliveryMessage>();
  let n = 0;
  const service = new WebhookService({
    subscriptions: new InMemoryWebhookSubscriptionRepository(),
    deliveries: new InMemoryWebhookDeliveryRepository(),
    queue,
    deadLetters: new RecordingMessageQueue<WebhookDeadLetterMessage>(),
    secrets: new AesGcmSecretProtector(randomBytes(32)),
    http,
    serviceNow: new ServiceNowDelivery(new ServiceNowClient(http, { mode: 'basic', username: 'arc', password: 'pw-1' }, clock, sn.url), { category: 'security' }, { instanceUrl: sn.url, watermarks: new InMemoryServiceNowWatermarks() }),
    clock,
    newId: () => `cp${(n += 1)}`,
    randomBytes: (s) => randomBytes(s),
    random: () => 0.5,
    attemptClaims: new InMemoryInboundMessageIdStore(),
    log: silentLogger,
  });
  const drain = async (): Promise<void> => {
    for (let next = queue.take(); next !== undefined; next = queue.take()) {
      clock.advance(next.visibilityDelaySeconds * 1000);
      await service.processDelivery(next.message);
    }
  };
  return { service, drain };
}

const SUB = '00000000-0000-0000-0000-0000000000cc';
const CLUSTER = `/subscriptions/${SUB}/resourceGroups/rg-cp/providers/Microsoft.Kubernetes/connectedClusters/edge-cp`;
const ctx = { ownIdentities: [], clustersByResourceGroup: new Map([['rg-cp', [CLUSTER.toLowerCase()]]]) };
function event(id: string, operationName: string, path: string, at: string, caller = 'oncall@contoso.example') {
  const e: ActivityLogEntry = { eventDataId: id, eventTimestamp: at, operationName, status: 'Succeeded', caller, resourceId: `${CLUSTER}${path}`, subscriptionId: SUB };
  return controlPlaneOutboundEvent(classifyActivityLogEntry(e, ctx)!);
}
const ADMIN = 'Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action';
const INSTANCE = '/providers/Microsoft.HybridContainerService/provisionedClusterInstances/default';
const incidentsOf = (controlId: string) => [...sn.incidents.values()].filter((i) => i.correlation_id === incidentCorrelationId(CLUSTER, controlId));

describe('servicenow-incident for controlplane.change.detected', () => {
  it('opens one priority-1 incident for a break-glass download; a repeat and the nightly ARC-TD-04 failure update it', async () => {
    const h = harness();
    await h.service.create({ url: sn.url, events: ['controlplane.change.detected', 'cluster.compliance.changed'], format: 'servicenow-incident' }, 'u');
    const first = event('bg-1', ADMIN, INSTANCE, '2026-03-31T10:00:00.000Z');
    await h.service.publish(first);
    // The same event again (a second watch read, a redelivery): nothing new.
    await h.service.publish(first);
    await h.drain();
    expect(incidentsOf('ARC-TD-04')).toHaveLength(1);
    const incident = incidentsOf('ARC-TD-04')[0]!;
    expect(incident).toMatchObject({ urgency: '1', impact: '1', category: 'security', active: 'true' });
    expect(incident['short_description']).toContain('break-glass admin kubeconfig downloaded on edge-cp by oncall@contoso.example');
    expect(incident['description']).toContain('2026-03-31T10:00:00.000Z');

    await h.service.publish(event('bg-2', ADMIN, INSTANCE, '2026-03-31T18:00:00.000Z', 'night@contoso.example'));
    await h.drain();
    expect(incidentsOf('ARC-TD-04')).toHaveLength(1);
    expect(sn.workNotes.get(incident.sys_id)).toEqual([expect.stringContaining('night@contoso.example')]);

    const c = (status: ControlResult['status']): ControlResult => ({ controlId: 'ARC-TD-04', status, severity: 'high', evidence: `ARC-TD-04 ${status}` });
    const ev = (runId: string, at: string, s: ControlResult['status']): ClusterEvaluation => ({ clusterId: CLUSTER, evaluatedAt: at, runId, controls: [c(s)], score: 0, failedControls: [] });
    const cluster = { id: CLUSTER, name: 'edge-cp', subscriptionId: SUB, resourceGroup: 'rg-cp' };
    const data = buildClusterComplianceChanged(cluster, ev('r0', '2026-03-31T02:00:00.000Z', 'pass'), ev('r1', '2026-04-01T02:00:00.000Z', 'fail'))!;
    await h.service.publish({ id: 'cc-1', type: 'cluster.compliance.changed', timestamp: data.evaluatedAt, data });
    await h.drain();
    expect(incidentsOf('ARC-TD-04')).toHaveLength(1);
  });

  it('opens the Defender / Azure Policy incident on their removal (high), monitoring as medium; nothing for other changes', async () => {
    const h = harness();
    await h.service.create({ url: sn.url, events: ['*'], format: 'servicenow-incident' }, 'u');
    const del = 'Microsoft.KubernetesConfiguration/extensions/delete';
    await h.service.publish(event('x-1', del, '/providers/Microsoft.KubernetesConfiguration/extensions/microsoft.azuredefender.kubernetes', '2026-03-31T11:00:00.000Z'));
    await h.service.publish(event('x-2', del, '/providers/Microsoft.KubernetesConfiguration/extensions/azurepolicy', '2026-03-31T11:01:00.000Z'));
    await h.service.publish(event('x-3', del, '/providers/Microsoft.KubernetesConfiguration/extensions/azuremonitor-containers', '2026-03-31T11:02:00.000Z'));
    await h.service.publish(event('x-4', del, '/providers/Microsoft.KubernetesConfiguration/extensions/flux', '2026-03-31T11:03:00.000Z'));
    await h.service.publish(event('x-5', 'Microsoft.Kubernetes/connectedClusters/listClusterUserCredential/action', '', '2026-03-31T11:04:00.000Z'));
    const before = sn.incidents.size;
    await h.drain();
    expect(incidentsOf('ARC-TD-01')).toEqual([expect.objectContaining({ urgency: '1', impact: '2' })]);
    expect(incidentsOf('ARC-PL-01')).toEqual([expect.objectContaining({ urgency: '1', impact: '2' })]);
    expect(incidentsOf('ARC-TD-02')).toEqual([expect.objectContaining({ urgency: '2', impact: '2' })]);
    expect(sn.incidents.size - before).toBe(3);
  });

  it('sends one Event Management record per change, keyed like its incident', async () => {
    const h = harness();
    await h.service.create({ url: sn.url, events: ['controlplane.change.detected'], format: 'servicenow-event' }, 'u');
    const before = sn.events.length;
    await h.service.publish(event('em-1', ADMIN, INSTANCE, '2026-03-31T12:00:00.000Z'));
    await h.drain();
    expect(sn.events.slice(before)).toEqual([expect.objectContaining({ severity: '1', type: 'Arc control plane', node: 'edge-cp', message_key: incidentCorrelationId(CLUSTER, 'ARC-TD-04') })]);
  });
});

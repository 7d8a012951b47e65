/**
 * The control-plane watch end to end through the local Functions runtime, the ARM emulator's Activity Log
 * and the ServiceNow stand-in: an admin kubeconfig download (break-glass) on a provisioned cluster is
 * picked up by the watch timer, raises exactly one `controlplane.change.detected` webhook event and one
 * ServiceNow incident, and the next evaluation fails ARC-TD-04 with the caller in the evidence (the
 * nightly collect re-reads the same entry: no second event, and the ARC-TD-04 failure updates the same
 * incident).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { incidentCorrelationId } from '../../domain/servicenow-mapping.js';
import { operationEntries } from '../../local/arm-emulator/fleet/activity-log.js';
import type { FleetCluster } from '../../local/arm-emulator/fleet-model.js';
import type { StandInIncident } from '../../local/servicenow-stand-in.js';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../support/webhook-receiver.js';
import { clusterPath, startE2eStack, waitFor, type ApiResponse, type E2eStack } from '../support/e2e-stack.js';
import type { ClusterView } from '../../application/compliance-query-service.js';
import { referenceVerify } from '../unit/webhooks/standard-webhooks-reference.js';
import { CONTROL_PLANE_QUEUES } from '../../application/messages.js';

const received: ReceivedWebhook[] = [];
let receiver: WebhookReceiver | undefined;
let e: E2eStack;
let secret: string;
let cluster: FleetCluster;
const CALLER = 'weekend-oncall@contoso.example';

async function manage<T>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
  const token = await e.stack.issuer!.mintToken({ roles: ['Webhooks.Manage'] });
  const res = await fetch(`${e.stack.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T, headers: res.headers };
}

interface Envelope {
  readonly type: string;
  readonly data: Record<string, unknown>;
}
const breakGlassEvents = (): Envelope[] =>
  received.map((r) => JSON.parse(r.body) as Envelope).filter((v) => v.type === 'controlplane.change.detected' && v.data['kind'] === 'break-glass-credential' && v.data['caller'] === CALLER);
const incidentsFor = (correlationId: string): StandInIncident[] => [...e.stack.serviceNow!.incidents.values()].filter((i) => i.correlation_id === correlationId);

beforeAll(async () => {
  receiver = await startWebhookReceiver(received);
  e = await startE2eStack({ settings: { WEBHOOK_ALLOWLIST: `127.0.0.1:${receiver.port}` } });
  // A provisioned cluster with no break-glass download in the demo history.
  cluster = e.cluster('branch-atl-024');
  expect(cluster.resource['kind']).toBe('ProvisionedCluster');
  const standard = await manage<{ webhook: { id: string }; secret: string }>('POST', '/v1/webhooks', {
    url: `http://127.0.0.1:${receiver.port}/hooks/arc`,
    events: ['controlplane.change.detected'],
    format: 'standard',
  });
  expect(standard.status, JSON.stringify(standard.body)).toBe(201);
  secret = standard.body.secret;
  const sn = await manage('POST', '/v1/webhooks', { url: e.stack.serviceNow!.url, events: ['controlplane.change.detected', 'cluster.compliance.changed'], format: 'servicenow-incident' });
  expect(sn.status, JSON.stringify(sn.body)).toBe(201);
  // Baseline run: ARC-TD-04 passes on the cluster (the demo history reads every kind of event for the other clusters).
  const baseline = await e.timerRun();
  expect(baseline.status).toBe('succeeded');
}, 120_000);

afterAll(async () => {
  await e?.stop();
  await receiver?.close();
});

it('a break-glass download fails ARC-TD-04 with the caller, and raises one webhook event and one ServiceNow incident', async () => {
  const td04Of = async (c: FleetCluster) => (await e.api<ClusterView>(clusterPath(c))).body.controls.find((r) => r.controlId === 'ARC-TD-04');
  expect((await td04Of(cluster))?.status).toBe('pass');
  // Another provisioned cluster with a download 3 days ago in the demo history already fails it.
  expect(await td04Of(e.cluster('store-ams-001'))).toMatchObject({ status: 'fail', evidence: expect.stringContaining('oncall-admin@contoso.example') });
  // A connected (not provisioned) cluster: not applicable.
  expect((await td04Of(e.cluster('store-rtm-002')))?.status).toBe('not_applicable');

  // Someone downloads the admin kubeconfig of branch-atl-024 (the log holds a Started and a Succeeded entry).
  let n = 0;
  e.stack.emulator!.fleet.activityLog!.push(
    ...operationEntries(
      { subscriptionId: cluster.resource.id.split('/')[2]!, resourceGroup: 'rg-branch-prod-eus', cluster: 'branch-atl-024', path: '/providers/Microsoft.HybridContainerService/provisionedClusterInstances/default/listAdminKubeconfig', operation: 'Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action', caller: CALLER, daysAgo: 10 / (24 * 60), method: 'POST' },
      e.stack.emulator!.fleet.tenantId,
      new Date(),
      () => `c0ffee00-0000-4000-8000-${String((n += 1)).padStart(12, '0')}`,
    ),
  );

  // The watch timer picks it up: one webhook event, one incident.
  await e.stack.host.invokeTimer('controlPlaneWatchTimer');
  await e.waitForQueueEmpty(CONTROL_PLANE_QUEUES.watch);
  const correlation = incidentCorrelationId(cluster.resource.id, 'ARC-TD-04');
  await waitFor('the break-glass webhook and incident', async () => (breakGlassEvents().length > 0 && incidentsFor(correlation).length > 0 ? true : undefined));
  const [event] = breakGlassEvents();
  expect(event!.data).toMatchObject({ operation: 'Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action', status: 'Succeeded', clusterName: 'branch-atl-024', severity: 'high' });
  const delivery = received.find((r) => (JSON.parse(r.body) as Envelope).data['caller'] === CALLER)!;
  expect(await referenceVerify(secret, delivery.headers, delivery.body, delivery.receivedAtSeconds)).toBe(true);
  expect(incidentsFor(correlation)[0]).toMatchObject({ urgency: '1', impact: '1', active: 'true' });
  expect(incidentsFor(correlation)[0]!.short_description).toContain(CALLER);

  // The next evaluation re-reads the log: ARC-TD-04 fails with the caller; no second event, no second incident.
  const run = await e.timerRun();
  expect(run.status).toBe('succeeded');
  const td04 = await td04Of(cluster);
  expect(td04).toMatchObject({ status: 'fail', reason: 'break-glass-used' });
  expect(td04!.evidence).toContain(CALLER);
  await e.waitForQueueEmpty('webhook-deliveries');
  expect(breakGlassEvents()).toHaveLength(1);
  expect(incidentsFor(correlation)).toHaveLength(1);

  // The API lists it for the cluster, newest first.
  const events = await e.api<{ value: { caller: string; kind: string }[] }>(`${clusterPath(cluster)}/control-plane-events`);
  expect(events.status).toBe(200);
  expect(events.body.value.filter((v) => v.caller === CALLER)).toEqual([expect.objectContaining({ kind: 'break-glass-credential' })]);
}, 120_000);

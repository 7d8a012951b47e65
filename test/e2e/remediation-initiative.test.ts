/**
 * Remediation end to end through the local Functions runtime: the DeployIfNotExists policy of ARC-PL-01
 * is assigned only inside a custom initiative (the operator's step, through ARM), `POST
 * /api/v1/remediations` starts Azure Policy remediations under that initiative assignment, the ARM
 * emulator completes them after `remediationDelayMs`, and the read that observes completion publishes
 * `remediation.completed`, which the `webhook-deliveries` function delivers, signed, to a registered
 * receiver on loopback.
 */
import { PolicyClient } from '@azure/arm-policy';
import { DefaultAzureCredential } from '@azure/identity';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { POLICY_IDS } from '../../domain/control-catalog.js';
import { DEMO_SUBSCRIPTIONS } from '../../local/arm-emulator/fleet/index.js';
import { demoFleetWithExtensionFindings } from '../support/remediation-fleet.js';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../support/webhook-receiver.js';
import { startE2eStack, waitFor, type ApiResponse, type E2eStack } from '../support/e2e-stack.js';
import { referenceVerify } from '../unit/webhooks/standard-webhooks-reference.js';

const retail = DEMO_SUBSCRIPTIONS.retail;
const DINE = `/providers/Microsoft.Authorization/policyDefinitions/${POLICY_IDS.arcPolicyExtensionDeployIfNotExists}`;
const SET_ASSIGNMENT = `/subscriptions/${retail}/providers/Microsoft.Authorization/policyAssignments/arc-extensions`;

type Received = ReceivedWebhook;
interface Envelope {
  readonly type: string;
  readonly data: Record<string, unknown>;
}
interface RemediationBody {
  id: string;
  status: string;
  clusterIds: string[];
  tasks: { subscriptionId: string; armId: string | null; provisioningState: string; deployments?: { total: number; succeeded: number; failed: number } }[];
}


const received: Received[] = [];
let receiver: WebhookReceiver | undefined;
let e: E2eStack;
let token: string;
let secret: string;
let webhookId: string;

async function call<T>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
  const res = await fetch(`${e.stack.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T, headers: res.headers };
}

const completedEvents = (): { received: Received; envelope: Envelope }[] =>
  received.map((r) => ({ received: r, envelope: JSON.parse(r.body) as Envelope })).filter((x) => x.envelope.type === 'remediation.completed');

beforeAll(async () => {
  receiver = await startWebhookReceiver(received);
  const { port } = receiver;
  e = await startE2eStack({
    fleet: demoFleetWithExtensionFindings(new Date()),
    // Long enough that the 202 shows the task still Accepted, short enough for a quick test.
    emulator: { remediationDelayMs: 1000 },
    settings: { WEBHOOK_ALLOWLIST: `127.0.0.1:${port}` },
  });
  token = await e.stack.issuer!.mintToken({ roles: ['Compliance.Read', 'Remediation.Run', 'Webhooks.Manage'], oid: 'e2e-remediator', appid: 'e2e-app' });
  const hook = await call<{ webhook: { id: string }; secret: string }>('POST', '/v1/webhooks', {
    url: `http://127.0.0.1:${port}/hooks/remediations`,
    events: ['remediation.completed'],
    format: 'standard',
    description: 'e2e remediation receiver',
  });
  expect(hook.status, JSON.stringify(hook.body)).toBe(201);
  secret = hook.body.secret;
  webhookId = hook.body.webhook.id;
  // Evaluated clusters: subscription-wide remediation targets the clusters failing the control.
  expect((await e.timerRun()).status).toBe('succeeded');

  // The operator's step, through ARM: the DeployIfNotExists policy only inside a custom initiative.
  const emulator = e.stack.emulator!;
  const policy = new PolicyClient(new DefaultAzureCredential(), retail, { endpoint: emulator.url, tlsOptions: { ca: emulator.caCertPem } });
  await policy.policySetDefinitions.createOrUpdate('arc-extensions', {
    displayName: 'Arc cluster extensions',
    parameters: { extensionEffect: { type: 'String', defaultValue: 'DeployIfNotExists', allowedValues: ['DeployIfNotExists', 'Disabled'] } },
    policyDefinitions: [{ policyDefinitionId: DINE, policyDefinitionReferenceId: 'deployPolicyExtension', parameters: { effect: { value: "[parameters('extensionEffect')]" } } }],
  });
  await policy.policyAssignments.create(`subscriptions/${retail}`, 'arc-extensions', {
    policyDefinitionId: `/subscriptions/${retail}/providers/Microsoft.Authorization/policySetDefinitions/arc-extensions`,
    parameters: { effect: { value: 'DeployIfNotExists' } },
    identity: { type: 'SystemAssigned' },
    location: 'westeurope',
  });
}, 90_000);

afterAll(async () => {
  await e?.stop();
  await receiver?.close();
});

it('starts under the initiative assignment, completes, and delivers a signed remediation.completed once', async () => {
  const failing = await call<{ value: { id: string }[] }>('GET', `/v1/clusters?subscriptionId=${retail}&controlId=ARC-PL-01`);
  const failingIds = failing.body.value.map((c) => c.id);
  expect(failingIds.length).toBeGreaterThan(1);

  const started = await call<RemediationBody>('POST', '/v1/remediations', { controlId: 'ARC-PL-01', subscriptionId: retail });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  expect(started.body).toMatchObject({ controlId: 'ARC-PL-01', status: 'running', requestedBy: 'e2e-remediator' });
  expect([...started.body.clusterIds].sort()).toEqual([...failingIds].sort());
  const task = started.body.tasks[0]!;
  expect(task).toMatchObject({ subscriptionId: retail, provisioningState: 'Accepted' });

  // What ARM was asked: the initiative assignment, the member's reference id, exactly the failing clusters.
  const emulator = e.stack.emulator!;
  const created = emulator.fleet.remediations.find((r) => r.id.toLowerCase() === task.armId!.toLowerCase());
  expect(created?.['properties']).toMatchObject({ policyAssignmentId: SET_ASSIGNMENT, policyDefinitionReferenceId: 'deployPolicyExtension', filters: { resourceIds: started.body.clusterIds } });
  const deployed = (emulator.state.remediationDeployments.get(task.armId!.toLowerCase()) ?? []).map((d) => String(d['remediatedResourceId']));
  expect(deployed.sort()).toEqual(failingIds.map((id) => id.toLowerCase()).sort());

  const location = new URL(started.headers.get('location') ?? '').pathname.replace(/^\/api/, '');
  const done = await waitFor('the remediation to succeed', async () => {
    const got = await call<RemediationBody>('GET', location);
    return got.body.status === 'succeeded' ? got.body : undefined;
  }, 20_000, 250);
  expect(done.tasks[0]).toMatchObject({ provisioningState: 'Succeeded', deployments: { total: failingIds.length, succeeded: failingIds.length, failed: 0 } });

  const [event] = await waitFor('remediation.completed at the receiver', async () => {
    const found = completedEvents().filter((x) => x.envelope.data['remediationId'] === started.body.id);
    return found.length > 0 ? found : undefined;
  }, 20_000);
  expect(await referenceVerify(secret, event!.received.headers, event!.received.body, event!.received.receivedAtSeconds)).toBe(true);
  expect(event!.envelope.data).toMatchObject({
    remediationId: started.body.id,
    controlId: 'ARC-PL-01',
    severity: 'high',
    status: 'succeeded',
    requestedBy: 'e2e-remediator',
    subscriptionIds: [retail],
    tasks: [{ subscriptionId: retail, armId: task.armId, provisioningState: 'Succeeded', deployments: { total: failingIds.length, succeeded: failingIds.length, failed: 0 } }],
  });
  expect([...(event!.envelope.data['clusterIds'] as string[])].sort()).toEqual([...failingIds].sort());

  // Later reads publish nothing new: the event id is the remediation's, so one delivery record stays.
  expect((await call<RemediationBody>('GET', location)).body.status).toBe('succeeded');
  // (The receiver answered before the record says so: wait for the first delivery to read delivered.)
  const deliveries = await waitFor('the delivery record to say delivered', async () => {
    const list = await call<{ value: { eventType: string; status: string }[] }>('GET', `/v1/webhooks/${webhookId}/deliveries?top=100`);
    const ofEvent = list.body.value.filter((d) => d.eventType === 'remediation.completed');
    return ofEvent.some((d) => d.status === 'delivered') ? ofEvent : undefined;
  });
  expect(deliveries).toEqual([expect.objectContaining({ status: 'delivered' })]);
}, 60_000);

it('limits the remediation to the requested clusters (filters.resourceIds)', async () => {
  const failing = await call<{ value: { id: string }[] }>('GET', `/v1/clusters?subscriptionId=${retail}&controlId=ARC-PL-01`);
  const one = failing.body.value[0]!.id;
  const started = await call<RemediationBody>('POST', '/v1/remediations', { controlId: 'ARC-PL-01', clusterIds: [one] });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const armId = started.body.tasks[0]!.armId!;
  expect((e.stack.emulator!.state.remediationDeployments.get(armId.toLowerCase()) ?? []).map((d) => d['remediatedResourceId'])).toEqual([one.toLowerCase()]);
  const location = new URL(started.headers.get('location') ?? '').pathname.replace(/^\/api/, '');
  const done = await waitFor('the single-cluster remediation to succeed', async () => {
    const got = await call<RemediationBody>('GET', location);
    return got.body.status === 'succeeded' ? got.body : undefined;
  }, 20_000, 250);
  expect(done.tasks[0]?.deployments).toEqual({ total: 1, succeeded: 1, failed: 0 });
  const [event] = await waitFor('its remediation.completed', async () => {
    const found = completedEvents().filter((x) => x.envelope.data['remediationId'] === started.body.id);
    return found.length > 0 ? found : undefined;
  }, 20_000);
  expect(event!.envelope.data).toMatchObject({ clusterIds: [one], status: 'succeeded' });
}, 60_000);

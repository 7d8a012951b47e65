/**
 * `remediation.completed` without anyone reading the remediation, through the local Functions runtime:
 * `POST /api/v1/remediations` schedules a delayed check on `remediation-checks` (1 s here, through
 * `REMEDIATION_CHECK_DELAY_SECONDS`), the `remediationCheck` function reads the ARM emulator's task
 * until it is terminal (re-queueing itself with a growing delay meanwhile), publishes the event, and
 * `webhook-deliveries` delivers it to a receiver on loopback. No `GET` of the remediation is made before
 * the event arrives; a redelivered check afterwards makes no second delivery.
 */
import { DefaultAzureCredential } from '@azure/identity';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ArmPolicyAdmin } from '../../adapters/arm/policy-admin.js';
import { REMEDIATION_QUEUES, WEBHOOK_QUEUES, type RemediationCheckMessage } from '../../application/messages.js';
import { POLICY_IDS } from '../../domain/control-catalog.js';
import { DEMO_SUBSCRIPTIONS } from '../../local/arm-emulator/fleet/index.js';
import { demoFleetWithExtensionFindings } from '../support/remediation-fleet.js';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../support/webhook-receiver.js';
import { startE2eStack, waitFor, type ApiResponse, type E2eStack } from '../support/e2e-stack.js';
import { referenceVerify } from '../unit/webhooks/standard-webhooks-reference.js';

const retail = DEMO_SUBSCRIPTIONS.retail;
const DINE = `/providers/Microsoft.Authorization/policyDefinitions/${POLICY_IDS.arcPolicyExtensionDeployIfNotExists}`;

type Received = ReceivedWebhook;
interface RemediationBody {
  id: string;
  status: string;
  clusterIds: string[];
  tasks: { subscriptionId: string; armId: string | null; provisioningState: string }[];
  pollingStopped?: unknown;
}

/** The demo fleet, non-compliant with the "install the Azure Policy extension" definition where the extension is missing. */

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

const completedEventsOf = (remediationId: string): Received[] =>
  received.filter((r) => {
    const envelope = JSON.parse(r.body) as { type: string; data: Record<string, unknown> };
    return envelope.type === 'remediation.completed' && envelope.data['remediationId'] === remediationId;
  });

/** Log lines the check function wrote about one remediation. */
const checkLogs = (remediationId: string): string[] =>
  e.logs.filter((l) => l.functionName === 'remediationCheck' && l.message.includes(`remediation ${remediationId}:`)).map((l) => l.message);

beforeAll(async () => {
  receiver = await startWebhookReceiver(received);
  const { port } = receiver;
  e = await startE2eStack({
    fleet: demoFleetWithExtensionFindings(new Date()),
    // Well beyond the first check (1 s), so at least one check finds the task still running and
    // re-queues itself (checks at about 1 s, 3 s, 7 s).
    emulator: { remediationDelayMs: 4000 },
    settings: { WEBHOOK_ALLOWLIST: `127.0.0.1:${port}`, REMEDIATION_CHECK_DELAY_SECONDS: '1' },
  });
  token = await e.stack.issuer!.mintToken({ roles: ['Compliance.Read', 'Remediation.Run', 'Webhooks.Manage'], oid: 'e2e-remediator', appid: 'e2e-app' });
  const hook = await call<{ webhook: { id: string }; secret: string }>('POST', '/v1/webhooks', {
    url: `http://127.0.0.1:${port}/hooks/remediations`,
    events: ['remediation.completed'],
    format: 'standard',
  });
  expect(hook.status, JSON.stringify(hook.body)).toBe(201);
  secret = hook.body.secret;
  webhookId = hook.body.webhook.id;
  expect((await e.timerRun()).status).toBe('succeeded');
  // The operator's step: assign the DeployIfNotExists policy (with an identity) through ARM.
  const admin = new ArmPolicyAdmin({ endpoint: e.stack.emulator!.url, credential: new DefaultAzureCredential(), caCertPem: e.stack.emulator!.caCertPem });
  await admin.replaceAssignment(`/subscriptions/${retail}/providers/Microsoft.Authorization/policyAssignments/deploy-policy-extension`, {
    displayName: 'Install the Azure Policy extension',
    policyDefinitionId: DINE,
    parameters: { effect: { value: 'DeployIfNotExists' } },
    identity: { type: 'SystemAssigned' },
    location: 'westeurope',
  });
}, 90_000);

afterAll(async () => {
  await e?.stop();
  await receiver?.close();
});

it('delivers remediation.completed for a started remediation that nobody reads, once, even when a check is redelivered', async () => {
  const started = await call<RemediationBody>('POST', '/v1/remediations', { controlId: 'ARC-PL-01', subscriptionId: retail });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  expect(started.body).toMatchObject({ controlId: 'ARC-PL-01', status: 'running' });
  const id = started.body.id;

  const [event] = await waitFor('remediation.completed at the receiver', async () => {
    const found = completedEventsOf(id);
    return found.length > 0 ? found : undefined;
  }, 30_000, 200);
  expect(await referenceVerify(secret, event!.headers, event!.body, event!.receivedAtSeconds)).toBe(true);
  expect((JSON.parse(event!.body) as { data: unknown }).data).toMatchObject({
    remediationId: id,
    controlId: 'ARC-PL-01',
    status: 'succeeded',
    requestedBy: 'e2e-remediator',
    tasks: [{ subscriptionId: retail, armId: started.body.tasks[0]!.armId, provisioningState: 'Succeeded' }],
  });

  // Nobody read it: the API served the start and no getRemediation (functions are named by operation id).
  const httpFunctions = new Set(e.logs.map((l) => l.functionName));
  expect(httpFunctions.has('startRemediation')).toBe(true);
  expect(httpFunctions.has('getRemediation')).toBe(false);
  // The checks: at least one found the task running and re-queued itself; the last published.
  const logs = checkLogs(id);
  expect(logs.some((m) => /: running; check \d+ in \d+ s$/.test(m)), logs.join('\n')).toBe(true);
  expect(logs.at(-1)).toMatch(/: succeeded, remediation\.completed published$/);
  // Completion ends the chain: nothing more is scheduled.
  await e.waitForQueueEmpty(REMEDIATION_QUEUES.checks);

  // The host redelivers a check (e.g. its deletion was lost): it publishes again, which delivers nothing new.
  const checksBefore = logs.length;
  const again: RemediationCheckMessage = { kind: 'remediation-check', remediationId: id, attempt: 1 };
  const queue = e.queue(REMEDIATION_QUEUES.checks);
  await queue.sendMessage(Buffer.from(JSON.stringify(again)).toString('base64'));
  await waitFor('the redelivered check to run', async () => (checkLogs(id).length > checksBefore ? true : undefined), 20_000);
  expect(checkLogs(id).at(-1)).toMatch(/: succeeded, remediation\.completed published$/);
  await e.waitForQueueEmpty(REMEDIATION_QUEUES.checks);
  await e.waitForQueueEmpty(WEBHOOK_QUEUES.deliveries);
  expect(completedEventsOf(id)).toHaveLength(1);
  const deliveries = await call<{ value: { eventType: string; status: string }[] }>('GET', `/v1/webhooks/${webhookId}/deliveries?top=100`);
  expect(deliveries.body.value.filter((d) => d.eventType === 'remediation.completed')).toEqual([expect.objectContaining({ status: 'delivered' })]);

  // Reading it now shows the result, and polling did not stop early.
  const shown = await call<RemediationBody>('GET', `/v1/remediations/${id}`);
  expect(shown.body.status).toBe('succeeded');
  expect(shown.body.pollingStopped).toBeUndefined();
}, 90_000);

/**
 * Outbound webhooks end to end through the local Functions runtime: events published by real evaluation runs
 * and delivered by the `webhook-deliveries` queue function.
 *
 * - A `standard` webhook to a loopback receiver (allowlisted): every delivery's signature is checked
 *   with the independent WebCrypto implementation of the Standard Webhooks spec in the test suite.
 * - A `servicenow-incident` webhook to the ServiceNow stand-in `npm start` also runs: over three runs
 *   with drift, the incident of (store-ams-001, ARC-AC-01) is created once, updated (not duplicated)
 *   while the control keeps failing, and resolved when it passes again.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { EvaluationView } from '../../application/compliance-query-service.js';
import { incidentCorrelationId } from '../../domain/servicenow-mapping.js';
import type { FleetCluster } from '../../local/arm-emulator/fleet-model.js';
import type { StandInIncident } from '../../local/servicenow-stand-in.js';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../support/webhook-receiver.js';
import { startE2eStack, waitFor, type ApiResponse, type E2eStack } from '../support/e2e-stack.js';
import { referenceVerify } from '../unit/webhooks/standard-webhooks-reference.js';

type Received = ReceivedWebhook;
interface Envelope {
  readonly type: string;
  readonly timestamp: string;
  readonly data: Record<string, unknown>;
}

const received: Received[] = [];
let receiver: WebhookReceiver | undefined;
let receiverUrl: string;
let e: E2eStack;
let standard: { id: string; secret: string };
let incidentHook: { id: string };
let cluster: FleetCluster;
const runs: EvaluationView[] = [];

const setRbac = (c: FleetCluster, enabled: boolean): void => {
  (c.resource['properties'] as { aadProfile: { enableAzureRBAC: boolean } }).aadProfile.enableAzureRBAC = enabled;
};

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

const envelopes = (): Envelope[] => received.map((r) => JSON.parse(r.body) as Envelope);
const incidentsFor = (correlationId: string): StandInIncident[] => [...e.stack.serviceNow!.incidents.values()].filter((i) => i.correlation_id === correlationId);

beforeAll(async () => {
  receiver = await startWebhookReceiver(received);
  const { port } = receiver;
  receiverUrl = `http://127.0.0.1:${port}/hooks/arc`;
  e = await startE2eStack({ settings: { WEBHOOK_ALLOWLIST: `127.0.0.1:${port}` } });
  expect(e.stack.serviceNow, 'the local stack runs the ServiceNow stand-in').toBeDefined();
  cluster = e.cluster('store-ams-001');

  const s = await manage<{ webhook: { id: string }; secret: string }>('POST', '/v1/webhooks', {
    url: receiverUrl,
    events: ['evaluation.completed', 'cluster.compliance.changed'],
    format: 'standard',
    description: 'e2e receiver',
  });
  expect(s.status, JSON.stringify(s.body)).toBe(201);
  expect(s.body.secret).toMatch(/^whsec_/);
  standard = { id: s.body.webhook.id, secret: s.body.secret };
  const sn = await manage<{ webhook: { id: string }; secret?: string }>('POST', '/v1/webhooks', {
    url: e.stack.serviceNow!.url,
    events: ['cluster.compliance.changed'],
    format: 'servicenow-incident',
  });
  expect(sn.status, JSON.stringify(sn.body)).toBe(201);
  expect(sn.body.secret).toBeUndefined();
  incidentHook = { id: sn.body.webhook.id };

  // Baseline: the first run has nothing to compare with, so it reports no drift.
  runs.push(await e.timerRun());
}, 60_000);

afterAll(async () => {
  await e?.stop();
  await receiver?.close();
});

const AC01 = (): string => incidentCorrelationId(cluster.resource.id, 'ARC-AC-01');

it('opens one incident when the control starts failing, updates it on further drift, resolves it when it passes again', async () => {
  expect(runs[0]!.status).toBe('succeeded');
  expect(incidentsFor(AC01())).toEqual([]);

  // Run 1: Azure RBAC turned off → ARC-AC-01 pass → fail → one incident.
  setRbac(cluster, false);
  runs.push(await e.timerRun());
  const [created] = await waitFor('the ARC-AC-01 incident', async () => (incidentsFor(AC01()).length > 0 ? incidentsFor(AC01()) : undefined));
  expect(incidentsFor(AC01())).toHaveLength(1);
  expect(created!.active).toBe('true');
  expect(created!.short_description).toContain('ARC-AC-01');
  expect(created!.short_description).toContain('store-ams-001');
  expect(created!.assignment_group).toBe('Platform Security');
  expect(created!.correlation_display).toBe('arc-compliance');

  // Run 2: a second control drifts (environment tag removed) while ARC-AC-01 keeps failing → the same
  // incident is updated with a work note, a new one is opened for ARC-AC-04 only.
  const tags = cluster.resource['tags'] as Record<string, string>;
  delete tags['Environment'];
  runs.push(await e.timerRun());
  const ac04 = incidentCorrelationId(cluster.resource.id, 'ARC-AC-04');
  await waitFor('the ARC-AC-04 incident and a work note on ARC-AC-01', async () =>
    incidentsFor(ac04).length === 1 && (e.stack.serviceNow!.workNotes.get(created!.sys_id) ?? []).length > 0 ? true : undefined,
  );
  expect(incidentsFor(AC01())).toHaveLength(1);
  expect(incidentsFor(AC01())[0]!.sys_id).toBe(created!.sys_id);
  expect(incidentsFor(AC01())[0]!.active).toBe('true');
  expect(e.stack.serviceNow!.workNotes.get(created!.sys_id)!.at(-1)).toContain(runs[2]!.id);

  // Run 3: RBAC back on → ARC-AC-01 passes → its incident is resolved; ARC-AC-04 stays open.
  setRbac(cluster, true);
  runs.push(await e.timerRun());
  const resolved = await waitFor('the ARC-AC-01 incident resolved', async () => {
    const i = e.stack.serviceNow!.incidents.get(created!.sys_id);
    return i?.state === '6' ? i : undefined;
  });
  expect(resolved.active).toBe('false');
  expect(resolved.close_notes ?? '').not.toBe('');
  expect(incidentsFor(AC01())).toHaveLength(1);
  expect(incidentsFor(ac04)).toHaveLength(1);
  expect(incidentsFor(ac04)[0]!.active).toBe('true');
  expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);

  // The deliveries log shows what ServiceNow was asked to do.
  const log = await manage<{ value: { status: string; eventType: string; attempts: { responseExcerpt?: string }[] }[] }>('GET', `/v1/webhooks/${incidentHook.id}/deliveries`);
  expect(log.status).toBe(200);
  expect(log.body.value.length).toBeGreaterThanOrEqual(3);
  const excerpts = log.body.value.flatMap((d) => d.attempts.map((a) => a.responseExcerpt ?? '')).join('\n');
  expect(excerpts).toContain(`created ${created!.number}`);
  expect(excerpts).toContain(`updated ${created!.number}`);
  expect(excerpts).toContain(`resolved ${created!.number}`);
}, 60_000);

it('signs every standard delivery per Standard Webhooks (checked by an independent implementation)', async () => {
  // Every run's evaluation.completed reaches the receiver.
  await waitFor('evaluation.completed of every run', async () => {
    const done = new Set(envelopes().filter((x) => x.type === 'evaluation.completed').map((x) => x.data['runId']));
    return runs.every((r) => done.has(r.id)) ? true : undefined;
  });
  expect(received.length).toBeGreaterThan(0);
  for (const r of received) {
    expect(await referenceVerify(standard.secret, r.headers, r.body, r.receivedAtSeconds), r.body.slice(0, 120)).toBe(true);
    // A wrong key does not verify (the check can fail).
    expect(await referenceVerify(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, r.headers, r.body, r.receivedAtSeconds)).toBe(false);
    expect(r.headers['content-type']).toContain('application/json');
  }
  const ids = received.map((r) => r.headers['webhook-id']);
  expect(new Set(ids).size, 'one delivery per event id').toBe(ids.length);

  const completed = envelopes().filter((x) => x.type === 'evaluation.completed');
  const last = completed.find((x) => x.data['runId'] === runs[3]!.id)!;
  expect(last.data).toMatchObject({ runId: runs[3]!.id, status: 'succeeded', trigger: 'timer', clustersEvaluated: runs[3]!.clustersEvaluated, subscriptionsFailed: 0 });
  expect(typeof last.data['averageScore']).toBe('number');

  // cluster.compliance.changed: nothing on the baseline run, the regression on run 1, the improvement on run 3.
  const changed = envelopes().filter((x) => x.type === 'cluster.compliance.changed' && String(x.data['clusterId']).toLowerCase() === cluster.resource.id.toLowerCase());
  expect(changed.map((x) => x.data['runId'])).toEqual(expect.arrayContaining([runs[1]!.id, runs[2]!.id, runs[3]!.id]));
  expect(changed.some((x) => x.data['runId'] === runs[0]!.id)).toBe(false);
  const regression = changed.find((x) => x.data['runId'] === runs[1]!.id)!;
  expect(regression.data['changes']).toEqual([expect.objectContaining({ controlId: 'ARC-AC-01', from: 'pass', to: 'fail', kind: 'regression', severity: 'high' })]);
  expect((regression.data['failing'] as { controlId: string }[]).map((f) => f.controlId)).toContain('ARC-AC-01');
  expect(regression.data['score']).toBeLessThan(regression.data['previousScore'] as number);
  const improvement = changed.find((x) => x.data['runId'] === runs[3]!.id)!;
  expect(improvement.data['changes']).toEqual([expect.objectContaining({ controlId: 'ARC-AC-01', from: 'fail', to: 'pass', kind: 'improvement' })]);

  // The deliveries API agrees: every standard delivery delivered on its first attempt.
  const log = await manage<{ value: { status: string; attempts: { statusCode?: number }[] }[] }>('GET', `/v1/webhooks/${standard.id}/deliveries?top=100`);
  expect(log.status).toBe(200);
  expect(log.body.value.length).toBe(received.length);
  for (const d of log.body.value) {
    expect(d.status).toBe('delivered');
    expect(d.attempts.map((a) => a.statusCode)).toEqual([204]);
  }
});

it('dead-letters a delivery whose queue message fails on every delivery, with the cause, instead of losing it to the poison queue', async () => {
  const created = await manage<{ webhook: { id: string } }>('POST', '/v1/webhooks', { url: `${receiverUrl}/poisoned`, events: ['evaluation.completed'], format: 'standard' });
  expect(created.status).toBe(201);
  const id = created.body.webhook.id;
  // Its stored secret no longer decrypts (as with a replaced WEBHOOK_SECRET_KEY): every attempt throws.
  await e.table('webhooks').updateEntity({ partitionKey: 'webhook', rowKey: id, secretCurrent: 'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA' }, 'Merge');
  const before = received.length;
  const run = await e.timerRun();
  type DeliveryLog = { value: { id: string; status: string; reason?: string; attempts: { outcome: string; error?: string }[] }[] };
  const dead = await waitFor('the delivery dead-lettered', async () => {
    const log = await manage<DeliveryLog>('GET', `/v1/webhooks/${id}/deliveries`);
    const d = log.body.value[0];
    return d?.status === 'dead-lettered' ? d : undefined;
  });
  expect(dead.reason).toMatch(/^attempt 1 could not be completed \(its queue message failed 5 times\): .*decrypt/);
  expect(dead.attempts).toEqual([expect.objectContaining({ outcome: 'failed', error: dead.reason })]);
  const deadLetters = await e.queue('webhook-deliveries-deadletter').peekMessages({ numberOfMessages: 32 });
  const mine = deadLetters.peekedMessageItems.map((m) => JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as { deliveryId: string; reason: string });
  expect(mine.find((m) => m.deliveryId === dead.id)?.reason).toBe(dead.reason);
  // No request was made for it; the other webhook got this run's event as usual, once.
  expect(dead.attempts[0]).not.toHaveProperty('statusCode');
  await waitFor('the run reaches the standard receiver', async () => (envelopes().some((x) => x.type === 'evaluation.completed' && x.data['runId'] === run.id) ? true : undefined));
  expect(received.slice(before).filter((r) => r.body.includes(run.id) && r.body.includes('evaluation.completed'))).toHaveLength(1);
}, 60_000);

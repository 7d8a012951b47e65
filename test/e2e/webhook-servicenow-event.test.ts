/**
 * The `servicenow-event` path end to end through the local Functions runtime: a webhook created through
 * the API with the ServiceNow stand-in's URL; real evaluation runs publish `evaluation.completed` and
 * `cluster.compliance.changed`; the `webhook-deliveries` queue function sends Event Management records
 * (`POST /api/global/em/jsonv2`, basic auth from the `SERVICENOW_*` settings the local stack sets).
 * Asserted on what the stand-in received: one record per changed control (failing with the control's
 * severity, then clear), one per run, no incident touched, and a ServiceNow outage retried without
 * duplicating a record. Each attempt left its claim and expiry entry in `webhookinbound`.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { EvaluationView } from '../../application/compliance-query-service.js';
import type { DeliveryView } from '../../domain/webhook-subscription.js';
import { incidentCorrelationId } from '../../domain/servicenow-mapping.js';
import type { FleetCluster } from '../../local/arm-emulator/fleet-model.js';
import type { ServiceNowStandIn } from '../../local/servicenow-stand-in.js';
import { startE2eStack, waitFor, type ApiResponse, type E2eStack } from '../support/e2e-stack.js';

let e: E2eStack;
let sn: ServiceNowStandIn;
let hookId: string;
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

type Rec = Record<string, unknown>;
const runRecords = (runId: string): Rec[] => sn.events.filter((r) => r['type'] === 'evaluation.completed' && r['resource'] === runId);
const controlRecords = (controlId: string): Rec[] => sn.events.filter((r) => r['message_key'] === incidentCorrelationId(cluster.resource.id, controlId));
const info = (r: Rec): Record<string, unknown> => JSON.parse(String(r['additional_info'])) as Record<string, unknown>;

beforeAll(async () => {
  e = await startE2eStack();
  expect(e.stack.serviceNow, 'the local stack runs the ServiceNow stand-in').toBeDefined();
  sn = e.stack.serviceNow!;
  cluster = e.cluster('store-ams-001');
  const created = await manage<{ webhook: { id: string; format: string }; secret?: string }>('POST', '/v1/webhooks', {
    url: sn.url,
    events: ['evaluation.completed', 'cluster.compliance.changed'],
    format: 'servicenow-event',
    description: 'e2e Event Management',
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect(created.body.webhook.format).toBe('servicenow-event');
  expect(created.body.secret).toBeUndefined();
  hookId = created.body.webhook.id;
  runs.push(await e.timerRun());
}, 60_000);

afterAll(async () => {
  await e?.stop();
});

it('sends Event Management records for runs and control drift, retries an outage once, and never opens an incident', async () => {
  expect(runs[0]!.status).toBe('succeeded');
  // The baseline run: its own record, nothing for the cluster (no previous run to drift from).
  const [first] = await waitFor('the baseline run record', async () => (runRecords(runs[0]!.id).length > 0 ? runRecords(runs[0]!.id) : undefined));
  expect(first).toMatchObject({ source: 'arc-compliance', node: 'arc-compliance', type: 'evaluation.completed', severity: '5', message_key: `evaluation#${runs[0]!.id}` });
  expect(info(first!)).toMatchObject({ runId: runs[0]!.id, status: 'succeeded' });
  expect(controlRecords('ARC-AC-01')).toEqual([]);

  // Run 1: Azure RBAC off → ARC-AC-01 (high) fails → a severity 1 record keyed like the incident would be.
  setRbac(cluster, false);
  runs.push(await e.timerRun());
  const [failing] = await waitFor('the ARC-AC-01 failure record', async () => (controlRecords('ARC-AC-01').length > 0 ? controlRecords('ARC-AC-01') : undefined));
  expect(failing).toMatchObject({ source: 'arc-compliance', node: 'store-ams-001', resource: 'ARC-AC-01', type: 'Arc compliance', severity: '1' });
  expect(String(failing!['description'])).toMatch(/^Control ARC-AC-01 fails on store-ams-001: /);
  expect(info(failing!)).toEqual({ clusterId: cluster.resource.id, subscriptionId: expect.any(String), runId: runs[1]!.id, from: 'pass', to: 'fail', severity: 'high' });

  // Run 2: RBAC back on, and ServiceNow answers the next call 503: that delivery is retried after the
  // backoff (≈ 5 s); the clear record and the run record each arrive once.
  await waitFor('run 1 records delivered', async () => (runRecords(runs[1]!.id).length === 1 ? true : undefined));
  sn.failNext(1, 503);
  setRbac(cluster, true);
  runs.push(await e.timerRun());
  await waitFor('the ARC-AC-01 clear record and the run 2 record', async () => (controlRecords('ARC-AC-01').length === 2 && runRecords(runs[2]!.id).length === 1 ? true : undefined));
  const cleared = controlRecords('ARC-AC-01')[1]!;
  expect(cleared).toMatchObject({ node: 'store-ams-001', resource: 'ARC-AC-01', severity: '0', description: 'Control ARC-AC-01 is pass on store-ams-001.' });
  expect(info(cleared)).toMatchObject({ runId: runs[2]!.id, from: 'fail', to: 'pass' });

  // The deliveries log: everything delivered, exactly one delivery needed a second attempt.
  const log = await waitFor('every delivery finished', async () => {
    const res = await manage<{ value: DeliveryView[] }>('GET', `/v1/webhooks/${hookId}/deliveries?top=100`);
    return res.status === 200 && res.body.value.length > 0 && res.body.value.every((d) => d.status === 'delivered') ? res.body.value : undefined;
  });
  const retried = log.filter((d) => d.attempts.length > 1);
  expect(retried.map((d) => d.attempts.map((a) => [a.outcome, a.statusCode]))).toEqual([[['failed', 503], ['delivered', 200]]]);
  for (const d of log) expect(d.attempts.at(-1)!.responseExcerpt).toMatch(/^sent \d+ event record\(s\)$/);

  // No duplicate: one record per run, per changed control, per cluster; ServiceNow saw only EM calls.
  for (const run of runs) expect(runRecords(run.id)).toHaveLength(1);
  const perChange = sn.events.filter((r) => r['type'] === 'Arc compliance').map((r) => `${String(r['message_key'])} ${String(info(r)['runId'])}`);
  expect(new Set(perChange).size).toBe(perChange.length);
  expect(new Set(sn.requests.map((r) => `${r.method} ${r.path} ${r.auth}`))).toEqual(new Set(['POST /api/global/em/jsonv2 basic']));
  expect(sn.requests).toHaveLength(log.reduce((n, d) => n + d.attempts.length, 0));
  expect(sn.incidents.size).toBe(0);

  // Every attempt was claimed once in webhookinbound, with its expiry entry on the attempt's UTC day, and
  // the claim itself names the one queue message that holds it (no separate owner rows).
  const attemptRows = (await e.entities('webhookinbound')).filter((r) => r.partitionKey === 'webhook-attempt');
  const rows = attemptRows.map((r) => r.rowKey);
  const expected = log.flatMap((d) => d.attempts.map((a) => [`${hookId}:${d.id}:${a.attempt}`, `~|${a.at.slice(0, 10)}|${hookId}:${d.id}:${a.attempt}`])).flat();
  expect(rows.sort()).toEqual(expected.sort());
  const claims = attemptRows.filter((r) => !r.rowKey.startsWith('~|'));
  expect(claims.map((r) => r['owner'])).toEqual(claims.map(() => expect.stringMatching(/^[0-9a-f-]{36}$/)));
}, 90_000);

/**
 * `POST /api/v1/remediations` with more clusters than one ARM remediation takes, through the HTTP
 * pipeline: the 202 and the later GET list one task per 100 clusters of a subscription, each with its
 * clusters, and both match the OpenAPI document (`documented` validates every body). Subscription mode
 * with more than 1000 failing clusters is refused before anything starts.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { documented } from '../../support/api-expect.js';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { SUB_A, SUB_B, clusterId } from '../../support/api-fixtures.js';
import { clusterState } from '../storage/fixtures.js';

const SUB_C = '00000000-0000-0000-0000-00000000000c';

let h: ApiHarness;
let token: string;

beforeAll(async () => {
  h = await startApiHarness();
  token = await h.token(['Compliance.Read', 'Remediation.Run'], { oid: 'caller-oid', appid: 'caller-app' });
});
afterAll(async () => h?.stop());

interface RemediationBody {
  id: string;
  status: string;
  clusterIds: string[];
  tasks: { subscriptionId: string; clusterIds: string[]; armId: string | null; provisioningState: string }[];
  error?: { code: string; target?: string };
}

async function call(op: string, method: string, path: string, body?: unknown): Promise<{ status: number; location: string | null; body: RemediationBody }> {
  const res = await h.request(method, path, { token, ...(body !== undefined ? { body } : {}) });
  return { status: res.status, location: res.headers.get('location'), body: (await documented(op, res)) as RemediationBody };
}

it('202 with one task per 100 clusters of each subscription, each listing its clusters; GET reads them back', async () => {
  const a = Array.from({ length: 230 }, (_, i) => clusterId(SUB_A, 'rg-edge', `store-${i}`));
  const b = Array.from({ length: 12 }, (_, i) => clusterId(SUB_B, 'rg-plant', `plant-${i}`));

  const started = await call('startRemediation', 'POST', '/api/v1/remediations', { controlId: 'ARC-PL-01', clusterIds: [...a, ...b] });

  expect(started.status).toBe(202);
  expect(started.body.tasks.map((t) => [t.subscriptionId, t.clusterIds.length, t.provisioningState])).toEqual([
    [SUB_A, 100, 'Accepted'],
    [SUB_A, 100, 'Accepted'],
    [SUB_A, 30, 'Accepted'],
    [SUB_B, 12, 'Accepted'],
  ]);
  expect(started.body.tasks.flatMap((t) => t.clusterIds)).toEqual([...a, ...b]);
  expect(h.ports.remediationStarter.started.every((s) => s.resourceIds.length <= 100)).toBe(true);
  // One completion check for the request, after the app's first delay.
  expect(h.ports.remediationChecks.sent.filter((c) => c.message.remediationId === started.body.id)).toEqual([
    { message: { kind: 'remediation-check', remediationId: started.body.id, attempt: 1 }, visibilityDelaySeconds: 60 },
  ]);

  const got = await call('getRemediation', 'GET', new URL(started.location ?? '').pathname);
  expect(got.status).toBe(200);
  expect(got.body.tasks).toEqual(started.body.tasks);
});

it('422 LimitExceeded for a subscription with more than 1000 failing clusters, and no task started', async () => {
  await h.ports.clusters.upsertMany(Array.from({ length: 1001 }, (_, i) => clusterState(SUB_C, 'rg-edge', `store-${i}`, { failing: ['ARC-PL-01'] })));
  const before = h.ports.remediationStarter.started.length;
  const checksBefore = h.ports.remediationChecks.sent.length;

  const refused = await call('startRemediation', 'POST', '/api/v1/remediations', { controlId: 'ARC-PL-01', subscriptionId: SUB_C });

  expect(refused.status).toBe(422);
  expect(refused.body.error).toMatchObject({ code: 'LimitExceeded', target: 'subscriptionId' });
  expect(h.ports.remediationStarter.started.length).toBe(before);
  expect(h.ports.remediationChecks.sent.length).toBe(checksBefore);
});

/**
 * Crash drill: the Functions host is killed (SIGKILL) while a webhook delivery is in flight — the
 * receiver has the request and holds it open, so the attempt is neither answered nor recorded — and
 * started again on the same storage. The queue redelivers the message, whose own earlier delivery
 * claimed the attempt, and it sends again: the receiver gets the event at least once, every copy under
 * the same `webhook-id`, and the delivery is recorded once (one record, delivered, one attempt).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { EvaluationView } from '../../application/compliance-query-service.js';
import { startCrashDrill, type CrashDrill, type DrillHost } from '../support/crash-drill.js';
import { waitFor } from '../support/e2e-stack.js';

const EVALUATE = ['Compliance.Evaluate', 'Compliance.Read'];
const MANAGE_HOOKS = ['Webhooks.Manage'];

interface Held {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** A receiver that holds the first request open (never answers it) and answers 204 to the rest. */
let server: Server;
let port: number;
const requests: Held[] = [];
const open: ServerResponse[] = [];

let drill: CrashDrill;
let host: DrillHost;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (requests.length === 1) open.push(res);
      else res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  drill = await startCrashDrill({ settings: { WEBHOOK_ALLOWLIST: `127.0.0.1:${port}` } });
  host = await drill.startHost();
}, 120_000);
afterAll(async () => {
  await drill?.stop();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
});

interface DeliveryList {
  value: { id: string; eventId: string; eventType: string; status: string; attempts: { outcome: string; statusCode?: number }[] }[];
}

it('sends again a delivery whose host was killed mid-send: delivered at least once, one webhook-id, recorded once', async () => {
  const hook = await drill.api<{ webhook: { id: string } }>(host, 'POST', '/v1/webhooks', MANAGE_HOOKS, {
    url: `http://127.0.0.1:${port}/hooks/held`,
    events: ['evaluation.completed'],
    format: 'standard',
  });
  expect(hook.status, JSON.stringify(hook.body)).toBe(201);
  const hookId = hook.body.webhook.id;
  const started = await drill.api<EvaluationView>(host, 'POST', '/v1/evaluations', EVALUATE);
  expect(started.status).toBe(202);

  // The send is in flight: the receiver has it and holds it; the host dies before any answer.
  await waitFor('the held send', async () => (requests.length >= 1 ? true : undefined), 30_000, 50);
  await host.kill();
  host = await drill.startHost();
  // One delivery record for the event, whichever life of the host writes its outcome.
  const before = await drill.api<DeliveryList>(host, 'GET', `/v1/webhooks/${hookId}/deliveries?top=100`, MANAGE_HOOKS);
  expect(before.status).toBe(200);
  expect(before.body.value).toHaveLength(1);

  const delivered = await waitFor('the delivery recorded as delivered', async () => {
    const res = await drill.api<DeliveryList>(host, 'GET', `/v1/webhooks/${hookId}/deliveries?top=100`, MANAGE_HOOKS);
    return res.body.value.some((d) => d.status === 'delivered') ? res.body : undefined;
  }, 45_000);

  // At least once, and every copy the same event under the same webhook-id.
  expect(requests.length).toBeGreaterThanOrEqual(2);
  const ids = new Set(requests.map((r) => r.headers['webhook-id']));
  expect(ids.size).toBe(1);
  const eventIds = new Set(requests.map((r) => (JSON.parse(r.body) as { data: { runId: string } }).data.runId));
  expect(eventIds).toEqual(new Set([started.body.id]));
  // Recorded once: one delivery, delivered, one attempt (the one the receiver answered).
  expect(delivered.value).toHaveLength(1);
  expect(delivered.value[0]).toMatchObject({ status: 'delivered', eventType: 'evaluation.completed' });
  expect(delivered.value[0]!.attempts).toEqual([expect.objectContaining({ outcome: 'delivered', statusCode: 204 })]);
  // Settled: no copy of the message is left to send it a third time.
  await new Promise((r) => setTimeout(r, 4000));
  expect(requests.length).toBe(2);
}, 120_000);

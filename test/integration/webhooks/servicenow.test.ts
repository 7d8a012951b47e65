/**
 * ServiceNow formats against the in-memory stand-in: one incident per (cluster, control) created once,
 * updated while failing, resolved when passing again; Event Management records; OAuth token cached;
 * a ServiceNow outage is retried like any delivery.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServiceNowStandIn, type ServiceNowStandIn } from '../../../local/servicenow-stand-in.js';
import { GuardedHttpClient } from '../../../adapters/webhooks/guarded-http-client.js';
import { AesGcmSecretProtector } from '../../../adapters/webhooks/secret-protector.js';
import { ServiceNowClient, type ServiceNowAuth } from '../../../adapters/webhooks/servicenow-client.js';
import { ServiceNowDelivery } from '../../../application/servicenow-delivery.js';
import { SERVICENOW_INSTANCE_MISMATCH, WebhookService } from '../../../application/webhook-service.js';
import { toErrorResponse } from '../../../adapters/http/error-mapping.js';
import { InvalidRequestError } from '../../../domain/errors.js';
import type { WebhookDeadLetterMessage, WebhookDeliveryMessage } from '../../../application/messages.js';
import { buildClusterComplianceChanged, type OutboundEvent } from '../../../domain/webhook-events.js';
import { incidentCorrelationId } from '../../../domain/servicenow-mapping.js';
import { parseAllowlist } from '../../../domain/webhook-ssrf.js';
import type { ClusterEvaluation, ControlResult } from '../../../domain/model.js';
import { startReceiver } from './support.js';
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

function harness(auth: ServiceNowAuth) {
  const clock = new FixedClock(Date.parse('2026-04-01T02:00:00Z'));
  const http = new GuardedHttpClient({ allowlist: parseAllowlist(['127.0.0.1']).allowlist });
  const queue = new RecordingMessageQueue<WebhookDeliveryMessage>();
  const subscriptions = new InMemoryWebhookSubscriptionRepository();
  const watermarks = new InMemoryServiceNowWatermarks();
  let n = 0;
  const service = new WebhookService({
    subscriptions,
    deliveries: new InMemoryWebhookDeliveryRepository(),
    queue,
    deadLetters: new RecordingMessageQueue<WebhookDeadLetterMessage>(),
    secrets: new AesGcmSecretProtector(randomBytes(32)),
    http,
    serviceNow: new ServiceNowDelivery(new ServiceNowClient(http, auth, clock, sn.url), { category: 'software', assignmentGroup: 'Platform Ops' }, { instanceUrl: sn.url, watermarks }),
    clock,
    newId: () => `sn${(n += 1)}`,
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
  return { service, queue, clock, drain, subscriptions, watermarks };
}

const SUB = '00000000-0000-0000-0000-0000000000aa';
const cluster = { id: `/subscriptions/${SUB}/resourceGroups/rg-sn/providers/Microsoft.Kubernetes/connectedClusters/edge-01`, name: 'edge-01', subscriptionId: SUB, resourceGroup: 'rg-sn' };
const c = (controlId: string, status: ControlResult['status'], evidence = `${controlId} ${status}`): ControlResult => ({ controlId, status, severity: 'high', evidence });
const ev = (runId: string, controls: ControlResult[]): ClusterEvaluation => ({ clusterId: cluster.id, evaluatedAt: `2026-04-0${runId.slice(-1)}T02:00:00.000Z`, runId, controls, score: 50, failedControls: [] });
const changed = (id: string, prev: ClusterEvaluation, cur: ClusterEvaluation): OutboundEvent => ({
  id,
  type: 'cluster.compliance.changed',
  timestamp: cur.evaluatedAt,
  data: buildClusterComplianceChanged(cluster, prev, cur)!,
});

describe('servicenow-incident', () => {
  it('creates the incident once, updates it on the next run, resolves it when the control passes', async () => {
    const h = harness({ mode: 'oauth', clientId: 'cid', clientSecret: 'csecret', username: 'arc', password: 'pw-1' });
    await h.service.create({ url: sn.url, events: ['cluster.compliance.changed'], format: 'servicenow-incident' }, 'u');
    const run0 = ev('run-0', [c('ARC-AC-01', 'pass'), c('ARC-OP-01', 'pass')]);
    const run1 = ev('run-1', [c('ARC-AC-01', 'fail', 'RBAC disabled'), c('ARC-OP-01', 'pass')]);
    const run2 = ev('run-2', [c('ARC-AC-01', 'fail', 'RBAC still disabled'), c('ARC-OP-01', 'unknown')]);
    const run3 = ev('run-3', [c('ARC-AC-01', 'pass'), c('ARC-OP-01', 'unknown')]);
    const correlation = incidentCorrelationId(cluster.id, 'ARC-AC-01');
    const mine = () => [...sn.incidents.values()].filter((i) => i.correlation_id === correlation);

    await h.service.publish(changed('e1', run0, run1));
    await h.drain();
    expect(mine()).toHaveLength(1);
    const incident = mine()[0]!;
    expect(incident).toMatchObject({ urgency: '1', impact: '2', category: 'software', assignment_group: 'Platform Ops', state: '1', active: 'true' });
    expect(incident['description']).toContain('RBAC disabled');

    // A retried delivery of the same event does not duplicate it either.
    await h.service.publish(changed('e2', run1, run2));
    await h.drain();
    expect(mine()).toHaveLength(1);
    expect(sn.incidents.get(incident.sys_id)!['description']).toContain('RBAC still disabled');
    expect(sn.workNotes.get(incident.sys_id)).toEqual([expect.stringContaining('run-2')]);

    await h.service.publish(changed('e3', run2, run3));
    await h.drain();
    expect(mine()).toHaveLength(1);
    expect(sn.incidents.get(incident.sys_id)).toMatchObject({ state: '6', active: 'false', close_code: 'Solution provided' });

    // A fourth failure opens a new incident (the resolved one stays resolved).
    const run4 = ev('run-4', [c('ARC-AC-01', 'fail', 'RBAC disabled again'), c('ARC-OP-01', 'unknown')]);
    await h.service.publish(changed('e4', run3, run4));
    await h.drain();
    expect(mine()).toHaveLength(2);
    expect(sn.tokensIssued()).toBe(1);
    expect(sn.requests.every((r) => r.auth === 'bearer')).toBe(true);
  });

  it('retries a ServiceNow outage with backoff and records the status', async () => {
    const h = harness({ mode: 'basic', username: 'arc', password: 'pw-1' });
    const { webhook } = await h.service.create({ url: sn.url, events: ['*'], format: 'servicenow-incident' }, 'u');
    const other = { ...cluster, id: cluster.id.replace('edge-01', 'edge-02'), name: 'edge-02' };
    const data = buildClusterComplianceChanged(other, ev('run-0', [c('ARC-PL-02', 'pass')]), ev('run-1', [c('ARC-PL-02', 'fail')]))!;
    sn.failNext(1, 503, { 'retry-after': '30' });
    await h.service.publish({ id: 'e-out', type: 'cluster.compliance.changed', timestamp: '2026-04-01T02:00:00.000Z', data });
    await h.service.processDelivery(h.queue.take()!.message);
    expect(h.queue.sent[0]!.visibilityDelaySeconds).toBe(30);
    await h.drain();
    const [d] = (await h.service.listDeliveries(webhook.id, 10)).items;
    expect(d!.attempts.map((a) => [a.outcome, a.statusCode])).toEqual([['failed', 503], ['delivered', 200]]);
    expect(d!.attempts[1]!.responseExcerpt).toMatch(/^created INC/);
    expect([...sn.incidents.values()].filter((i) => i.correlation_id === incidentCorrelationId(other.id, 'ARC-PL-02'))).toHaveLength(1);
  });

  it('refuses a wrong password without creating anything', async () => {
    const h = harness({ mode: 'basic', username: 'arc', password: 'wrong' });
    const { webhook } = await h.service.create({ url: sn.url, events: ['*'], format: 'servicenow-incident' }, 'u');
    const before = sn.incidents.size;
    const data = buildClusterComplianceChanged(cluster, ev('run-0', [c('ARC-X', 'pass')]), ev('run-1', [c('ARC-X', 'fail')]))!;
    await h.service.publish({ id: 'e-auth', type: 'cluster.compliance.changed', timestamp: '2026-04-01T02:00:00.000Z', data });
    await h.service.processDelivery(h.queue.take()!.message);
    const [d] = (await h.service.listDeliveries(webhook.id, 10)).items;
    expect(d!.attempts[0]).toMatchObject({ outcome: 'failed', statusCode: 401 });
    expect(sn.incidents.size).toBe(before);
  });
});

describe('servicenow-event', () => {
  it('sends Event Management records with severity and message_key', async () => {
    const h = harness({ mode: 'oauth', clientId: 'cid', clientSecret: 'csecret' });
    await h.service.create({ url: sn.url, events: ['cluster.compliance.changed'], format: 'servicenow-event' }, 'u');
    await h.service.publish(changed('em1', ev('run-0', [c('ARC-EM-1', 'pass'), c('ARC-EM-2', 'fail')]), ev('run-1', [c('ARC-EM-1', 'fail'), c('ARC-EM-2', 'pass')])));
    await h.drain();
    const mine = sn.events.filter((e) => String(e['resource']).startsWith('ARC-EM-'));
    expect(mine.map((e) => [e['resource'], e['severity'], e['message_key'], e['node'], e['source']])).toEqual([
      ['ARC-EM-1', '1', incidentCorrelationId(cluster.id, 'ARC-EM-1'), 'edge-01', 'arc-compliance'],
      ['ARC-EM-2', '0', incidentCorrelationId(cluster.id, 'ARC-EM-2'), 'edge-01', 'arc-compliance'],
    ]);
  });
});

describe('the configured ServiceNow instance is the only place credentials go', () => {
  const cases: [string, ServiceNowAuth][] = [
    ['basic', { mode: 'basic', username: 'arc', password: 'pw-1' }],
    ['oauth', { mode: 'oauth', clientId: 'cid', clientSecret: 'csecret', username: 'arc', password: 'pw-1' }],
  ];

  it('refuses to create a servicenow-* webhook for another origin (400, nothing stored)', async () => {
    // Allowlisted, so only the instance rule stands between a Webhooks.Manage caller and the credentials.
    const attacker = await startReceiver((_req, _i, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":[]}'));
    try {
      const h = harness({ mode: 'basic', username: 'arc', password: 'pw-1' });
      for (const format of ['servicenow-incident', 'servicenow-event'] as const) {
        for (const url of [attacker.url, `${attacker.url}/api`, 'https://evil.example.com', sn.url.replace('127.0.0.1', 'localhost')]) {
          const error = await h.service.create({ url, events: ['*'], format }, 'u').then(() => undefined, (e: unknown) => e);
          expect(error, `${format} ${url}`).toBeInstanceOf(InvalidRequestError);
          const mapped = toErrorResponse(error);
          expect(mapped.status).toBe(400);
          expect(mapped.body.error).toMatchObject({ code: 'InvalidRequest', target: 'url', details: [{ code: SERVICENOW_INSTANCE_MISMATCH, target: 'url' }] });
        }
      }
      expect(h.subscriptions.items.size).toBe(0);
      expect(attacker.received).toEqual([]);
      // The instance itself (any path on it) is accepted.
      await h.service.create({ url: `${sn.url}/`, events: ['*'], format: 'servicenow-event' }, 'u');
      expect(h.subscriptions.items.size).toBe(1);
    } finally {
      await attacker.stop();
    }
  });

  it.each(cases)('never sends %s credentials to a stored webhook of another origin', async (_name, auth) => {
    const attacker = await startReceiver((_req, _i, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"t","expires_in":1800,"result":[]}'));
    try {
      const h = harness(auth);
      // As stored before the rule existed (creation refuses it now).
      const { webhook } = await h.service.create({ url: sn.url, events: ['*'], format: 'servicenow-incident' }, 'u');
      h.subscriptions.items.set(webhook.id, { ...h.subscriptions.items.get(webhook.id)!, url: `${attacker.url}/steal` });
      const data = buildClusterComplianceChanged(cluster, ev('run-0', [c('ARC-LEAK', 'pass')]), ev('run-1', [c('ARC-LEAK', 'fail')]))!;
      const requestsBefore = sn.requests.length;
      await h.service.publish({ id: `e-leak-${auth.mode}`, type: 'cluster.compliance.changed', timestamp: '2026-04-01T02:00:00.000Z', data });
      await h.service.processDelivery(h.queue.take()!.message);
      expect(attacker.received).toEqual([]);
      expect(sn.requests.length).toBe(requestsBefore);
      const [d] = (await h.service.listDeliveries(webhook.id, 10)).items;
      expect(d!.attempts[0]).toMatchObject({ outcome: 'refused', error: expect.stringContaining('SERVICENOW_INSTANCE_URL') });
    } finally {
      await attacker.stop();
    }
  });
});

describe('out-of-order deliveries', () => {
  const edge03 = { ...cluster, id: cluster.id.replace('edge-01', 'edge-03'), name: 'edge-03' };
  const night = (n: number, status: ControlResult['status']): ClusterEvaluation => ({ ...ev(`run-${n}`, [c('ARC-OOO-1', status)]), clusterId: edge03.id });
  const changedOn = (id: string, prev: ClusterEvaluation, cur: ClusterEvaluation): OutboundEvent => ({
    id,
    type: 'cluster.compliance.changed',
    timestamp: cur.evaluatedAt,
    data: buildClusterComplianceChanged(edge03, prev, cur)!,
  });

  it('does not reopen an incident when night 1 (fail) is retried after night 2 (pass) was delivered', async () => {
    const h = harness({ mode: 'basic', username: 'arc', password: 'pw-1' });
    const { webhook } = await h.service.create({ url: sn.url, events: ['cluster.compliance.changed'], format: 'servicenow-incident' }, 'u');
    const correlation = incidentCorrelationId(edge03.id, 'ARC-OOO-1');
    const incidents = () => [...sn.incidents.values()].filter((i) => i.correlation_id === correlation);

    // Night 1: the control fails; ServiceNow answers 503, the attempt is retried later.
    sn.failNext(1, 503);
    await h.service.publish(changedOn('ooo-night-1', night(0, 'pass'), night(1, 'fail')));
    await h.service.processDelivery(h.queue.take()!.message);
    const night1Retry = h.queue.take()!;
    expect(night1Retry.message.attempt).toBe(2);
    // Night 2: the control passes again; delivered at once (nothing to resolve yet).
    await h.service.publish(changedOn('ooo-night-2', night(1, 'fail'), night(2, 'pass')));
    await h.service.processDelivery(h.queue.take()!.message);
    expect(incidents()).toEqual([]);
    // Night 1's retry arrives last: it must not open an incident for a control that passes now.
    h.clock.advance(night1Retry.visibilityDelaySeconds * 1000);
    await h.service.processDelivery(night1Retry.message);
    expect(incidents()).toEqual([]);
    const night1 = (await h.service.listDeliveries(webhook.id, 10)).items.find((d) => d.eventId === 'ooo-night-1')!;
    expect(night1.status).toBe('delivered');
    expect(night1.attempts.at(-1)!.responseExcerpt).toMatch(/^skipped open-or-update/);

    // Night 3 fails again: a newer evaluation still opens the incident.
    await h.service.publish(changedOn('ooo-night-3', night(2, 'pass'), night(3, 'fail')));
    await h.drain();
    expect(incidents()).toHaveLength(1);
  });

  it('does not raise an Event Management alert again from an older failure', async () => {
    const h = harness({ mode: 'basic', username: 'arc', password: 'pw-1' });
    await h.service.create({ url: sn.url, events: ['cluster.compliance.changed'], format: 'servicenow-event' }, 'u');
    const key = incidentCorrelationId(edge03.id, 'ARC-OOO-1');
    const mine = () => sn.events.filter((e) => e['message_key'] === key).map((e) => e['severity']);
    sn.failNext(1, 503);
    await h.service.publish(changedOn('ooo-em-1', night(0, 'pass'), night(1, 'fail')));
    await h.service.processDelivery(h.queue.take()!.message);
    const retry = h.queue.take()!;
    await h.service.publish(changedOn('ooo-em-2', night(1, 'fail'), night(2, 'pass')));
    await h.service.processDelivery(h.queue.take()!.message);
    await h.service.processDelivery(retry.message);
    expect(mine()).toEqual(['0']);
  });
});

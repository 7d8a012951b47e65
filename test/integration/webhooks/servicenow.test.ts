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
import { WebhookService } from '../../../application/webhook-service.js';
import type { WebhookDeadLetterMessage, WebhookDeliveryMessage } from '../../../application/messages.js';
import { buildClusterComplianceChanged, type OutboundEvent } from '../../../domain/webhook-events.js';
import { incidentCorrelationId } from '../../../domain/servicenow-mapping.js';
import { parseAllowlist } from '../../../domain/webhook-ssrf.js';
import type { ClusterEvaluation, ControlResult } from '../../../domain/model.js';
import { CapturingQueue, FakeClock } from './support.js';
import { MemoryDeliveries, MemorySubscriptions } from './memory-repositories.js';

const credentials = { username: 'arc', password: 'pw-1', clientId: 'cid', clientSecret: 'csecret' };
let sn: ServiceNowStandIn;

beforeAll(async () => {
  sn = await startServiceNowStandIn({ credentials });
});
afterAll(async () => {
  await sn?.stop();
});

function harness(auth: ServiceNowAuth) {
  const clock = new FakeClock(Date.parse('2026-04-01T02:00:00Z'));
  const http = new GuardedHttpClient({ allowlist: parseAllowlist(['127.0.0.1']).allowlist });
  const queue = new CapturingQueue<WebhookDeliveryMessage>();
  let n = 0;
  const service = new WebhookService({
    subscriptions: new MemorySubscriptions(),
    deliveries: new MemoryDeliveries(),
    queue,
    deadLetters: new CapturingQueue<WebhookDeadLetterMessage>(),
    secrets: new AesGcmSecretProtector(randomBytes(32)),
    http,
    serviceNow: new ServiceNowDelivery(new ServiceNowClient(http, auth, clock), { category: 'software', assignmentGroup: 'Platform Ops' }),
    clock,
    newId: () => `sn${(n += 1)}`,
    randomBytes: (s) => randomBytes(s),
    random: () => 0.5,
    log: { info: () => undefined, warn: () => undefined },
  });
  const drain = async (): Promise<void> => {
    for (let next = queue.take(); next !== undefined; next = queue.take()) {
      clock.advance(next.delay ?? 0);
      await service.processDelivery(next.message);
    }
  };
  return { service, queue, clock, drain };
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
    await h.service.publish(changed('e4', run3, run1));
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
    expect(h.queue.sent[0]!.delay).toBe(30);
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

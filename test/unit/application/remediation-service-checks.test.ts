/**
 * Completion checks of RemediationService (the `remediation-checks` queue): the start schedules the
 * first, a running remediation schedules the next with the back-off, a finished one publishes
 * `remediation.completed` (once, through the real webhook publisher, even when a check is redelivered),
 * failures are retried by the next check, and polling gives up — visibly — at the age limit.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { armFailure } from '../../../adapters/arm/arm-errors.js';
import { RemediationService } from '../../../application/remediation-service.js';
import { WebhookService } from '../../../application/webhook-service.js';
import {
  parseRemediationCheckMessage,
  type RemediationCheckMessage,
  type WebhookDeadLetterMessage,
  type WebhookDeliveryMessage,
} from '../../../application/messages.js';
import type { EventPublisher, RemediationTaskState } from '../../../application/ports.js';
import type { RemediationCheckPolicy } from '../../../domain/remediation-check-schedule.js';
import type { OutboundEvent } from '../../../domain/webhook-events.js';
import {
  FakeHostResolver,
  FakeRemediationStarter,
  FixedClock,
  InMemoryClusterStateRepository,
  InMemoryInboundMessageIdStore,
  InMemoryRemediationRepository,
  InMemorySecretProtector,
  InMemoryWebhookDeliveryRepository,
  InMemoryWebhookSubscriptionRepository,
  RecordingMessageQueue,
  RecordingOutboundHttp,
} from '../../support/in-memory-ports.js';
import { silentLogger } from '../../../application/logger.js';

const SUB = '11111111-1111-1111-1111-111111111111';
const CLUSTER = `/subscriptions/${SUB}/resourceGroups/edge-rg/providers/Microsoft.Kubernetes/connectedClusters/store-1`;
const ARM_ID = `/subscriptions/${SUB}/providers/Microsoft.PolicyInsights/remediations/arc-compliance-r1`;
const START = new Date('2026-03-01T10:00:00Z');
const POLICY: RemediationCheckPolicy = { firstDelaySeconds: 60, maxDelaySeconds: 900, maxAgeSeconds: 2 * 3600 };

class RecordingPublisher implements EventPublisher {
  readonly events: OutboundEvent[] = [];
  failing = false;
  async publish(event: OutboundEvent): Promise<void> {
    if (this.failing) throw new Error('delivery store unavailable');
    this.events.push(event);
  }
}

function setup(options: { events?: EventPublisher; queue?: RecordingMessageQueue<RemediationCheckMessage>; clock?: FixedClock } = {}) {
  const starter = new FakeRemediationStarter();
  const remediations = new InMemoryRemediationRepository();
  const queue = options.queue ?? new RecordingMessageQueue<RemediationCheckMessage>();
  const publisher = new RecordingPublisher();
  const clock = options.clock ?? new FixedClock(START);
  const warnings: string[] = [];
  const service = new RemediationService({
    starter,
    remediations,
    clusters: new InMemoryClusterStateRepository(),
    newId: () => 'r1',
    events: options.events ?? publisher,
    clock,
    log: { ...silentLogger, warn: (m) => warnings.push(m) },
    checks: { queue, policy: POLICY },
  });
  const finish = (patch: Partial<RemediationTaskState> = {}): void => {
    const state = starter.tasks.get(ARM_ID)!;
    starter.tasks.set(ARM_ID, { ...state, provisioningState: 'Succeeded', successfulDeployments: state.totalDeployments, lastUpdatedOn: '2026-03-01T10:03:00.000Z', ...patch });
  };
  const start = () => service.start({ controlId: 'ARC-PL-01', clusterIds: [CLUSTER] }, 'caller', clock.now());
  /** The message last sent: what the queue hands to the function next. */
  const last = (): RemediationCheckMessage => queue.sent.at(-1)!.message;
  return { starter, remediations, queue, publisher, clock, warnings, service, finish, start, last };
}

describe('remediation completion checks', () => {
  it('the start schedules the first check after the first delay', async () => {
    const { queue, start } = setup();
    await start();
    expect(queue.sent).toEqual([{ message: { kind: 'remediation-check', remediationId: 'r1', attempt: 1 }, visibilityDelaySeconds: 60 }]);
  });

  it('a running remediation schedules the next check with a growing delay, and publishes nothing', async () => {
    const { queue, publisher, clock, service, start, last } = setup();
    await start();
    const delays: number[] = [];
    for (const elapsed of [60, 180, 420, 900, 1800]) {
      clock.set(new Date(START.getTime() + elapsed * 1000));
      const result = await service.check(last());
      expect(result).toMatchObject({ outcome: 'rescheduled', reason: 'running' });
      delays.push(queue.sent.at(-1)!.visibilityDelaySeconds);
    }
    expect(delays).toEqual([120, 240, 480, 900, 900]);
    expect(queue.sent.map((s) => s.message.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(publisher.events).toEqual([]);
  });

  it('a finished remediation publishes remediation.completed with the stable timestamp and schedules nothing more', async () => {
    const { queue, publisher, clock, service, start, finish, last } = setup();
    await start();
    finish();
    clock.set(new Date(START.getTime() + 60_000));
    expect(await service.check(last())).toEqual({ outcome: 'completed', status: 'succeeded' });
    expect(queue.sent).toHaveLength(1);
    expect(publisher.events).toEqual([
      expect.objectContaining({ type: 'remediation.completed', timestamp: '2026-03-01T10:03:00.000Z', data: expect.objectContaining({ remediationId: 'r1', status: 'succeeded' }) }),
    ]);
  });

  it('a redelivered or duplicated check after completion makes no second delivery (the publisher is idempotent)', async () => {
    const clock = new FixedClock(START);
    const webhookQueue = new RecordingMessageQueue<WebhookDeliveryMessage>();
    const deliveries = new InMemoryWebhookDeliveryRepository();
    const resolver = new FakeHostResolver({ 'hooks.example.com': ['93.184.215.14'] });
    const webhooks = new WebhookService({
      subscriptions: new InMemoryWebhookSubscriptionRepository(),
      deliveries,
      queue: webhookQueue,
      deadLetters: new RecordingMessageQueue<WebhookDeadLetterMessage>(),
      secrets: new InMemorySecretProtector(),
      http: new RecordingOutboundHttp(resolver),
      serviceNow: undefined,
      clock,
      newId: () => 'wh-1',
      randomBytes: (size) => randomBytes(size),
      random: () => 0.5,
      log: silentLogger,
      attemptClaims: new InMemoryInboundMessageIdStore(),
    });
    await webhooks.create({ url: 'https://hooks.example.com/remediations', events: ['remediation.completed'], format: 'standard' }, 'admin');
    const { service, start, finish, last } = setup({ events: webhooks, clock });
    await start();
    finish();
    const check = last();
    expect((await service.check(check)).outcome).toBe('completed');
    // The host redelivers the same message (its deletion was lost) an hour later, a duplicate chain
    // checks too, and a read observes completion: each publishes the event again.
    clock.set(new Date(START.getTime() + 3_600_000));
    expect((await service.check(check)).outcome).toBe('completed');
    expect((await service.check({ ...check, attempt: 2 })).outcome).toBe('completed');
    await service.get('r1');
    expect([...deliveries.items.values()].map((d) => d.eventType)).toEqual(['remediation.completed']);
  });

  it('an ARM read that fails is retried by the next check, with a warning', async () => {
    const { starter, queue, warnings, service, start, last } = setup();
    await start();
    starter.get = async () => {
      throw new Error('ARM answered 503');
    };
    expect(await service.check(last())).toMatchObject({ outcome: 'rescheduled', attempt: 2, reason: 'ARM read failed: ARM answered 503' });
    expect(queue.sent).toHaveLength(2);
    expect(warnings.join('\n')).toContain('ARM answered 503');
  });

  it('an ARM read refused for good (403) stops polling at once, recording the code and the role to grant', async () => {
    const { starter, queue, remediations, service, start, last } = setup();
    await start();
    const refusal = `The client 'app' with object id 'app' does not have authorization to perform action 'Microsoft.PolicyInsights/remediations/read' over scope '/subscriptions/${SUB}' or the scope is invalid.`;
    starter.get = async () => {
      throw armFailure('remediations.get', 'arc-compliance-r1', Object.assign(new Error(refusal), { statusCode: 403, code: 'AuthorizationFailed' }));
    };
    const result = await service.check(last());
    expect(result).toMatchObject({ outcome: 'gave-up', reason: expect.stringMatching(/^check 1: ARM answered AuthorizationFailed, which retrying cannot fix/) });
    expect((await remediations.get('r1'))?.pollingStopped?.reason).toMatch(/lacks Reader to perform Microsoft\.PolicyInsights\/remediations\/read/);
    // No next check: the chain ends here instead of polling for REMEDIATION_CHECK_MAX_HOURS.
    expect(queue.sent).toHaveLength(1);
    expect(await service.check(last())).toEqual({ outcome: 'stopped' });
  });

  it('a publish that fails is retried by the next check', async () => {
    const { publisher, service, start, finish, last } = setup();
    await start();
    finish();
    publisher.failing = true;
    expect(await service.check(last())).toMatchObject({ outcome: 'rescheduled', attempt: 2, reason: 'remediation.completed not published' });
    publisher.failing = false;
    expect(await service.check(last())).toEqual({ outcome: 'completed', status: 'succeeded' });
    expect(publisher.events).toHaveLength(1);
  });

  it('gives up at the age limit, records it on the remediation, and later checks stop; a read still publishes', async () => {
    const { queue, publisher, clock, service, start, finish, last } = setup();
    await start();
    clock.set(new Date(START.getTime() + POLICY.maxAgeSeconds * 1000 - 10_000));
    expect(await service.check(last())).toMatchObject({ outcome: 'rescheduled', attempt: 2, delaySeconds: 10 });
    clock.set(new Date(START.getTime() + POLICY.maxAgeSeconds * 1000));
    const sentBefore = queue.sent.length;
    expect(await service.check(last())).toMatchObject({ outcome: 'gave-up', reason: expect.stringContaining('not finished 2 h after it started (2 checks; last: running)') });
    expect(queue.sent).toHaveLength(sentBefore);

    const shown = await service.get('r1');
    expect(shown).toMatchObject({ status: 'running', pollingStopped: { at: clock.now().toISOString(), reason: expect.stringContaining('not finished 2 h') } });
    // A duplicate of the last check finds polling stopped and sends nothing.
    expect(await service.check(last())).toEqual({ outcome: 'stopped' });
    expect(queue.sent).toHaveLength(sentBefore);

    finish();
    expect((await service.get('r1')).status).toBe('succeeded');
    expect(publisher.events.map((e) => e.type)).toEqual(['remediation.completed']);
  });

  it('a check that reached the poison queue stops polling visibly, once', async () => {
    const { service, start, last } = setup();
    await start();
    expect(await service.checkPoisoned(last(), 'failed on every delivery')).toBe('recorded');
    expect(await service.checkPoisoned(last(), 'failed on every delivery again')).toBe('stopped');
    expect((await service.get('r1')).pollingStopped?.reason).toMatch(/^check 1 failed on every delivery;/);
    expect(await service.checkPoisoned({ kind: 'remediation-check', remediationId: 'gone', attempt: 1 }, 'x')).toBe('missing');
  });

  it('a check of an unknown remediation is dropped', async () => {
    const { queue, service } = setup();
    expect(await service.check({ kind: 'remediation-check', remediationId: 'gone', attempt: 3 })).toEqual({ outcome: 'missing' });
    expect(queue.sent).toEqual([]);
  });

  it('a start whose first check cannot be queued still answers (the tasks run in ARM), with a warning', async () => {
    const queue = new RecordingMessageQueue<RemediationCheckMessage>();
    queue.failWith = new Error('queue unavailable');
    const { warnings, start } = setup({ queue });
    await expect(start()).resolves.toMatchObject({ id: 'r1', status: 'running' });
    expect(queue.sent).toEqual([]);
    expect(warnings.join('\n')).toContain('first completion check not scheduled');
  });
});

describe('parseRemediationCheckMessage', () => {
  it('accepts a check as JSON text or object', () => {
    const m = { kind: 'remediation-check', remediationId: 'b1946ac9-2f3d-4e5f-8a9b-0c1d2e3f4a5b', attempt: 3 };
    expect(parseRemediationCheckMessage(JSON.stringify(m))).toEqual(m);
    expect(parseRemediationCheckMessage({ ...m, extra: true })).toEqual(m);
  });

  it.each([
    ['another kind', { kind: 'rollout-step', remediationId: 'r1', attempt: 1 }],
    ['no id', { kind: 'remediation-check', attempt: 1 }],
    ['a malformed id', { kind: 'remediation-check', remediationId: '../r1', attempt: 1 }],
    ['attempt 0', { kind: 'remediation-check', remediationId: 'r1', attempt: 0 }],
    ['a fractional attempt', { kind: 'remediation-check', remediationId: 'r1', attempt: 1.5 }],
    ['not JSON', 'check r1'],
  ])('refuses %s (poison)', (_what, payload) => {
    expect(() => parseRemediationCheckMessage(payload)).toThrow(TypeError);
  });
});

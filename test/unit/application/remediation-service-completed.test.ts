/**
 * `remediation.completed` from RemediationService: published only when every task is terminal, and the
 * same event (id AND timestamp) on every later read, because the publisher keys its deliveries on both.
 * A read-time timestamp made each later read queue another delivery of the same event.
 */
import { describe, expect, it } from 'vitest';
import type { OutboundEvent } from '../../../domain/webhook-events.js';
import { RemediationService } from '../../../application/remediation-service.js';
import type { RemediationCheckMessage } from '../../../application/messages.js';
import type { EventPublisher, RemediationTaskState } from '../../../application/ports.js';
import { FakeRemediationStarter, FixedClock, InMemoryClusterStateRepository, InMemoryRemediationRepository, RecordingMessageQueue } from '../../support/in-memory-ports.js';

const SUB_A = '11111111-1111-1111-1111-111111111111';
const SUB_B = '22222222-2222-2222-2222-222222222222';
const cluster = (sub: string, name: string): string => `/subscriptions/${sub}/resourceGroups/edge-rg/providers/Microsoft.Kubernetes/connectedClusters/${name}`;

class RecordingPublisher implements EventPublisher {
  readonly events: OutboundEvent[] = [];
  async publish(event: OutboundEvent): Promise<void> {
    this.events.push(event);
  }
}

function setup() {
  const starter = new FakeRemediationStarter();
  const events = new RecordingPublisher();
  const clock = new FixedClock(new Date('2026-03-01T10:00:00Z'));
  const checks = new RecordingMessageQueue<RemediationCheckMessage>();
  const service = new RemediationService({
    starter,
    remediations: new InMemoryRemediationRepository(),
    clusters: new InMemoryClusterStateRepository(),
    newId: () => 'r1',
    events,
    clock,
    checks: { queue: checks, policy: { firstDelaySeconds: 60, maxDelaySeconds: 900, maxAgeSeconds: 2 * 3600 } },
  });
  const finish = (sub: string, patch: Partial<RemediationTaskState>): void => {
    const armId = `/subscriptions/${sub}/providers/Microsoft.PolicyInsights/remediations/arc-compliance-r1`;
    const state = starter.tasks.get(armId)!;
    starter.tasks.set(armId, { ...state, provisioningState: 'Succeeded', successfulDeployments: state.totalDeployments, ...patch });
  };
  return { starter, events, checks, clock, service, finish };
}

describe('remediation.completed', () => {
  it('is published once every task is terminal, stamped with the latest ARM lastUpdatedOn, identically on later reads', async () => {
    const { events, checks, clock, service, finish } = setup();
    await service.start({ controlId: 'ARC-PL-01', clusterIds: [cluster(SUB_A, 'a'), cluster(SUB_B, 'b')] }, 'caller', clock.now());
    // One completion check for the remediation, whatever its number of subscriptions.
    expect(checks.sent).toEqual([{ message: { kind: 'remediation-check', remediationId: 'r1', attempt: 1 }, visibilityDelaySeconds: 60 }]);

    finish(SUB_A, { lastUpdatedOn: '2026-03-01T10:01:00.000Z' });
    expect((await service.get('r1')).status).toBe('running');
    expect(events.events).toEqual([]);

    finish(SUB_B, { lastUpdatedOn: '2026-03-01T10:02:30.000Z' });
    clock.set(new Date('2026-03-01T10:05:00Z'));
    expect((await service.get('r1')).status).toBe('succeeded');
    clock.set(new Date('2026-03-01T11:00:00Z'));
    await service.get('r1');

    expect(events.events).toHaveLength(2);
    const [first, second] = events.events;
    expect(first).toMatchObject({ type: 'remediation.completed', timestamp: '2026-03-01T10:02:30.000Z', data: { remediationId: 'r1', status: 'succeeded', observedAt: '2026-03-01T10:05:00.000Z' } });
    expect({ id: second!.id, timestamp: second!.timestamp }).toEqual({ id: first!.id, timestamp: first!.timestamp });
  });

  it('falls back to the creation time when ARM reports no lastUpdatedOn (never the read time)', async () => {
    const { events, clock, service, finish } = setup();
    await service.start({ controlId: 'ARC-PL-01', clusterIds: [cluster(SUB_A, 'a')] }, 'caller', clock.now());
    finish(SUB_A, { provisioningState: 'Failed', successfulDeployments: 0, failedDeployments: 1 });
    clock.set(new Date('2026-03-02T00:00:00Z'));
    expect((await service.get('r1')).status).toBe('failed');
    expect(events.events[0]).toMatchObject({ timestamp: '2026-03-01T10:00:00.000Z', data: { status: 'failed' } });
  });
});

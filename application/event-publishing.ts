/**
 * How the evaluation, rollout and remediation services publish outbound events (docs/webhooks.md).
 *
 * Events are published AFTER the state they describe is persisted, with ids derived from that state
 * (run id, rollout id + event sequence, remediation id). Publishing is idempotent per event id, so
 * the step that published can simply run again: a publish failure is rethrown by queue-driven steps
 * (the queue retries the step, which publishes the same ids again) and logged by reads that observe a
 * state (the next observation publishes again). A lost event is therefore always visible as a failed
 * invocation or a warning, never silently dropped.
 */
import { createHash } from 'node:crypto';
import type { Rollout, RolloutEvent } from '../domain/rollout-model.js';
import type { OutboundEvent, WebhookEventType } from '../domain/webhook-events.js';
import type { EventPublisher } from './ports.js';
import { forEachSettled } from './worker-pool.js';

/** A stable event id (`evt_` + 32 hex) from the facts that identify the event. */
export function outboundEventId(...parts: readonly string[]): string {
  return `evt_${createHash('sha256').update(parts.join('|')).digest('hex').slice(0, 32)}`;
}

/** Publishes events a few at a time; the first failure is rethrown after every event was tried. */
export async function publishAll(publisher: EventPublisher, events: readonly OutboundEvent[], concurrency = 4): Promise<void> {
  if (events.length === 0) return;
  await forEachSettled(events, concurrency, (event) => publisher.publish(event));
}

const SUBSCRIPTION = /^\/subscriptions\/([^/]+)/i;

/**
 * The outbound events of a rollout's stored log events: `gate-blocked` into `awaiting_approval` →
 * `rollout.wave.awaiting_approval`, `wave-baked` → `rollout.wave.completed`, `completed`, `failed`,
 * `rolled-back`. Ids come from the rollout id and the log sequence number, so re-publishing the whole
 * log is harmless.
 */
export function rolloutOutboundEvents(rollout: Rollout, events: readonly RolloutEvent[]): OutboundEvent[] {
  const subscriptionId = SUBSCRIPTION.exec(rollout.policyAssignmentId)?.[1]?.toLowerCase();
  const out: OutboundEvent[] = [];
  // Only the latest hold of a wave can be the one awaiting approval now (a log may hold older ones).
  const lastHold = new Map<number, number>();
  for (const e of events) if (e.type === 'gate-blocked' && e.wave !== undefined) lastHold.set(e.wave, e.seq);
  for (const e of events) {
    let type: WebhookEventType | undefined;
    switch (e.type) {
      case 'gate-blocked':
        // A blocked gate whose only reason is the missing approval (the state machine's `awaiting_approval`).
        if (e.wave !== undefined && lastHold.get(e.wave) === e.seq && rollout.waves[e.wave]?.state === 'awaiting_approval' && rollout.state === 'awaiting_approval' && rollout.currentWave === e.wave) type = 'rollout.wave.awaiting_approval';
        break;
      case 'wave-baked':
        type = 'rollout.wave.completed';
        break;
      case 'completed':
        type = 'rollout.completed';
        break;
      case 'failed':
        type = 'rollout.failed';
        break;
      case 'rolled-back':
        type = 'rollout.rolled_back';
        break;
      default:
        break;
    }
    if (type === undefined) continue;
    const wave = e.wave !== undefined ? rollout.waves[e.wave] : undefined;
    out.push({
      id: outboundEventId(type, rollout.id, String(e.seq)),
      type,
      timestamp: e.at,
      data: {
        rolloutId: rollout.id,
        policyAssignmentId: rollout.policyAssignmentId,
        ...(subscriptionId !== undefined ? { subscriptionId } : {}),
        state: rollout.state,
        ...(e.wave !== undefined ? { waveIndex: e.wave, wave: wave?.name, waveState: wave?.state, clusters: wave?.clusters.length } : {}),
        ...(wave !== undefined && type === 'rollout.wave.awaiting_approval' ? { reasons: wave.reasons } : {}),
        ...(rollout.cause !== undefined && (type === 'rollout.failed' || type === 'rollout.rolled_back') ? { cause: rollout.cause } : {}),
        message: e.message,
        sequence: e.seq,
      },
    });
  }
  return out;
}

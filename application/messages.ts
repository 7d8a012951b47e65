/**
 * Queue message contracts. Every message is JSON, validated on receipt (a malformed message is
 * poison: it fails, is retried by the host and lands in `<queue>-poison`).
 */
export const QUEUES = Object.freeze({
  /** One message per (run, subscription): collect and evaluate that subscription. */
  collectSubscription: 'evaluation-collect',
  /** One or more messages per run: recompute run status and the fleet summary (idempotent). */
  finalizeRun: 'evaluation-finalize',
});

export interface CollectSubscriptionMessage {
  readonly kind: 'collect-subscription';
  readonly runId: string;
  readonly subscriptionId: string;
  /** Run start time (ISO); every time rule of the evaluation uses it. */
  readonly runStartedAt: string;
}

export interface FinalizeRunMessage {
  readonly kind: 'finalize-run';
  readonly runId: string;
}

/**
 * host.json `extensions.queues.maxDequeueCount`: the delivery attempt after which the host moves a
 * message to `<queue>-poison`. The collector records a subscription as failed on this attempt
 * instead of throwing (a unit test keeps the two in step).
 */
export const MAX_DEQUEUE_COUNT = 5;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** A queue payload as the trigger hands it over: already-parsed JSON, or the JSON text. */
function asObject(payload: unknown): Record<string, unknown> {
  let value = payload;
  if (typeof value === 'string' || value instanceof Uint8Array) {
    const text = typeof value === 'string' ? value : Buffer.from(value).toString('utf8');
    try {
      value = JSON.parse(text);
    } catch {
      throw new TypeError('queue message is not JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError('queue message is not a JSON object');
  return value as Record<string, unknown>;
}

/** Validates a collect message (throws `TypeError` naming the problem: the message is poison). */
export function parseCollectSubscriptionMessage(payload: unknown): CollectSubscriptionMessage {
  const o = asObject(payload);
  if (o['kind'] !== 'collect-subscription') throw new TypeError('kind must be "collect-subscription"');
  const { runId, subscriptionId, runStartedAt } = o;
  if (typeof runId !== 'string' || !RUN_ID.test(runId)) throw new TypeError('runId is missing or malformed');
  if (typeof subscriptionId !== 'string' || !GUID.test(subscriptionId)) throw new TypeError('subscriptionId must be a GUID');
  if (typeof runStartedAt !== 'string' || Number.isNaN(Date.parse(runStartedAt))) throw new TypeError('runStartedAt must be an ISO date-time');
  return { kind: 'collect-subscription', runId, subscriptionId: subscriptionId.toLowerCase(), runStartedAt };
}

/** Validates a finalize message (throws `TypeError` naming the problem: the message is poison). */
export function parseFinalizeRunMessage(payload: unknown): FinalizeRunMessage {
  const o = asObject(payload);
  if (o['kind'] !== 'finalize-run') throw new TypeError('kind must be "finalize-run"');
  const { runId } = o;
  if (typeof runId !== 'string' || !RUN_ID.test(runId)) throw new TypeError('runId is missing or malformed');
  return { kind: 'finalize-run', runId };
}

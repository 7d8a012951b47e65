/**
 * Queue message contracts. Every message is JSON, validated on receipt (a malformed message is
 * poison: it fails, is retried by the host and lands in `<queue>-poison`).
 */
export const QUEUES = Object.freeze({
  /** One message per (run, subscription): collect and evaluate that subscription. */
  collectSubscription: 'evaluation-collect',
  /** One or more messages per run: recompute run status and the fleet summary (idempotent). */
  finalizeRun: 'evaluation-finalize',
  /**
   * Collect messages the host gave up on without the collector recording an outcome (function
   * timeout, crash, storage failure while recording): the subscription is recorded as failed.
   */
  collectSubscriptionPoison: 'evaluation-collect-poison',
  /** Finalize messages the host gave up on: finalized once more, or the run is failed visibly. */
  finalizeRunPoison: 'evaluation-finalize-poison',
});

export interface CollectSubscriptionMessage {
  readonly kind: 'collect-subscription';
  readonly runId: string;
  readonly subscriptionId: string;
  /** Run start time (ISO); every time rule of the evaluation uses it. */
  readonly runStartedAt: string;
  /**
   * Delivery attempts spent on earlier copies of this message: a collect deferred after a throttled
   * read (429 + `Retry-After`) is sent again as a new message, whose own dequeue count restarts at 1.
   * Absent = 0.
   */
  readonly previousAttempts?: number | undefined;
}

export interface FinalizeRunMessage {
  readonly kind: 'finalize-run';
  readonly runId: string;
}

/**
 * host.json `extensions.queues.maxDequeueCount`: the delivery attempt after which the host moves a
 * message to `<queue>-poison`. The collector records a subscription as failed on this attempt
 * (counting `previousAttempts` of a deferred collect) instead of throwing (a unit test keeps the two
 * in step); a delivery that ends without an outcome anyway is handled from `evaluation-collect-poison`.
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
  const { previousAttempts } = o;
  if (previousAttempts !== undefined && (typeof previousAttempts !== 'number' || !Number.isInteger(previousAttempts) || previousAttempts < 0 || previousAttempts > 100)) {
    throw new TypeError('previousAttempts must be a non-negative integer');
  }
  return { kind: 'collect-subscription', runId, subscriptionId: subscriptionId.toLowerCase(), runStartedAt, ...(previousAttempts !== undefined && previousAttempts > 0 ? { previousAttempts } : {}) };
}

/** Validates a finalize message (throws `TypeError` naming the problem: the message is poison). */
export function parseFinalizeRunMessage(payload: unknown): FinalizeRunMessage {
  const o = asObject(payload);
  if (o['kind'] !== 'finalize-run') throw new TypeError('kind must be "finalize-run"');
  const { runId } = o;
  if (typeof runId !== 'string' || !RUN_ID.test(runId)) throw new TypeError('runId is missing or malformed');
  return { kind: 'finalize-run', runId };
}

// ---------------------------------------------------------------------------------------------
// Webhook deliveries (docs/webhooks.md)
// ---------------------------------------------------------------------------------------------

export const WEBHOOK_QUEUES = Object.freeze({
  /** One message per delivery attempt; retries are sent with a visibility delay (the backoff). */
  deliveries: 'webhook-deliveries',
  /** Deliveries that exhausted their attempts, with the reason (for operators and alerts). */
  deadLetter: 'webhook-deliveries-deadletter',
});

export interface WebhookDeliveryMessage {
  readonly kind: 'webhook-delivery';
  readonly webhookId: string;
  readonly deliveryId: string;
  /** 1-based attempt this message performs. */
  readonly attempt: number;
}

export interface WebhookDeadLetterMessage {
  readonly kind: 'webhook-dead-letter';
  readonly webhookId: string;
  readonly deliveryId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly attempts: number;
  readonly reason: string;
  readonly at: string;
}

const WEBHOOK_ENTITY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Validates a delivery message (throws `TypeError` naming the problem: the message is poison). */
export function parseWebhookDeliveryMessage(payload: unknown): WebhookDeliveryMessage {
  const o = asObject(payload);
  if (o['kind'] !== 'webhook-delivery') throw new TypeError('kind must be "webhook-delivery"');
  const { webhookId, deliveryId, attempt } = o;
  if (typeof webhookId !== 'string' || !WEBHOOK_ENTITY_ID.test(webhookId)) throw new TypeError('webhookId is missing or malformed');
  if (typeof deliveryId !== 'string' || !WEBHOOK_ENTITY_ID.test(deliveryId)) throw new TypeError('deliveryId is missing or malformed');
  if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 1 || attempt > 100) throw new TypeError('attempt must be a positive integer');
  return { kind: 'webhook-delivery', webhookId, deliveryId, attempt };
}

// ---------------------------------------------------------------------------------------------
// Staged enforcement (rollouts)
// ---------------------------------------------------------------------------------------------

/** One step of one rollout per message (see domain/rollout-state-machine.ts). */
export const ROLLOUT_QUEUES = Object.freeze({
  steps: 'rollout-steps',
  stepsPoison: 'rollout-steps-poison',
});

const ROLLOUT_STEPS = ['gate', 'apply', 'verify', 'bake', 'rollback'] as const;

/** Validates a rollout step message (throws `TypeError` naming the problem: the message is poison). */
export function parseRolloutStepMessage(payload: unknown): import('../domain/rollout-model.js').RolloutStepMessage {
  const o = asObject(payload);
  if (o['kind'] !== 'rollout-step') throw new TypeError('kind must be "rollout-step"');
  const { rolloutId, wave, step, attempt } = o;
  if (typeof rolloutId !== 'string' || !RUN_ID.test(rolloutId)) throw new TypeError('rolloutId is missing or malformed');
  if (typeof wave !== 'number' || !Number.isInteger(wave) || wave < 0 || wave > 1000) throw new TypeError('wave must be a non-negative integer');
  if (typeof step !== 'string' || !(ROLLOUT_STEPS as readonly string[]).includes(step)) throw new TypeError(`step must be one of ${ROLLOUT_STEPS.join(', ')}`);
  if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 0) throw new TypeError('attempt must be a non-negative integer');
  return { kind: 'rollout-step', rolloutId, wave, step: step as (typeof ROLLOUT_STEPS)[number], attempt };
}

// ---------------------------------------------------------------------------------------------
// Remediation completion checks (docs/api.md, Remediation)
// ---------------------------------------------------------------------------------------------

/**
 * One message per scheduled look at a running remediation: the start sends the first with a
 * visibility delay, each check that finds it still running sends the next (domain/remediation-check-schedule.ts).
 */
export const REMEDIATION_QUEUES = Object.freeze({
  checks: 'remediation-checks',
  /** Checks that failed on every delivery: the remediation is marked as no longer polled. */
  checksPoison: 'remediation-checks-poison',
});

export interface RemediationCheckMessage {
  readonly kind: 'remediation-check';
  readonly remediationId: string;
  /** 1-based check this message performs (the back-off grows with it). */
  readonly attempt: number;
}

/** Validates a remediation check message (throws `TypeError` naming the problem: the message is poison). */
export function parseRemediationCheckMessage(payload: unknown): RemediationCheckMessage {
  const o = asObject(payload);
  if (o['kind'] !== 'remediation-check') throw new TypeError('kind must be "remediation-check"');
  const { remediationId, attempt } = o;
  if (typeof remediationId !== 'string' || !RUN_ID.test(remediationId)) throw new TypeError('remediationId is missing or malformed');
  if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 1 || attempt > 100_000) throw new TypeError('attempt must be a positive integer');
  return { kind: 'remediation-check', remediationId, attempt };
}

// ---------------------------------------------------------------------------------------------
// Control-plane watch (Azure Activity Log)
// ---------------------------------------------------------------------------------------------

export const CONTROL_PLANE_QUEUES = Object.freeze({
  /** One message per subscription and watch tick: read its Activity Log from the watermark. */
  watch: 'controlplane-watch',
  /** Where the host moves a watch message after `MAX_DEQUEUE_COUNT` failed deliveries. */
  watchPoison: 'controlplane-watch-poison',
});

export interface ControlPlaneWatchMessage {
  readonly kind: 'controlplane-watch';
  readonly subscriptionId: string;
  /** When the tick fanned out (ISO), for logs. */
  readonly requestedAt: string;
}

/** Validates a watch message (throws `TypeError` naming the problem: the message is poison). */
export function parseControlPlaneWatchMessage(payload: unknown): ControlPlaneWatchMessage {
  const o = asObject(payload);
  if (o['kind'] !== 'controlplane-watch') throw new TypeError('kind must be "controlplane-watch"');
  const { subscriptionId, requestedAt } = o;
  if (typeof subscriptionId !== 'string' || !GUID.test(subscriptionId)) throw new TypeError('subscriptionId must be a GUID');
  if (typeof requestedAt !== 'string' || Number.isNaN(Date.parse(requestedAt))) throw new TypeError('requestedAt must be an ISO date-time');
  return { kind: 'controlplane-watch', subscriptionId: subscriptionId.toLowerCase(), requestedAt };
}

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

/**
 * Delivery retries: the backoff schedule with jitter, `Retry-After`, and what to do after an attempt
 * (delivered, retry later, disable the subscription on 410 Gone, dead letter after the last attempt).
 */

/** Delays before retries 1..7 (about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 24 h). */
export const RETRY_SCHEDULE_SECONDS: readonly number[] = Object.freeze([5, 300, 1800, 7200, 18_000, 36_000, 86_400]);
/** The first attempt plus one per scheduled retry. */
export const MAX_DELIVERY_ATTEMPTS = RETRY_SCHEDULE_SECONDS.length + 1;
/** Each delay varies by up to ±20 % so that retries of many deliveries do not arrive together. */
export const JITTER_RATIO = 0.2;
/** A receiver's `Retry-After` is honoured up to this bound (the queue accepts up to 7 days). */
export const MAX_RETRY_AFTER_SECONDS = 24 * 3600;

/**
 * Delay before the attempt following failed attempt `failedAttempt` (1-based), with jitter from
 * `random` ∈ [0, 1); `undefined` when no attempt is left. A `Retry-After` longer than the scheduled
 * delay wins (capped at {@link MAX_RETRY_AFTER_SECONDS}).
 */
export function retryDelaySeconds(failedAttempt: number, random: number, retryAfterSeconds?: number): number | undefined {
  const base = RETRY_SCHEDULE_SECONDS[failedAttempt - 1];
  if (base === undefined) return undefined;
  const r = Math.min(Math.max(random, 0), 1);
  const jittered = Math.max(1, Math.round(base * (1 + JITTER_RATIO * (2 * r - 1))));
  if (retryAfterSeconds === undefined) return jittered;
  return Math.max(jittered, Math.min(Math.ceil(retryAfterSeconds), MAX_RETRY_AFTER_SECONDS));
}

/** Seconds from `now` that a `Retry-After` header (delta-seconds or HTTP-date) asks for; undefined if absent or invalid. */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d{1,10}$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (!/[a-z]/i.test(v) || Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}

/** What happened on one attempt. */
export type AttemptOutcome =
  | { readonly kind: 'response'; readonly status: number; readonly retryAfterSeconds?: number | undefined }
  /** Connection refused or reset, timeout, TLS failure, oversize body… */
  | { readonly kind: 'network'; readonly error: string }
  /** The SSRF policy refused the target (nothing was sent). */
  | { readonly kind: 'refused'; readonly reason: string };

export type DeliveryDecision =
  | { readonly action: 'delivered' }
  | { readonly action: 'retry'; readonly delaySeconds: number; readonly reason: string }
  | { readonly action: 'disable'; readonly reason: string }
  | { readonly action: 'dead-letter'; readonly reason: string };

/** Why an attempt failed, for the deliveries log. */
export function describeOutcome(outcome: AttemptOutcome): string {
  switch (outcome.kind) {
    case 'response':
      if (outcome.status >= 300 && outcome.status < 400) return `HTTP ${outcome.status} (redirects are not followed)`;
      return `HTTP ${outcome.status}`;
    case 'network':
      return outcome.error;
    case 'refused':
      return `refused: ${outcome.reason}`;
  }
}

/**
 * The decision after attempt `attempt` (1-based): 2xx delivers; 410 Gone disables the subscription (the
 * receiver said it will never want more); anything else is retried on the schedule until the last
 * attempt, then dead-lettered with the last reason.
 */
export function decideAfterAttempt(attempt: number, outcome: AttemptOutcome, random: number): DeliveryDecision {
  if (outcome.kind === 'response' && outcome.status >= 200 && outcome.status < 300) return { action: 'delivered' };
  const reason = describeOutcome(outcome);
  if (outcome.kind === 'response' && outcome.status === 410) return { action: 'disable', reason: `receiver answered 410 Gone` };
  const retryAfter = outcome.kind === 'response' ? outcome.retryAfterSeconds : undefined;
  const delay = retryDelaySeconds(attempt, random, retryAfter);
  if (delay === undefined) return { action: 'dead-letter', reason: `gave up after ${attempt} attempts; last: ${reason}` };
  return { action: 'retry', delaySeconds: delay, reason };
}

/** A call made for a delivery failed; carries the outcome (and a response excerpt) to the retry logic. */
export class OutboundCallFailed extends Error {
  constructor(
    readonly outcome: AttemptOutcome,
    readonly responseBody?: string,
  ) {
    super(describeOutcome(outcome));
    this.name = 'OutboundCallFailed';
  }
}

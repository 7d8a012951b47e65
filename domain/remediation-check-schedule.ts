/**
 * When to look at a running remediation again. ARM reports a remediation's progress only when asked,
 * so the `remediation-checks` queue asks on a schedule: the first check `firstDelaySeconds` after the
 * start, each later one twice as long after the previous, up to `maxDelaySeconds`, until every task is
 * terminal or the remediation is `maxAgeSeconds` old, when polling gives up (ARM remediations of many
 * resources can run for hours; one that runs for days needs a person, not another poll).
 */

/** The back-off of remediation completion checks. */
export interface RemediationCheckPolicy {
  /** Delay of the first check after the remediation starts. */
  readonly firstDelaySeconds: number;
  /** Longest delay between two checks (at least `firstDelaySeconds` is used when it is smaller). */
  readonly maxDelaySeconds: number;
  /** Age (from the remediation's `createdAt`) after which polling gives up. */
  readonly maxAgeSeconds: number;
}

/** 15 minutes: the longest wait between two checks. */
export const REMEDIATION_CHECK_MAX_DELAY_SECONDS = 900;

/** 1 minute, doubling to 15 minutes, for 48 hours. */
export const DEFAULT_REMEDIATION_CHECK_POLICY: RemediationCheckPolicy = Object.freeze({
  firstDelaySeconds: 60,
  maxDelaySeconds: REMEDIATION_CHECK_MAX_DELAY_SECONDS,
  maxAgeSeconds: 48 * 3600,
});

/**
 * The delay before check `attempt` (1-based): `firstDelaySeconds × 2^(attempt−1)`, capped at
 * `maxDelaySeconds` (or at `firstDelaySeconds` when that is the larger).
 */
export function remediationCheckDelaySeconds(policy: RemediationCheckPolicy, attempt: number): number {
  const cap = Math.max(policy.firstDelaySeconds, policy.maxDelaySeconds);
  // The exponent is bounded so a very late attempt cannot overflow to Infinity before the cap applies.
  return Math.min(cap, policy.firstDelaySeconds * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
}

/** What to do after a check that found the remediation still running (or could not tell). */
export type RemediationCheckDecision =
  | { readonly kind: 'check-again'; readonly attempt: number; readonly delaySeconds: number }
  | { readonly kind: 'give-up'; readonly ageSeconds: number };

/**
 * After check `attempt` found the remediation not finished at `now`: the next check, or give up once
 * the remediation (created at `createdAt`) is `maxAgeSeconds` old. The next check is never scheduled
 * past that age, so the last look happens at the limit rather than up to one interval after it. A
 * `createdAt` that is not a date gives up at once: the age limit could never be reached.
 */
export function nextRemediationCheck(policy: RemediationCheckPolicy, attempt: number, createdAt: string, now: Date): RemediationCheckDecision {
  const ageSeconds = (now.getTime() - Date.parse(createdAt)) / 1000;
  if (!Number.isFinite(ageSeconds)) return { kind: 'give-up', ageSeconds: Number.NaN };
  const remaining = policy.maxAgeSeconds - ageSeconds;
  if (remaining <= 0) return { kind: 'give-up', ageSeconds };
  const delaySeconds = Math.max(1, Math.min(remediationCheckDelaySeconds(policy, attempt + 1), Math.ceil(remaining)));
  return { kind: 'check-again', attempt: attempt + 1, delaySeconds };
}

/**
 * The back-off of remediation completion checks: doubling from the first delay to the cap, the last
 * check at the age limit (never past it), then giving up.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_REMEDIATION_CHECK_POLICY,
  nextRemediationCheck,
  remediationCheckDelaySeconds,
  type RemediationCheckPolicy,
} from '../../../domain/remediation-check-schedule.js';

const CREATED = '2026-03-01T10:00:00.000Z';
const at = (secondsAfterCreation: number): Date => new Date(Date.parse(CREATED) + secondsAfterCreation * 1000);

describe('remediationCheckDelaySeconds', () => {
  it('doubles from 1 minute and stays at 15 minutes (the defaults)', () => {
    const delays = Array.from({ length: 8 }, (_, i) => remediationCheckDelaySeconds(DEFAULT_REMEDIATION_CHECK_POLICY, i + 1));
    expect(delays).toEqual([60, 120, 240, 480, 900, 900, 900, 900]);
    expect(remediationCheckDelaySeconds(DEFAULT_REMEDIATION_CHECK_POLICY, 10_000)).toBe(900);
  });

  it('never waits less than the first delay, even when it exceeds the cap', () => {
    const policy: RemediationCheckPolicy = { firstDelaySeconds: 1200, maxDelaySeconds: 900, maxAgeSeconds: 86_400 };
    expect([1, 2, 3].map((n) => remediationCheckDelaySeconds(policy, n))).toEqual([1200, 1200, 1200]);
  });
});

describe('nextRemediationCheck', () => {
  const policy = DEFAULT_REMEDIATION_CHECK_POLICY;

  it('schedules the next check with the next delay of the back-off', () => {
    expect(nextRemediationCheck(policy, 1, CREATED, at(60))).toEqual({ kind: 'check-again', attempt: 2, delaySeconds: 120 });
    expect(nextRemediationCheck(policy, 4, CREATED, at(900))).toEqual({ kind: 'check-again', attempt: 5, delaySeconds: 900 });
  });

  it('lands the last check on the age limit, then gives up', () => {
    const max = policy.maxAgeSeconds;
    expect(nextRemediationCheck(policy, 190, CREATED, at(max - 300))).toEqual({ kind: 'check-again', attempt: 191, delaySeconds: 300 });
    expect(nextRemediationCheck(policy, 190, CREATED, at(max - 0.2))).toEqual({ kind: 'check-again', attempt: 191, delaySeconds: 1 });
    expect(nextRemediationCheck(policy, 191, CREATED, at(max))).toEqual({ kind: 'give-up', ageSeconds: max });
    expect(nextRemediationCheck(policy, 191, CREATED, at(max + 3600))).toEqual({ kind: 'give-up', ageSeconds: max + 3600 });
  });

  it('follows the whole schedule of a remediation that never finishes: bounded checks, none after the limit', () => {
    const small: RemediationCheckPolicy = { firstDelaySeconds: 60, maxDelaySeconds: 900, maxAgeSeconds: 2 * 3600 };
    const checksAt: number[] = [];
    let t = remediationCheckDelaySeconds(small, 1);
    let attempt = 1;
    for (;;) {
      checksAt.push(t);
      const d = nextRemediationCheck(small, attempt, CREATED, at(t));
      if (d.kind === 'give-up') break;
      attempt = d.attempt;
      t += d.delaySeconds;
    }
    expect(checksAt).toEqual([60, 180, 420, 900, 1800, 2700, 3600, 4500, 5400, 6300, 7200]);
  });

  it('gives up at once on a creation time that is not a date (the limit could never be reached)', () => {
    expect(nextRemediationCheck(policy, 1, 'yesterday', at(60)).kind).toBe('give-up');
  });
});

/** Lost-message repair (outbox), chained bake delays, rollback of one wave, and outside changes at apply. */
import { describe, expect, it } from 'vitest';
import { delayedSendOptions } from '../../../adapters/storage/storage-queue.js';
import { applyAction, sameEnforcement } from '../../../domain/rollout-assignment.js';
import type { Rollout } from '../../../domain/rollout-model.js';
import {
  MAX_STEP_DELAY_SECONDS,
  bakeRemainingSeconds,
  blockApply,
  classifyStep,
  continueBake,
  decideBake,
  decideGate,
  decideVerify,
  markOutbox,
  outboxResend,
  recordApplied,
  recordRolledBack,
  requestRollback,
  resumeRollout,
  startRollout,
} from '../../../domain/rollout-state-machine.js';
import { NOW, assignment, cluster, fleet, plan, state } from './builders.js';

const SETTINGS = { gateRecheckSeconds: 900, verifyTimeoutSeconds: 3600 };
const at = (seconds: number): Date => new Date(NOW.getTime() + seconds * 1000);

function started(gates: Record<string, unknown> = { requireApproval: false }): Rollout {
  return startRollout(plan({ gates }), { id: 'r1', createdBy: 'alice', now: NOW }).rollout;
}

function toBaking(r: Rollout, t0 = 0): Rollout {
  let t = decideGate(r, { clusters: fleet() }, at(t0), SETTINGS);
  t = recordApplied(t.rollout, at(t0 + 1));
  return decideVerify(t.rollout, { pending: [] }, at(t0 + 2), SETTINGS).rollout;
}

describe('outbox re-send', () => {
  it('re-sends nothing for a duplicate before the outbox is due, so a blocked gate never gains copies', () => {
    const blocked = decideGate(started(), { clusters: [cluster('weu-1', 'westeurope', 'rg-weu', { states: [state('noPrivileged', 'NonCompliant')] }), ...fleet().slice(1)] }, NOW, SETTINGS);
    expect(blocked.rollout.state).toBe('blocked');
    expect(blocked.rollout.outboxDueAt).toBe(at(900).toISOString());
    // Duplicates of the handled gate arrive now and after 10 minutes: the re-check is still on its way.
    expect(outboxResend(blocked.rollout, at(1), 60)).toBeUndefined();
    expect(outboxResend(blocked.rollout, at(600), 60)).toBeUndefined();
    // Well after it was due and the rollout still expects it: it was lost.
    expect(outboxResend(blocked.rollout, at(961), 60)).toEqual({ message: blocked.send!.message, visibilityDelaySeconds: 60 });
    expect(outboxResend(blocked.rollout, at(959), 60)).toBeUndefined();
  });

  it('re-sends a send known to have failed at once, with what is left of its delay; once re-sent, not again until due', () => {
    const blocked = decideGate(started(), { clusters: [] }, NOW, SETTINGS);
    const unsent = markOutbox(blocked.rollout, at(5), { sent: false });
    expect(outboxResend(unsent, at(5), 60)).toEqual({ message: blocked.send!.message, visibilityDelaySeconds: 895 });
    const resent = markOutbox(unsent, at(5), { sent: true, delaySeconds: 895 });
    expect(outboxResend(resent, at(10), 60)).toBeUndefined();
  });

  it('never re-sends for paused, terminal or awaiting-approval rollouts, or an outbox the rollout no longer expects', () => {
    const r = started();
    expect(outboxResend({ ...r, state: 'paused' }, at(3600), 0)).toBeUndefined();
    expect(outboxResend({ ...r, state: 'failed', cursor: undefined }, at(3600), 0)).toBeUndefined();
    const awaiting = decideGate(started({ requireApproval: true }), { clusters: fleet() }, NOW, SETTINGS).rollout;
    expect(awaiting.state).toBe('awaiting_approval');
    expect(outboxResend(awaiting, at(3600), 0)).toBeUndefined();
    expect(outboxResend({ ...r, cursor: { wave: 0, step: 'gate', attempt: 3 } }, at(3600), 0)).toBeUndefined();
    expect(outboxResend(r, at(3600), 0)?.message).toEqual(expect.objectContaining({ step: 'gate', attempt: 0 }));
  });
});

describe('chained bake', () => {
  it('caps the bake delay of a 7-day bake and chains the rest in hops', () => {
    const baking = toBaking(started({ requireApproval: false, bakeMinutes: 10080 }));
    expect(baking.outbox?.visibilityDelaySeconds).toBe(MAX_STEP_DELAY_SECONDS);
    let r = baking;
    let now = 2;
    let hops = 0;
    while (bakeRemainingSeconds(r, at(now)) > 0) {
      now += r.outbox!.visibilityDelaySeconds;
      if (bakeRemainingSeconds(r, at(now)) === 0) break;
      const t = continueBake(r, at(now));
      expect(t.events).toEqual([]);
      expect(t.send!.visibilityDelaySeconds).toBeLessThanOrEqual(MAX_STEP_DELAY_SECONDS);
      // The early message is handled; only the chained one is current.
      expect(classifyStep(t.rollout, { wave: 0, step: 'bake', attempt: r.cursor!.attempt }).kind).toBe('redelivered');
      expect(classifyStep(t.rollout, t.send!.message).kind).toBe('current');
      r = t.rollout;
      hops += 1;
    }
    expect(hops).toBe(6);
    expect(now).toBe(2 + 10080 * 60);
    expect(decideBake(r, { regressions: [] }, at(now)).rollout.waves[0]?.state).toBe('completed');
  });
});

describe('delayed sends', () => {
  it('live 7 days past their delay, so a long delay never expires as it becomes visible; delays are capped at 7 days', () => {
    expect(delayedSendOptions(900)).toEqual({ visibilityTimeout: 900, messageTimeToLive: 900 + 7 * 86400 });
    expect(delayedSendOptions(10 * 86400)).toEqual({ visibilityTimeout: 7 * 86400, messageTimeToLive: 14 * 86400 });
    expect(delayedSendOptions(-5).visibilityTimeout).toBe(0);
  });
});

describe('rollback of one wave', () => {
  it('a regression in wave 2 rolls back only wave 2; wave 1 stays completed and resume re-gates wave 2 with a fresh approval', () => {
    let r = toBaking(started({ requireApproval: false }));
    r = decideBake(r, { regressions: [] }, at(4000)).rollout;
    r = toBaking({ ...r, waves: r.waves.map((w, i) => (i === 1 ? { ...w, approval: { by: 'bob', at: NOW.toISOString() } } : w)) }, 4001);
    const regressed = decideBake(r, { regressions: ['neu-1: newly non-compliant (noprivileged)'] }, at(9000));
    expect(regressed.rollout.cursor).toEqual({ wave: 1, step: 'rollback', attempt: 0 });
    const done = recordRolledBack(regressed.rollout, at(9001));
    expect(done.rollout.state).toBe('paused');
    expect(done.rollout.waves.map((w) => w.state)).toEqual(['completed', 'rolled_back', 'pending']);
    expect(done.rollout.waves[1]?.approval).toBeUndefined();
    expect(done.events[0]?.message).toMatch(/Wave "europe" rolled back: the assignment is restored to wave "canary"/);
    const resumed = resumeRollout(done.rollout, 'alice', at(9100));
    expect(resumed.rollout.cursor).toEqual(expect.objectContaining({ wave: 1, step: 'gate' }));
    expect(resumed.rollout.waves[1]?.state).toBe('gating');
    // The old wave-2 gate message stays stale.
    expect(classifyStep(resumed.rollout, { wave: 1, step: 'gate', attempt: 0 }).kind).toBe('stale');
  });

  it('an explicit rollback during an automatic wave rollback becomes a full one', () => {
    const regressed = decideBake(toBaking(started()), { regressions: ['x'] }, at(4000)).rollout;
    const full = requestRollback(regressed, 'carol', at(4001));
    expect(full.events.map((e) => e.type)).toEqual(['rollback-requested']);
    expect(full.rollout.rollbackScope).toBe('all');
    expect(full.rollout.cursor).not.toEqual(regressed.cursor);
    expect(requestRollback(full.rollout, 'carol', at(4002)).events).toEqual([]);
  });
});

describe('outside changes at apply', () => {
  const snapshot = assignment();
  const desired = { ...snapshot, overrides: [{ kind: 'policyEffect', value: 'Deny', selectors: [{ kind: 'resourceLocation', in: ['westeurope'] }] }] };

  it('skips what ARM already holds, writes over what the previous wave left, refuses anything else', () => {
    expect(applyAction(desired, snapshot, desired)).toBe('skip');
    expect(applyAction(desired, snapshot, snapshot)).toBe('write');
    expect(applyAction(desired, snapshot, { ...snapshot, parameters: { effect: { value: 'Disabled' } } })).toBe('changed-outside');
    expect(applyAction(desired, snapshot, undefined)).toBe('changed-outside');
    expect(applyAction(desired, undefined, undefined)).toBe('write');
    expect(applyAction(desired, undefined, snapshot)).toBe('changed-outside');
  });

  it('blocks the wave and pauses; resume re-runs apply', () => {
    const gated = decideGate(started(), { clusters: fleet() }, NOW, SETTINGS).rollout;
    const t = blockApply(gated, ['x was changed outside the rollout'], at(1));
    expect(t.rollout.state).toBe('paused');
    expect(t.rollout.waves[0]).toEqual(expect.objectContaining({ state: 'blocked', reasons: ['x was changed outside the rollout'] }));
    expect(t.rollout.cause).toBe('wave "canary" not applied: x was changed outside the rollout');
    const resumed = resumeRollout(t.rollout, 'alice', at(2));
    expect(resumed.send?.message).toEqual(expect.objectContaining({ step: 'apply', attempt: 2 }));
    expect(resumed.rollout.waves[0]?.state).toBe('applying');
  });

  it('compares display name, description, metadata, non-compliance messages and definition version, ignoring the metadata ARM maintains', () => {
    const base = assignment({ metadata: { owner: 'platform' }, definitionVersion: '1.*.*', nonComplianceMessages: [{ message: 'no' }] });
    expect(sameEnforcement(base, { ...base, metadata: { owner: 'platform', createdBy: 'x', updatedOn: '2026-01-01' } })).toBe(true);
    expect(sameEnforcement(base, { ...base, displayName: 'other' })).toBe(false);
    expect(sameEnforcement(base, { ...base, description: 'other' })).toBe(false);
    expect(sameEnforcement(base, { ...base, metadata: { owner: 'someone else' } })).toBe(false);
    expect(sameEnforcement(base, { ...base, nonComplianceMessages: [{ message: 'yes' }] })).toBe(false);
    expect(sameEnforcement(base, { ...base, definitionVersion: '2.*.*' })).toBe(false);
  });
});

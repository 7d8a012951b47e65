import { describe, expect, it } from 'vitest';
import { ConflictError, ForbiddenOperationError, NotFoundError } from '../../../domain/errors.js';
import type { Rollout, RolloutClusterFacts } from '../../../domain/rollout-model.js';
import {
  abortRollout,
  approveWave,
  classifyStep,
  decideBake,
  decideGate,
  decideVerify,
  failRollout,
  findRegressions,
  findWave,
  pauseRollout,
  recordApplied,
  recordRolledBack,
  requestRollback,
  resumeRollout,
  startRollout,
  type Transition,
} from '../../../domain/rollout-state-machine.js';
import { NOW, cluster, fleet, plan, state } from './builders.js';

const SETTINGS = { gateRecheckSeconds: 900, verifyTimeoutSeconds: 3600 };
const at = (minutes: number): Date => new Date(NOW.getTime() + minutes * 60_000);

function started(gates: Record<string, unknown> = { requireApproval: false }, autoRollback = true): Rollout {
  return startRollout(plan({ gates, autoRollback }), { id: 'r1', createdBy: 'alice', now: NOW }).rollout;
}

/** Drives wave 0 from gate to baking with healthy evidence. */
function toBaking(r: Rollout): Rollout {
  let t = decideGate(r, { clusters: fleet() }, NOW, SETTINGS);
  t = recordApplied(t.rollout, at(1));
  t = decideVerify(t.rollout, { pending: [] }, at(2), SETTINGS);
  return t.rollout;
}

describe('startRollout', () => {
  it('creates a running rollout whose first wave gates now, with a created event', () => {
    const t = startRollout(plan(), { id: 'r1', createdBy: 'alice', now: NOW });
    expect(t.rollout.state).toBe('running');
    expect(t.rollout.waves.map((w) => w.state)).toEqual(['gating', 'pending', 'pending']);
    expect(t.rollout.waves[0]?.clusters).toHaveLength(2);
    expect(t.rollout.cursor).toEqual({ wave: 0, step: 'gate', attempt: 0 });
    expect(t.send).toEqual({ message: { kind: 'rollout-step', rolloutId: 'r1', wave: 0, step: 'gate', attempt: 0 }, visibilityDelaySeconds: 0 });
    expect(t.events.map((e) => [e.seq, e.type])).toEqual([[1, 'created']]);
    expect(t.rollout.eventCount).toBe(1);
  });
});

describe('gate', () => {
  it('passes with compliant, connected, fresh evidence and no approval required → apply', () => {
    const t = decideGate(started(), { clusters: fleet() }, NOW, SETTINGS);
    expect(t.rollout.waves[0]?.state).toBe('applying');
    expect(t.rollout.cursor).toEqual({ wave: 0, step: 'apply', attempt: 0 });
    expect(t.send?.message.step).toBe('apply');
    expect(t.events.map((e) => e.type)).toEqual(['gate-passed']);
    expect(t.rollout.lastHandled).toEqual({ wave: 0, step: 'gate', attempt: 0 });
  });

  it('blocks on non-compliance, disconnection and stale evidence, re-checks later, then clears after remediation', () => {
    const r = started();
    const bad: RolloutClusterFacts[] = [
      cluster('weu-1', 'westeurope', 'rg-weu', { states: [state('noPrivileged', 'NonCompliant')] }),
      cluster('weu-2', 'westeurope', 'rg-weu', { connectivityStatus: 'Offline', evaluatedAt: new Date(NOW.getTime() - 30 * 3_600_000).toISOString() }),
    ];
    const blocked = decideGate(r, { clusters: bad }, NOW, SETTINGS);
    expect(blocked.rollout.state).toBe('blocked');
    expect(blocked.rollout.waves[0]?.state).toBe('blocked');
    expect(blocked.rollout.waves[0]?.nonCompliant).toBe(1);
    expect(blocked.rollout.waves[0]?.reasons).toEqual([
      '1 cluster(s) non-compliant, more than maxNonCompliant 0: weu-1 (noprivileged)',
      'weu-2: not connected (Offline)',
      expect.stringMatching(/^weu-2: evidence from .* is older than 24 h$/),
    ]);
    expect(blocked.send).toEqual({ message: expect.objectContaining({ step: 'gate', attempt: 1 }), visibilityDelaySeconds: 900 });
    expect(blocked.events.map((e) => e.type)).toEqual(['gate-blocked']);

    // Same outcome on recheck: no new event, another recheck.
    const again = decideGate(blocked.rollout, { clusters: bad }, at(15), SETTINGS);
    expect(again.events).toEqual([]);
    expect(again.rollout.cursor).toEqual({ wave: 0, step: 'gate', attempt: 2 });

    // Remediated: passes, never having applied anything before.
    const cleared = decideGate(again.rollout, { clusters: fleet() }, at(30), SETTINGS);
    expect(cleared.rollout.state).toBe('running');
    expect(cleared.rollout.waves[0]?.state).toBe('applying');
    expect(cleared.rollout.waves[0]?.reasons).toEqual([]);
  });

  it('allows up to maxNonCompliant clusters and records the baseline', () => {
    const r = started({ requireApproval: false, maxNonCompliant: 1 });
    const t = decideGate(r, { clusters: [cluster('weu-1', 'westeurope', 'rg-weu', { states: [state('noPrivileged', 'NonCompliant')] }), cluster('weu-2', 'westeurope', 'rg-weu')] }, NOW, SETTINGS);
    expect(t.rollout.waves[0]?.state).toBe('applying');
    expect(Object.values(t.rollout.waves[0]?.baseline ?? {})).toEqual([['noprivileged'], []]);
  });

  it('blocks when a wave cluster has no evidence at all', () => {
    const t = decideGate(started(), { clusters: [cluster('weu-1', 'westeurope', 'rg-weu')] }, NOW, SETTINGS);
    expect(t.rollout.waves[0]?.reasons).toEqual(['weu-2: no evaluation found']);
  });

  it('waits for approval without rechecks; approval by a second identity sends the gate step', () => {
    const r = started({});
    const waiting = decideGate(r, { clusters: fleet() }, NOW, SETTINGS);
    expect(waiting.rollout.state).toBe('awaiting_approval');
    expect(waiting.rollout.waves[0]?.state).toBe('awaiting_approval');
    expect(waiting.send).toBeUndefined();

    expect(() => approveWave(waiting.rollout, 0, 'ALICE', at(1))).toThrow(ForbiddenOperationError);

    const approved = approveWave(waiting.rollout, 0, 'bob', at(1));
    expect(approved.rollout.state).toBe('running');
    expect(approved.rollout.waves[0]?.approval).toEqual({ by: 'bob', at: at(1).toISOString() });
    expect(approved.send?.message).toEqual(expect.objectContaining({ step: 'gate', attempt: 1 }));
    expect(approved.events.map((e) => [e.type, e.actor])).toEqual([['approved', 'bob']]);

    const passed = decideGate(approved.rollout, { clusters: fleet() }, at(2), SETTINGS);
    expect(passed.rollout.waves[0]?.state).toBe('applying');

    // Approving twice changes nothing.
    const twice = approveWave(approved.rollout, 0, 'carol', at(3));
    expect(twice.events).toEqual([]);
    expect(twice.rollout).toBe(approved.rollout);
  });

  it('lists a missing approval among other reasons and keeps rechecking', () => {
    const t = decideGate(started({}), { clusters: [cluster('weu-1', 'westeurope', 'rg-weu', { connectivityStatus: 'Expired' }), cluster('weu-2', 'westeurope', 'rg-weu')] }, NOW, SETTINGS);
    expect(t.rollout.state).toBe('blocked');
    expect(t.rollout.waves[0]?.reasons.at(-1)).toMatch(/^approval required/);
    expect(t.send?.visibilityDelaySeconds).toBe(900);
  });

  it('records approval of a later wave ahead of time and refuses approving applied waves', () => {
    const r = started();
    const ahead = approveWave(r, 2, 'bob', NOW);
    expect(ahead.rollout.waves[2]?.approval?.by).toBe('bob');
    expect(ahead.send).toBeUndefined();
    const baking = toBaking(r);
    expect(() => approveWave(baking, 0, 'bob', NOW)).toThrow(ConflictError);
    expect(() => findWave(baking, 'nope')).toThrow(NotFoundError);
    expect(findWave(baking, 'EUROPE')).toBe(1);
    expect(findWave(baking, '2')).toBe(2);
  });
});

describe('apply, verify, bake', () => {
  it('apply → verifying and verify with all deny → baking for bakeMinutes', () => {
    const gate = decideGate(started(), { clusters: fleet() }, NOW, SETTINGS);
    const applied = recordApplied(gate.rollout, at(1));
    expect(applied.rollout.waves[0]?.state).toBe('verifying');
    expect(applied.send?.message).toEqual(expect.objectContaining({ step: 'verify', attempt: 0 }));
    const verified = decideVerify(applied.rollout, { pending: [] }, at(2), SETTINGS);
    expect(verified.rollout.waves[0]?.state).toBe('baking');
    expect(verified.send).toEqual({ message: expect.objectContaining({ step: 'bake', attempt: 0 }), visibilityDelaySeconds: 3600 });
    expect(verified.events.map((e) => e.type)).toEqual(['wave-verified']);
  });

  it('verify backs off while results are pending and fails after the timeout', () => {
    const applied = recordApplied(decideGate(started(), { clusters: fleet() }, NOW, SETTINGS).rollout, NOW);
    const p1 = decideVerify(applied.rollout, { pending: ['weu-1'] }, at(1), SETTINGS);
    expect(p1.send).toEqual({ message: expect.objectContaining({ step: 'verify', attempt: 1 }), visibilityDelaySeconds: 15 });
    expect(p1.events.map((e) => e.type)).toEqual(['verify-pending']);
    const p2 = decideVerify(p1.rollout, { pending: ['weu-1'] }, at(2), SETTINGS);
    expect(p2.send?.visibilityDelaySeconds).toBe(30);
    expect(p2.events).toEqual([]);
    const timedOut = decideVerify(p2.rollout, { pending: ['weu-1'] }, at(60), SETTINGS);
    expect(timedOut.rollout.state).toBe('failed');
    expect(timedOut.rollout.cause).toMatch(/verify timed out after 3600 s: 1 cluster\(s\) do not report deny \(weu-1\)/);
    expect(timedOut.send).toBeUndefined();
  });

  it('bake without regression completes the wave and gates the next one; the last wave completes the rollout', () => {
    let r = toBaking(started());
    const baked = decideBake(r, { regressions: [] }, at(62));
    expect(baked.rollout.waves.map((w) => w.state)).toEqual(['completed', 'gating', 'pending']);
    expect(baked.rollout.currentWave).toBe(1);
    expect(baked.send?.message).toEqual(expect.objectContaining({ wave: 1, step: 'gate', attempt: 0 }));
    r = baked.rollout;
    for (const w of [1, 2]) {
      let t = decideGate(r, { clusters: fleet() }, at(70), SETTINGS);
      t = recordApplied(t.rollout, at(71));
      t = decideVerify(t.rollout, { pending: [] }, at(72), SETTINGS);
      t = decideBake(t.rollout, { regressions: [] }, at(140));
      r = t.rollout;
      if (w === 2) {
        expect(t.rollout.state).toBe('completed');
        expect(t.rollout.cursor).toBeUndefined();
        expect(t.events.map((e) => e.type)).toEqual(['wave-baked', 'completed']);
        expect(t.send).toBeUndefined();
      }
    }
    expect(r.waves.map((w) => w.state)).toEqual(['completed', 'completed', 'completed']);
    // Events are numbered without gaps.
    expect(r.eventCount).toBeGreaterThan(8);
  });

  it('a regression rolls back that wave automatically, then pauses; the rollback command still restores everything', () => {
    const regressed = decideBake(toBaking(started()), { regressions: ['weu-1: newly non-compliant (noprivileged)'] }, at(62));
    expect(regressed.rollout.cursor).toEqual({ wave: 0, step: 'rollback', attempt: 0 });
    expect(regressed.rollout.rollbackScope).toBe('wave');
    expect(regressed.rollout.waves[0]?.reasons).toEqual(['weu-1: newly non-compliant (noprivileged)']);
    expect(regressed.events.map((e) => e.type)).toEqual(['regression', 'rollback-requested']);
    expect(regressed.send?.message.step).toBe('rollback');
    const done = recordRolledBack(regressed.rollout, at(63));
    expect(done.rollout.state).toBe('paused');
    expect(done.rollout.cause).toMatch(/wave "canary" regressed during bake/);
    expect(done.rollout.waves.map((w) => w.state)).toEqual(['rolled_back', 'pending', 'pending']);
    expect(done.events.map((e) => e.type)).toEqual(['rolled-back']);
    // An explicit rollback afterwards is a full one and ends rolled_back.
    const full = requestRollback(done.rollout, 'alice', at(64));
    expect(full.rollout.rollbackScope).toBe('all');
    expect(recordRolledBack(full.rollout, at(65)).rollout.state).toBe('rolled_back');
  });

  it('a regression pauses when autoRollback is off; resume re-runs the bake check', () => {
    const paused = decideBake(toBaking(started({ requireApproval: false }, false)), { regressions: ['weu-2: not connected (Offline)'] }, at(62));
    expect(paused.rollout.state).toBe('paused');
    expect(paused.send).toBeUndefined();
    const resumed = resumeRollout(paused.rollout, 'alice', at(70));
    expect(resumed.rollout.state).toBe('running');
    expect(resumed.send?.message).toEqual(expect.objectContaining({ step: 'bake' }));
    expect(classifyStep(resumed.rollout, resumed.send!.message).kind).toBe('current');
  });

  it('finds regressions against the gate baseline through the enforcing assignment', () => {
    const baking = toBaking(started({ requireApproval: false, maxNonCompliant: 2 }));
    const wave = { ...baking.waves[0]!, baseline: { [baking.waves[0]!.clusters[0]!.toLowerCase()]: ['noprivileged'] } };
    const now = [
      cluster('weu-1', 'westeurope', 'rg-weu', { states: [state('noPrivileged', 'NonCompliant')] }),
      cluster('weu-2', 'westeurope', 'rg-weu', { connectivityStatus: 'Offline', states: [state('noHostNetwork', 'NonCompliant')] }),
    ];
    expect(findRegressions(wave, now)).toEqual(['weu-2: not connected (Offline)', 'weu-2: newly non-compliant (nohostnetwork)']);
    expect(findRegressions(wave, [now[0]!])).toEqual(['weu-2: no longer found']);
  });
});

describe('idempotency', () => {
  it('treats duplicates and old attempts as stale, and a redelivered handled step re-sends its outbox', () => {
    const r0 = started();
    const first = { wave: 0, step: 'gate' as const, attempt: 0 };
    expect(classifyStep(r0, first).kind).toBe('current');
    const t = decideGate(r0, { clusters: fleet() }, NOW, SETTINGS);
    const again = classifyStep(t.rollout, first);
    expect(again).toEqual({ kind: 'redelivered', resend: t.send });
    expect(classifyStep(t.rollout, { wave: 0, step: 'apply', attempt: 1 }).kind).toBe('stale');
    expect(classifyStep(t.rollout, { wave: 1, step: 'gate', attempt: 0 }).kind).toBe('stale');
    expect(classifyStep(t.rollout, { wave: 0, step: 'apply', attempt: 0 }).kind).toBe('current');
    // Deciding on a step the rollout does not expect is refused.
    expect(() => recordApplied(r0, NOW)).toThrow(ConflictError);
  });

  it('ignores steps while paused and after terminal states', () => {
    const r = started();
    const paused = pauseRollout(r, 'alice', NOW).rollout;
    expect(classifyStep(paused, { wave: 0, step: 'gate', attempt: 0 })).toEqual({ kind: 'stale', reason: 'rollout is paused' });
    const aborted = abortRollout(r, 'alice', NOW).rollout;
    expect(classifyStep(aborted, { wave: 0, step: 'gate', attempt: 0 }).kind).toBe('stale');
  });
});

describe('commands', () => {
  it('pause and resume: resume bumps the attempt so in-flight messages become stale', () => {
    const r = started();
    const p = pauseRollout(r, 'alice', NOW);
    expect(p.rollout.state).toBe('paused');
    expect(p.rollout.pausedFrom).toBe('running');
    expect(p.events.map((e) => e.type)).toEqual(['paused']);
    expect(() => pauseRollout(p.rollout, 'alice', NOW)).toThrow(ConflictError);
    const resumed = resumeRollout(p.rollout, 'alice', at(1));
    expect(resumed.rollout.cursor).toEqual({ wave: 0, step: 'gate', attempt: 1 });
    expect(classifyStep(resumed.rollout, { wave: 0, step: 'gate', attempt: 0 }).kind).toBe('stale');
    expect(() => resumeRollout(resumed.rollout, 'alice', NOW)).toThrow(ConflictError);
  });

  it('pauses blocked and awaiting_approval rollouts too', () => {
    const waiting = decideGate(started({}), { clusters: fleet() }, NOW, SETTINGS).rollout;
    expect(pauseRollout(waiting, 'alice', NOW).rollout.pausedFrom).toBe('awaiting_approval');
  });

  it('abort stops an active rollout; terminal rollouts cannot be aborted', () => {
    const a = abortRollout(started(), 'alice', NOW);
    expect(a.rollout.state).toBe('aborted');
    expect(a.rollout.cursor).toBeUndefined();
    expect(() => abortRollout(a.rollout, 'alice', NOW)).toThrow(ConflictError);
  });

  it('rollback from any state but rolled_back; idempotent while in progress', () => {
    const baking = toBaking(started());
    const rb = requestRollback(baking, 'alice', NOW);
    expect(rb.rollout.cursor?.step).toBe('rollback');
    expect(rb.send?.message.step).toBe('rollback');
    expect(rb.events.map((e) => e.type)).toEqual(['rollback-requested']);
    const same = requestRollback(rb.rollout, 'bob', NOW);
    expect(same.events).toEqual([]);
    expect(same.rollout).toBe(rb.rollout);
    expect(() => pauseRollout(rb.rollout, 'alice', NOW)).toThrow(ConflictError);
    expect(() => abortRollout(rb.rollout, 'alice', NOW)).toThrow(ConflictError);
    const done = recordRolledBack(rb.rollout, NOW);
    expect(() => requestRollback(done.rollout, 'alice', NOW)).toThrow(ConflictError);
    // From failed and aborted too.
    const failed = failRollout(started(), 'poison', NOW).rollout;
    expect(requestRollback(failed, 'alice', NOW).rollout.state).toBe('running');
    const aborted = abortRollout(started(), 'alice', NOW).rollout;
    expect(requestRollback(aborted, 'alice', NOW).rollout.cursor?.step).toBe('rollback');
  });

  it('fails a rollout with its cause', () => {
    const t: Transition = failRollout(started(), 'step gate of wave 0 failed 5 times: boom', NOW, { wave: 0, step: 'gate', attempt: 0 });
    expect(t.rollout.state).toBe('failed');
    expect(t.rollout.cause).toBe('step gate of wave 0 failed 5 times: boom');
    expect(t.events.map((e) => e.type)).toEqual(['failed']);
  });
});

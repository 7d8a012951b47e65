/**
 * The rollout state machine (pure). Steps per wave: `gate` → `apply` → `verify` → `bake`, then the
 * next wave's gate, then `completed`; `rollback` restores the snapshot. Commands: pause, resume,
 * abort, rollback, approve.
 *
 * Every function returns a {@link Transition}: the next rollout record, the events to append and
 * the step message to send once both are stored (events first, then the message). A step message
 * is handled only when it matches the rollout's `cursor` (wave, step, attempt); anything else is a
 * duplicate or a stale redelivery and changes nothing ({@link classifyStep}). Side effects (ARM
 * writes, evaluations) happen outside, between classification and the decision functions; they are
 * idempotent (the desired state of a wave is fixed at plan time), so a step interrupted before its
 * record was stored can simply run again.
 */
import { ConflictError, ForbiddenOperationError, NotFoundError } from './errors.js';
import { nonCompliantPolicies } from './rollout-planner.js';
import {
  ACTIVE_ROLLOUT_STATES,
  type OutgoingStep,
  type Rollout,
  type RolloutClusterFacts,
  type RolloutEvent,
  type RolloutEventType,
  type RolloutPlan,
  type RolloutState,
  type RolloutStep,
  type RolloutStepMessage,
  type RolloutWave,
  type StepCursor,
  type WaveState,
} from './rollout-model.js';

export interface StepSettings {
  /** `ROLLOUT_GATE_RECHECK_SECONDS`: delay before a blocked gate is re-checked. */
  readonly gateRecheckSeconds: number;
  /** `ROLLOUT_VERIFY_TIMEOUT_SECONDS`: how long verify waits for deny results. */
  readonly verifyTimeoutSeconds: number;
}

export interface Transition {
  readonly rollout: Rollout;
  readonly events: readonly RolloutEvent[];
  /** The step message to enqueue after the rollout and events are stored. */
  readonly send: OutgoingStep | undefined;
}

const TERMINAL: readonly RolloutState[] = ['completed', 'failed', 'rolled_back', 'aborted'];

export function isActive(state: RolloutState): boolean {
  return ACTIVE_ROLLOUT_STATES.includes(state);
}

/**
 * Longest visibility delay of one step message. Storage caps delays at 7 days and messages expire
 * after their time-to-live; a longer wait (a 7-day bake) is chained: the step, delivered before its
 * time, sends itself again for the rest ({@link decideBake}).
 */
export const MAX_STEP_DELAY_SECONDS = 24 * 3600;

/** Verify re-checks back off 15 s, 30 s, 60 s… up to 5 minutes. */
export function verifyBackoffSeconds(attempt: number): number {
  return Math.min(300, 15 * 2 ** Math.min(attempt, 10));
}

function message(rollout: Rollout, cursor: StepCursor): RolloutStepMessage {
  return { kind: 'rollout-step', rolloutId: rollout.id, wave: cursor.wave, step: cursor.step, attempt: cursor.attempt };
}

class Builder {
  private readonly events: RolloutEvent[] = [];
  constructor(
    private rollout: Rollout,
    private readonly now: Date,
  ) {}

  event(type: RolloutEventType, text: string, extra: { wave?: number | undefined; actor?: string | undefined; comment?: string | undefined } = {}): this {
    const seq = this.rollout.eventCount + this.events.length + 1;
    this.events.push({
      seq,
      at: this.now.toISOString(),
      type,
      message: text,
      ...(extra.wave !== undefined ? { wave: extra.wave } : {}),
      ...(extra.actor !== undefined ? { actor: extra.actor } : {}),
      ...(extra.comment !== undefined ? { comment: extra.comment } : {}),
    });
    return this;
  }

  set(patch: Partial<Rollout>): this {
    this.rollout = { ...this.rollout, ...patch };
    return this;
  }

  wave(index: number, patch: Partial<RolloutWave>): this {
    this.rollout = { ...this.rollout, waves: this.rollout.waves.map((w, i) => (i === index ? { ...w, ...patch } : w)) };
    return this;
  }

  get current(): Rollout {
    return this.rollout;
  }

  /** Finishes the transition; `send` also becomes the outbox (re-sent if the handled message is redelivered). */
  done(send: { cursor: StepCursor; delaySeconds: number } | undefined, handled?: StepCursor): Transition {
    const delay = send ? Math.min(MAX_STEP_DELAY_SECONDS, Math.max(0, Math.round(send.delaySeconds))) : 0;
    const outgoing: OutgoingStep | undefined = send ? { message: message(this.rollout, send.cursor), visibilityDelaySeconds: delay } : undefined;
    const outboxFields = { outbox: outgoing, outboxDueAt: outgoing ? new Date(this.now.getTime() + delay * 1000).toISOString() : undefined, outboxSent: undefined };
    const rollout: Rollout = {
      ...this.rollout,
      updatedAt: this.now.toISOString(),
      eventCount: this.rollout.eventCount + this.events.length,
      ...(handled !== undefined ? { lastHandled: handled, ...outboxFields } : outgoing !== undefined ? outboxFields : {}),
    };
    return { rollout, events: this.events, send: outgoing };
  }
}

/** The rollout record for a new plan: wave 1 gating, its gate step queued now. */
export function startRollout(plan: RolloutPlan, input: { readonly id: string; readonly createdBy: string; readonly now: Date }): Transition {
  const at = input.now.toISOString();
  const waves: RolloutWave[] = plan.waves.map((w, i) => ({
    name: w.name,
    locations: w.locations,
    resourceGroups: w.resourceGroups,
    mechanisms: w.mechanisms,
    state: i === 0 ? 'gating' : 'pending',
    clusters: w.clusters.map((c) => c.id),
    nonCompliant: w.nonCompliant,
    reasons: [],
    enforcement: Object.fromEntries(w.clusters.map((c) => [c.id.toLowerCase(), c.enforcingAssignmentId.toLowerCase()])),
    desired: w.desired,
  }));
  const cursor: StepCursor = { wave: 0, step: 'gate', attempt: 0 };
  const rollout: Rollout = {
    id: input.id,
    policyAssignmentId: plan.policyAssignmentId,
    createdBy: input.createdBy,
    createdAt: at,
    updatedAt: at,
    state: 'running',
    gates: plan.gates,
    autoRollback: plan.autoRollback,
    snapshot: plan.snapshot,
    waves,
    currentWave: 0,
    cursor,
    eventCount: 0,
  };
  return new Builder(rollout, input.now)
    .event('created', `Rollout of ${plan.policyAssignmentId} created with ${waves.length} wave(s).`, { actor: input.createdBy })
    .done({ cursor, delaySeconds: 0 });
}

export type StepClassification =
  /** The expected step: run it. */
  | { readonly kind: 'current' }
  /** The step just handled, delivered again: re-send what it sent (repairs a lost send), change nothing. */
  | { readonly kind: 'redelivered'; readonly resend: OutgoingStep | undefined }
  /** Anything else (an old attempt, a paused or finished rollout): ignore. */
  | { readonly kind: 'stale'; readonly reason: string };

const sameCursor = (a: StepCursor | undefined, b: StepCursor): boolean => a !== undefined && a.wave === b.wave && a.step === b.step && a.attempt === b.attempt;

/** Decides whether a step message is the one the rollout expects. */
export function classifyStep(rollout: Rollout, msg: StepCursor): StepClassification {
  if (sameCursor(rollout.lastHandled, msg) && !sameCursor(rollout.cursor, msg)) {
    return { kind: 'redelivered', resend: rollout.outbox !== undefined && rollout.cursor !== undefined && !TERMINAL.includes(rollout.state) && rollout.state !== 'paused' ? rollout.outbox : undefined };
  }
  if (TERMINAL.includes(rollout.state) && rollout.cursor?.step !== 'rollback') return { kind: 'stale', reason: `rollout is ${rollout.state}` };
  if (rollout.state === 'paused') return { kind: 'stale', reason: 'rollout is paused' };
  if (!sameCursor(rollout.cursor, msg)) return { kind: 'stale', reason: 'not the expected step' };
  return { kind: 'current' };
}

/**
 * The stored outbox to send again, if the rollout still expects it and it looks lost: its send failed
 * (`outboxSent === false`: sent now, with what is left of its delay), or it was due more than
 * `graceSeconds` ago and the rollout has not moved on (sent with a delay of `graceSeconds`, so a slow
 * but alive original is not raced at once). Undefined otherwise — a mere duplicate delivery, or a
 * blocked gate's re-check that is not due yet, sends nothing, so copies never multiply.
 */
export function outboxResend(rollout: Rollout, now: Date, graceSeconds: number): OutgoingStep | undefined {
  const { outbox, cursor } = rollout;
  if (outbox === undefined || cursor === undefined || !sameCursor(cursor, outbox.message)) return undefined;
  if (rollout.state === 'paused' || TERMINAL.includes(rollout.state)) return undefined;
  const due = Date.parse(rollout.outboxDueAt ?? rollout.updatedAt);
  if (rollout.outboxSent === false) return { message: outbox.message, visibilityDelaySeconds: Math.max(0, Math.ceil((due - now.getTime()) / 1000)) };
  if (now.getTime() < due + graceSeconds * 1000) return undefined;
  return { message: outbox.message, visibilityDelaySeconds: graceSeconds };
}

/** The record after its outbox was (re-)sent with `delaySeconds` (`sent`), or after the send failed. No event: bookkeeping only. */
export function markOutbox(rollout: Rollout, now: Date, result: { readonly sent: true; readonly delaySeconds: number } | { readonly sent: false }): Rollout {
  if (!result.sent) return { ...rollout, outboxSent: false };
  return { ...rollout, outboxSent: undefined, outboxDueAt: new Date(now.getTime() + result.delaySeconds * 1000).toISOString() };
}

function requireCursor(rollout: Rollout, step: RolloutStep): StepCursor {
  const c = rollout.cursor;
  if (c === undefined || c.step !== step) throw new ConflictError(`The rollout does not expect a ${step} step.`, rollout.id);
  return c;
}

function waveAt(rollout: Rollout, index: number): RolloutWave {
  const w = rollout.waves[index];
  if (w === undefined) throw new NotFoundError(`Wave ${index} does not exist.`, `waves/${index}`);
  return w;
}

export interface GateObservation {
  /** Latest facts for the wave's clusters (a cluster missing here has no evidence). */
  readonly clusters: readonly RolloutClusterFacts[];
}

/** Why the wave's gate holds (empty = it passes). Approval is the last reason when missing. */
export function gateReasons(rollout: Rollout, wave: RolloutWave, observation: GateObservation, now: Date): { reasons: string[]; nonCompliant: number; baseline: Record<string, string[]>; approvalOnly: boolean } {
  const byId = new Map(observation.clusters.map((c) => [c.id.toLowerCase(), c]));
  const maxAgeMs = rollout.gates.maxEvidenceAgeHours * 3_600_000;
  const nonCompliantNames: string[] = [];
  const baseline: Record<string, string[]> = {};
  const reasons: string[] = [];
  for (const id of wave.clusters) {
    const c = byId.get(id.toLowerCase());
    const name = id.split('/').pop() ?? id;
    if (c === undefined) {
      reasons.push(`${name}: no evaluation found`);
      continue;
    }
    const keys = nonCompliantPolicies(c.states, rollout.policyAssignmentId);
    baseline[id.toLowerCase()] = keys;
    if (keys.length > 0) nonCompliantNames.push(`${c.name} (${keys.join(', ')})`);
    if ((c.connectivityStatus ?? '').toLowerCase() !== 'connected') reasons.push(`${c.name}: not connected (${c.connectivityStatus ?? 'unknown'})`);
    if (c.evaluatedAt === undefined) reasons.push(`${c.name}: never evaluated`);
    else if (c.stale || now.getTime() - Date.parse(c.evaluatedAt) > maxAgeMs) reasons.push(`${c.name}: evidence from ${c.evaluatedAt} is older than ${rollout.gates.maxEvidenceAgeHours} h`);
  }
  if (nonCompliantNames.length > rollout.gates.maxNonCompliant) {
    reasons.unshift(`${nonCompliantNames.length} cluster(s) non-compliant, more than maxNonCompliant ${rollout.gates.maxNonCompliant}: ${nonCompliantNames.join('; ')}`);
  }
  const approvalMissing = rollout.gates.requireApproval && wave.approval === undefined;
  const approvalOnly = reasons.length === 0 && approvalMissing;
  if (approvalMissing) reasons.push('approval required: a second identity with Enforcement.Approve must approve this wave');
  return { reasons, nonCompliant: nonCompliantNames.length, baseline, approvalOnly };
}

/** Gate step: pass → apply now; only approval missing → awaiting approval; otherwise blocked, re-checked later. */
export function decideGate(rollout: Rollout, observation: GateObservation, now: Date, settings: StepSettings): Transition {
  const cursor = requireCursor(rollout, 'gate');
  const wave = waveAt(rollout, cursor.wave);
  const { reasons, nonCompliant, baseline, approvalOnly } = gateReasons(rollout, wave, observation, now);
  const b = new Builder(rollout, now);
  if (reasons.length === 0) {
    const next: StepCursor = { wave: cursor.wave, step: 'apply', attempt: 0 };
    b.wave(cursor.wave, { state: 'applying', reasons: [], nonCompliant, baseline, gatePassedAt: now.toISOString() })
      .set({ state: 'running', cursor: next })
      .event('gate-passed', `Gate of wave "${wave.name}" passed (${wave.clusters.length} cluster(s), ${nonCompliant} non-compliant).`, { wave: cursor.wave });
    return b.done({ cursor: next, delaySeconds: 0 }, cursor);
  }
  const next: StepCursor = { wave: cursor.wave, step: 'gate', attempt: cursor.attempt + 1 };
  const waveState: WaveState = approvalOnly ? 'awaiting_approval' : 'blocked';
  const changed = wave.state !== waveState || wave.reasons.join('\n') !== reasons.join('\n');
  b.wave(cursor.wave, { state: waveState, reasons, nonCompliant }).set({ state: approvalOnly ? 'awaiting_approval' : 'blocked', cursor: next });
  // A recheck every few minutes with the same outcome would flood the log: record changes only.
  if (changed) b.event('gate-blocked', `Gate of wave "${wave.name}" holds: ${reasons.join(' | ')}`, { wave: cursor.wave });
  // Awaiting approval needs no recheck: the approval sends the gate step.
  return b.done(approvalOnly ? undefined : { cursor: next, delaySeconds: settings.gateRecheckSeconds }, cursor);
}

/** Apply step done: ARM holds the wave's desired assignments (read back and compared). */
export function recordApplied(rollout: Rollout, now: Date): Transition {
  const cursor = requireCursor(rollout, 'apply');
  const wave = waveAt(rollout, cursor.wave);
  const next: StepCursor = { wave: cursor.wave, step: 'verify', attempt: 0 };
  return new Builder(rollout, now)
    .wave(cursor.wave, { state: 'verifying', appliedAt: now.toISOString(), verifyStartedAt: now.toISOString() })
    .set({ cursor: next })
    .event('wave-applied', `Wave "${wave.name}" applied: ${wave.mechanisms.join(' + ')}.`, { wave: cursor.wave })
    .done({ cursor: next, delaySeconds: 0 }, cursor);
}

export interface VerifyObservation {
  /** Names of wave clusters whose states do not all report `deny` yet. */
  readonly pending: readonly string[];
}

/** Verify step: all deny → bake; otherwise back off until `verifyTimeoutSeconds`, then fail. */
export function decideVerify(rollout: Rollout, observation: VerifyObservation, now: Date, settings: StepSettings): Transition {
  const cursor = requireCursor(rollout, 'verify');
  const wave = waveAt(rollout, cursor.wave);
  const b = new Builder(rollout, now);
  if (observation.pending.length === 0) {
    const next: StepCursor = { wave: cursor.wave, step: 'bake', attempt: 0 };
    b.wave(cursor.wave, { state: 'baking', bakeStartedAt: now.toISOString(), reasons: [] })
      .set({ cursor: next })
      .event('wave-verified', `Every cluster of wave "${wave.name}" reports deny; baking ${rollout.gates.bakeMinutes} min.`, { wave: cursor.wave });
    // Longer than MAX_STEP_DELAY_SECONDS: `done` caps it and the early bake step chains the rest.
    return b.done({ cursor: next, delaySeconds: rollout.gates.bakeMinutes * 60 }, cursor);
  }
  const started = Date.parse(wave.verifyStartedAt ?? wave.appliedAt ?? now.toISOString());
  const elapsed = (now.getTime() - started) / 1000;
  const pendingText = observation.pending.slice(0, 20).join(', ');
  if (elapsed >= settings.verifyTimeoutSeconds) {
    const cause = `verify timed out after ${settings.verifyTimeoutSeconds} s: ${observation.pending.length} cluster(s) do not report deny (${pendingText})`;
    b.wave(cursor.wave, { reasons: [cause] }).set({ state: 'failed', cursor: undefined, cause }).event('failed', `Wave "${wave.name}": ${cause}`, { wave: cursor.wave });
    return b.done(undefined, cursor);
  }
  const next: StepCursor = { wave: cursor.wave, step: 'verify', attempt: cursor.attempt + 1 };
  const delay = Math.max(1, Math.min(verifyBackoffSeconds(cursor.attempt), settings.verifyTimeoutSeconds - elapsed));
  b.wave(cursor.wave, { reasons: [`waiting for deny results: ${pendingText}`] }).set({ cursor: next });
  if (cursor.attempt === 0) b.event('verify-pending', `Wave "${wave.name}": waiting for deny results from ${observation.pending.length} cluster(s).`, { wave: cursor.wave });
  return b.done({ cursor: next, delaySeconds: delay }, cursor);
}

export interface BakeObservation {
  /** Regressions found after the bake time: new non-compliance or lost connectivity, one line per cluster. */
  readonly regressions: readonly string[];
}

/**
 * Regressions of the wave's clusters against the gate baseline: a policy non-compliant now that was
 * not at the gate (for the assignment that enforces the cluster), or a cluster no longer connected.
 */
export function findRegressions(wave: RolloutWave, clusters: readonly RolloutClusterFacts[]): string[] {
  const byId = new Map(clusters.map((c) => [c.id.toLowerCase(), c]));
  const out: string[] = [];
  for (const id of wave.clusters) {
    const lower = id.toLowerCase();
    const c = byId.get(lower);
    const name = id.split('/').pop() ?? id;
    if (c === undefined) {
      out.push(`${name}: no longer found`);
      continue;
    }
    if ((c.connectivityStatus ?? '').toLowerCase() !== 'connected') out.push(`${c.name}: not connected (${c.connectivityStatus ?? 'unknown'})`);
    const before = new Set(wave.baseline?.[lower] ?? []);
    const enforcing = wave.enforcement[lower] ?? '';
    const now = nonCompliantPolicies(c.states, enforcing).filter((k) => !before.has(k));
    if (now.length > 0) out.push(`${c.name}: newly non-compliant (${now.join(', ')})`);
  }
  return out;
}

/**
 * Seconds of bake time the current wave still has to wait (0 when it is over). A bake longer than
 * one message delay ({@link MAX_STEP_DELAY_SECONDS}) arrives early and waits again ({@link continueBake}).
 */
export function bakeRemainingSeconds(rollout: Rollout, now: Date): number {
  const wave = rollout.waves[rollout.currentWave];
  if (rollout.cursor?.step !== 'bake' || wave?.bakeStartedAt === undefined) return 0;
  const end = Date.parse(wave.bakeStartedAt) + rollout.gates.bakeMinutes * 60_000;
  return Math.max(0, Math.ceil((end - now.getTime()) / 1000));
}

/** The bake step arrived before the bake time is over: wait the rest (chained in hops of at most {@link MAX_STEP_DELAY_SECONDS}). */
export function continueBake(rollout: Rollout, now: Date): Transition {
  const cursor = requireCursor(rollout, 'bake');
  const remaining = bakeRemainingSeconds(rollout, now);
  const next: StepCursor = { wave: cursor.wave, step: 'bake', attempt: cursor.attempt + 1 };
  return new Builder(rollout, now).set({ cursor: next }).done({ cursor: next, delaySeconds: remaining }, cursor);
}

/** Bake step: no regression → wave completed, next wave's gate (or rollout completed); else rollback of the wave or pause. */
export function decideBake(rollout: Rollout, observation: BakeObservation, now: Date): Transition {
  const cursor = requireCursor(rollout, 'bake');
  const wave = waveAt(rollout, cursor.wave);
  const b = new Builder(rollout, now);
  if (observation.regressions.length > 0) {
    const cause = `wave "${wave.name}" regressed during bake: ${observation.regressions.join('; ')}`;
    b.wave(cursor.wave, { reasons: [...observation.regressions] }).event('regression', cause, { wave: cursor.wave });
    if (rollout.autoRollback) {
      // Only this wave: earlier waves baked without regression and stay enforced.
      const next: StepCursor = { wave: cursor.wave, step: 'rollback', attempt: 0 };
      const to = cursor.wave === 0 ? 'the snapshot' : `wave "${waveAt(rollout, cursor.wave - 1).name}"`;
      b.set({ cursor: next, cause, rollbackScope: 'wave' }).event('rollback-requested', `Automatic rollback of wave "${wave.name}" to ${to} (autoRollback).`, { wave: cursor.wave });
      return b.done({ cursor: next, delaySeconds: 0 }, cursor);
    }
    // Resume re-runs the bake check with a new attempt.
    b.set({ state: 'paused', pausedFrom: 'running', cause, cursor: { wave: cursor.wave, step: 'bake', attempt: cursor.attempt + 1 } }).event('paused', 'Paused on regression (autoRollback is off).', {
      wave: cursor.wave,
    });
    return b.done(undefined, cursor);
  }
  b.wave(cursor.wave, { state: 'completed', completedAt: now.toISOString(), reasons: [] }).event('wave-baked', `Wave "${wave.name}" baked without regression.`, { wave: cursor.wave });
  const nextIndex = cursor.wave + 1;
  if (nextIndex >= rollout.waves.length) {
    b.set({ state: 'completed', cursor: undefined }).event('completed', 'Every wave is enforced.');
    return b.done(undefined, cursor);
  }
  const next: StepCursor = { wave: nextIndex, step: 'gate', attempt: 0 };
  b.wave(nextIndex, { state: 'gating' }).set({ currentWave: nextIndex, cursor: next, state: 'running' });
  return b.done({ cursor: next, delaySeconds: 0 }, cursor);
}

const APPLIED_STATES: readonly WaveState[] = ['applying', 'verifying', 'baking', 'completed'];

/**
 * Rollback step done. Scope `all`: ARM holds the snapshot again and every deny child is gone →
 * `rolled_back`. Scope `wave`: ARM holds what the previous wave left (the snapshot for wave 1) →
 * the wave is `rolled_back`, the rollout `paused` with the cause; resume re-gates the wave, which
 * needs a fresh approval.
 */
export function recordRolledBack(rollout: Rollout, now: Date): Transition {
  const cursor = requireCursor(rollout, 'rollback');
  const b = new Builder(rollout, now);
  if (rollout.rollbackScope === 'wave') {
    const wave = waveAt(rollout, cursor.wave);
    const to = cursor.wave === 0 ? `the snapshot taken at ${rollout.createdAt}` : `wave "${waveAt(rollout, cursor.wave - 1).name}"`;
    // A fresh attempt number: gate messages of the wave still in flight stay stale after resume.
    const next: StepCursor = { wave: cursor.wave, step: 'gate', attempt: rollout.eventCount + 1 };
    b.wave(cursor.wave, { state: 'rolled_back', approval: undefined })
      .set({ state: 'paused', pausedFrom: 'running', cursor: next, rollbackScope: undefined })
      .event('rolled-back', `Wave "${wave.name}" rolled back: the assignment is restored to ${to}; paused (${rollout.cause ?? 'regression'}).`, { wave: cursor.wave });
    return b.done(undefined, cursor);
  }
  rollout.waves.forEach((w, i) => {
    if (APPLIED_STATES.includes(w.state)) b.wave(i, { state: 'rolled_back' });
  });
  b.set({ state: 'rolled_back', cursor: undefined }).event('rolled-back', `Assignment restored to the snapshot taken at ${rollout.createdAt}.`);
  return b.done(undefined, cursor);
}

/**
 * Apply found an assignment changed outside the rollout (neither what the previous wave left nor the
 * wave's desired state): nothing is overwritten; the wave is `blocked` with the reasons and the
 * rollout `paused`. Resume re-runs apply (after the change was reverted); rollback restores the snapshot.
 */
export function blockApply(rollout: Rollout, reasons: readonly string[], now: Date): Transition {
  const cursor = requireCursor(rollout, 'apply');
  const wave = waveAt(rollout, cursor.wave);
  const cause = `wave "${wave.name}" not applied: ${reasons.join('; ')}`;
  return new Builder(rollout, now)
    .wave(cursor.wave, { state: 'blocked', reasons: [...reasons] })
    .set({ state: 'paused', pausedFrom: 'running', cause, cursor: { ...cursor, attempt: cursor.attempt + 1 } })
    .event('paused', `Paused: ${cause}`, { wave: cursor.wave })
    .done(undefined, cursor);
}

/** A step that cannot complete (poison message, last delivery attempt failed): the rollout fails with the cause. */
export function failRollout(rollout: Rollout, cause: string, now: Date, handled?: StepCursor): Transition {
  const b = new Builder(rollout, now)
    .set({ state: 'failed', cursor: undefined, cause })
    .event('failed', cause, { wave: handled?.wave ?? rollout.currentWave });
  return b.done(undefined, handled);
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

const rollbackInProgress = (r: Rollout): boolean => r.cursor?.step === 'rollback' && r.state === 'running';

function conflict(rollout: Rollout, action: string): ConflictError {
  return new ConflictError(`Cannot ${action} a rollout that is ${rollbackInProgress(rollout) ? 'rolling back' : rollout.state}.`, rollout.id);
}

export function pauseRollout(rollout: Rollout, actor: string, now: Date): Transition {
  if (!isActive(rollout.state) || rollout.state === 'paused' || rollbackInProgress(rollout)) throw conflict(rollout, 'pause');
  return new Builder(rollout, now).set({ state: 'paused', pausedFrom: rollout.state }).event('paused', `Paused by ${actor}.`, { actor }).done(undefined);
}

/** Resumes by re-running the expected step with a new attempt (older in-flight messages become stale). */
export function resumeRollout(rollout: Rollout, actor: string, now: Date): Transition {
  if (rollout.state !== 'paused' || rollout.cursor === undefined) throw conflict(rollout, 'resume');
  const next: StepCursor = { ...rollout.cursor, attempt: rollout.cursor.attempt + 1 };
  const b = new Builder(rollout, now).set({ state: 'running', pausedFrom: undefined, cursor: next }).event('resumed', `Resumed by ${actor}.`, { actor });
  const waveState: Partial<Record<RolloutStep, WaveState>> = { gate: 'gating', apply: 'applying' };
  const resumedWave = waveState[next.step];
  if (resumedWave !== undefined) b.wave(next.wave, { state: resumedWave });
  return b.done({ cursor: next, delaySeconds: 0 });
}

/** Stops the rollout where it is; the assignment keeps what was applied (rollback restores it). */
export function abortRollout(rollout: Rollout, actor: string, now: Date): Transition {
  if (!isActive(rollout.state) || rollbackInProgress(rollout)) throw conflict(rollout, 'abort');
  return new Builder(rollout, now).set({ state: 'aborted', cursor: undefined }).event('aborted', `Aborted by ${actor}; the assignment keeps the waves applied so far.`, { actor }).done(undefined);
}

/**
 * Queues the rollback step (restore the snapshot). Allowed from any state but `rolled_back`;
 * idempotent while rolling back; an automatic rollback of one wave in progress becomes a full one.
 */
export function requestRollback(rollout: Rollout, actor: string, now: Date): Transition {
  if (rollbackInProgress(rollout) && rollout.rollbackScope !== 'wave') return { rollout, events: [], send: rollout.outbox };
  if (rollout.state === 'rolled_back') throw conflict(rollout, 'roll back');
  const next: StepCursor = { wave: rollout.currentWave, step: 'rollback', attempt: rollout.eventCount };
  return new Builder(rollout, now)
    .set({ state: 'running', pausedFrom: undefined, cursor: next, cause: `rollback requested by ${actor}`, rollbackScope: 'all' })
    .event('rollback-requested', `Rollback to the snapshot requested by ${actor}.`, { actor })
    .done({ cursor: next, delaySeconds: 0 });
}

/** Finds a wave by name (case-insensitive) or, failing that, by zero-based index. */
export function findWave(rollout: Rollout, wave: string): number {
  const byName = rollout.waves.findIndex((w) => w.name.toLowerCase() === wave.toLowerCase());
  if (byName >= 0) return byName;
  if (/^\d{1,3}$/.test(wave) && Number(wave) < rollout.waves.length) return Number(wave);
  throw new NotFoundError(`The rollout has no wave "${wave}".`, `waves/${wave}`);
}

/**
 * Approves a wave. The approver must not be the rollout's creator ({@link ForbiddenOperationError}).
 * Approving the wave that awaits approval sends its gate step now; approving a later wave ahead of
 * time only records it; approving twice changes nothing.
 */
/**
 * Records the approval of a wave by `approver` (never the rollout's creator), with the approver's
 * `comment` on the wave and in the `approved` event. Approving an approved wave changes nothing.
 */
export function approveWave(rollout: Rollout, waveIndex: number, approver: string, now: Date, comment?: string): Transition {
  const wave = waveAt(rollout, waveIndex);
  if (approver.toLowerCase() === rollout.createdBy.toLowerCase()) {
    throw new ForbiddenOperationError('The approver of a wave must not be the creator of the rollout.', `waves/${wave.name}`);
  }
  if (TERMINAL.includes(rollout.state) || rollbackInProgress(rollout)) throw conflict(rollout, 'approve a wave of');
  if (waveIndex < rollout.currentWave || !['pending', 'gating', 'blocked', 'awaiting_approval'].includes(wave.state)) {
    throw new ConflictError(`Wave "${wave.name}" is ${wave.state}; only waves not yet applied can be approved.`, `waves/${wave.name}`);
  }
  if (wave.approval !== undefined) return { rollout, events: [], send: undefined };
  const note = comment !== undefined && comment.trim() !== '' ? comment : undefined;
  const b = new Builder(rollout, now)
    .wave(waveIndex, { approval: { by: approver, at: now.toISOString(), ...(note !== undefined ? { comment: note } : {}) } })
    .event('approved', `Wave "${wave.name}" approved by ${approver}.`, { wave: waveIndex, actor: approver, comment: note });
  if (rollout.state === 'awaiting_approval' && waveIndex === rollout.currentWave && rollout.cursor?.step === 'gate') {
    b.wave(waveIndex, { state: 'gating' }).set({ state: 'running' });
    return b.done({ cursor: rollout.cursor, delaySeconds: 0 });
  }
  return b.done(undefined);
}

/**
 * Staged enforcement use cases: plan and create rollouts, read them, the operator commands
 * (approve, pause, resume, abort, rollback) and `advance`, which the `rollout-steps` queue function
 * calls with one step message at a time.
 *
 * Every change is a transition of the pure state machine, stored with the rollout's ETag together
 * with its events (one transaction) BEFORE the next step message is sent. A write that loses the
 * race reloads and decides again, so a duplicate message never applies a wave twice: the ARM writes
 * of a step are idempotent (a wave's desired assignments are fixed at plan time) and only the
 * transition that wins moves the rollout on.
 */
import { permanentArmFailureOf } from '../domain/arm-failure.js';
import { ConflictError, NotFoundError, PreconditionFailedError } from '../domain/errors.js';
import type { OutgoingStep, PolicyAssignmentModel, Rollout, RolloutEvent, RolloutPlan, RolloutRequest, RolloutStepMessage, StepCursor } from '../domain/rollout-model.js';
import { normaliseRolloutRequest, planRollout } from '../domain/rollout-planner.js';
import {
  abortRollout,
  approveWave,
  classifyStep,
  failRollout,
  findWave,
  isActive,
  markOutbox,
  outboxResend,
  pauseRollout,
  requestRollback,
  resumeRollout,
  startRollout,
  type StepSettings,
  type Transition,
} from '../domain/rollout-state-machine.js';
import { QueueDelivery } from './queue-delivery.js';
import { ClusterFactsReader } from './rollout-cluster-facts.js';
import { runStep, type StepPorts } from './rollout-steps.js';
import { publishAll, rolloutOutboundEvents } from './event-publishing.js';
import type {
  AzureInventoryReader,
  ChangeApprovalRequest,
  ClusterStateRepository,
  Clock,
  EventPublisher,
  MessageQueue,
  Page,
  PolicyAssignmentGateway,
  RolloutApprovals,
  RolloutRepository,
  StoredRollout,
} from './ports.js';
import { silentLogger, type Logger } from './logger.js';

export interface RolloutServiceDeps {
  readonly repository: RolloutRepository;
  readonly assignments: PolicyAssignmentGateway;
  readonly clusters: ClusterStateRepository;
  /** Live connectivity for the bake check; without it the latest evaluation's is used. */
  readonly inventory?: AzureInventoryReader | undefined;
  readonly queue: MessageQueue<RolloutStepMessage>;
  readonly clock: Clock;
  readonly newId: () => string;
  readonly settings: StepSettings;
  readonly log?: Logger | undefined;
  /** Outbound `rollout.*` events (webhooks), published after each stored transition. */
  readonly events: EventPublisher;
}

/** The public representation of a rollout (API): no internal cursor, outbox or desired assignments. */
export interface RolloutView {
  readonly id: string;
  readonly policyAssignmentId: string;
  readonly state: Rollout['state'];
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly gates: Rollout['gates'];
  readonly autoRollback: boolean;
  readonly currentWave: number;
  /** The step the rollout waits for, when one is in flight. */
  readonly nextStep?: StepCursor | undefined;
  readonly cause?: string | undefined;
  readonly snapshot: PolicyAssignmentModel;
  readonly waves: readonly (Omit<Rollout['waves'][number], 'desired' | 'enforcement' | 'baseline'>)[];
  readonly events?: readonly RolloutEvent[];
}

export function toRolloutView(r: Rollout, events?: readonly RolloutEvent[]): RolloutView {
  return JSON.parse(
    JSON.stringify({
      id: r.id,
      policyAssignmentId: r.policyAssignmentId,
      state: r.state,
      createdBy: r.createdBy,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      gates: r.gates,
      autoRollback: r.autoRollback,
      currentWave: r.currentWave,
      nextStep: r.cursor,
      cause: r.cause,
      snapshot: r.snapshot,
      waves: r.waves.map(({ desired: _d, enforcement: _e, baseline: _b, ...w }) => w),
      events,
    }),
  ) as RolloutView;
}

export type CreateRolloutResult = { readonly dryRun: true; readonly plan: RolloutPlan } | { readonly dryRun: false; readonly plan: RolloutPlan; readonly rollout: RolloutView };

export type RolloutAction = 'pause' | 'resume' | 'abort' | 'rollback';

export type AdvanceOutcome = 'handled' | 'stale' | 'redelivered' | 'not-found' | 'failed';

const MAX_RACES = 5;
/**
 * How long after its due time a presumed-sent outbox counts as lost for a redelivered step, and the
 * delay its re-send gets (see `advance`).
 */
export const REDELIVERY_RESEND_DELAY_SECONDS = 60;
/** How long after its due time the sweeper re-sends a presumed-sent outbox (see `sweep`). */
export const SWEEP_GRACE_SECONDS = 600;
export class RolloutService implements RolloutApprovals {
  private readonly log: Logger;
  private readonly facts: ClusterFactsReader;
  private readonly steps: StepPorts;

  constructor(private readonly deps: RolloutServiceDeps) {
    this.log = deps.log ?? silentLogger;
    this.facts = new ClusterFactsReader(deps);
    this.steps = { assignments: deps.assignments, facts: this.facts, clock: deps.clock, settings: deps.settings };
  }

  // -------------------------------------------------------------------------------------------
  // Create, read
  // -------------------------------------------------------------------------------------------

  /** Plans the rollout from the live assignment and the latest evidence; unless `dryRun`, stores it and queues wave 1's gate. */
  async create(request: RolloutRequest, createdBy: string, options: { readonly dryRun?: boolean } = {}): Promise<CreateRolloutResult> {
    const normalised = normaliseRolloutRequest(request);
    const assignment = await this.deps.assignments.get(normalised.policyAssignmentId);
    if (assignment === undefined) throw new NotFoundError(`Policy assignment ${normalised.policyAssignmentId} was not found.`, 'policyAssignmentId');
    const clusters = await this.facts.gather(assignment.scope, undefined, [assignment.id], false);
    const plan = planRollout({ request: normalised, assignment, clusters });
    if (options.dryRun === true) return { dryRun: true, plan };

    const children = plan.waves.at(-1)?.desired.children ?? [];
    for (const child of children) {
      if ((await this.deps.assignments.get(child.id)) !== undefined) {
        throw new ConflictError(`An assignment named ${child.name} already exists at ${child.scope}; the resource-group wave cannot create its deny assignment.`, child.id);
      }
    }
    const now = this.deps.clock.now();
    const id = this.deps.newId();
    await this.deps.repository.claimAssignment(assignment.id, id, (holder) => this.isActive(holder));
    const t = startRollout(plan, { id, createdBy, now });
    const etag = await this.deps.repository.create(t.rollout, t.events);
    // The rollout is stored and holds the lock: a failed send must not turn into an error the client
    // retries into a 409. The record is marked unsent and the sweeper queues its first step.
    await this.sendStored(t, etag).catch(() => undefined);
    return { dryRun: false, plan, rollout: toRolloutView(t.rollout) };
  }

  /** The rollout with its event log. */
  async get(rolloutId: string): Promise<RolloutView> {
    const stored = await this.deps.repository.get(rolloutId);
    if (stored === undefined) throw new NotFoundError(`Rollout ${rolloutId} was not found.`, rolloutId);
    // The log is read after the record: a step stored in between would show events the record does
    // not yet reflect. The record's event count makes the two one snapshot.
    const events = (await this.deps.repository.events(rolloutId)).filter((ev) => ev.seq <= stored.rollout.eventCount);
    return toRolloutView(stored.rollout, events);
  }

  /** Newest first, without event logs. */
  async list(top: number, continuationToken?: string): Promise<Page<RolloutView>> {
    const page = await this.deps.repository.list(top, continuationToken);
    return { items: page.items.map((r) => toRolloutView(r)), continuationToken: page.continuationToken };
  }

  // -------------------------------------------------------------------------------------------
  // Commands
  // -------------------------------------------------------------------------------------------

  async approve(rolloutId: string, wave: string, approver: string, comment?: string): Promise<RolloutView> {
    return toRolloutView(await this.mutate(rolloutId, (r, now) => approveWave(r, findWave(r, wave), approver, now, comment)));
  }

  async command(rolloutId: string, action: RolloutAction, actor: string): Promise<RolloutView> {
    if (action === 'rollback') {
      const stored = await this.load(rolloutId);
      // A finished rollout becomes active again while it rolls back: it must hold the assignment.
      if (!isActive(stored.rollout.state)) await this.deps.repository.claimAssignment(stored.rollout.policyAssignmentId, rolloutId, (holder) => this.isActive(holder));
      return toRolloutView(await this.mutate(rolloutId, (r, now) => requestRollback(r, actor, now)));
    }
    const decide = { pause: pauseRollout, resume: resumeRollout, abort: abortRollout }[action];
    return toRolloutView(await this.mutate(rolloutId, (r, now) => decide(r, actor, now)));
  }

  // -------------------------------------------------------------------------------------------
  // ServiceNow change approvals (RolloutApprovals)
  // -------------------------------------------------------------------------------------------

  /** An approved change request satisfies the wave's approval gate; the ServiceNow approver is recorded. */
  async approveFromChange(request: ChangeApprovalRequest): Promise<void> {
    await this.mutate(request.rolloutId, (r, now) => approveWave(r, findWave(r, request.waveId), request.actor, now));
    this.log.info(`rollout ${request.rolloutId}: wave ${request.waveId} approved by ${request.actor} (change ${request.changeNumber})`);
  }

  /** A rejected or canceled change request pauses the rollout (already paused: nothing to do). */
  async pauseFromChange(request: ChangeApprovalRequest): Promise<void> {
    await this.mutate(request.rolloutId, (r, now) => {
      findWave(r, request.waveId);
      if (r.state === 'paused') return { rollout: r, events: [], send: undefined };
      return pauseRollout(r, `${request.actor} (change ${request.changeNumber} ${request.changeState})`, now);
    });
    this.log.info(`rollout ${request.rolloutId}: paused by ${request.actor} (change ${request.changeNumber} ${request.changeState})`);
  }

  // -------------------------------------------------------------------------------------------
  // Steps
  // -------------------------------------------------------------------------------------------

  /**
   * Handles one step message. Failures are rethrown for the queue to retry, except on the last
   * delivery, where the rollout fails with the cause instead of the message silently going to the
   * poison queue.
   */
  async advance(message: RolloutStepMessage, delivery: QueueDelivery = QueueDelivery.first()): Promise<AdvanceOutcome> {
    for (let race = 0; race < MAX_RACES; race += 1) {
      const stored = await this.deps.repository.get(message.rolloutId);
      if (stored === undefined) {
        this.log.warn(`rollout step for unknown rollout ${message.rolloutId} ignored`);
        return 'not-found';
      }
      const c = classifyStep(stored.rollout, message);
      if (c.kind === 'stale') return 'stale';
      if (c.kind === 'redelivered') {
        // Repairs a send lost after the transition was stored. Usually nothing was lost (a duplicate
        // delivery): re-sending then would run the next step twice and, while a gate is blocked, keep
        // two copies of every re-check alive. So the outbox is re-sent only when its send is known to
        // have failed or it is overdue (`outboxResend`).
        const resend = outboxResend(stored.rollout, this.deps.clock.now(), REDELIVERY_RESEND_DELAY_SECONDS);
        if (resend !== undefined) {
          try {
            // Lost the record to another re-send or a transition: decide again on the new one.
            if (!(await this.resendOutbox(stored, resend))) continue;
          } catch (error) {
            delivery.rethrowUnlessLast(error);
            // The last delivery: the next step cannot be queued; fail visibly instead of stranding the rollout.
            const cause = `the ${resend.message.step} step of wave ${resend.message.wave + 1} could not be queued after ${message.step} (delivery ${delivery.attempt}): ${error instanceof Error ? error.message : String(error)}`;
            // On the record as it is now: the failed re-send already changed it (marked unsent again).
            const outcome = await this.mutateStep(message.rolloutId, (r, now) =>
              classifyStep(r, message).kind === 'redelivered' && outboxResend(r, now, REDELIVERY_RESEND_DELAY_SECONDS) !== undefined ? failRollout(r, cause, now) : undefined,
            );
            return outcome === 'failed' ? 'failed' : 'redelivered';
          }
        }
        // The step's events may not have been published (the publish failed and the host retried):
        // publish the log again; ids are stable, so what was published is not sent twice.
        await this.publish(stored.rollout, await this.deps.repository.events(stored.rollout.id));
        return 'redelivered';
      }
      let t: Transition;
      try {
        t = await runStep(stored.rollout, message, this.steps);
      } catch (error) {
        // A refusal (missing role), a missing or disabled subscription will not heal on redelivery.
        const permanent = permanentArmFailureOf(error);
        if (permanent === undefined) delivery.rethrowUnlessLast(error);
        const how = permanent === undefined ? `failed on delivery ${delivery.attempt}` : `failed permanently (${permanent.code}) on delivery ${delivery.attempt}, not retried`;
        const cause = `step ${message.step} of wave ${message.wave + 1} ${how}: ${error instanceof Error ? error.message : String(error)}${permanent?.hint !== undefined ? ` Hint: ${permanent.hint}` : ''}`;
        t = failRollout(stored.rollout, cause, this.deps.clock.now(), message);
      }
      let etag: string;
      try {
        etag = await this.deps.repository.save(t.rollout, t.events, stored.etag);
      } catch (error) {
        if (error instanceof PreconditionFailedError) continue; // someone else moved it: reload, re-decide
        throw error;
      }
      // A failed send marks the outbox unsent and fails this delivery: its redelivery (classified
      // `redelivered`) re-sends it, and on the last one fails the rollout with the cause.
      await this.sendStored(t, etag);
      // After the transition is stored and the next step sent; a failure fails this delivery, and its
      // redelivery (classified `redelivered`) publishes again.
      await this.publish(t.rollout, t.events);
      return t.rollout.state === 'failed' ? 'failed' : 'handled';
    }
    throw new ConflictError(`Rollout ${message.rolloutId} kept changing concurrently.`, message.rolloutId);
  }

  /**
   * A message that reached `rollout-steps-poison`. Still expected: the rollout fails with the cause.
   * Already handled (its deliveries failed after the transition was stored, e.g. sending the next
   * step): the stored outbox is re-sent if it looks lost, and if that fails too the rollout fails
   * with the cause — never left `running` with nothing queued.
   */
  async poison(message: RolloutStepMessage, cause: string): Promise<AdvanceOutcome> {
    const stored = await this.deps.repository.get(message.rolloutId);
    if (stored !== undefined && classifyStep(stored.rollout, message).kind === 'redelivered') {
      // The same grace as a redelivery: the outbox was usually sent and its step may be running right
      // now (e.g. only publishing failed); an immediate copy would run that step twice at once.
      const resend = outboxResend(stored.rollout, this.deps.clock.now(), REDELIVERY_RESEND_DELAY_SECONDS);
      if (resend === undefined) return 'redelivered';
      try {
        // False: another re-send or a transition changed the record first; nothing more to repair here.
        await this.resendOutbox(stored, resend);
        return 'redelivered';
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        return this.mutateStep(message.rolloutId, (r, now) => {
          if (classifyStep(r, message).kind !== 'redelivered' || outboxResend(r, now, REDELIVERY_RESEND_DELAY_SECONDS) === undefined) return undefined;
          return failRollout(r, `the ${resend.message.step} step of wave ${resend.message.wave + 1} could not be queued after poisoned step ${message.step} (${cause}): ${reason}`, now);
        });
      }
    }
    return this.mutateStep(message.rolloutId, (r, now) => {
      const c = classifyStep(r, message);
      if (c.kind !== 'current') return undefined;
      return failRollout(r, `step ${message.step} of wave ${message.wave + 1} was poisoned: ${cause}`, now, message);
    });
  }

  /**
   * Re-sends the outbox of every active rollout that looks lost: a send known to have failed, or one
   * due more than {@link SWEEP_GRACE_SECONDS} ago while the rollout still expects it (a crash between
   * storing a transition and sending, a message that expired). Runs on a timer; returns the rollouts
   * whose outbox was re-sent. A failure for one rollout is logged and does not stop the others.
   */
  async sweep(): Promise<string[]> {
    const resent: string[] = [];
    for (const stored of await this.deps.repository.listActive()) {
      const resend = outboxResend(stored.rollout, this.deps.clock.now(), SWEEP_GRACE_SECONDS);
      if (resend === undefined) continue;
      try {
        if (!(await this.resendOutbox(stored, resend))) continue;
        resent.push(stored.rollout.id);
        this.log.warn(`rollout ${stored.rollout.id}: re-sent its lost ${resend.message.step} step of wave ${resend.message.wave + 1}`);
      } catch (error) {
        this.log.warn(`rollout ${stored.rollout.id}: re-sending its ${resend.message.step} step failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return resent;
  }

  // -------------------------------------------------------------------------------------------
  // Persistence helpers
  // -------------------------------------------------------------------------------------------

  private async isActive(rolloutId: string): Promise<boolean> {
    const stored = await this.deps.repository.get(rolloutId);
    return stored !== undefined && isActive(stored.rollout.state);
  }

  private async load(rolloutId: string): Promise<{ rollout: Rollout; etag: string }> {
    const stored = await this.deps.repository.get(rolloutId);
    if (stored === undefined) throw new NotFoundError(`Rollout ${rolloutId} was not found.`, rolloutId);
    return stored;
  }

  /** Decide-and-store with optimistic concurrency: on a lost race, reload and decide again. */
  private async mutate(rolloutId: string, decide: (r: Rollout, now: Date) => Transition): Promise<Rollout> {
    for (let race = 0; race < MAX_RACES; race += 1) {
      const stored = await this.load(rolloutId);
      const t = decide(stored.rollout, this.deps.clock.now());
      if (t.events.length === 0 && t.rollout === stored.rollout) {
        // Nothing changed (an idempotent repeat, e.g. rollback while rolling back): re-send what is
        // pending only if it looks lost — a blind copy would run the step twice at once.
        const resend = t.send !== undefined ? outboxResend(stored.rollout, this.deps.clock.now(), REDELIVERY_RESEND_DELAY_SECONDS) : undefined;
        if (resend !== undefined) await this.resendOutbox(stored, resend).catch(() => undefined);
        return stored.rollout;
      }
      let etag: string;
      try {
        etag = await this.deps.repository.save(t.rollout, t.events, stored.etag);
      } catch (error) {
        if (error instanceof PreconditionFailedError) continue;
        throw error;
      }
      // The command is stored: its answer must not turn into an error. A failed send is marked on the
      // record and repaired by the sweeper; see `sendStored`.
      await this.sendStored(t, etag).catch(() => undefined);
      // Publish failures are logged; see `publish`.
      await this.publish(t.rollout, t.events).catch(() => undefined);
      return t.rollout;
    }
    throw new ConflictError(`Rollout ${rolloutId} kept changing concurrently; try again.`, rolloutId);
  }

  private async mutateStep(rolloutId: string, decide: (r: Rollout, now: Date) => Transition | undefined): Promise<AdvanceOutcome> {
    for (let race = 0; race < MAX_RACES; race += 1) {
      const stored = await this.deps.repository.get(rolloutId);
      if (stored === undefined) return 'not-found';
      const t = decide(stored.rollout, this.deps.clock.now());
      if (t === undefined) return 'stale';
      try {
        await this.deps.repository.save(t.rollout, t.events, stored.etag);
      } catch (error) {
        if (error instanceof PreconditionFailedError) continue;
        throw error;
      }
      await this.send(t);
      await this.publish(t.rollout, t.events);
      return 'failed';
    }
    throw new ConflictError(`Rollout ${rolloutId} kept changing concurrently.`, rolloutId);
  }

  /** Publishes the outbound events of stored log events; a failure is logged and rethrown. */
  private async publish(rollout: Rollout, events: readonly RolloutEvent[]): Promise<void> {
    const outbound = rolloutOutboundEvents(rollout, events);
    try {
      await publishAll(this.deps.events, outbound);
    } catch (error) {
      this.log.warn(`rollout ${rollout.id}: ${outbound.map((e) => e.type).join(', ')} not published: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
  }

  private async send(t: Transition): Promise<void> {
    if (t.send === undefined) return;
    await this.deps.queue.send(t.send.message, { visibilityDelaySeconds: t.send.visibilityDelaySeconds });
  }

  /**
   * Sends the outbox of a stored transition. On failure the record is marked unsent (best effort: if
   * that fails too, the sweeper finds the outbox overdue) and the error is rethrown.
   */
  private async sendStored(t: Transition, etag: string): Promise<void> {
    try {
      await this.send(t);
    } catch (error) {
      this.log.warn(`rollout ${t.rollout.id}: sending its ${t.send?.message.step ?? ''} step failed: ${error instanceof Error ? error.message : String(error)}`);
      await this.deps.repository.save(markOutbox(t.rollout, this.deps.clock.now(), { sent: false }), [], etag).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Re-sends a stored outbox. The re-send is recorded FIRST, with the ETag of the record that decided
   * it: the sweeper and a redelivery (or two redeliveries) deciding on the same record would otherwise
   * both send, and both copies of the step would run at once. False when that record changed (another
   * re-send or a transition won): nothing is sent. A failed send is marked unsent again (best effort;
   * else the sweeper finds the outbox overdue) and rethrown.
   */
  private async resendOutbox(stored: StoredRollout, resend: OutgoingStep): Promise<boolean> {
    const marked = markOutbox(stored.rollout, this.deps.clock.now(), { sent: true, delaySeconds: resend.visibilityDelaySeconds });
    let etag: string;
    try {
      etag = await this.deps.repository.save(marked, [], stored.etag);
    } catch (error) {
      if (error instanceof PreconditionFailedError) return false;
      throw error;
    }
    try {
      await this.deps.queue.send(resend.message, { visibilityDelaySeconds: resend.visibilityDelaySeconds });
    } catch (error) {
      await this.deps.repository.save(markOutbox(marked, this.deps.clock.now(), { sent: false }), [], etag).catch(() => undefined);
      throw error;
    }
    return true;
  }
}

export type { StepCursor };

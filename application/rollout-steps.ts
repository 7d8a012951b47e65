/**
 * One handler per rollout step (`gate → apply → verify → bake`, and `rollback`): each reads what its
 * decision needs (stored evidence, live policy states, ARM assignments), does the step's ARM writes
 * and returns the state machine's transition. Storing the transition, sending the next step and
 * publishing events stay with `RolloutService.advance`, the same for every step.
 *
 * To add a step: add it to `RolloutStep` (domain), its decision to the state machine, and its handler
 * here — `ROLLOUT_STEP_HANDLERS` is checked by the compiler to have one for every step.
 */
import { DependencyError, NotFoundError } from '../domain/errors.js';
import { applyAction, sameEnforcement } from '../domain/rollout-assignment.js';
import type { PolicyAssignmentModel, Rollout, RolloutStep, RolloutStepMessage, RolloutWave } from '../domain/rollout-model.js';
import {
  bakeRemainingSeconds,
  blockApply,
  continueBake,
  decideBake,
  decideGate,
  decideVerify,
  findRegressions,
  recordApplied,
  recordRolledBack,
  type StepSettings,
  type Transition,
} from '../domain/rollout-state-machine.js';
import type { Clock, PolicyAssignmentGateway } from './ports.js';
import { subscriptionOf, type ClusterFactsReader } from './rollout-cluster-facts.js';

/** What every step handler works with. */
export interface StepPorts {
  readonly assignments: PolicyAssignmentGateway;
  readonly facts: ClusterFactsReader;
  readonly clock: Clock;
  readonly settings: StepSettings;
}

/** The step a message asks for, on the rollout as stored, with the wave it names. */
export interface StepInput {
  readonly rollout: Rollout;
  readonly wave: RolloutWave;
  readonly message: RolloutStepMessage;
}

export type StepHandler = (input: StepInput, ports: StepPorts) => Promise<Transition>;

/** Wave checks: the wave's clusters are connected, fresh and compliant enough to enforce. */
const gate: StepHandler = async ({ rollout, wave }, { facts, clock, settings }) => {
  const clusters = await facts.gather(rollout.snapshot.scope, wave.clusters, [rollout.policyAssignmentId], false);
  return decideGate(rollout, { clusters }, clock.now(), settings);
};

/** Writes the wave's desired assignments, unless one was changed outside the rollout. */
const apply: StepHandler = async ({ rollout, wave, message }, ports) => {
  // Read-modify-write: each assignment must hold what the previous wave (or the snapshot) left;
  // anything else is a change made outside the rollout, which the wave must not overwrite.
  const previous = message.wave === 0 ? { parent: rollout.snapshot, children: [] } : rollout.waves[message.wave - 1]?.desired ?? { parent: rollout.snapshot, children: [] };
  const previousChildren = new Map(previous.children.map((c) => [c.id.toLowerCase(), c]));
  const targets = [...wave.desired.children.map((c) => ({ desired: c, expected: previousChildren.get(c.id.toLowerCase()) })), { desired: wave.desired.parent, expected: previous.parent }];
  const actions = await Promise.all(targets.map(async (x) => ({ ...x, action: applyAction(x.desired, x.expected, await ports.assignments.get(x.desired.id)) })));
  const outside = actions.filter((x) => x.action === 'changed-outside');
  if (outside.length > 0) {
    return blockApply(
      rollout,
      outside.map((x) => `${x.desired.id} was changed outside the rollout (it holds neither what ${message.wave === 0 ? 'the snapshot' : 'the previous wave'} left nor this wave's desired state); revert the change and resume, or roll back`),
      ports.clock.now(),
    );
  }
  // Children first: a resource group is enforced by its deny assignment before the parent stops covering it.
  for (const x of actions) if (x.action === 'write') await write(ports.assignments, x.desired);
  return recordApplied(rollout, ports.clock.now());
};

/** Waits (re-checking) until Azure Policy reports every wave cluster under a deny assignment. */
const verify: StepHandler = async ({ rollout, wave, message }, { assignments, clock, settings }) => {
  const enforcing = [...new Set(Object.values(wave.enforcement))];
  const subscriptions = [...new Set(wave.clusters.map(subscriptionOf).filter((s): s is string => s !== undefined))];
  if (message.attempt === 0) for (const sub of subscriptions) await assignments.triggerEvaluation(sub);
  const states = (await Promise.all(subscriptions.map((sub) => assignments.queryAssignmentStates(sub, enforcing)))).flat();
  const pending = wave.clusters.filter((id) => {
    const lower = id.toLowerCase();
    const mine = states.filter((s) => s.resourceId === lower && s.policyAssignmentId === wave.enforcement[lower]);
    return mine.length === 0 || mine.some((s) => s.policyDefinitionAction !== 'deny');
  });
  return decideVerify(rollout, { pending: pending.map((id) => id.split('/').pop() ?? id) }, clock.now(), settings);
};

/** After the bake time, looks for regressions (disconnected, newly noncompliant) in the wave. */
const bake: StepHandler = async ({ rollout, wave }, { facts, clock }) => {
  if (bakeRemainingSeconds(rollout, clock.now()) > 0) return continueBake(rollout, clock.now());
  const enforcing = [...new Set([rollout.policyAssignmentId.toLowerCase(), ...Object.values(wave.enforcement)])];
  const clusters = await facts.gather(rollout.snapshot.scope, wave.clusters, enforcing, true);
  return decideBake(rollout, { regressions: findRegressions(wave, clusters) }, clock.now());
};

/** Restores what the previous wave (scope `wave`) or the snapshot (scope `all`) held. */
const rollback: StepHandler = async ({ rollout, wave, message }, { assignments, clock }) => {
  // Scope `wave` (a bake regression): back to what the previous wave left, removing only this
  // wave's deny children; scope `all`: the snapshot, every deny child removed.
  const onlyWave = rollout.rollbackScope === 'wave';
  const previous = onlyWave && message.wave > 0 ? rollout.waves[message.wave - 1]?.desired : undefined;
  const keep = new Set((previous?.children ?? []).map((c) => c.id.toLowerCase()));
  // The parent first: it covers the resource groups again before their deny assignments go.
  await write(assignments, previous?.parent ?? rollout.snapshot);
  const children = new Map<string, PolicyAssignmentModel>();
  for (const w of onlyWave ? [wave] : rollout.waves) for (const child of w.desired.children) if (!keep.has(child.id.toLowerCase())) children.set(child.id.toLowerCase(), child);
  for (const child of children.values()) await assignments.delete(child.id);
  for (const child of children.values()) {
    if ((await assignments.get(child.id)) !== undefined) throw new DependencyError(`Deny assignment ${child.id} is still present after delete.`, child.id);
  }
  return recordRolledBack(rollout, clock.now());
};

export const ROLLOUT_STEP_HANDLERS = { gate, apply, verify, bake, rollback } as const satisfies Record<RolloutStep, StepHandler>;

/** Runs the handler of the message's step on the rollout as stored. */
export async function runStep(rollout: Rollout, message: RolloutStepMessage, ports: StepPorts): Promise<Transition> {
  const wave = rollout.waves[message.wave];
  if (wave === undefined) throw new NotFoundError(`Wave ${message.wave} does not exist.`, rollout.id);
  return ROLLOUT_STEP_HANDLERS[message.step]({ rollout, wave, message }, ports);
}

/** Read-modify-write of one assignment: skip when ARM already holds it, else PUT and read back. */
async function write(assignments: PolicyAssignmentGateway, desired: PolicyAssignmentModel): Promise<void> {
  const current = await assignments.get(desired.id);
  if (current !== undefined && sameEnforcement(desired, current)) return;
  await assignments.put(desired);
  const readBack = await assignments.get(desired.id);
  if (readBack === undefined || !sameEnforcement(desired, readBack)) {
    throw new DependencyError(`Policy assignment ${desired.id} does not hold what was written.`, desired.id);
  }
}

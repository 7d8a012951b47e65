/**
 * Remediation through Azure Policy: for a control with a DeployIfNotExists policy (assigned directly or
 * inside an initiative; the starter finds which), remediation tasks limited to the chosen clusters: one
 * per subscription and per 100 of its clusters, since ARM takes at most 100 ids in a remediation's
 * `filters.resourceIds`. Controls without one are refused with the manual guidance (`NotRemediable`),
 * so the caller knows what to do instead.
 *
 * ARM reports a remediation's progress only when asked, so the start also schedules a delayed check on
 * the `remediation-checks` queue; each check reads the tasks like a `GET` does (publishing
 * `remediation.completed` once they are all terminal) or schedules the next one with a growing delay,
 * until the remediation is too old to keep polling (domain/remediation-check-schedule.ts).
 */
import { permanentArmFailureOf } from '../domain/arm-failure.js';
import { getControl } from '../domain/control-catalog.js';
import { AppError, DependencyError, InvalidRequestError, NotFoundError, UnprocessableError } from '../domain/errors.js';
import { nextRemediationCheck, remediationCheckDelaySeconds, type RemediationCheckPolicy } from '../domain/remediation-check-schedule.js';
import { outboundEventId } from './event-publishing.js';
import type { RemediationCheckMessage } from './messages.js';
import type {
  Clock,
  ClusterStateRepository,
  EventPublisher,
  MessageQueue,
  Page,
  RemediationPollingStop,
  RemediationRecord,
  RemediationRepository,
  RemediationStarter,
  RemediationTaskRecord,
  RemediationTaskState,
} from './ports.js';
import { silentLogger, type Logger } from './logger.js';

export interface NewRemediationInput {
  readonly controlId: string;
  readonly clusterIds?: readonly string[] | undefined;
  readonly subscriptionId?: string | undefined;
}

export type { RemediationStatus, RemediationTaskView, RemediationView } from './api-views.js';
import type { RemediationStatus, RemediationTaskView, RemediationView } from './api-views.js';

/** What one completion check did (the queue function logs it). */
export type RemediationCheckResult =
  | { readonly outcome: 'completed'; readonly status: RemediationStatus }
  | { readonly outcome: 'rescheduled'; readonly attempt: number; readonly delaySeconds: number; readonly reason: string }
  | { readonly outcome: 'gave-up'; readonly reason: string }
  /** Polling had already stopped (a late duplicate of a check). */
  | { readonly outcome: 'stopped' }
  | { readonly outcome: 'missing' };

const CLUSTER_ID = /^\/subscriptions\/([^/]+)\/resourcegroups\/[^/]+\/providers\/microsoft\.kubernetes\/connectedclusters\/[^/]+$/i;

/** ARM refuses a remediation whose `filters.resourceIds` holds more ids (RemediationFilters, 2024-10-01). */
export const MAX_CLUSTERS_PER_TASK = 100;

/**
 * Clusters one request may target, in either mode (the API's `clusterIds` has the same `maxItems`).
 * It bounds the work of one HTTP request (tasks are started one after another, each with its own
 * assignment lookup) and keeps the record within one table entity. Checked before ARM is called, so a
 * refused request leaves no remediation behind.
 */
export const MAX_CLUSTERS_PER_REMEDIATION = 1000;

/**
 * ARM name of a request's `chunk`-th task (0-based) in one subscription: `arc-compliance-<id>` for the
 * first, as before requests were split, then `arc-compliance-<id>-2`, `-3`, … Names only need to be
 * unique per subscription (remediations are created at subscription scope). With the UUID ids the API
 * assigns they stay within ARM's rules for remediation names: 1–260 characters, none of `%^#/\&?`,
 * lower case (ARM returns upper case lowered).
 */
export function remediationTaskName(id: string, chunk: number): string {
  return chunk === 0 ? `arc-compliance-${id}` : `arc-compliance-${id}-${chunk + 1}`;
}

const TERMINAL_OK = new Set(['succeeded']);
const TERMINAL_BAD = new Set(['failed', 'canceled', 'cancelled']);

export interface RemediationDependencies {
  readonly starter: RemediationStarter;
  readonly remediations: RemediationRepository;
  readonly clusters: ClusterStateRepository;
  readonly newId: () => string;
  /**
   * `remediation.completed` is published when a read or a completion check observes every task
   * terminal (ARM reports completion only when asked). The id is the remediation's and the timestamp
   * is when ARM last updated a task, both fixed once terminal, so later reads and redelivered checks
   * publish nothing new (the publisher keys deliveries on both); a failed publish is logged and the
   * next check or read publishes again.
   */
  readonly events: EventPublisher;
  /**
   * The `remediation-checks` queue and its back-off: ARM reports completion only when asked, so the
   * checks are what publishes `remediation.completed` for a remediation nobody reads.
   */
  readonly checks: { readonly queue: MessageQueue<RemediationCheckMessage>; readonly policy: RemediationCheckPolicy };
  readonly clock: Clock;
  readonly log?: Logger | undefined;
}

export class RemediationService {
  constructor(private readonly deps: RemediationDependencies) {}

  async start(input: NewRemediationInput, requestedBy: string, now: Date): Promise<RemediationView> {
    const control = getControl(input.controlId);
    if (control === undefined) throw new NotFoundError(`Control ${input.controlId} does not exist.`, 'controlId');
    const policyDefinitionId = control.remediation.deployIfNotExistsPolicyDefinitionId;
    if (policyDefinitionId === undefined) {
      throw new UnprocessableError('NotRemediable', `Control ${control.id} has no automatic remediation; remediate it manually.`, 'controlId', [
        { code: 'ManualRemediation', message: control.remediation.text, target: control.id },
      ]);
    }

    const bySubscription = new Map<string, string[]>();
    if (input.clusterIds !== undefined) {
      if (input.clusterIds.length > MAX_CLUSTERS_PER_REMEDIATION) {
        throw new InvalidRequestError(`clusterIds may name at most ${MAX_CLUSTERS_PER_REMEDIATION} clusters.`, 'clusterIds');
      }
      for (const [i, id] of input.clusterIds.entries()) {
        const m = CLUSTER_ID.exec(id);
        if (m === null || m[1] === undefined) throw new InvalidRequestError('clusterIds must be ARM ids of connected clusters.', `clusterIds[${i}]`);
        const sub = m[1].toLowerCase();
        bySubscription.set(sub, [...(bySubscription.get(sub) ?? []), id]);
      }
    } else if (input.subscriptionId !== undefined) {
      const sub = input.subscriptionId.toLowerCase();
      const failing = (await this.deps.clusters.listBySubscription(sub)).filter((c) => c.evaluation.failedControls.includes(control.id)).map((c) => c.id);
      if (failing.length === 0) throw new InvalidRequestError(`No evaluated cluster of subscription ${sub} fails ${control.id}.`, 'subscriptionId');
      if (failing.length > MAX_CLUSTERS_PER_REMEDIATION) {
        throw new UnprocessableError(
          'LimitExceeded',
          `${failing.length} evaluated clusters of subscription ${sub} fail ${control.id}; one remediation takes at most ${MAX_CLUSTERS_PER_REMEDIATION}. Pass them as clusterIds in several requests.`,
          'subscriptionId',
        );
      }
      bySubscription.set(sub, failing);
    } else {
      throw new InvalidRequestError('Either clusterIds or subscriptionId is required.', 'clusterIds');
    }

    const id = this.deps.newId();
    // Each subscription's clusters stay together in `clusterIds`, so a task's clusters are one range of it.
    const clusterIds = [...bySubscription.values()].flat();
    const planned: { subscriptionId: string; name: string; offset: number; resourceIds: string[] }[] = [];
    let offset = 0;
    for (const [subscriptionId, resourceIds] of bySubscription) {
      for (let i = 0; i < resourceIds.length; i += MAX_CLUSTERS_PER_TASK) {
        planned.push({ subscriptionId, name: remediationTaskName(id, i / MAX_CLUSTERS_PER_TASK), offset: offset + i, resourceIds: resourceIds.slice(i, i + MAX_CLUSTERS_PER_TASK) });
      }
      offset += resourceIds.length;
    }

    const tasks: RemediationTaskRecord[] = [];
    const states: (RemediationTaskState | undefined)[] = [];
    let firstError: unknown;
    // One after another: a task that cannot start (e.g. no assignment covers its clusters) is reported
    // on that task and the others still start.
    for (const p of planned) {
      const clusters = { offset: p.offset, count: p.resourceIds.length };
      try {
        const state = await this.deps.starter.start({ name: p.name, subscriptionId: p.subscriptionId, policyDefinitionId, resourceIds: p.resourceIds });
        tasks.push({ subscriptionId: p.subscriptionId, armId: state.armId, clusters });
        states.push(state);
      } catch (err) {
        firstError ??= err;
        const hint = permanentArmFailureOf(err)?.hint;
        const text = err instanceof AppError ? err.message : 'The remediation task could not be created.';
        tasks.push({ subscriptionId: p.subscriptionId, armId: undefined, error: hint === undefined ? text : `${text} Hint: ${hint}`, clusters });
        states.push(undefined);
      }
    }
    if (tasks.every((t) => t.armId === undefined)) {
      // Nothing started: report why (e.g. the DeployIfNotExists policy is not assigned) instead of a hollow 202.
      if (firstError instanceof AppError) throw firstError;
      throw new DependencyError('Azure Policy remediation could not be started.', 'remediations', { cause: firstError });
    }
    const record: RemediationRecord = { id, controlId: control.id, requestedBy, createdAt: now.toISOString(), clusterIds, tasks };
    await this.deps.remediations.create(record);
    await this.scheduleFirstCheck(id);
    return view(record, states);
  }

  async get(id: string): Promise<RemediationView> {
    const record = await this.deps.remediations.get(id);
    if (record === undefined) throw new NotFoundError(`Remediation ${id} does not exist.`, 'remediationId');
    return (await this.observe(record)).view;
  }

  /**
   * Remediation requests, newest first, each with its progress read from ARM as `get` reads it (so a
   * list read may publish `remediation.completed` too). An ARM read that fails for one request does not
   * fail the page: that request's tasks show `Unknown` and `progressError` says why.
   */
  async list(top: number, continuationToken?: string): Promise<Page<RemediationView>> {
    const page = await this.deps.remediations.list(top, continuationToken);
    const items = await Promise.all(
      page.items.map(async (record) => {
        try {
          return (await this.observe(record)).view;
        } catch (error) {
          // observe reads only ARM (a failed publish is caught inside it).
          return { ...view(record, record.tasks.map(() => undefined)), progressError: `ARM could not be read: ${error instanceof Error ? error.message : String(error)}` };
        }
      }),
    );
    return { items, continuationToken: page.continuationToken };
  }

  /**
   * One completion check (a `remediation-checks` message): reads the tasks from ARM as `get` does, which
   * publishes `remediation.completed` once they are all terminal; otherwise sends the next check with
   * the back-off, or records that polling stopped once the remediation is too old. An ARM read or a
   * publish that fails is retried by the next check (the back-off outlasts the host's few quick
   * redeliveries); only a storage failure throws, for the host to redeliver the message.
   */
  async check(message: RemediationCheckMessage): Promise<RemediationCheckResult> {
    const record = await this.deps.remediations.get(message.remediationId);
    if (record === undefined) return { outcome: 'missing' };
    if (record.pollingStopped !== undefined) return { outcome: 'stopped' };
    let reason: string;
    try {
      const { view: observed, published } = await this.observe(record);
      if (observed.status !== 'running' && published) return { outcome: 'completed', status: observed.status };
      reason = observed.status === 'running' ? 'running' : 'remediation.completed not published';
    } catch (error) {
      reason = `ARM read failed: ${error instanceof Error ? error.message : String(error)}`;
      this.warn(`remediation ${record.id}: check ${message.attempt}: ${reason}`);
      // A refusal (missing role) or a removed subscription will not heal by polling for hours.
      const permanent = permanentArmFailureOf(error);
      if (permanent !== undefined) {
        const stop: RemediationPollingStop = {
          at: this.now().toISOString(),
          reason: `check ${message.attempt}: ARM answered ${permanent.code}, which retrying cannot fix (${reason}). ${permanent.hint ?? ''} A read of the remediation still publishes remediation.completed once it finishes.`.replace(/ {2,}/g, ' '),
        };
        await this.deps.remediations.recordPollingStopped(record.id, stop);
        return { outcome: 'gave-up', reason: stop.reason };
      }
    }
    const policy = this.deps.checks.policy;
    const decision = nextRemediationCheck(policy, message.attempt, record.createdAt, this.now());
    if (decision.kind === 'give-up') {
      const stop: RemediationPollingStop = {
        at: this.now().toISOString(),
        reason: `not finished ${duration(policy.maxAgeSeconds)} after it started (${message.attempt} checks; last: ${reason}); a read of the remediation still publishes remediation.completed once it is`,
      };
      await this.deps.remediations.recordPollingStopped(record.id, stop);
      return { outcome: 'gave-up', reason: stop.reason };
    }
    await this.sendCheck(record.id, decision.attempt, decision.delaySeconds);
    return { outcome: 'rescheduled', attempt: decision.attempt, delaySeconds: decision.delaySeconds, reason };
  }

  /**
   * A check that failed on every delivery (it reached `remediation-checks-poison`): the chain of checks
   * ends there, so the remediation records it instead of being left looking polled. `cause` completes
   * "check N …" (e.g. "failed on every delivery").
   */
  async checkPoisoned(message: RemediationCheckMessage, cause: string): Promise<'recorded' | 'stopped' | 'missing'> {
    const record = await this.deps.remediations.get(message.remediationId);
    if (record === undefined) return 'missing';
    if (record.pollingStopped !== undefined) return 'stopped';
    await this.deps.remediations.recordPollingStopped(record.id, { at: this.now().toISOString(), reason: `check ${message.attempt} ${cause}; a read of the remediation still publishes remediation.completed` });
    return 'recorded';
  }

  /** The remediation with ARM progress; publishes `remediation.completed` when every task is terminal. */
  private async observe(record: RemediationRecord): Promise<{ view: RemediationView; published: boolean }> {
    // By position: a subscription may have several tasks.
    const states = await Promise.all(record.tasks.map(async (t) => (t.armId === undefined ? undefined : await this.deps.starter.get(t.armId))));
    const result = view(record, states);
    const published = result.status !== 'running' ? await this.publishCompleted(result, completedAt(record, states)) : true;
    return { view: result, published };
  }

  private async scheduleFirstCheck(id: string): Promise<void> {
    try {
      await this.sendCheck(id, 1, remediationCheckDelaySeconds(this.deps.checks.policy, 1));
    } catch (error) {
      // The tasks are running in ARM and the record is stored: failing the request would invite a
      // second remediation. Unscheduled, a read still publishes the event.
      this.warn(`remediation ${id}: first completion check not scheduled (only a read publishes remediation.completed): ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async sendCheck(remediationId: string, attempt: number, delaySeconds: number): Promise<void> {
    await this.deps.checks.queue.send({ kind: 'remediation-check', remediationId, attempt }, { visibilityDelaySeconds: delaySeconds });
  }

  private now(): Date {
    return this.deps.clock.now();
  }

  private warn(message: string): void {
    (this.deps.log ?? silentLogger).warn(message);
  }

  /** False when publishing failed (logged): the caller may retry. */
  private async publishCompleted(remediation: RemediationView, completed: string): Promise<boolean> {
    const at = this.now().toISOString();
    const control = getControl(remediation.controlId);
    try {
      await this.deps.events.publish({
        id: outboundEventId('remediation.completed', remediation.id),
        type: 'remediation.completed',
        timestamp: completed,
        data: {
          remediationId: remediation.id,
          controlId: remediation.controlId,
          ...(control !== undefined ? { severity: control.severity } : {}),
          status: remediation.status,
          requestedBy: remediation.requestedBy,
          createdAt: remediation.createdAt,
          observedAt: at,
          clusterIds: remediation.clusterIds,
          subscriptionIds: [...new Set(remediation.tasks.map((t) => t.subscriptionId))],
          // Without each task's clusterIds: the event lists them all once above, and repeating them per
          // task would double a payload that must fit one delivery record (GET shows the split).
          tasks: remediation.tasks.map(({ clusterIds: _clusters, ...task }) => task),
        },
      });
      return true;
    } catch (error) {
      this.warn(`remediation ${remediation.id}: remediation.completed not published (the next check or read retries): ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
  }
}

/**
 * When a completed remediation completed: the latest `lastUpdatedOn` ARM reports for its tasks. It must
 * not be the time of the read: the event's timestamp is part of the publisher's idempotency key, so a
 * read-time timestamp would queue the same event again on every later read. Without ARM times (a
 * starter that reports none) the creation time stands in, which is just as stable.
 */
function completedAt(record: RemediationRecord, states: readonly (RemediationTaskState | undefined)[]): string {
  const times = states.map((s) => (s?.lastUpdatedOn === undefined ? Number.NaN : Date.parse(s.lastUpdatedOn))).filter((t) => !Number.isNaN(t));
  return times.length > 0 ? new Date(Math.max(...times)).toISOString() : record.createdAt;
}

/** `48 h`, `90 min`, `30 s`: for the polling-stopped reason. */
function duration(seconds: number): string {
  if (seconds >= 3600) return `${Math.round((seconds / 3600) * 10) / 10} h`;
  if (seconds >= 60) return `${Math.round(seconds / 60)} min`;
  return `${seconds} s`;
}

function taskClusterIds(record: RemediationRecord, task: RemediationTaskRecord): readonly string[] {
  if (task.clusters !== undefined) return record.clusterIds.slice(task.clusters.offset, task.clusters.offset + task.clusters.count);
  // A record from before requests were split: its subscription's only task, covering all its clusters.
  const sub = task.subscriptionId.toLowerCase();
  return record.clusterIds.filter((c) => CLUSTER_ID.exec(c)?.[1]?.toLowerCase() === sub);
}

/** `states[i]` is what ARM reports for `record.tasks[i]` (undefined: not started, or not found). */
function view(record: RemediationRecord, states: readonly (RemediationTaskState | undefined)[]): RemediationView {
  const tasks: RemediationTaskView[] = record.tasks.map((t, i) => {
    const s = states[i];
    return {
      subscriptionId: t.subscriptionId,
      clusterIds: taskClusterIds(record, t),
      armId: t.armId ?? null,
      provisioningState: t.armId === undefined ? 'NotStarted' : (s?.provisioningState ?? 'Unknown'),
      ...(s !== undefined ? { deployments: { total: s.totalDeployments, succeeded: s.successfulDeployments, failed: s.failedDeployments } } : {}),
      ...(t.error !== undefined ? { error: t.error } : {}),
    };
  });
  const states_ = tasks.map((t) => t.provisioningState.toLowerCase());
  const ok = states_.filter((s) => TERMINAL_OK.has(s)).length;
  const bad = states_.filter((s) => TERMINAL_BAD.has(s) || s === 'notstarted').length;
  const status: RemediationStatus = ok + bad < tasks.length ? 'running' : bad === 0 ? 'succeeded' : ok === 0 ? 'failed' : 'partial';
  return {
    id: record.id,
    controlId: record.controlId,
    status,
    requestedBy: record.requestedBy,
    createdAt: record.createdAt,
    clusterIds: record.clusterIds,
    tasks,
    ...(record.pollingStopped !== undefined ? { pollingStopped: { at: record.pollingStopped.at, reason: record.pollingStopped.reason } } : {}),
  };
}

/**
 * Remediation through Azure Policy: for a control with a DeployIfNotExists policy (assigned directly or
 * inside an initiative; the starter finds which), one remediation task per subscription, limited to the
 * chosen clusters. Controls without one are refused with the manual guidance (`NotRemediable`), so the
 * caller knows what to do instead.
 */
import { getControl } from '../domain/control-catalog.js';
import { AppError, DependencyError, InvalidRequestError, NotFoundError, UnprocessableError } from '../domain/errors.js';
import { outboundEventId } from './event-publishing.js';
import type { Clock, ClusterStateRepository, EventPublisher, RemediationRecord, RemediationRepository, RemediationStarter, RemediationTaskState } from './ports.js';

export interface NewRemediationInput {
  readonly controlId: string;
  readonly clusterIds?: readonly string[] | undefined;
  readonly subscriptionId?: string | undefined;
}

export type RemediationStatus = 'running' | 'succeeded' | 'failed' | 'partial';

export interface RemediationTaskView {
  readonly subscriptionId: string;
  readonly armId: string | null;
  readonly provisioningState: string;
  readonly deployments?: { readonly total: number; readonly succeeded: number; readonly failed: number };
  readonly error?: string;
}

export interface RemediationView {
  readonly id: string;
  readonly controlId: string;
  readonly status: RemediationStatus;
  readonly requestedBy: string;
  readonly createdAt: string;
  readonly clusterIds: readonly string[];
  readonly tasks: readonly RemediationTaskView[];
}

const CLUSTER_ID = /^\/subscriptions\/([^/]+)\/resourcegroups\/[^/]+\/providers\/microsoft\.kubernetes\/connectedclusters\/[^/]+$/i;
const TERMINAL_OK = new Set(['succeeded']);
const TERMINAL_BAD = new Set(['failed', 'canceled', 'cancelled']);

export interface RemediationDependencies {
  readonly starter: RemediationStarter;
  readonly remediations: RemediationRepository;
  readonly clusters: ClusterStateRepository;
  readonly newId: () => string;
  /**
   * `remediation.completed` is published when a read observes every task terminal (ARM reports
   * completion only when asked). The id is the remediation's and the timestamp is when ARM last
   * updated a task, both fixed once terminal, so later reads publish nothing new (the publisher keys
   * deliveries on both); a failed publish is logged and the next read publishes again.
   */
  readonly events?: EventPublisher | undefined;
  readonly clock?: Clock | undefined;
  readonly log?: { warn(message: string): void } | undefined;
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
      bySubscription.set(sub, failing);
    } else {
      throw new InvalidRequestError('Either clusterIds or subscriptionId is required.', 'clusterIds');
    }

    const id = this.deps.newId();
    const tasks: { subscriptionId: string; armId: string | undefined; error?: string; state?: RemediationTaskState }[] = [];
    let firstError: unknown;
    for (const [subscriptionId, resourceIds] of bySubscription) {
      try {
        const state = await this.deps.starter.start({ name: `arc-compliance-${id}`, subscriptionId, policyDefinitionId, resourceIds });
        tasks.push({ subscriptionId, armId: state.armId, state });
      } catch (err) {
        firstError ??= err;
        tasks.push({ subscriptionId, armId: undefined, error: err instanceof AppError ? err.message : 'The remediation task could not be created.' });
      }
    }
    if (tasks.every((t) => t.armId === undefined)) {
      // Nothing started: report why (e.g. the DeployIfNotExists policy is not assigned) instead of a hollow 202.
      if (firstError instanceof AppError) throw firstError;
      throw new DependencyError('Azure Policy remediation could not be started.', 'remediations', { cause: firstError });
    }
    const record: RemediationRecord = {
      id,
      controlId: control.id,
      requestedBy,
      createdAt: now.toISOString(),
      clusterIds: [...bySubscription.values()].flat(),
      tasks: tasks.map((t) => ({ subscriptionId: t.subscriptionId, armId: t.armId, ...(t.error !== undefined ? { error: t.error } : {}) })),
    };
    await this.deps.remediations.create(record);
    return view(record, new Map(tasks.filter((t) => t.state !== undefined).map((t) => [t.subscriptionId, t.state as RemediationTaskState])));
  }

  async get(id: string): Promise<RemediationView> {
    const record = await this.deps.remediations.get(id);
    if (record === undefined) throw new NotFoundError(`Remediation ${id} does not exist.`, 'remediationId');
    const states = new Map<string, RemediationTaskState>();
    await Promise.all(
      record.tasks.map(async (t) => {
        if (t.armId === undefined) return;
        const state = await this.deps.starter.get(t.armId);
        if (state !== undefined) states.set(t.subscriptionId, state);
      }),
    );
    const result = view(record, states);
    if (result.status !== 'running' && this.deps.events !== undefined) await this.publishCompleted(result, completedAt(record, states));
    return result;
  }

  private async publishCompleted(remediation: RemediationView, completed: string): Promise<void> {
    const at = (this.deps.clock?.now() ?? new Date()).toISOString();
    const control = getControl(remediation.controlId);
    try {
      await this.deps.events?.publish({
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
          subscriptionIds: remediation.tasks.map((t) => t.subscriptionId),
          tasks: remediation.tasks,
        },
      });
    } catch (error) {
      (this.deps.log ?? console).warn(`remediation ${remediation.id}: remediation.completed not published (the next read retries): ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/**
 * When a completed remediation completed: the latest `lastUpdatedOn` ARM reports for its tasks. It must
 * not be the time of the read: the event's timestamp is part of the publisher's idempotency key, so a
 * read-time timestamp would queue the same event again on every later read. Without ARM times (a
 * starter that reports none) the creation time stands in, which is just as stable.
 */
function completedAt(record: RemediationRecord, states: ReadonlyMap<string, RemediationTaskState>): string {
  const times = [...states.values()].map((s) => (s.lastUpdatedOn === undefined ? Number.NaN : Date.parse(s.lastUpdatedOn))).filter((t) => !Number.isNaN(t));
  return times.length > 0 ? new Date(Math.max(...times)).toISOString() : record.createdAt;
}

function view(record: RemediationRecord, states: ReadonlyMap<string, RemediationTaskState>): RemediationView {
  const tasks: RemediationTaskView[] = record.tasks.map((t) => {
    const s = states.get(t.subscriptionId);
    return {
      subscriptionId: t.subscriptionId,
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
  return { id: record.id, controlId: record.controlId, status, requestedBy: record.requestedBy, createdAt: record.createdAt, clusterIds: record.clusterIds, tasks };
}

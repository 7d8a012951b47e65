import type { TrendSlices } from '../../domain/trend-slices.js';
import type { OutboundEvent } from '../../domain/webhook-events.js';
/**
 * In-memory implementations of the application ports, for unit and integration tests. Behaviour
 * mirrors the contracts in `application/ports.ts` (paging with opaque tokens, idempotent writes).
 */
import type { ControlException, FleetSummary } from '../../domain/model.js';
import { ConflictError, NotFoundError, PreconditionFailedError } from '../../domain/errors.js';
import { ACTIVE_ROLLOUT_STATES, type PolicyAssignmentModel, type Rollout, type RolloutEvent } from '../../domain/rollout-model.js';
import type { DeliveryStatus, WebhookDelivery, WebhookSubscription } from '../../domain/webhook-subscription.js';
import { parseAllowlist } from '../../domain/webhook-ssrf.js';
import { toClusterSummary } from '../../application/stored-records.js';
import type { ServiceNowWatermarks, WatermarkKind } from '../../application/servicenow-delivery.js';
import { escapeKey, invertedTime } from '../../adapters/storage/table-keys.js';
import { delayedSendOptions, encodeQueueMessage } from '../../adapters/storage/storage-queue.js';
import { GuardedHttpClient, type HostResolver } from '../../adapters/webhooks/guarded-http-client.js';
import type {
  AuditLog,
  AuditRecord,
  Clock,
  ClusterControlStatuses,
  ClusterControlStatusListing,
  ClusterHistoryEntry,
  ClusterQuery,
  ClusterState,
  ClusterStateRepository,
  ClusterSummaryListing,
  ClusterSummaryView,
  EvaluationRun,
  EventPublisher,
  ExceptionPageQuery,
  ExceptionRepository,
  HistoryRepository,
  InboundMessageIdStore,
  MessageQueue,
  OutboundHttp,
  OutboundHttpRequest,
  OutboundHttpResult,
  Page,
  PolicyAssignmentGateway,
  RemediationPollingStop,
  RemediationRecord,
  RemediationRepository,
  RemediationStarter,
  RemediationTaskState,
  RolloutRepository,
  RolloutStateRecord,
  RunRepository,
  SecretProtector,
  StoredRollout,
  SummaryRepository,
  TrendPoint,
  WebhookDeliveryRepository,
  WebhookSubscriptionRepository,
} from '../../application/ports.js';

function page<T>(items: readonly T[], top: number, token: string | undefined): Page<T> {
  const offset = token === undefined ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^o/, ''));
  if (!Number.isInteger(offset) || offset < 0) throw new Error('bad token');
  const next = offset + top < items.length ? Buffer.from(`o${offset + top}`).toString('base64url') : undefined;
  return { items: items.slice(offset, offset + top), continuationToken: next };
}

export class InMemoryClusterStateRepository implements ClusterStateRepository, ClusterSummaryListing, ClusterControlStatusListing {
  readonly states = new Map<string, ClusterState>();
  private key(sub: string, rg: string, name: string): string {
    return `${sub}/${rg}/${name}`.toLowerCase();
  }
  async upsertMany(states: readonly ClusterState[]): Promise<void> {
    for (const s of states) this.states.set(this.key(s.subscriptionId, s.resourceGroup, s.name), s);
  }
  async get(sub: string, rg: string, name: string): Promise<ClusterState | undefined> {
    return this.states.get(this.key(sub, rg, name));
  }
  async getShared(sub: string, rg: string, name: string): Promise<ClusterState | undefined> {
    return this.get(sub, rg, name);
  }
  async list(q: ClusterQuery): Promise<Page<ClusterState>> {
    const all = [...this.states.values()]
      .filter((s) => q.subscriptionId === undefined || s.subscriptionId.toLowerCase() === q.subscriptionId.toLowerCase())
      .filter((s) => q.status === undefined || (q.status === 'compliant') === (s.evaluation.failedControls.length === 0))
      .filter((s) => q.failingControlId === undefined || s.evaluation.failedControls.includes(q.failingControlId))
      .filter((s) => q.environment === undefined || s.environment?.toLowerCase() === q.environment.toLowerCase())
      .filter((s) => q.location === undefined || s.location === q.location)
      .filter((s) => q.stale === undefined || s.stale === q.stale)
      .sort((a, b) => a.id.localeCompare(b.id));
    return page(all, q.top, q.continuationToken);
  }
  /** As the Table repository: `list`'s clusters, each with its subscription, environment and statuses only. */
  async listControlStatuses(q: ClusterQuery): Promise<Page<ClusterControlStatuses>> {
    const states = await this.list(q);
    return {
      items: states.items.map((s) => ({ subscriptionId: s.subscriptionId, environment: s.environment, controls: s.evaluation.controls.map((c) => ({ controlId: c.controlId, status: c.status })) })),
      continuationToken: states.continuationToken,
    };
  }
  /** As the Table repository: the list view of `list`, without reading the evaluations. */
  async listSummaries(q: ClusterQuery): Promise<Page<ClusterSummaryView>> {
    const page = await this.list(q);
    return { items: page.items.map(toClusterSummary), continuationToken: page.continuationToken };
  }
  async listBySubscription(sub: string): Promise<ClusterState[]> {
    return [...this.states.values()].filter((s) => s.subscriptionId.toLowerCase() === sub.toLowerCase());
  }
  async markStale(sub: string): Promise<number> {
    const hit = await this.listBySubscription(sub);
    for (const s of hit) this.states.set(this.key(s.subscriptionId, s.resourceGroup, s.name), { ...s, stale: true });
    return hit.length;
  }
}

export class InMemoryHistoryRepository implements HistoryRepository {
  readonly entries: ClusterHistoryEntry[] = [];
  async appendMany(entries: readonly ClusterHistoryEntry[]): Promise<void> {
    this.entries.push(...entries);
  }
  async list(clusterId: string, from: string, to: string): Promise<ClusterHistoryEntry[]> {
    return this.entries
      .filter((e) => e.clusterId.toLowerCase() === clusterId.toLowerCase() && e.evaluatedAt >= from && e.evaluatedAt < to)
      .sort((a, b) => a.evaluatedAt.localeCompare(b.evaluatedAt));
  }
  async purgeOlderThan(cutoff: string): Promise<number> {
    const before = this.entries.length;
    const kept = this.entries.filter((e) => e.evaluatedAt >= cutoff);
    this.entries.splice(0, this.entries.length, ...kept);
    return before - kept.length;
  }
}

export class InMemorySummaryRepository implements SummaryRepository {
  readonly summaries: FleetSummary[] = [];
  readonly slices: TrendSlices[] = [];
  async putTrendSlices(slices: TrendSlices): Promise<void> {
    const i = this.slices.findIndex((s) => s.runId === slices.runId);
    if (i >= 0) this.slices[i] = slices;
    else this.slices.push(slices);
  }
  async listTrendSlices(since: string): Promise<TrendSlices[]> {
    return this.slices.filter((s) => s.generatedAt >= since).sort((a, b) => a.generatedAt.localeCompare(b.generatedAt));
  }
  async put(summary: FleetSummary): Promise<void> {
    const i = this.summaries.findIndex((s) => s.runId === summary.runId);
    if (i >= 0) this.summaries[i] = summary;
    else this.summaries.push(summary);
  }
  async getLatest(): Promise<FleetSummary | undefined> {
    return [...this.summaries].sort((a, b) => a.generatedAt.localeCompare(b.generatedAt)).at(-1);
  }
  async listTrends(since: string): Promise<TrendPoint[]> {
    return this.summaries
      .filter((s) => s.generatedAt >= since)
      .sort((a, b) => a.generatedAt.localeCompare(b.generatedAt))
      .map((s) => ({
        runId: s.runId,
        generatedAt: s.generatedAt,
        averageScore: s.totals.averageScore,
        clusters: s.totals.clusters,
        noncompliant: s.totals.noncompliant,
        failingByControl: Object.fromEntries(Object.entries(s.perControl).map(([id, t]) => [id, t.fail])),
      }));
  }
}

export class InMemoryRunRepository implements RunRepository {
  readonly runs = new Map<string, EvaluationRun>();
  async create(run: EvaluationRun): Promise<void> {
    this.runs.set(run.id, run);
  }
  async get(id: string): Promise<EvaluationRun | undefined> {
    return this.runs.get(id);
  }
  async list(top: number, token?: string): Promise<Page<EvaluationRun>> {
    return page([...this.runs.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt)), top, token);
  }
  async recordSubscriptionOutcome(): Promise<void> {}
  async refresh(id: string): Promise<EvaluationRun | undefined> {
    return this.runs.get(id);
  }
}

export class InMemoryExceptionRepository implements ExceptionRepository {
  readonly items = new Map<string, ControlException>();
  async create(e: ControlException): Promise<void> {
    this.items.set(e.id, e);
  }
  async get(id: string): Promise<ControlException | undefined> {
    return this.items.get(id);
  }
  async list(): Promise<ControlException[]> {
    return [...this.items.values()];
  }
  async listActive(at: string): Promise<ControlException[]> {
    return [...this.items.values()].filter((e) => Date.parse(e.expiresAt) > Date.parse(at));
  }
  /** As the Table repository: latest `expiresAt` first (then id), status judged at `at`. */
  async listPage(query: ExceptionPageQuery): Promise<Page<ControlException>> {
    const at = Date.parse(query.at);
    const items = [...this.items.values()]
      .filter((e) => query.status === undefined || (Date.parse(e.expiresAt) > at) === (query.status === 'active'))
      .sort((a, b) => (a.expiresAt === b.expiresAt ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : Date.parse(b.expiresAt) - Date.parse(a.expiresAt)));
    return page(items, query.top, query.continuationToken);
  }
  async delete(id: string): Promise<boolean> {
    return this.items.delete(id);
  }
}

export class InMemoryAuditLog implements AuditLog {
  readonly records: AuditRecord[] = [];
  /** Set to make every append fail (an audit store outage). */
  failWith: Error | undefined;
  async append(record: AuditRecord): Promise<void> {
    if (this.failWith !== undefined) throw this.failWith;
    this.records.push(record);
  }
  async list(top: number, token?: string): Promise<Page<AuditRecord>> {
    return page([...this.records].reverse(), top, token);
  }
}

export class InMemoryRemediationRepository implements RemediationRepository {
  readonly items = new Map<string, RemediationRecord>();
  async create(r: RemediationRecord): Promise<void> {
    this.items.set(r.id, r);
  }
  async get(id: string): Promise<RemediationRecord | undefined> {
    return this.items.get(id);
  }
  async list(top: number, token?: string): Promise<Page<RemediationRecord>> {
    return page([...this.items.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt)), top, token);
  }
  async recordPollingStopped(id: string, stop: RemediationPollingStop): Promise<void> {
    const r = this.items.get(id);
    if (r === undefined) throw new NotFoundError(`Remediation ${id} does not exist.`, 'remediationId');
    if (r.pollingStopped === undefined) this.items.set(id, { ...r, pollingStopped: { ...stop } });
  }
}

/** Records started tasks; `assignedSubscriptions` limits where the DeployIfNotExists policy is assigned. */
export class FakeRemediationStarter implements RemediationStarter {
  readonly started: { name: string; subscriptionId: string; policyDefinitionId: string; resourceIds: readonly string[] }[] = [];
  readonly tasks = new Map<string, RemediationTaskState>();
  constructor(private readonly notAssigned: (subscriptionId: string) => Error | undefined = () => undefined) {}
  async start(request: { name: string; subscriptionId: string; policyDefinitionId: string; resourceIds: readonly string[] }): Promise<RemediationTaskState> {
    const err = this.notAssigned(request.subscriptionId);
    if (err !== undefined) throw err;
    this.started.push(request);
    const armId = `/subscriptions/${request.subscriptionId}/providers/Microsoft.PolicyInsights/remediations/${request.name}`;
    const state: RemediationTaskState = {
      armId,
      subscriptionId: request.subscriptionId,
      provisioningState: 'Accepted',
      totalDeployments: request.resourceIds.length,
      successfulDeployments: 0,
      failedDeployments: 0,
    };
    this.tasks.set(armId, state);
    return state;
  }
  async get(armId: string): Promise<RemediationTaskState | undefined> {
    return this.tasks.get(armId);
  }
}

/**
 * The one test clock: time stands still until a test moves it, so a test states every instant it
 * depends on. `now()` returns a fresh `Date`, so code that mutates what it was given cannot move it.
 */
export class FixedClock implements Clock {
  private at: number;
  constructor(start: Date | string | number) {
    this.at = FixedClock.toMillis(start);
  }
  now(): Date {
    return new Date(this.at);
  }
  set(at: Date | string | number): void {
    this.at = FixedClock.toMillis(at);
  }
  advance(ms: number): void {
    this.at += ms;
  }
  private static toMillis(at: Date | string | number): number {
    const ms = new Date(at).getTime();
    if (Number.isNaN(ms)) throw new Error(`FixedClock: not a time: ${String(at)}`);
    return ms;
  }
}

// ---------------------------------------------------------------------------------------------
// Rollouts (staged enforcement): the real `RolloutService` runs over these in the API harness.
// ---------------------------------------------------------------------------------------------

/** Records and event logs with ETags; a stale ETag is a `PreconditionFailedError`, as in Table Storage. */
export class InMemoryRolloutRepository implements RolloutRepository {
  readonly records = new Map<string, { rollout: Rollout; etag: string }>();
  readonly eventLog = new Map<string, RolloutEvent[]>();
  readonly locks = new Map<string, string>();
  private version = 0;
  private store(rollout: Rollout, events: readonly RolloutEvent[]): string {
    const etag = `W/"${(this.version += 1)}"`;
    this.records.set(rollout.id, { rollout: structuredClone(rollout), etag });
    this.eventLog.set(rollout.id, [...(this.eventLog.get(rollout.id) ?? []), ...structuredClone(events)]);
    return etag;
  }
  async claimAssignment(policyAssignmentId: string, rolloutId: string, isActive: (rolloutId: string) => Promise<boolean>): Promise<void> {
    const key = policyAssignmentId.toLowerCase();
    const holder = this.locks.get(key);
    if (holder !== undefined && holder !== rolloutId && (await isActive(holder))) throw new ConflictError(`Rollout ${holder} of this policy assignment is still active.`, policyAssignmentId);
    this.locks.set(key, rolloutId);
  }
  async create(rollout: Rollout, events: readonly RolloutEvent[]): Promise<string> {
    if (this.records.has(rollout.id)) throw new ConflictError(`Rollout ${rollout.id} already exists.`, rollout.id);
    return this.store(rollout, events);
  }
  async get(rolloutId: string): Promise<StoredRollout | undefined> {
    const r = this.records.get(rolloutId);
    return r === undefined ? undefined : { rollout: structuredClone(r.rollout), etag: r.etag };
  }
  async save(rollout: Rollout, events: readonly RolloutEvent[], etag: string): Promise<string> {
    if (this.records.get(rollout.id)?.etag !== etag) throw new PreconditionFailedError(`Rollout ${rollout.id} was changed concurrently.`, rollout.id);
    return this.store(rollout, events);
  }
  async list(top: number, token?: string): Promise<Page<Rollout>> {
    return page([...this.records.values()].map((r) => r.rollout).sort((a, b) => a.id.localeCompare(b.id)), top, token);
  }
  async events(rolloutId: string): Promise<RolloutEvent[]> {
    return structuredClone(this.eventLog.get(rolloutId) ?? []);
  }
  async listActive(): Promise<StoredRollout[]> {
    return [...this.records.values()]
      .filter((r) => ACTIVE_ROLLOUT_STATES.includes(r.rollout.state))
      .map((r) => ({ rollout: structuredClone(r.rollout), etag: r.etag }));
  }
}

/** Policy assignments by lower-cased id and the policy states tests put in `states`. */
export class InMemoryPolicyAssignmentGateway implements PolicyAssignmentGateway {
  readonly assignments = new Map<string, PolicyAssignmentModel>();
  readonly states: RolloutStateRecord[] = [];
  readonly evaluations: string[] = [];
  async get(assignmentId: string): Promise<PolicyAssignmentModel | undefined> {
    const a = this.assignments.get(assignmentId.toLowerCase());
    return a === undefined ? undefined : structuredClone(a);
  }
  async put(assignment: PolicyAssignmentModel): Promise<PolicyAssignmentModel> {
    this.assignments.set(assignment.id.toLowerCase(), structuredClone(assignment));
    return structuredClone(assignment);
  }
  async delete(assignmentId: string): Promise<void> {
    this.assignments.delete(assignmentId.toLowerCase());
  }
  async triggerEvaluation(subscriptionId: string): Promise<void> {
    this.evaluations.push(subscriptionId);
  }
  async queryAssignmentStates(subscriptionId: string, assignmentIds: readonly string[]): Promise<RolloutStateRecord[]> {
    const wanted = new Set(assignmentIds.map((id) => id.toLowerCase()));
    const sub = `/subscriptions/${subscriptionId.toLowerCase()}/`;
    return this.states.filter((s) => wanted.has(s.policyAssignmentId.toLowerCase()) && s.resourceId.startsWith(sub));
  }
}

/** Keeps every outbound event it is given, in order (what the webhook service would deliver). */
export class RecordingEventPublisher implements EventPublisher {
  readonly published: OutboundEvent[] = [];
  async publish(event: OutboundEvent): Promise<void> {
    this.published.push(structuredClone(event));
  }
}

/** A message as the queue holds it, with the visibility delay it was enqueued with (0 = visible at once). */
export interface RecordedMessage<T> {
  readonly message: T;
  readonly visibilityDelaySeconds: number;
}

/**
 * The one test queue. It stores what `StorageMessageQueue` would put on the wire: the message goes
 * through the same JSON encoding (so a sender's later mutation never reaches the consumer, and fields
 * JSON drops are dropped here too) and the delay is the visibility timeout the adapter would set.
 * Tests that play the queue function deliver with `take()` (oldest first) or `drain()`.
 */
export class RecordingMessageQueue<T> implements MessageQueue<T> {
  readonly sent: RecordedMessage<T>[] = [];
  /** Set to make every send fail with it (an outage that lasts until the test clears it). */
  failWith: Error | undefined;
  /** The next `failSends` sends fail, then sending recovers (a transient outage). */
  failSends = 0;
  async send(message: T, options: { visibilityDelaySeconds?: number } = {}): Promise<void> {
    if (this.failWith !== undefined) throw this.failWith;
    if (this.failSends > 0) {
      this.failSends -= 1;
      throw new Error('queue unavailable (503)');
    }
    const wire = Buffer.from(encodeQueueMessage(message), 'base64').toString('utf8');
    const visibilityDelaySeconds = delayedSendOptions(options.visibilityDelaySeconds ?? 0).visibilityTimeout;
    this.sent.push({ message: JSON.parse(wire) as T, visibilityDelaySeconds });
  }
  async sendMany(messages: readonly T[]): Promise<void> {
    for (const m of messages) await this.send(m);
  }
  /** Removes and returns the oldest message, as the queue function would receive it next. */
  take(): RecordedMessage<T> | undefined {
    return this.sent.shift();
  }
  /** Removes every message and returns them oldest first (delays dropped: for tests that don't wait). */
  drain(): T[] {
    return this.sent.splice(0, this.sent.length).map((s) => s.message);
  }
}

// ---------------------------------------------------------------------------------------------
// Webhooks and ServiceNow: the real `WebhookService` runs over these in the API harness and in the
// webhook tests. They keep the Table adapters' observable behaviour (`table-webhook-store.ts`,
// `table-servicenow-watermarks.ts`), so a test over them proves what it would prove over Azurite:
// records are copied in and out (a caller's later mutation never changes what is stored), lists page
// in row-key order, and retention selects by the same keys the adapters' range queries do.
// ---------------------------------------------------------------------------------------------

/** Row-key order: Table Storage sorts keys by code unit, not by locale. */
function byRowKey(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Partition and row joined so that no two (partition, row) pairs meet: `escapeKey` escapes `|`. */
function tableKey(partition: string, row: string): string {
  return `${escapeKey(partition)}|${escapeKey(row)}`;
}

export class InMemoryWebhookSubscriptionRepository implements WebhookSubscriptionRepository {
  readonly items = new Map<string, WebhookSubscription>();
  async create(subscription: WebhookSubscription): Promise<void> {
    if (this.items.has(subscription.id)) throw new ConflictError(`Webhook ${subscription.id} already exists.`, subscription.id);
    this.items.set(subscription.id, structuredClone(subscription));
  }
  async get(id: string): Promise<WebhookSubscription | undefined> {
    const s = this.items.get(id);
    return s === undefined ? undefined : structuredClone(s);
  }
  async listAll(): Promise<WebhookSubscription[]> {
    return this.sorted();
  }
  async list(top: number, token?: string): Promise<Page<WebhookSubscription>> {
    return page(this.sorted(), top, token);
  }
  async update(subscription: WebhookSubscription): Promise<void> {
    this.items.set(subscription.id, structuredClone(subscription));
  }
  async delete(id: string): Promise<boolean> {
    return this.items.delete(id);
  }
  private sorted(): WebhookSubscription[] {
    return [...this.items.values()].sort((a, b) => byRowKey(escapeKey(a.id), escapeKey(b.id))).map((s) => structuredClone(s));
  }
}

/**
 * Delivery ids are time-ordered (inverted time first, so the newest sorts first), as the Table row keys
 * are; `items` is keyed by (webhook id, delivery id).
 */
export class InMemoryWebhookDeliveryRepository implements WebhookDeliveryRepository {
  readonly items = new Map<string, WebhookDelivery>();
  async create(delivery: WebhookDelivery): Promise<void> {
    const key = tableKey(delivery.webhookId, delivery.id);
    if (this.items.has(key)) throw new ConflictError(`Delivery ${delivery.id} already exists.`, delivery.id);
    this.items.set(key, structuredClone(delivery));
  }
  async get(webhookId: string, id: string): Promise<WebhookDelivery | undefined> {
    const d = this.items.get(tableKey(webhookId, id));
    return d === undefined ? undefined : structuredClone(d);
  }
  async update(delivery: WebhookDelivery): Promise<void> {
    this.items.set(tableKey(delivery.webhookId, delivery.id), structuredClone(delivery));
  }
  async list(webhookId: string, top: number, token?: string): Promise<Page<WebhookDelivery>> {
    const mine = [...this.items.values()].filter((d) => d.webhookId === webhookId).sort((a, b) => byRowKey(escapeKey(a.id), escapeKey(b.id)));
    return page(mine.map((d) => structuredClone(d)), top, token);
  }
  async deleteAll(webhookId: string): Promise<number> {
    return this.deleteWhere((d) => d.webhookId === webhookId);
  }
  /**
   * By the time in the id (the event's time, or the redelivery's), not `createdAt`: the adapter's
   * range query reads row keys at or after the cutoff's inverted time, and a delivery recorded late
   * for an old event is as old as its event there.
   */
  async deleteFinishedBefore(webhookId: string, cutoff: string): Promise<number> {
    const from = invertedTime(cutoff);
    return this.deleteWhere((d) => d.webhookId === webhookId && escapeKey(d.id) >= from && FINISHED_DELIVERY.has(d.status));
  }
  private deleteWhere(hit: (d: WebhookDelivery) => boolean): number {
    let n = 0;
    for (const [k, d] of this.items) {
      if (hit(d)) {
        this.items.delete(k);
        n += 1;
      }
    }
    return n;
  }
}

const FINISHED_DELIVERY: ReadonlySet<DeliveryStatus> = new Set<DeliveryStatus>(['delivered', 'failed', 'dead-lettered', 'canceled']);

/** One claim: the UTC day it expires by (computed at claim time, as the adapter's expiry entry is) and its owner. */
export interface InMemoryInboundClaim {
  readonly at: string;
  readonly day: string;
  readonly owner: string | undefined;
}

/**
 * One entry per claim, holding its owner: the adapter writes the owner into the claim row itself, so
 * a takeover never depends on a second row that a crash could leave unwritten.
 */
export class InMemoryInboundMessageIdStore implements InboundMessageIdStore {
  /** Keyed by (source, id). */
  readonly claims = new Map<string, InMemoryInboundClaim>();
  async claim(source: string, id: string, at: string, owner?: string): Promise<boolean> {
    // As the adapter: an invalid time is a RangeError and nothing is claimed.
    const day = utcDay(at);
    const key = tableKey(source, id);
    if (this.claims.has(key)) return false;
    this.claims.set(key, { at, day, owner });
    return true;
  }
  async ownerOf(source: string, id: string): Promise<string | undefined> {
    return this.claims.get(tableKey(source, id))?.owner;
  }
  async release(source: string, id: string): Promise<void> {
    this.claims.delete(tableKey(source, id));
  }
  /** Whole UTC days before the cutoff's, as the Table adapter forgets them. */
  async forgetClaimedBefore(source: string, cutoff: string): Promise<number> {
    const before = utcDay(cutoff);
    const prefix = `${escapeKey(source)}|`;
    let n = 0;
    for (const [key, c] of this.claims) {
      if (key.startsWith(prefix) && c.day < before) {
        this.claims.delete(key);
        n += 1;
      }
    }
    return n;
  }
}

function utcDay(at: string): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** ServiceNow watermarks per (kind, correlation id); the later evaluation time wins, as the adapter's conditional writes settle it. */
export class InMemoryServiceNowWatermarks implements ServiceNowWatermarks {
  readonly items = new Map<string, string>();
  async get(kind: WatermarkKind, correlationId: string): Promise<string | undefined> {
    return this.items.get(tableKey(kind, correlationId));
  }
  async advance(kind: WatermarkKind, correlationId: string, evaluatedAt: string): Promise<void> {
    const key = tableKey(kind, correlationId);
    const applied = this.items.get(key);
    if (applied === undefined || Date.parse(applied) < Date.parse(evaluatedAt)) this.items.set(key, evaluatedAt);
  }
  /** The adapter filters `evaluatedAt lt cutoff` in the service: ISO strings of one format compare as strings. */
  async forgetOlderThan(cutoff: string): Promise<number> {
    let n = 0;
    for (const [key, at] of this.items) {
      if (at < cutoff) {
        this.items.delete(key);
        n += 1;
      }
    }
    return n;
  }
}

/**
 * Keeps secrets in memory behind opaque handles, bound to their context (the webhook id) like the
 * AES-GCM protector: stored records never hold a plain secret, and a handle moved to another webhook
 * does not reveal.
 */
export class InMemorySecretProtector implements SecretProtector {
  private readonly secrets = new Map<string, { secret: string; context: string }>();
  private next = 0;
  async protect(secret: string, context: string): Promise<string> {
    const handle = `protected-${(this.next += 1)}`;
    this.secrets.set(handle, { secret, context });
    return handle;
  }
  async reveal(stored: string, context: string): Promise<string> {
    const found = this.secrets.get(stored);
    if (found === undefined || found.context !== context) throw new Error('the protected secret could not be revealed');
    return found.secret;
  }
}

/** DNS for tests: host name → addresses; an unknown host fails as `ENOTFOUND` does. */
export class FakeHostResolver {
  readonly hosts = new Map<string, string[]>();
  constructor(entries: Record<string, readonly string[]> = {}) {
    for (const [host, addresses] of Object.entries(entries)) this.hosts.set(host.toLowerCase(), [...addresses]);
  }
  readonly resolve: HostResolver = async (host) => {
    const found = this.hosts.get(host.toLowerCase());
    if (found === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return [...found];
  };
}

/**
 * Outbound HTTP that applies the real SSRF policy (`GuardedHttpClient.vet` over the fake resolver)
 * but never opens a connection: vetted requests are recorded and answered with `respond`.
 */
export class RecordingOutboundHttp implements OutboundHttp {
  readonly requests: OutboundHttpRequest[] = [];
  private readonly guard: GuardedHttpClient;
  constructor(
    resolver: FakeHostResolver,
    allowlist: readonly string[] = [],
    public respond: (request: OutboundHttpRequest) => OutboundHttpResult = () => ({ kind: 'response', status: 204, retryAfter: undefined, contentType: undefined, body: '' }),
  ) {
    const parsed = parseAllowlist(allowlist);
    if (parsed.problems.length > 0) throw new Error(parsed.problems.join('; '));
    this.guard = new GuardedHttpClient({ allowlist: parsed.allowlist, resolve: resolver.resolve });
  }
  vet(url: string): Promise<string | undefined> {
    return this.guard.vet(url);
  }
  async request(request: OutboundHttpRequest): Promise<OutboundHttpResult> {
    const refused = await this.guard.vet(request.url);
    if (refused !== undefined) return { kind: 'refused', reason: refused };
    this.requests.push(structuredClone(request));
    return this.respond(request);
  }
}

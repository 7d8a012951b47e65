/**
 * Outbound events: the types subscribers can ask for, the JSON envelope sent to them
 * (`{ "type", "timestamp", "data" }`), subscription matching, and the data of the two compliance
 * events built from consecutive evaluations of a cluster.
 */
import { classifyDrift, computeDrift, type DriftKind } from './drift.js';
import type { ClusterEvaluation, ControlStatus, Severity } from './model.js';

/** Every event type a webhook may subscribe to. */
export const WEBHOOK_EVENT_TYPES = Object.freeze([
  'evaluation.completed',
  'cluster.compliance.changed',
  'rollout.wave.awaiting_approval',
  'rollout.wave.completed',
  'rollout.completed',
  'rollout.failed',
  'rollout.rolled_back',
  'remediation.completed',
  'controlplane.change.detected',
] as const);
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export function isWebhookEventType(value: string): value is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);
}

/**
 * What filters look at. Derived from `data` when absent (see {@link eventScope}); publishers only set it
 * when their data does not carry `subscriptionId(s)` / `severity` fields.
 */
export interface EventScope {
  readonly subscriptionIds?: readonly string[];
  readonly severities?: readonly Severity[];
}

/** An event as publishers hand it to `EventPublisher.publish`. */
export interface OutboundEvent<T = unknown> {
  /** Unique id; sent as `webhook-id`, identical on every retry, so receivers can dedupe. */
  readonly id: string;
  readonly type: WebhookEventType;
  /** ISO 8601 time the event happened. */
  readonly timestamp: string;
  /** JSON-serialisable payload. */
  readonly data: T;
  readonly scope?: EventScope;
}

/** The JSON body of a `standard` delivery. */
export interface EventEnvelope<T = unknown> {
  readonly type: WebhookEventType;
  readonly timestamp: string;
  readonly data: T;
}

export function toEnvelope<T>(event: OutboundEvent<T>): EventEnvelope<T> {
  return { type: event.type, timestamp: event.timestamp, data: event.data };
}

const SEVERITY_RANK: Readonly<Record<Severity, number>> = Object.freeze({ low: 1, medium: 2, high: 3 });

function isSeverity(v: unknown): v is Severity {
  return v === 'low' || v === 'medium' || v === 'high';
}

/**
 * Subscription ids and severities an event concerns: `scope` when given, otherwise read from
 * `data.subscriptionId`, `data.subscriptionIds[]`, `data.severity`, `data.changes[].severity` and
 * `data.failing[].severity`.
 */
export function eventScope(event: Pick<OutboundEvent, 'data' | 'scope'>): { subscriptionIds: string[]; severities: Severity[] } {
  const data = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as Record<string, unknown>;
  const subs = new Set<string>(event.scope?.subscriptionIds?.map((s) => s.toLowerCase()) ?? []);
  const sevs = new Set<Severity>(event.scope?.severities ?? []);
  if (event.scope?.subscriptionIds === undefined) {
    if (typeof data['subscriptionId'] === 'string') subs.add(data['subscriptionId'].toLowerCase());
    if (Array.isArray(data['subscriptionIds'])) for (const s of data['subscriptionIds']) if (typeof s === 'string') subs.add(s.toLowerCase());
  }
  if (event.scope?.severities === undefined) {
    if (isSeverity(data['severity'])) sevs.add(data['severity']);
    for (const list of [data['changes'], data['failing']]) {
      if (!Array.isArray(list)) continue;
      for (const item of list) {
        const s = (item as { severity?: unknown } | null)?.severity;
        if (isSeverity(s)) sevs.add(s);
      }
    }
  }
  return { subscriptionIds: [...subs], severities: [...sevs] };
}

export interface WebhookFilters {
  /** Only events concerning one of these Azure subscriptions (lower-case GUIDs). */
  readonly subscriptionIds?: readonly string[] | undefined;
  /** Only events concerning a control of at least this severity. */
  readonly minimumSeverity?: Severity | undefined;
}

/**
 * True when a subscription wants the event: its `events` list holds the type or `*`, and every filter
 * it sets is met. A filter constrains only events that carry its dimension: a full-estate
 * `evaluation.completed` has no subscription id and passes a subscription-id filter; a partial-estate
 * one is scoped to the subscriptions it evaluated.
 */
export function subscriptionWants(
  subscription: { readonly enabled: boolean; readonly events: readonly string[]; readonly filters: WebhookFilters },
  event: Pick<OutboundEvent, 'type' | 'data' | 'scope'>,
): boolean {
  if (!subscription.enabled) return false;
  if (!subscription.events.includes('*') && !subscription.events.includes(event.type)) return false;
  const scope = eventScope(event);
  const wantedSubs = subscription.filters.subscriptionIds;
  if (wantedSubs !== undefined && wantedSubs.length > 0 && scope.subscriptionIds.length > 0) {
    const wanted = new Set(wantedSubs.map((s) => s.toLowerCase()));
    if (!scope.subscriptionIds.some((s) => wanted.has(s))) return false;
  }
  const min = subscription.filters.minimumSeverity;
  if (min !== undefined && scope.severities.length > 0 && !scope.severities.some((s) => SEVERITY_RANK[s] >= SEVERITY_RANK[min])) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// cluster.compliance.changed
// ---------------------------------------------------------------------------------------------

/** Evidence is cut to this many characters in events (the API has the full text). */
export const MAX_EVENT_EVIDENCE_CHARS = 500;

export interface ChangedControl {
  readonly controlId: string;
  readonly from: ControlStatus;
  readonly to: ControlStatus;
  readonly kind: DriftKind;
  readonly severity: Severity;
  readonly evidence: string;
}

export interface FailingControl {
  readonly controlId: string;
  readonly severity: Severity;
  readonly evidence: string;
}

/** `data` of `cluster.compliance.changed`. */
export interface ClusterComplianceChangedData {
  readonly clusterId: string;
  readonly clusterName: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** The cluster's Azure location (absent on events published before it was added). */
  readonly location?: string | undefined;
  readonly runId: string;
  readonly evaluatedAt: string;
  readonly score: number;
  readonly previousScore: number;
  /** Controls whose status changed since the previous run. */
  readonly changes: readonly ChangedControl[];
  /** Every control failing now (changed or not), so consumers such as ServiceNow can refresh open items. */
  readonly failing: readonly FailingControl[];
}

/** `data` of `evaluation.completed` (what the evaluation service is expected to send). */
export interface EvaluationCompletedData {
  readonly runId: string;
  readonly status: string;
  readonly trigger: string;
  readonly completedAt: string;
  readonly clustersEvaluated: number;
  readonly subscriptionsFailed: number;
  /**
   * Clusters evaluated with a part not collected (extensions or Flux): their controls reading it are
   * `unknown`. Optional: events published before this field existed lack it.
   */
  readonly clustersIncomplete?: number;
  /** Subscriptions with stored clusters that the run did not discover (their clusters marked stale). Optional as above. */
  readonly subscriptionsNotDiscovered?: number;
  /** Fleet-wide, from the summary the run produced (which covers every cluster, also after a partial-estate run). */
  readonly averageScore?: number;
  /** Fleet-wide, as `averageScore`. */
  readonly noncompliant?: number;
  /**
   * `partial-estate`: an on-demand run of `scopeSubscriptionIds` only; the other subscriptions' clusters
   * were not evaluated by it. Optional: events published before this field existed lack it and were
   * `full-estate` runs.
   */
  readonly scope?: 'full-estate' | 'partial-estate';
  /** The subscriptions a `partial-estate` run evaluated (lower-case, sorted); absent on full-estate runs. */
  readonly scopeSubscriptionIds?: readonly string[];
}

const cut = (text: string): string => (text.length <= MAX_EVENT_EVIDENCE_CHARS ? text : `${text.slice(0, MAX_EVENT_EVIDENCE_CHARS - 1)}…`);

/**
 * The `cluster.compliance.changed` data for a cluster's new evaluation, or `undefined` when no control
 * changed status (first runs have no drift and emit nothing).
 */
export function buildClusterComplianceChanged(
  cluster: { readonly id: string; readonly name: string; readonly subscriptionId: string; readonly resourceGroup: string; readonly location?: string | undefined },
  previous: Pick<ClusterEvaluation, 'controls' | 'score'> | undefined,
  current: ClusterEvaluation,
): ClusterComplianceChangedData | undefined {
  const drift = computeDrift(previous, current);
  if (drift.length === 0 || previous === undefined) return undefined;
  const byId = new Map(current.controls.map((c) => [c.controlId, c]));
  return {
    clusterId: cluster.id,
    clusterName: cluster.name,
    subscriptionId: cluster.subscriptionId.toLowerCase(),
    resourceGroup: cluster.resourceGroup,
    ...(cluster.location !== undefined ? { location: cluster.location } : {}),
    runId: current.runId,
    evaluatedAt: current.evaluatedAt,
    score: current.score,
    previousScore: previous.score,
    changes: drift.map((d) => {
      const c = byId.get(d.controlId);
      return { ...d, kind: classifyDrift(d), severity: c?.severity ?? 'low', evidence: cut(c?.evidence ?? '') };
    }),
    failing: current.controls.filter((c) => c.status === 'fail').map((c) => ({ controlId: c.controlId, severity: c.severity, evidence: cut(c.evidence) })),
  };
}

/**
 * Read side of the API: controls, clusters, history, summary, trends, runs (framework reports are
 * `framework-report-service.ts`).
 *
 * Reads go to repositories by key or by indexed query only; the summary and trends come from the
 * summaries precomputed at the end of each run, so no read scans the fleet.
 */
import { getControl, listControls, type ControlDefinition } from '../domain/control-catalog.js';
import { deepFreeze } from '../domain/deep-freeze.js';
import { InvalidRequestError, NotFoundError } from '../domain/errors.js';
import { controlMappings } from '../domain/frameworks.js';
import type { FleetSummary } from '../domain/model.js';
import { toClusterSummary } from './stored-records.js';
import { MAX_TAG_VALUES, filteredTrendPoint, parseTagFilter, type TrendFilters } from '../domain/trend-slices.js';
import type {
  ClusterQuery,
  ClusterState,
  ClusterStateRepository,
  EvaluationRun,
  HistoryRepository,
  Page,
  RunRepository,
  SummaryRepository,
  TrendPoint,
  ClusterSummaryListing,
  ClusterSummaryView,
} from './ports.js';

export type { ClusterSummaryListing, ClusterSummaryView } from './ports.js';

export type { ClusterHistoryView, ClusterView, ControlView, EvaluationView, TrendsView } from './api-views.js';
import type { ClusterHistoryView, ClusterView, ControlView, EvaluationView, TrendsView } from './api-views.js';

export interface ComplianceQueryDependencies {
  readonly clusters: ClusterStateRepository & ClusterSummaryListing;
  readonly history: HistoryRepository;
  readonly summaries: SummaryRepository;
  readonly runs: RunRepository;
}

const DAY_MS = 86_400_000;
const DEFAULT_HISTORY_DAYS = 30;
const MAX_HISTORY_DAYS = 400;
/** The longest trend window the API serves (`days` ≤ 365). */
const MAX_TREND_DAYS = 365;

interface TrendCache {
  /** The latest run the points were read for. */
  readonly key: string;
  /** The start of the window read. */
  readonly since: string;
  readonly points: Promise<{ readonly points: readonly TrendPoint[]; readonly rowTimes: readonly string[] }>;
  /** Frozen suffixes already served, by start index. */
  readonly suffixes: Map<number, readonly TrendPoint[]>;
}

/**
 * Offset paging over a fixed in-memory list (the control catalog): the token is base64url of
 * `o<offset>`, opaque to callers and not signed (every caller may read the whole list anyway).
 * Only offsets this function issues are accepted: canonical base64url, a decimal without leading
 * zeros, inside the list (1 .. length − 1); anything else is `InvalidRequest`.
 */
export function pageOf<T>(items: readonly T[], top: number, continuationToken: string | undefined): Page<T> {
  let offset = 0;
  if (continuationToken !== undefined) {
    const text = /^[A-Za-z0-9_-]{1,16}$/.test(continuationToken) ? Buffer.from(continuationToken, 'base64url').toString('latin1') : '';
    const decoded = /^o([1-9]\d{0,8})$/.exec(text);
    offset = decoded?.[1] !== undefined && Buffer.from(text, 'latin1').toString('base64url') === continuationToken ? Number(decoded[1]) : -1;
    if (offset < 1 || offset >= items.length) throw new InvalidRequestError('The continuation token is not valid.', 'continuationToken');
  }
  const slice = items.slice(offset, offset + top);
  const next = offset + top < items.length ? Buffer.from(`o${offset + top}`).toString('base64url') : undefined;
  return { items: slice, continuationToken: next };
}

export function toControlView(c: ControlDefinition): ControlView {
  const dine = c.remediation.deployIfNotExistsPolicyDefinitionId;
  return {
    id: c.id,
    title: c.title,
    description: c.description,
    severity: c.severity,
    category: c.category,
    evidence: c.evidence,
    policyDefinitionIds: controlMappings(c.id).policyDefinitionIds,
    requirements: controlMappings(c.id).requirements,
    remediation: { text: c.remediation.text, automatic: dine !== undefined, ...(dine !== undefined ? { deployIfNotExistsPolicyDefinitionId: dine } : {}) },
  };
}

function toClusterView(s: ClusterState): ClusterView {
  return {
    ...toClusterSummary(s),
    distribution: s.distribution ?? null,
    kubernetesVersion: s.kubernetesVersion ?? null,
    connectivityStatus: s.connectivityStatus ?? null,
    tags: s.tags,
    lastSeenAt: s.lastSeenAt,
    runId: s.evaluation.runId,
    controls: s.evaluation.controls.map((c) => ({
      controlId: c.controlId,
      status: c.status,
      severity: c.severity,
      evidence: c.evidence,
      ...(c.reason !== undefined ? { reason: c.reason } : {}),
      ...(c.offenders !== undefined ? { offenders: { items: c.offenders.items, total: c.offenders.total } } : {}),
    })),
  };
}

export function toEvaluationView(r: EvaluationRun): EvaluationView {
  return {
    id: r.id,
    status: r.status,
    trigger: r.trigger,
    scope: r.scope ?? 'full-estate',
    ...(r.scopeSubscriptionIds !== undefined ? { scopeSubscriptionIds: [...r.scopeSubscriptionIds] } : {}),
    requestedBy: r.requestedBy ?? null,
    createdAt: r.createdAt,
    startedAt: r.startedAt ?? null,
    completedAt: r.completedAt ?? null,
    subscriptions: { total: r.subscriptionsTotal, succeeded: r.subscriptionsSucceeded, failed: r.subscriptionsFailed },
    clustersEvaluated: r.clustersEvaluated,
    failures: r.failures.map((f) => ({ subscriptionId: f.subscriptionId, error: f.error, at: f.at, ...(f.code !== undefined ? { code: f.code } : {}), ...(f.hint !== undefined ? { hint: f.hint } : {}) })),
    clustersIncomplete: r.clustersIncomplete ?? 0,
    eventsNotPublished: r.eventsNotPublished ?? 0,
    subscriptionsNotDiscovered: (r.subscriptionsNotDiscovered ?? []).map((s) => ({ subscriptionId: s.subscriptionId, clusters: s.clusters })),
  };
}

export class ComplianceQueryService {
  private readonly clusterViews = new WeakMap<ClusterState, ClusterView>();
  private trendCache: TrendCache | undefined;

  constructor(private readonly deps: ComplianceQueryDependencies) {}

  listControls(top: number, continuationToken?: string): Page<ControlView> {
    const page = pageOf(listControls(), top, continuationToken);
    return { items: page.items.map(toControlView), continuationToken: page.continuationToken };
  }

  getControl(controlId: string): ControlView {
    const control = getControl(controlId);
    if (control === undefined) throw new NotFoundError(`Control ${controlId} does not exist.`, 'controlId');
    return toControlView(control);
  }

  async listClusters(query: ClusterQuery): Promise<Page<ClusterSummaryView>> {
    if (query.failingControlId !== undefined && getControl(query.failingControlId) === undefined) {
      throw new InvalidRequestError(`Control ${query.failingControlId} does not exist.`, 'controlId');
    }
    return this.deps.clusters.listSummaries(query);
  }

  private async requireCluster(subscriptionId: string, resourceGroup: string, name: string): Promise<ClusterState> {
    const state = await this.deps.clusters.get(subscriptionId, resourceGroup, name);
    if (state === undefined) throw new NotFoundError(`Cluster ${subscriptionId}/${resourceGroup}/${name} has not been evaluated.`, 'clusterName');
    return state;
  }

  async getCluster(subscriptionId: string, resourceGroup: string, name: string): Promise<ClusterView> {
    const state = await this.deps.clusters.getShared(subscriptionId, resourceGroup, name);
    if (state === undefined) throw new NotFoundError(`Cluster ${subscriptionId}/${resourceGroup}/${name} has not been evaluated.`, 'clusterName');
    // A shared (frozen) state gets one frozen view, so the HTTP layer serializes it and hashes its ETag once.
    if (!Object.isFrozen(state)) return toClusterView(state);
    let view = this.clusterViews.get(state);
    if (view === undefined) {
      view = deepFreeze(toClusterView(state));
      this.clusterViews.set(state, view);
    }
    return view;
  }

  async getClusterHistory(
    subscriptionId: string,
    resourceGroup: string,
    name: string,
    range: { readonly from?: string | undefined; readonly to?: string | undefined },
    now: Date,
  ): Promise<ClusterHistoryView> {
    const to = range.to !== undefined ? new Date(range.to) : now;
    const from = range.from !== undefined ? new Date(range.from) : new Date(to.getTime() - DEFAULT_HISTORY_DAYS * DAY_MS);
    if (from.getTime() > to.getTime()) throw new InvalidRequestError('from must not be after to.', 'from');
    if (to.getTime() - from.getTime() > MAX_HISTORY_DAYS * DAY_MS) throw new InvalidRequestError(`The range must not exceed ${MAX_HISTORY_DAYS} days.`, 'from');
    const state = await this.requireCluster(subscriptionId, resourceGroup, name);
    const entries = await this.deps.history.list(state.id, from.toISOString(), to.toISOString());
    return {
      clusterId: state.id,
      from: from.toISOString(),
      to: to.toISOString(),
      value: entries.map((e) => ({ runId: e.runId, evaluatedAt: e.evaluatedAt, score: e.score, statuses: e.statuses, drift: e.drift })),
    };
  }

  async getSummary(): Promise<FleetSummary> {
    const summary = await this.deps.summaries.getLatest();
    if (summary === undefined) throw new NotFoundError('No evaluation run has completed yet.', 'summary');
    // Summaries stored before framework reports became requirement-level carry section rows; they are not served.
    if ('perFrameworkSection' in summary) {
      const { runId, generatedAt, totals, perControl, perSubscription, perFramework } = summary;
      return { runId, generatedAt, totals, perControl, perSubscription, ...(perFramework !== undefined ? { perFramework } : {}) };
    }
    return summary;
  }

  /**
   * One point per run. Filtered (environment, subscription, location, tag; any combination), each
   * point is the run's own trend slices summed over the matching groups: the clusters as they were in
   * that run. Runs finished before slices were stored have none and are left out of a filtered trend.
   */
  async getTrends(days: number, now: Date, filters: TrendFilters = {}): Promise<TrendsView> {
    const since = new Date(now.getTime() - days * DAY_MS).toISOString();
    const given = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined && v !== '')) as TrendFilters;
    if (Object.keys(given).length === 0) return { days, value: await this.unfilteredTrend(since) };
    if (given.tag !== undefined && parseTagFilter(given.tag).key === '') throw new InvalidRequestError('tag must be key or key=value.', 'tag');
    const value: TrendPoint[] = [];
    for (const slices of await this.deps.summaries.listTrendSlices(since)) {
      const point = filteredTrendPoint(slices, given);
      if (point === undefined) {
        throw new InvalidRequestError(`Tag ${parseTagFilter(given.tag ?? '').key} has more than ${MAX_TAG_VALUES} distinct values in run ${slices.runId}, so trends are not kept by it; filter by another tag, environment, subscription or location.`, 'tag');
      }
      value.push(point);
    }
    return { days, filters: given, value };
  }

  /**
   * The unfiltered trend since `since`. Trend points change only when a run finalizes, so the points of
   * the longest window are read once per latest run (the latest summary, one cached point read, says
   * which) and every window is a suffix of them, frozen and shared (the HTTP layer serializes it once).
   */
  private async unfilteredTrend(since: string): Promise<readonly TrendPoint[]> {
    const latest = await this.deps.summaries.getLatest();
    if (latest === undefined) return this.deps.summaries.listTrends(since);
    const key = `${latest.runId}|${latest.generatedAt}`;
    let entry = this.trendCache;
    if (entry === undefined || entry.key !== key || since < entry.since) {
      const windowStart = new Date(Date.parse(since) - MAX_TREND_DAYS * DAY_MS).toISOString();
      const fresh: TrendCache = {
        key,
        since: windowStart,
        points: this.deps.summaries.listTrends(windowStart).then((points) => {
          const frozen = deepFreeze(points);
          return { points: frozen, rowTimes: frozen.map((p) => new Date(p.generatedAt).toISOString()) };
        }),
        suffixes: new Map(),
      };
      this.trendCache = entry = fresh;
      fresh.points.catch(() => {
        if (this.trendCache === fresh) this.trendCache = undefined;
      });
    }
    const { points, rowTimes } = await entry.points;
    // The same rows as the range read `RowKey ge since` (row keys start with the ISO time of the point).
    let start = rowTimes.findIndex((t) => t >= since);
    if (start < 0) start = points.length;
    if (start === 0) return points;
    let suffix = entry.suffixes.get(start);
    if (suffix === undefined) {
      suffix = Object.freeze(points.slice(start));
      if (entry.suffixes.size >= 8) entry.suffixes.clear();
      entry.suffixes.set(start, suffix);
    }
    return suffix;
  }

  async listEvaluations(top: number, continuationToken?: string): Promise<Page<EvaluationView>> {
    const page = await this.deps.runs.list(top, continuationToken);
    return { items: page.items.map(toEvaluationView), continuationToken: page.continuationToken };
  }

  async getEvaluation(id: string): Promise<EvaluationView> {
    const run = await this.deps.runs.get(id);
    if (run === undefined) throw new NotFoundError(`Evaluation ${id} does not exist.`, 'evaluationId');
    return toEvaluationView(run);
  }
}

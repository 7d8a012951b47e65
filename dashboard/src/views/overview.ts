/**
 * Overview: the fleet at a glance. Figures from the latest run's summary; changes against the previous
 * run and the run closest to (at or before) 7 days earlier from the trend; the last run's status, with
 * the failed subscriptions of a partial run; a warning naming stale clusters.
 */
import { ApiFailure, api } from '../api.js';
import { h, type Child } from '../dom.js';
import { formatDelta, formatInt, formatScore, formatShare, formatTime } from '../format.js';
import { dataTable, statusBadge } from '../table.js';
import type { ClusterSummary, Evaluation, Framework, FrameworkPosture, FrameworkReport, Page, PostureTotals, Summary, TrendPoint, Trends } from '../types.js';
import { heading, link, section, type ViewContext } from '../view.js';

const DAY_MS = 86_400_000;

/** The trend point of the latest run, the one before it, and the newest at least 7 days older. */
export function comparisonPoints(points: readonly TrendPoint[], latestRunId: string): { readonly previous?: TrendPoint; readonly weekAgo?: TrendPoint } {
  const i = points.findIndex((p) => p.runId === latestRunId);
  const at = i >= 0 ? i : points.length - 1;
  const latest = points[at];
  if (latest === undefined) return {};
  const cutoff = Date.parse(latest.generatedAt) - 7 * DAY_MS;
  const older = points.slice(0, at).filter((p) => Date.parse(p.generatedAt) <= cutoff);
  return { ...(at > 0 ? { previous: points[at - 1] } : {}), ...(older.length > 0 ? { weekAgo: older[older.length - 1] } : {}) };
}

const shareOf = (p: { readonly clusters: number; readonly noncompliant: number }): number => (p.clusters === 0 ? 0 : ((p.clusters - p.noncompliant) / p.clusters) * 100);

function changes(label: string, now: number, previous: number | undefined, weekAgo: number | undefined, unit: string): Child {
  return h(
    'dl',
    { class: 'changes', 'aria-label': `${label}: changes` },
    h('dt', {}, 'since previous run'),
    h('dd', {}, previous === undefined ? 'no earlier run' : formatDelta(now - previous, unit)),
    h('dt', {}, 'since 7 days ago'),
    h('dd', {}, weekAgo === undefined ? 'no run 7+ days ago' : formatDelta(now - weekAgo, unit)),
  );
}

function card(label: string, figure: string, key: string, extra: Child): HTMLElement {
  // `elementtiming`: the browser reports when the figure was painted (Element Timing API), which is
  // what `npm run bench:dashboard` measures.
  return h('div', { class: 'card' }, h('h3', {}, label), h('p', { class: 'figure', 'data-figure': key, elementtiming: `figure-${key}` }, figure), extra);
}

function lastRun(run: Evaluation | undefined): HTMLElement {
  if (run === undefined) return h('p', { class: 'notice' }, 'No evaluation run yet.');
  const failed = run.failures.filter((f) => f.subscriptionId !== '*');
  const runFailures = run.failures.filter((f) => f.subscriptionId === '*');
  return h(
    'div',
    { class: `run run-${run.status}` },
    h('p', {}, 'Last run ', h('span', { 'data-figure': 'last-run-status' }, statusBadge(run.status)), ' · started ', formatTime(run.startedAt ?? run.createdAt), run.completedAt !== null ? ` · completed ${formatTime(run.completedAt)}` : '', ` · ${formatInt(run.clustersEvaluated)} clusters evaluated in ${run.subscriptions.total} subscriptions`),
    failed.length > 0
      ? h(
          'div',
          { class: 'warning', role: 'note' },
          h('p', {}, h('strong', {}, `${failed.length} subscription${failed.length === 1 ? '' : 's'} failed in this run`), ' (their clusters keep their previous results):'),
          h('ul', { 'data-figure': 'failed-subscriptions' }, failed.map((f) => h('li', {}, h('code', {}, f.subscriptionId), `: ${f.error}`))),
        )
      : null,
    runFailures.map((f) => h('p', { class: 'warning' }, `Run failure: ${f.error}`)),
    run.subscriptionsNotDiscovered.length > 0
      ? h('p', { class: 'warning' }, `Not discovered in this run: ${run.subscriptionsNotDiscovered.map((s) => `${s.subscriptionId} (${s.clusters} clusters)`).join(', ')}`)
      : null,
  );
}

function staleWarning(totals: PostureTotals, stale: readonly ClusterSummary[]): Child {
  if (totals.stale === 0) return null;
  return h(
    'div',
    { class: 'warning', role: 'note', 'data-figure': 'stale-warning' },
    h('p', {}, h('strong', {}, `⚠ ${formatInt(totals.stale)} stale cluster${totals.stale === 1 ? '' : 's'}`), ': not seen by the latest run, so their results may be out of date. ', link({ view: 'clusters', stale: 'true' }, 'List stale clusters')),
    h('ul', {}, stale.map((c) => h('li', {}, link({ view: 'cluster', id: c.id }, c.name), ` (last evaluated ${formatTime(c.lastEvaluatedAt)})`))),
  );
}

interface PostureRow {
  readonly f: Framework;
  readonly passing: number;
  readonly failing: number;
  readonly notAssessed: number;
  readonly manual: number;
}

function postureTable(rows: readonly PostureRow[]): HTMLElement {
  return dataTable({
    caption: 'Requirements per framework (latest results)',
    exportName: 'posture-by-framework',
    id: 'by-framework',
    rows,
    columns: [
      { label: 'Framework', value: (r) => `${r.f.title} ${r.f.version}` },
      { label: 'Requirements', value: (r) => r.f.requirements, numeric: true },
      { label: 'Passing', value: (r) => r.passing, numeric: true },
      { label: 'Failing', value: (r) => r.failing, numeric: true },
      { label: 'Not assessed', value: (r) => r.notAssessed, numeric: true },
      { label: 'Manual', value: (r) => r.manual, numeric: true },
      { label: 'Automated requirements passing', value: (r) => formatShare(r.passing, r.f.automatedRequirements), numeric: true },
    ],
  });
}

/**
 * Per-framework posture: from the summary, which carries it since finalize computes it. A summary of a
 * run finished before that has none: the posture is then counted from each framework's report, filled
 * in after the figures (each report reads the whole fleet on the server).
 */
function frameworkPosture(summary: Summary, frameworks: readonly Framework[]): HTMLElement {
  const stored = summary.perFramework;
  if (stored !== undefined && frameworks.every((f) => stored[f.id] !== undefined)) {
    return h('div', {}, postureTable(frameworks.map((f) => ({ f, ...(stored[f.id] as FrameworkPosture) }))));
  }
  const holder = h('div', { 'aria-busy': 'true' }, h('p', { class: 'sub' }, 'Reading the framework reports…'));
  void (async () => {
    try {
      const reports = await Promise.all(frameworks.map((f) => api<FrameworkReport>(`frameworks/${encodeURIComponent(f.id)}/report`)));
      const rows = frameworks.map((f, i) => {
        const reqs = reports[i]?.requirements ?? [];
        const count = (s: string): number => reqs.filter((r) => r.status === s).length;
        return { f, passing: count('passing'), failing: count('failing'), notAssessed: count('not_assessed'), manual: count('manual') };
      });
      holder.replaceChildren(postureTable(rows));
    } catch (error) {
      holder.replaceChildren(h('p', { class: 'warning' }, `The framework reports could not be read: ${error instanceof Error ? error.message : String(error)}`));
    } finally {
      holder.removeAttribute('aria-busy');
    }
  })();
  return holder;
}

export async function renderOverview(_ctx: ViewContext): Promise<Node> {
  let summary: Summary;
  try {
    summary = await api<Summary>('summary');
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 404) return h('div', {}, heading('Overview'), h('p', { class: 'notice' }, 'No completed evaluation run yet: the first run fills this page.'));
    throw error;
  }
  const [trends, runs, stale, frameworks] = await Promise.all([
    api<Trends>('trends?days=30'),
    api<Page<Evaluation>>('evaluations?top=1'),
    summary.totals.stale > 0 ? api<Page<ClusterSummary>>('clusters?stale=true&top=10') : Promise.resolve({ value: [] }),
    api<{ value: Framework[] }>('frameworks'),
  ]);
  const t = summary.totals;
  const { previous, weekAgo } = comparisonPoints(trends.value, summary.runId);
  const share = shareOf(t);
  const subscriptions = Object.entries(summary.perSubscription).sort(([a], [b]) => a.localeCompare(b));

  return h(
    'div',
    { class: 'overview' },
    heading('Overview', h('p', { class: 'subtitle' }, `Latest results: ${formatTime(summary.generatedAt)} (run `, h('code', {}, summary.runId), ')')),
    lastRun(runs.value[0]),
    staleWarning(t, stale.value),
    h(
      'div',
      { class: 'cards', role: 'group', 'aria-label': 'Fleet figures' },
      card('Clusters', formatInt(t.clusters), 'clusters', changes('Clusters', t.clusters, previous?.clusters, weekAgo?.clusters, '')),
      card('Compliant', formatShare(t.compliant, t.clusters), 'compliant-share', [
        h('p', { class: 'sub' }, `${formatInt(t.compliant)} of ${formatInt(t.clusters)} clusters`),
        changes('Compliant share', share, previous === undefined ? undefined : shareOf(previous), weekAgo === undefined ? undefined : shareOf(weekAgo), ' pts'),
      ]),
      card('Average score', formatScore(t.averageScore), 'average-score', changes('Average score', t.averageScore, previous?.averageScore, weekAgo?.averageScore, '')),
      card('Noncompliant', formatInt(t.noncompliant), 'noncompliant', changes('Noncompliant', t.noncompliant, previous?.noncompliant, weekAgo?.noncompliant, '')),
    ),
    section('By framework', frameworkPosture(summary, frameworks.value)),
    section(
      'By subscription',
      dataTable({
        caption: 'Posture by subscription',
        exportName: 'posture-by-subscription',
        id: 'by-subscription',
        rows: subscriptions,
        columns: [
          { label: 'Subscription', value: ([id]) => id, render: ([id]) => link({ view: 'clusters', subscriptionId: id }, id) },
          { label: 'Clusters', value: ([, p]) => p.clusters, numeric: true },
          { label: 'Compliant', value: ([, p]) => p.compliant, numeric: true },
          { label: 'Compliant share', value: ([, p]) => formatShare(p.compliant, p.clusters), numeric: true },
          { label: 'Average score', value: ([, p]) => formatScore(p.averageScore), numeric: true },
          { label: 'Stale', value: ([, p]) => p.stale, numeric: true },
        ],
      }),
    ),
  );
}

/**
 * Trend: fleet score and noncompliant clusters per run over 7, 30 or 90 days. Unfiltered, it is the
 * API's precomputed trend (`GET /api/v1/trends`, any fleet size). Filtered by environment,
 * subscription, location or tag, it is aggregated here from the matching clusters' own histories, which
 * is bounded: up to {@link MAX_FILTERED} clusters (the page says so when a filter matches more).
 */
import { LineChart } from 'echarts/charts';
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { api, apiAll } from '../api.js';
import { h } from '../dom.js';
import { formatInt, formatScore, formatTime } from '../format.js';
import { dataTable } from '../table.js';
import type { Cluster, ClusterHistory, ClusterSummary, Trends } from '../types.js';
import { heading, link, section, type ViewContext } from '../view.js';
import { filterForm } from './clusters.js';

echarts.use([LineChart, GridComponent, TooltipComponent, LegendComponent, AriaComponent, SVGRenderer]);

export const MAX_FILTERED = 200;
const RANGES = ['7', '30', '90'] as const;

interface Point {
  readonly at: string;
  readonly averageScore: number;
  readonly clusters: number;
  readonly noncompliant: number;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}

const pathOf = (c: ClusterSummary): string => [c.subscriptionId, c.resourceGroup, c.name].map(encodeURIComponent).join('/');

/** Per run (by evaluation time), the average score and noncompliant count of the clusters' history entries. */
function aggregate(histories: readonly ClusterHistory[]): Point[] {
  const byRun = new Map<string, { at: string; sum: number; n: number; bad: number }>();
  for (const hist of histories) {
    for (const e of hist.value) {
      const p = byRun.get(e.runId) ?? { at: e.evaluatedAt, sum: 0, n: 0, bad: 0 };
      p.sum += e.score;
      p.n += 1;
      if (Object.values(e.statuses).includes('fail')) p.bad += 1;
      if (e.evaluatedAt < p.at) p.at = e.evaluatedAt;
      byRun.set(e.runId, p);
    }
  }
  return [...byRun.values()].sort((a, b) => a.at.localeCompare(b.at)).map((p) => ({ at: p.at, averageScore: Math.round((10 * p.sum) / p.n) / 10, clusters: p.n, noncompliant: p.bad }));
}

function chart(points: readonly Point[]): HTMLElement {
  const el = h('div', { class: 'chart', role: 'img', 'aria-label': `Line chart of average score and noncompliant clusters over ${points.length} runs; the same figures are in the table below.` });
  const dark = matchMedia('(prefers-color-scheme: dark)').matches;
  requestAnimationFrame(() => {
    const c = echarts.init(el, dark ? 'dark' : undefined, { renderer: 'svg' });
    c.setOption({
      backgroundColor: 'transparent',
      animation: false,
      aria: { enabled: true },
      tooltip: { trigger: 'axis' },
      legend: { data: ['Average score', 'Noncompliant clusters'] },
      grid: { left: 48, right: 56, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: points.map((p) => formatTime(p.at).slice(0, 16)) },
      yAxis: [
        { type: 'value', name: 'score', min: 0, max: 100 },
        { type: 'value', name: 'clusters', minInterval: 1 },
      ],
      series: [
        { name: 'Average score', type: 'line', data: points.map((p) => p.averageScore), symbol: 'circle', lineStyle: { width: 2 } },
        { name: 'Noncompliant clusters', type: 'line', yAxisIndex: 1, data: points.map((p) => p.noncompliant), symbol: 'triangle', lineStyle: { type: 'dashed', width: 2 } },
      ],
    });
    new ResizeObserver(() => c.resize()).observe(el);
  });
  return el;
}

export async function renderTrend(ctx: ViewContext): Promise<Node> {
  const days = RANGES.includes(ctx.params.get('days') as (typeof RANGES)[number]) ? Number(ctx.params.get('days')) : 30;
  const filters = { environment: ctx.params.get('environment') ?? '', subscriptionId: ctx.params.get('subscriptionId') ?? '', location: ctx.params.get('location') ?? '', tag: ctx.params.get('tag') ?? '' };
  const filtered = Object.values(filters).some((v) => v !== '');
  let points: Point[];
  let note: string;
  if (!filtered) {
    const trends = await api<Trends>(`trends?days=${days}`);
    points = trends.value.map((p) => ({ at: p.generatedAt, averageScore: p.averageScore, clusters: p.clusters, noncompliant: p.noncompliant }));
    note = 'The whole fleet, from the summaries of each run.';
  } else {
    const q = new URLSearchParams({ top: '1000' });
    for (const k of ['environment', 'subscriptionId', 'location'] as const) if (filters[k] !== '') q.set(k, filters[k]);
    const listed = await apiAll<ClusterSummary>(`clusters?${q.toString()}`, MAX_FILTERED * 5);
    let matching = listed.items;
    const [tagKey, tagValue] = filters.tag.split('=', 2);
    if (filters.tag !== '') {
      if (matching.length > MAX_FILTERED) return tooMany(ctx, days, matching.length);
      const withTags = await mapLimit(matching, 6, (c) => api<Cluster>(`clusters/${pathOf(c)}`));
      matching = withTags.filter((c) => Object.entries(c.tags).some(([k, v]) => k.toLowerCase() === (tagKey ?? '').toLowerCase() && (tagValue === undefined || v === tagValue)));
    }
    if (matching.length > MAX_FILTERED) return tooMany(ctx, days, matching.length);
    const from = new Date(Date.now() - days * 86_400_000).toISOString();
    const histories = await mapLimit(matching, 6, (c) => api<ClusterHistory>(`clusters/${pathOf(c)}/history?from=${encodeURIComponent(from)}`));
    points = aggregate(histories);
    note = `${formatInt(matching.length)} matching cluster${matching.length === 1 ? '' : 's'}, from their own history.`;
  }
  return h(
    'div',
    {},
    heading('Trend', h('p', { class: 'subtitle' }, `Last ${days} days. ${note}`)),
    h('p', { class: 'range' }, 'Range: ', RANGES.map((r) => [link({ ...filters, view: 'trend', days: r }, `${r} days`), ' '])),
    filterForm(ctx, [
      { name: 'days', label: 'Days', options: RANGES.map((r) => [r, r] as const) },
      { name: 'environment', label: 'Environment', placeholder: 'e.g. prod' },
      { name: 'subscriptionId', label: 'Subscription', placeholder: 'GUID' },
      { name: 'location', label: 'Location', placeholder: 'e.g. westeurope' },
      { name: 'tag', label: 'Tag', placeholder: 'key=value' },
    ]),
    points.length === 0 ? h('p', { class: 'notice' }, 'No run in this period.') : chart(points),
    section(
      'Runs',
      dataTable({
        caption: 'Score and noncompliant clusters per run',
        exportName: `trend-${days}d${filtered ? `-${Object.entries(filters).filter(([, v]) => v !== '').map(([k, v]) => `${k}-${v}`).join('-')}` : ''}`,
        rows: points,
        columns: [
          { label: 'Run time', value: (p) => formatTime(p.at) },
          { label: 'Clusters', value: (p) => p.clusters, numeric: true },
          { label: 'Average score', value: (p) => formatScore(p.averageScore), numeric: true },
          { label: 'Noncompliant', value: (p) => p.noncompliant, numeric: true },
        ],
      }),
    ),
  );
}

function tooMany(ctx: ViewContext, days: number, n: number): Node {
  return h(
    'div',
    {},
    heading('Trend', h('p', { class: 'subtitle' }, `Last ${days} days.`)),
    h('p', { class: 'warning', role: 'note' }, `${formatInt(n)} clusters match: a filtered trend is built from each cluster's history, up to ${MAX_FILTERED} clusters. Narrow the filter (subscription, location, tag), or clear it for the whole fleet's trend. `, link({ view: 'trend', days: String(days) }, 'Whole fleet')),
    filterForm(ctx, [
      { name: 'days', label: 'Days', options: RANGES.map((r) => [r, r] as const) },
      { name: 'environment', label: 'Environment', placeholder: 'e.g. prod' },
      { name: 'subscriptionId', label: 'Subscription', placeholder: 'GUID' },
      { name: 'location', label: 'Location', placeholder: 'e.g. westeurope' },
      { name: 'tag', label: 'Tag', placeholder: 'key=value' },
    ]),
  );
}

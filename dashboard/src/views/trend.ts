/**
 * Trend: fleet score and noncompliant clusters per run over 7, 30 or 90 days, from the API's trend
 * (`GET /api/v1/trends`), which the server filters by environment, subscription, location and tag from
 * each run's stored slices, at any fleet size.
 */
import { LineChart } from 'echarts/charts';
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { api } from '../api.js';
import { h } from '../dom.js';
import { formatScore, formatTime } from '../format.js';
import { dataTable } from '../table.js';
import type { Trends } from '../types.js';
import { heading, link, section, type ViewContext } from '../view.js';
import { filterForm } from './clusters.js';

echarts.use([LineChart, GridComponent, TooltipComponent, LegendComponent, AriaComponent, SVGRenderer]);

const RANGES = ['7', '30', '90'] as const;

interface Point {
  readonly at: string;
  readonly averageScore: number;
  readonly clusters: number;
  readonly noncompliant: number;
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
  const q = new URLSearchParams({ days: String(days) });
  for (const [k, v] of Object.entries(filters)) if (v !== '') q.set(k, v);
  const trends = await api<Trends>(`trends?${q.toString()}`);
  const points: Point[] = trends.value.map((p) => ({ at: p.generatedAt, averageScore: p.averageScore, clusters: p.clusters, noncompliant: p.noncompliant }));
  const note = filtered ? 'The matching clusters as they were in each run (the API\'s filtered trend).' : 'The whole fleet, from the summaries of each run.';
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

/**
 * Clusters: the fleet's clusters with their latest score, filterable by subscription, environment,
 * location, status, failing control and staleness (the API's own filters), a page at a time.
 */
import { api, apiAll } from '../api.js';
import { h } from '../dom.js';
import { formatScore, formatTime } from '../format.js';
import { dataTable, statusBadge } from '../table.js';
import type { ClusterSummary, Page } from '../types.js';
import { heading, link, type ViewContext } from '../view.js';

const FILTERS = ['subscriptionId', 'environment', 'location', 'status', 'controlId', 'stale'] as const;
const PAGE_SIZE = 100;

function query(params: URLSearchParams, top: number, continuationToken?: string): string {
  const q = new URLSearchParams();
  for (const f of FILTERS) {
    const v = params.get(f);
    if (v !== null && v !== '') q.set(f, v);
  }
  q.set('top', String(top));
  if (continuationToken !== undefined) q.set('continuationToken', continuationToken);
  return `clusters?${q.toString()}`;
}

export function filterForm(ctx: ViewContext, fields: readonly { readonly name: string; readonly label: string; readonly options?: readonly (readonly [string, string])[]; readonly placeholder?: string }[]): HTMLFormElement {
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filters' });
  for (const f of fields) {
    const current = ctx.params.get(f.name) ?? '';
    const control =
      f.options !== undefined
        ? h('select', { name: f.name }, f.options.map(([value, label]) => h('option', { value, selected: value === current }, label)))
        : h('input', { name: f.name, value: current, placeholder: f.placeholder ?? '', size: 14 });
    form.append(h('label', {}, f.label, control));
  }
  form.append(h('button', { type: 'submit' }, 'Apply'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next: Record<string, string | undefined> = { view: ctx.params.get('view') ?? undefined };
    for (const [k, v] of new FormData(form).entries()) if (typeof v === 'string' && v.trim() !== '') next[k] = v.trim();
    ctx.go(next);
  });
  return form;
}

export const clusterColumns = [
  { label: 'Cluster', value: (c: ClusterSummary) => c.name, render: (c: ClusterSummary) => link({ view: 'cluster', id: c.id }, c.name) },
  { label: 'Subscription', value: (c: ClusterSummary) => c.subscriptionId },
  { label: 'Resource group', value: (c: ClusterSummary) => c.resourceGroup },
  { label: 'Environment', value: (c: ClusterSummary) => c.environment },
  { label: 'Location', value: (c: ClusterSummary) => c.location },
  { label: 'Score', value: (c: ClusterSummary) => formatScore(c.score), numeric: true },
  { label: 'Status', value: (c: ClusterSummary) => (c.failedControls.length === 0 ? 'compliant' : 'noncompliant'), render: (c: ClusterSummary) => statusBadge(c.failedControls.length === 0 ? 'compliant' : 'noncompliant') },
  { label: 'Failed controls', value: (c: ClusterSummary) => c.failedControls.join(' ') },
  { label: 'Stale', value: (c: ClusterSummary) => (c.stale ? 'stale' : 'current'), render: (c: ClusterSummary) => (c.stale ? statusBadge('stale') : 'current') },
  { label: 'Last evaluated', value: (c: ClusterSummary) => formatTime(c.lastEvaluatedAt) },
] as const;

export async function renderClusters(ctx: ViewContext): Promise<Node> {
  const token = ctx.params.get('page') ?? undefined;
  const page = await api<Page<ClusterSummary>>(query(ctx.params, PAGE_SIZE, token));
  const next = page.nextLink === undefined ? undefined : (new URL(page.nextLink).searchParams.get('continuationToken') ?? undefined);
  const filters = Object.fromEntries(FILTERS.map((f) => [f, ctx.params.get(f) ?? undefined]));
  const described = FILTERS.filter((f) => ctx.params.get(f)).map((f) => `${f}=${ctx.params.get(f)}`).join(', ');
  return h(
    'div',
    {},
    heading('Clusters', h('p', { class: 'subtitle' }, described === '' ? 'Every cluster, latest results.' : `Filtered: ${described}`)),
    filterForm(ctx, [
      { name: 'subscriptionId', label: 'Subscription', placeholder: 'GUID' },
      { name: 'environment', label: 'Environment', placeholder: 'e.g. production' },
      { name: 'location', label: 'Location', placeholder: 'e.g. westeurope' },
      { name: 'status', label: 'Status', options: [['', 'any'], ['compliant', 'compliant'], ['noncompliant', 'noncompliant']] },
      { name: 'controlId', label: 'Failing control', placeholder: 'e.g. ARC-AC-01' },
      { name: 'stale', label: 'Staleness', options: [['', 'any'], ['true', 'stale'], ['false', 'current']] },
    ]),
    dataTable({
      caption: `Clusters${token !== undefined ? ' (continued)' : ''}`,
      exportName: `clusters${described === '' ? '' : `-${described}`}`,
      rows: page.value,
      columns: clusterColumns,
      empty: 'No cluster matches these filters on this page.',
      allRows: async () => (await apiAll<ClusterSummary>(query(ctx.params, 1000))).items,
    }),
    h(
      'p',
      { class: 'pager' },
      token !== undefined ? link({ ...filters, view: 'clusters' }, 'First page') : null,
      token !== undefined && next !== undefined ? ' · ' : null,
      next !== undefined ? link({ ...filters, view: 'clusters', page: next }, 'Next page') : null,
    ),
  );
}

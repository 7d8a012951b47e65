/**
 * Controls: the control × cluster heatmap. The fleet view is the server's aggregate (one row per
 * subscription and environment, `GET /api/v1/control-matrix`), so it stays readable and fast at
 * 10,000 clusters; a row drills into its clusters, one cell per control, a page at a time. Every cell
 * carries its figure as text; colour only repeats it.
 */
import { api, apiAll } from '../api.js';
import { h } from '../dom.js';
import { cellText, formatInt, formatTime } from '../format.js';
import { dataTable, downloadCsv } from '../table.js';
import type { Control, ControlMatrix, MatrixCluster, MatrixGroup, Page, StatusTally } from '../types.js';
import { heading, link, section, type ViewContext } from '../view.js';
import { filterForm } from './clusters.js';

const SYMBOL: Readonly<Record<string, string>> = { pass: '✓', fail: '✗', unknown: '?', exempt: '⊘', not_applicable: '–' };

/** Fail share bucket 0..4 (for the shade); 0 means nothing fails. */
function level(t: StatusTally | undefined): number {
  if (t === undefined) return 0;
  const assessed = t.pass + t.fail + t.unknown + t.exempt;
  if (t.fail === 0 || assessed === 0) return 0;
  const share = t.fail / assessed;
  return share < 0.25 ? 1 : share < 0.5 ? 2 : share < 0.75 ? 3 : 4;
}

function groupLabel(g: MatrixGroup): string {
  return `${g.subscriptionId} · ${g.environment ?? 'untagged'}`;
}

async function drill(ctx: ViewContext, subscriptionId: string, environment: string | undefined, controls: readonly string[]): Promise<Node> {
  const q = new URLSearchParams({ subscriptionId, top: '100' });
  if (environment !== undefined) q.set('environment', environment);
  const token = ctx.params.get('page');
  if (token !== null) q.set('continuationToken', token);
  const page = await api<Page<MatrixCluster>>(`control-matrix/clusters?${q.toString()}`);
  const next = page.nextLink === undefined ? undefined : (new URL(page.nextLink).searchParams.get('continuationToken') ?? undefined);
  const base = { view: 'controls', subscriptionId, environment };
  return h(
    'div',
    {},
    heading('Controls', h('p', { class: 'subtitle' }, `Clusters of subscription ${subscriptionId}, environment ${environment ?? 'any'}: one cell per control. `, link({ view: 'controls' }, 'Back to the fleet heatmap'))),
    dataTable({
      caption: `Control status per cluster (${subscriptionId}, ${environment ?? 'any environment'})`,
      exportName: `control-matrix-${subscriptionId}-${environment ?? 'all'}`,
      rows: page.value,
      allRows: async () => {
        q.delete('continuationToken');
        q.set('top', '1000');
        return (await apiAll<MatrixCluster>(`control-matrix/clusters?${q.toString()}`)).items;
      },
      columns: [
        { label: 'Cluster', value: (c) => c.name, render: (c) => link({ view: 'cluster', id: c.id }, c.name, c.stale ? ' (stale)' : '') },
        ...controls.map((id) => ({
          label: id,
          value: (c: MatrixCluster) => c.statuses[id] ?? '',
          render: (c: MatrixCluster) => {
            const s = c.statuses[id] ?? 'unknown';
            return h('span', { class: `cell cell-${s}`, title: `${c.name} ${id}: ${s}` }, SYMBOL[s] ?? s, h('span', { class: 'visually-hidden' }, ` ${s}`));
          },
        })),
      ],
    }),
    h('p', { class: 'pager' }, token !== null ? link(base, 'First page') : null, next !== undefined ? link({ ...base, page: next }, 'Next page') : null),
  );
}

export async function renderControls(ctx: ViewContext): Promise<Node> {
  const [matrix, catalog] = await Promise.all([api<ControlMatrix>('control-matrix'), apiAll<Control>('controls?top=1000')]);
  const subscriptionId = ctx.params.get('subscriptionId') ?? undefined;
  const environment = ctx.params.get('environment') ?? undefined;
  if (subscriptionId !== undefined && ctx.params.get('drill') === '1') return drill(ctx, subscriptionId, environment, matrix.controls);
  const titles = new Map(catalog.items.map((c) => [c.id, c.title]));
  const groups = matrix.groups.filter((g) => (subscriptionId === undefined || g.subscriptionId === subscriptionId.toLowerCase()) && (environment === undefined || (g.environment ?? 'untagged') === environment.toLowerCase()));
  const highlighted = new Set(matrix.productionOnlyFailures.map((p) => p.controlId));
  const environments = [...new Set(matrix.groups.map((g) => g.environment ?? 'untagged'))].sort();

  const heat = h(
    'table',
    { class: 'heatmap' },
    h('caption', {}, `Failing clusters of assessed, per control (columns) and subscription · environment (rows); ${formatInt(groups.reduce((n, g) => n + g.clusters, 0))} clusters`),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Subscription · environment'),
        h('th', { scope: 'col', class: 'num' }, 'Clusters'),
        matrix.controls.map((id) => h('th', { scope: 'col', class: highlighted.has(id) ? 'prod-only' : undefined, title: titles.get(id) ?? id }, link({ view: 'control', id }, id), highlighted.has(id) ? h('span', { class: 'flag' }, ' ⚑', h('span', { class: 'visually-hidden' }, ' fails in production only')) : null)),
      ),
    ),
    h(
      'tbody',
      {},
      groups.map((g) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, link({ view: 'controls', subscriptionId: g.subscriptionId, environment: g.environment ?? undefined, drill: '1' }, groupLabel(g))),
          h('td', { class: 'num' }, formatInt(g.clusters)),
          matrix.controls.map((id) => {
            const t = g.cells[id];
            return h('td', { class: `heat heat-${level(t)}`, title: `${groupLabel(g)} · ${id}: ${t?.fail ?? 0} failing, ${t?.pass ?? 0} passing, ${t?.unknown ?? 0} unknown, ${t?.exempt ?? 0} exempt` }, cellText(t));
          }),
        ),
      ),
    ),
  );

  return h(
    'div',
    {},
    heading('Controls', h('p', { class: 'subtitle' }, `Latest results: ${formatTime(matrix.generatedAt)}. Each cell: failing clusters / assessed clusters; darker means a larger failing share. Open a row for its clusters, a control for its detail.`)),
    matrix.productionOnlyFailures.length > 0
      ? h(
          'div',
          { class: 'warning', role: 'note', 'data-figure': 'prod-only' },
          h('p', {}, h('strong', {}, '⚑ Failing in production while development passes:')),
          h('ul', {}, matrix.productionOnlyFailures.map((p) => h('li', {}, link({ view: 'control', id: p.controlId }, p.controlId), ` ${titles.get(p.controlId) ?? ''}: ${p.productionFailing} production cluster${p.productionFailing === 1 ? '' : 's'} failing, ${p.developmentPassing} development passing`))),
        )
      : h('p', { class: 'notice' }, 'No control fails in production while development passes.'),
    filterForm(ctx, [
      { name: 'subscriptionId', label: 'Subscription', placeholder: 'GUID' },
      { name: 'environment', label: 'Environment', options: [['', 'any'], ...environments.map((e) => [e, e] as const)] },
    ]),
    section(
      'Heatmap',
      h(
        'div',
        { class: 'table-actions' },
        h(
          'button',
          {
            type: 'button',
            class: 'export',
            onclick: () =>
              downloadCsv(`control-matrix${subscriptionId !== undefined ? `-${subscriptionId}` : ''}${environment !== undefined ? `-${environment}` : ''}`, [
                ['subscription', 'environment', 'clusters', ...matrix.controls.map((id) => `${id} failing/assessed`)],
                ...groups.map((g) => [g.subscriptionId, g.environment ?? 'untagged', g.clusters, ...matrix.controls.map((id) => cellText(g.cells[id]))]),
              ]),
          },
          'Export CSV',
          h('span', { class: 'visually-hidden' }, ' of the heatmap'),
        ),
      ),
      h('div', { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': 'Heatmap' }, heat),
    ),
  );
}

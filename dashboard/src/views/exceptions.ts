/**
 * Exceptions: the expiry calendar of the next 90 days (by week), those expiring within 15 days, and
 * active exceptions no longer needed because the control now passes on the cluster they cover
 * (checked for cluster-scoped exceptions, up to {@link CHECKED} of them, from the cluster's results).
 */
import { api, apiAll } from '../api.js';
import { h } from '../dom.js';
import { formatDate, formatTime } from '../format.js';
import { dataTable, statusBadge } from '../table.js';
import type { Cluster, ExceptionRecord } from '../types.js';
import { heading, link, section, type ViewContext } from '../view.js';

const DAY = 86_400_000;
const CHECKED = 50;
const CLUSTER = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Kubernetes\/connectedClusters\/([^/]+)$/i;

const columns = [
  { label: 'Control', value: (e: ExceptionRecord) => e.controlId, render: (e: ExceptionRecord) => link({ view: 'control', id: e.controlId }, e.controlId) },
  { label: 'Scope', value: (e: ExceptionRecord) => e.scope, render: (e: ExceptionRecord) => (CLUSTER.test(e.scope) ? link({ view: 'cluster', id: e.scope }, CLUSTER.exec(e.scope)?.[3] ?? e.scope) : e.scope) },
  { label: 'Status', value: (e: ExceptionRecord) => e.status, render: (e: ExceptionRecord) => statusBadge(e.status) },
  { label: 'Expires', value: (e: ExceptionRecord) => formatTime(e.expiresAt) },
  { label: 'Justification', value: (e: ExceptionRecord) => e.justification },
  { label: 'Ticket', value: (e: ExceptionRecord) => e.ticket },
  { label: 'Created by', value: (e: ExceptionRecord) => e.createdBy },
];

export async function renderExceptions(_ctx: ViewContext): Promise<Node> {
  const all = (await apiAll<ExceptionRecord>('exceptions?top=1000')).items;
  const now = Date.now();
  const active = all.filter((e) => e.status === 'active');
  const soon = active.filter((e) => Date.parse(e.expiresAt) - now <= 15 * DAY).sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
  const weeks = Array.from({ length: 13 }, (_, i) => ({ start: now + i * 7 * DAY, end: now + (i + 1) * 7 * DAY }));
  const calendar = weeks.map((w) => ({ ...w, items: active.filter((e) => Date.parse(e.expiresAt) >= w.start && Date.parse(e.expiresAt) < w.end) }));
  const clusterScoped = active.filter((e) => CLUSTER.test(e.scope)).slice(0, CHECKED);
  const states = new Map<string, Cluster | undefined>();
  await Promise.all(
    [...new Set(clusterScoped.map((e) => e.scope.toLowerCase()))].map(async (scope) => {
      const m = CLUSTER.exec(scope);
      if (m === null) return;
      states.set(scope, await api<Cluster>(`clusters/${m.slice(1, 4).map((p) => encodeURIComponent(p ?? '')).join('/')}`).catch(() => undefined));
    }),
  );
  const unneeded = clusterScoped.filter((e) => states.get(e.scope.toLowerCase())?.controls.find((c) => c.controlId === e.controlId)?.status === 'pass');
  return h(
    'div',
    {},
    heading('Exceptions', h('p', { class: 'subtitle' }, `${active.length} active, ${all.length - active.length} expired.`)),
    section(
      'Expiring within 15 days',
      dataTable({ caption: 'Active exceptions expiring within 15 days', exportName: 'exceptions-expiring-15d', rows: soon, columns, empty: 'None expires within 15 days.', id: 'expiring' }),
    ),
    section(
      'Expiry calendar (next 90 days)',
      h(
        'ol',
        { class: 'calendar' },
        calendar.map((w) =>
          h(
            'li',
            {},
            h('strong', {}, `Week of ${formatDate(new Date(w.start).toISOString())}: `),
            w.items.length === 0 ? 'nothing expires' : `${w.items.length} expire${w.items.length === 1 ? 's' : ''}: `,
            w.items.map((e, i) => [i > 0 ? ', ' : '', link({ view: 'control', id: e.controlId }, e.controlId), ` on ${formatDate(e.expiresAt)}`]),
          ),
        ),
      ),
    ),
    section(
      'No longer needed',
      h('p', { class: 'sub' }, `Active exceptions whose cluster now passes the control (cluster-scoped ones, first ${CHECKED}).`),
      dataTable({ caption: 'Exceptions no longer needed', exportName: 'exceptions-not-needed', rows: unneeded, columns, empty: 'Every checked exception still covers a failing control.', id: 'unneeded' }),
    ),
    section('All exceptions', dataTable({ caption: 'All exceptions', exportName: 'exceptions', rows: all, columns, empty: 'No exception.' })),
  );
}

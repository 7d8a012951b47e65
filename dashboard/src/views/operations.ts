/**
 * Operations: recent evaluation runs (a partial run names its failed subscriptions), the stored
 * remediations newest first with their progress read from Azure now (`GET /api/v1/remediations`, a
 * page at a time, the page's token in the URL), control-plane changes read from the Activity Log (a
 * failed read is said in place, never shown as an empty table), and
 * webhook deliveries that were dead-lettered (needs `Webhooks.Manage`; without it the section says so).
 */
import { ApiFailure, MissingRole, api, apiAll } from '../api.js';
import { h } from '../dom.js';
import { formatInt, formatTime } from '../format.js';
import { dataTable, statusBadge } from '../table.js';
import type { ControlPlaneEvent, Evaluation, Page, Remediation } from '../types.js';
import { heading, link, section, type ViewContext } from '../view.js';
import { controlPlaneWatchState } from './control-plane-watch.js';

/** Remediations per page: each is read from ARM on the server. */
export const REMEDIATIONS_PAGE = 20;
interface Webhook { readonly id: string; readonly url: string }
interface Delivery { readonly id: string; readonly webhookId: string; readonly eventType: string; readonly createdAt: string; readonly status: string; readonly attempts: unknown[]; readonly reason?: string }

async function deadLetters(): Promise<HTMLElement> {
  try {
    const hooks = (await apiAll<Webhook>('webhooks?top=100', 100)).items;
    const per = await Promise.all(hooks.map(async (w) => ({ w, d: (await api<Page<Delivery>>(`webhooks/${encodeURIComponent(w.id)}/deliveries?top=100`)).value.filter((d) => d.status === 'dead-lettered') })));
    const rows = per.flatMap(({ w, d }) => d.map((x) => ({ ...x, url: w.url })));
    return dataTable({
      caption: 'Dead-lettered webhook deliveries (latest 100 per webhook)',
      exportName: 'webhook-dead-letters',
      rows,
      empty: 'No dead-lettered delivery.',
      columns: [
        { label: 'Created', value: (d) => formatTime(d.createdAt) },
        { label: 'Event', value: (d) => d.eventType },
        { label: 'Webhook URL', value: (d) => d.url },
        { label: 'Attempts', value: (d) => d.attempts.length, numeric: true },
        { label: 'Reason', value: (d) => d.reason ?? '' },
      ],
    });
  } catch (error) {
    if (error instanceof MissingRole) return h('p', { class: 'notice' }, 'Webhook deliveries need the app role ', h('code', {}, error.role), '.');
    throw error;
  }
}

/** The latest control-plane changes, or why they cannot be shown: an empty table would say nothing changed. */
async function controlPlaneChanges(): Promise<HTMLElement> {
  try {
    const events = await api<Page<ControlPlaneEvent>>('control-plane-events?top=50');
    return dataTable({
      caption: 'Latest control-plane changes (Activity Log)',
      exportName: 'control-plane-events',
      rows: events.value,
      empty: 'No control-plane change recorded.',
      columns: [
        { label: 'Time', value: (e) => formatTime(e.eventTimestamp) },
        { label: 'Kind', value: (e) => e.kind },
        { label: 'Severity', value: (e) => e.severity },
        { label: 'Status', value: (e) => e.status },
        { label: 'Caller', value: (e) => e.caller },
        { label: 'Resource', value: (e) => e.clusterName ?? e.resourceId },
      ],
    });
  } catch (error) {
    if (error instanceof MissingRole) return h('p', { class: 'notice' }, 'Control-plane changes need the app role ', h('code', {}, error.role), '.');
    if (error instanceof ApiFailure) return h('p', { class: 'problem', role: 'alert' }, `Control-plane changes could not be read (${error.code}): ${error.message}`);
    throw error;
  }
}

export async function renderOperations(ctx: ViewContext): Promise<Node> {
  const token = ctx.params.get('remediations') ?? '';
  const remediationsPath = `remediations?top=${REMEDIATIONS_PAGE}${token !== '' ? `&continuationToken=${encodeURIComponent(token)}` : ''}`;
  const [runs, remediations, events, letters] = await Promise.all([
    api<Page<Evaluation>>('evaluations?top=20'),
    api<Page<Remediation>>(remediationsPath),
    controlPlaneChanges(),
    deadLetters(),
  ]);
  const nextToken = remediations.nextLink === undefined ? undefined : (new URL(remediations.nextLink).searchParams.get('continuationToken') ?? undefined);
  const running = remediations.value.filter((r) => r.status === 'running').length;
  return h(
    'div',
    {},
    heading('Operations'),
    section(
      'Evaluation runs',
      dataTable({
        caption: 'Recent evaluation runs',
        exportName: 'evaluation-runs',
        rows: runs.value,
        columns: [
          { label: 'Started', value: (r) => formatTime(r.startedAt ?? r.createdAt) },
          { label: 'Status', value: (r) => r.status, render: (r) => statusBadge(r.status) },
          { label: 'Trigger', value: (r) => r.trigger },
          { label: 'Clusters', value: (r) => formatInt(r.clustersEvaluated), numeric: true },
          { label: 'Subscriptions', value: (r) => `${r.subscriptions.succeeded}/${r.subscriptions.total}` },
          { label: 'Failed subscriptions', value: (r) => r.failures.map((f) => `${f.subscriptionId}: ${f.error}`).join('; ') },
          { label: 'Completed', value: (r) => formatTime(r.completedAt) },
        ],
      }),
    ),
    section(
      'Remediations',
      h('p', { class: 'sub', 'data-figure': 'remediations-running' }, `${token === '' ? 'Newest first' : 'An older page'}; progress read from Azure now. ${formatInt(running)} of ${formatInt(remediations.value.length)} on this page still running.`),
      dataTable({
        caption: 'Remediations',
        exportName: 'remediations',
        id: 'remediations',
        rows: remediations.value,
        empty: 'No remediation started yet.',
        columns: [
          { label: 'Started', value: (r) => formatTime(r.createdAt) },
          { label: 'Control', value: (r) => r.controlId, render: (r) => link({ view: 'control', id: r.controlId }, r.controlId) },
          { label: 'Status', value: (r) => r.status, render: (r) => statusBadge(r.status) },
          { label: 'Clusters', value: (r) => r.clusterIds.length, numeric: true },
          { label: 'Tasks', value: (r) => r.tasks.map((t) => t.provisioningState).join(' ') },
          { label: 'Requested by', value: (r) => r.requestedBy },
          { label: 'Note', value: (r) => r.progressError ?? r.pollingStopped?.reason ?? '' },
          { label: 'Id', value: (r) => r.id },
        ],
      }),
      h(
        'p',
        { class: 'range' },
        token !== '' ? [link({ view: 'operations' }, 'Newest remediations'), ' '] : null,
        nextToken !== undefined ? link({ view: 'operations', remediations: nextToken }, `Older remediations`) : null,
      ),
    ),
    section('Control-plane changes', events),
    section('Activity Log watch', await controlPlaneWatchState()),
    section('Dead-lettered webhook deliveries', letters),
  );
}

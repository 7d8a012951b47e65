/**
 * Cluster detail: every control with its evidence, the night-by-night drift timeline (one column per
 * run of the last 30 days), the exceptions that apply (to the cluster or to its resource group) and the
 * control-plane changes read from the Activity Log (the cluster's and its resource group's).
 */
import { ApiFailure, MissingRole, api, apiAll } from '../api.js';
import { h } from '../dom.js';
import { formatDate, formatScore, formatTime } from '../format.js';
import { dataTable, statusBadge } from '../table.js';
import type { Cluster, ClusterHistory, ControlPlaneEvent, ExceptionRecord, Page } from '../types.js';
import { heading, link, section, type ViewContext } from '../view.js';

const ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Kubernetes\/connectedClusters\/([^/]+)$/i;
const SYMBOL: Readonly<Record<string, string>> = { pass: '✓', fail: '✗', unknown: '?', exempt: '⊘', not_applicable: '–' };

/** Exceptions apply to the cluster itself or to its resource group (ARM ids compare case-insensitively). */
export function appliesTo(scope: string, clusterId: string): boolean {
  const s = scope.toLowerCase();
  const c = clusterId.toLowerCase();
  return s === c || c.startsWith(`${s}/providers/`);
}

/** Latest changes shown; the CSV export reads them all. */
const EVENTS_SHOWN = 50;

/** What the change touched, in the cluster's terms: an extension, the cluster, or its resource group. */
function changeTarget(e: ControlPlaneEvent): string {
  if (e.extensionName !== undefined) return `extension ${e.extensionName}${e.securityExtension !== undefined ? ` (${e.securityExtension})` : ''}`;
  if (e.clusterId === undefined) return 'resource group';
  return /\/provisionedClusterInstances\//i.test(e.resourceId) ? 'provisioned cluster instance' : 'cluster';
}

/**
 * The cluster's control-plane changes, newest first. A failed read says so in place (the rest of the
 * page stands) instead of showing an empty table that would read as "nothing happened".
 */
async function controlPlaneChanges(path: string, name: string): Promise<HTMLElement> {
  const listing = `clusters/${path}/control-plane-events`;
  try {
    const page = await api<Page<ControlPlaneEvent>>(`${listing}?top=${EVENTS_SHOWN}`);
    return h(
      'div',
      {},
      page.nextLink !== undefined ? h('p', { class: 'sub' }, `The latest ${EVENTS_SHOWN} changes; the CSV export has them all.`) : null,
      dataTable({
        caption: `Control-plane changes of ${name} (Activity Log)`,
        exportName: `cluster-${name}-control-plane-events`,
        id: 'control-plane-changes',
        rows: page.value,
        allRows: page.nextLink === undefined ? undefined : async () => (await apiAll<ControlPlaneEvent>(`${listing}?top=1000`)).items,
        empty: 'No control-plane change recorded for this cluster or its resource group.',
        columns: [
          { label: 'Time', value: (e) => formatTime(e.eventTimestamp) },
          { label: 'Change', value: (e) => e.kind },
          { label: 'Target', value: (e) => changeTarget(e) },
          { label: 'Severity', value: (e) => e.severity },
          { label: 'Status', value: (e) => e.status },
          { label: 'Caller', value: (e) => e.caller },
          { label: 'Operation', value: (e) => e.operation },
        ],
      }),
    );
  } catch (error) {
    if (error instanceof MissingRole) return h('p', { class: 'notice' }, 'Control-plane changes need the app role ', h('code', {}, error.role), '.');
    if (error instanceof ApiFailure) return h('p', { class: 'problem', role: 'alert' }, `Control-plane changes could not be read (${error.code}): ${error.message}`);
    throw error;
  }
}

export async function renderCluster(ctx: ViewContext): Promise<Node> {
  const id = ctx.params.get('id') ?? '';
  const m = ID.exec(id);
  if (m === null) return h('div', {}, heading('Cluster'), h('p', { class: 'problem', role: 'alert' }, 'The link names no cluster (expected ?view=cluster&id=<ARM id>).'));
  const path = m.slice(1, 4).map((p) => encodeURIComponent(p ?? '')).join('/');
  const [cluster, history, exceptions, changes] = await Promise.all([
    api<Cluster>(`clusters/${path}`),
    api<ClusterHistory>(`clusters/${path}/history`),
    apiAll<ExceptionRecord>('exceptions?status=active&top=1000'),
    controlPlaneChanges(path, m[3] ?? ''),
  ]);
  const applying = exceptions.items.filter((e) => appliesTo(e.scope, cluster.id));
  const runs = history.value;
  const controlIds = cluster.controls.map((c) => c.controlId);
  const drift = runs.flatMap((r) => r.drift.map((d) => ({ ...d, at: r.evaluatedAt, runId: r.runId })));
  const tags = Object.entries(cluster.tags).sort(([a], [b]) => a.localeCompare(b));

  return h(
    'div',
    {},
    heading(cluster.name, h('p', { class: 'subtitle' }, h('code', {}, cluster.id))),
    cluster.stale ? h('p', { class: 'warning', role: 'note' }, `⚠ Stale: not seen by the latest run; results from ${formatTime(cluster.lastEvaluatedAt)}.`) : null,
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Score'), h('dd', { 'data-figure': 'cluster-score' }, formatScore(cluster.score)),
      h('dt', {}, 'Status'), h('dd', {}, statusBadge(cluster.failedControls.length === 0 ? 'compliant' : 'noncompliant')),
      h('dt', {}, 'Environment'), h('dd', {}, cluster.environment ?? '—'),
      h('dt', {}, 'Location'), h('dd', {}, cluster.location),
      h('dt', {}, 'Subscription'), h('dd', {}, link({ view: 'clusters', subscriptionId: cluster.subscriptionId }, cluster.subscriptionId)),
      h('dt', {}, 'Resource group'), h('dd', {}, cluster.resourceGroup),
      h('dt', {}, 'Distribution'), h('dd', {}, `${cluster.distribution ?? '—'} ${cluster.kubernetesVersion ?? ''}`),
      h('dt', {}, 'Connectivity'), h('dd', {}, cluster.connectivityStatus ?? '—'),
      h('dt', {}, 'Last evaluated'), h('dd', {}, formatTime(cluster.lastEvaluatedAt)),
      h('dt', {}, 'Tags'), h('dd', { class: 'tags' }, tags.length === 0 ? 'none' : tags.map(([k, v]) => h('span', { class: 'tag' }, `${k}=${v}`))),
    ),
    section(
      'Controls',
      dataTable({
        caption: `Controls of ${cluster.name}`,
        exportName: `cluster-${cluster.name}-controls`,
        rows: cluster.controls,
        columns: [
          { label: 'Control', value: (c) => c.controlId, render: (c) => link({ view: 'control', id: c.controlId }, c.controlId) },
          { label: 'Status', value: (c) => c.status, render: (c) => statusBadge(c.status) },
          { label: 'Severity', value: (c) => c.severity },
          { label: 'Evidence', value: (c) => c.evidence },
          { label: 'Reason', value: (c) => c.reason ?? '' },
          { label: 'Offenders', value: (c) => (c.offenders === undefined ? '' : `${c.offenders.items.join('; ')}${c.offenders.total > c.offenders.items.length ? ` (+${c.offenders.total - c.offenders.items.length} more)` : ''}`) },
        ],
      }),
    ),
    section(
      'Drift timeline',
      h('p', {}, `${runs.length} run${runs.length === 1 ? '' : 's'} from ${formatDate(history.from)} to ${formatDate(history.to)}; ${drift.length} change${drift.length === 1 ? '' : 's'} of status. Symbols: ✓ pass, ✗ fail, ? unknown, ⊘ exempt, – not applicable.`),
      h(
        'div',
        { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': 'Status per control and run' },
        h(
          'table',
          { class: 'timeline' },
          h('caption', {}, 'Status per control and night'),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Control'), runs.map((r) => h('th', { scope: 'col', class: 'num' }, formatDate(r.evaluatedAt).slice(5))))),
          h(
            'tbody',
            {},
            controlIds.map((cid) =>
              h(
                'tr',
                {},
                h('th', { scope: 'row' }, cid),
                runs.map((r, i) => {
                  const s = r.statuses[cid] ?? 'unknown';
                  const changed = i > 0 && (runs[i - 1]?.statuses[cid] ?? 'unknown') !== s;
                  return h('td', { class: `cell cell-${s}${changed ? ' changed' : ''}`, title: `${cid} ${formatDate(r.evaluatedAt)}: ${s}` }, SYMBOL[s] ?? s, h('span', { class: 'visually-hidden' }, ` ${s}${changed ? ' (changed)' : ''}`));
                }),
              ),
            ),
          ),
        ),
      ),
      dataTable({
        caption: 'Status changes',
        exportName: `cluster-${cluster.name}-drift`,
        rows: drift,
        empty: 'No control changed status in this period.',
        columns: [
          { label: 'Run time', value: (d) => formatTime(d.at) },
          { label: 'Control', value: (d) => d.controlId },
          { label: 'From', value: (d) => d.from, render: (d) => statusBadge(d.from) },
          { label: 'To', value: (d) => d.to, render: (d) => statusBadge(d.to) },
        ],
      }),
    ),
    section(
      'Exceptions that apply',
      dataTable({
        caption: `Active exceptions for ${cluster.name}`,
        exportName: `cluster-${cluster.name}-exceptions`,
        rows: applying,
        empty: 'No active exception applies to this cluster.',
        columns: [
          { label: 'Control', value: (e) => e.controlId },
          { label: 'Scope', value: (e) => (e.scope.toLowerCase() === cluster.id.toLowerCase() ? 'this cluster' : 'resource group') },
          { label: 'Justification', value: (e) => e.justification },
          { label: 'Ticket', value: (e) => e.ticket },
          { label: 'Expires', value: (e) => formatTime(e.expiresAt) },
          { label: 'Created by', value: (e) => e.createdBy },
        ],
      }),
    ),
    section('Control-plane changes', h('p', { class: 'sub' }, 'Admin kubeconfig downloads (break-glass), cluster connect, extension, role and policy changes on this cluster and its resource group, from the Azure Activity Log; newest first.'), changes),
  );
}

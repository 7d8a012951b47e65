/**
 * Control detail: what the control checks and how to fix it, the fleet's tally, the failing clusters
 * with their evidence, the exceptions granted for it, and (for controls backed by a DeployIfNotExists
 * policy) starting an Azure Policy remediation when the person holds `Remediation.Run`.
 */
import { ApiFailure, MissingRole, api, apiAll, hasRole } from '../api.js';
import { h } from '../dom.js';
import { formatInt, formatScore, formatTime } from '../format.js';
import { dataTable, statusBadge } from '../table.js';
import type { Cluster, ClusterSummary, Control, ExceptionRecord, Page, Summary } from '../types.js';
import { heading, link, section, type ViewContext } from '../view.js';

const EVIDENCE_FOR = 25;

interface Remediation {
  readonly id: string;
  readonly status: string;
  readonly clusterIds: readonly string[];
  readonly tasks: readonly { readonly subscriptionId: string; readonly provisioningState: string; readonly error?: string }[];
}

function remediationPanel(ctx: ViewContext, control: Control, failing: readonly ClusterSummary[]): HTMLElement {
  if (!control.remediation.automatic) return h('p', { class: 'notice' }, 'No automatic remediation: follow the guidance above.');
  const subscriptions = [...new Set(failing.map((c) => c.subscriptionId))].sort();
  const allowed = hasRole('Remediation.Run');
  const result = h('div', { 'aria-live': 'polite' });
  const select = h('select', { name: 'subscriptionId', id: 'remediate-subscription' }, subscriptions.map((s) => h('option', { value: s }, s)));
  const button = h('button', { type: 'submit', class: 'primary', disabled: !allowed || subscriptions.length === 0 }, 'Start remediation');
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Start a remediation' },
    h('label', { for: 'remediate-subscription' }, 'Failing clusters of subscription', select),
    button,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    button.disabled = true;
    result.replaceChildren(h('p', {}, 'Starting…'));
    api<Remediation>('remediations', { method: 'POST', body: { controlId: control.id, subscriptionId: select.value } })
      .then((r) => {
        result.replaceChildren(
          h('p', { role: 'status', class: 'notice' }, `Remediation `, h('code', {}, r.id), ` started: `, statusBadge(r.status), ` for ${r.clusterIds.length} cluster${r.clusterIds.length === 1 ? '' : 's'} in ${r.tasks.length} task${r.tasks.length === 1 ? '' : 's'}.`),
          h('ul', {}, r.tasks.map((t) => h('li', {}, `${t.subscriptionId}: ${t.provisioningState}${t.error !== undefined ? ` (${t.error})` : ''}`))),
          h('p', {}, link({ view: 'operations' }, 'Follow it on the Operations view')),
        );
      })
      .catch((error: unknown) => {
        const message =
          error instanceof MissingRole
            ? `Not allowed: starting a remediation needs the app role ${error.role}.`
            : error instanceof ApiFailure
              ? `${error.code}: ${error.message}${error.details[0] !== undefined ? ` ${error.details[0].message}` : ''}`
              : String(error);
        result.replaceChildren(h('p', { role: 'alert', class: 'problem' }, message));
      })
      .finally(() => {
        button.disabled = !allowed;
      });
  });
  void ctx;
  return h(
    'div',
    {},
    h('p', {}, `Azure Policy can fix this control (DeployIfNotExists policy `, h('code', {}, control.remediation.deployIfNotExistsPolicyDefinitionId ?? ''), ').'),
    allowed ? null : h('p', { class: 'notice' }, 'Starting a remediation needs the app role ', h('code', {}, 'Remediation.Run'), ', which you do not hold.'),
    subscriptions.length === 0 ? h('p', {}, 'No cluster fails it.') : form,
    result,
  );
}

export async function renderControl(ctx: ViewContext): Promise<Node> {
  const id = ctx.params.get('id') ?? '';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id)) return h('div', {}, heading('Control'), h('p', { class: 'problem', role: 'alert' }, 'The link names no control.'));
  const [control, summary, failingPage, exceptions] = await Promise.all([
    api<Control>(`controls/${encodeURIComponent(id)}`),
    api<Summary>('summary'),
    api<Page<ClusterSummary>>(`clusters?controlId=${encodeURIComponent(id)}&top=100`),
    apiAll<ExceptionRecord>('exceptions?top=1000'),
  ]);
  const tally = summary.perControl[id];
  const failing = failingPage.value;
  const details = await Promise.all(
    failing.slice(0, EVIDENCE_FOR).map((c) => api<Cluster>(`clusters/${[c.subscriptionId, c.resourceGroup, c.name].map(encodeURIComponent).join('/')}`).catch(() => undefined)),
  );
  const evidence = new Map(details.filter((d): d is Cluster => d !== undefined).map((d) => [d.id, d.controls.find((r) => r.controlId === id)]));
  const mine = exceptions.items.filter((e) => e.controlId === id);
  return h(
    'div',
    {},
    heading(`${control.id}: ${control.title}`, h('p', { class: 'subtitle' }, `${control.category} · severity ${control.severity}`)),
    h('p', {}, control.description),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Evidence read'), h('dd', {}, control.evidence),
      h('dt', {}, 'Requirements met'),
      h('dd', {}, Object.entries(control.requirements).filter(([, ids]) => ids.length > 0).map(([fw, ids]) => h('span', { class: 'tag' }, `${fw}: ${ids.join(', ')}`))),
      h('dt', {}, 'Fleet'),
      h('dd', { 'data-figure': 'control-tally' }, tally === undefined ? '—' : `${formatInt(tally.fail)} failing · ${formatInt(tally.pass)} passing · ${formatInt(tally.unknown)} unknown · ${formatInt(tally.exempt)} exempt · ${formatInt(tally.not_applicable)} not applicable`),
    ),
    section('Remediation', h('p', {}, control.remediation.text), remediationPanel(ctx, control, failing)),
    section(
      'Failing clusters',
      dataTable({
        caption: `Clusters failing ${control.id}${failingPage.nextLink !== undefined ? ' (first 100)' : ''}`,
        exportName: `control-${control.id}-failing`,
        rows: failing,
        empty: 'No cluster fails this control.',
        allRows: async () => (await apiAll<ClusterSummary>(`clusters?controlId=${encodeURIComponent(id)}&top=1000`)).items,
        columns: [
          { label: 'Cluster', value: (c) => c.name, render: (c) => link({ view: 'cluster', id: c.id }, c.name) },
          { label: 'Environment', value: (c) => c.environment },
          { label: 'Subscription', value: (c) => c.subscriptionId },
          { label: 'Score', value: (c) => formatScore(c.score), numeric: true },
          { label: 'Evidence', value: (c) => evidence.get(c.id)?.evidence ?? '', render: (c) => evidence.get(c.id)?.evidence ?? (evidence.has(c.id) ? '—' : 'open the cluster') },
          { label: 'Offenders', value: (c) => evidence.get(c.id)?.offenders?.items.join('; ') ?? '' },
        ],
      }),
    ),
    section(
      'Exceptions',
      dataTable({
        caption: `Exceptions for ${control.id}`,
        exportName: `control-${control.id}-exceptions`,
        rows: mine,
        empty: 'No exception was granted for this control.',
        columns: [
          { label: 'Scope', value: (e) => e.scope },
          { label: 'Status', value: (e) => e.status, render: (e) => statusBadge(e.status) },
          { label: 'Justification', value: (e) => e.justification },
          { label: 'Ticket', value: (e) => e.ticket },
          { label: 'Expires', value: (e) => formatTime(e.expiresAt) },
        ],
      }),
    ),
  );
}

/**
 * Rollouts board: each rollout's waves side by side with their state, the gate's reasons, the bake
 * countdown and the clusters each wave puts under deny (its non-compliant ones would be refused). A
 * wave still waiting for its approval can be approved here by a holder of `Enforcement.Approve`; the
 * API keeps separation of duties (the creator cannot approve) and its refusal is shown as is.
 */
import { ApiFailure, MissingRole, api, apiAll, hasRole } from '../api.js';
import { h } from '../dom.js';
import { formatTime } from '../format.js';
import { dataTable, statusBadge } from '../table.js';
import type { Rollout, RolloutWave } from '../types.js';
import { heading, link, section, type ViewContext } from '../view.js';

const ACTIVE = new Set(['running', 'blocked', 'awaiting_approval', 'paused']);
const NAME = /\/connectedClusters\/([^/]+)$/i;

/** `bake ends in 12 min` / `bake ended`, from the wave's bake start and the rollout's bake minutes. */
export function bakeText(wave: RolloutWave, bakeMinutes: number, now: number): string | undefined {
  if (wave.bakeStartedAt === undefined || wave.state !== 'baking') return undefined;
  const left = Date.parse(wave.bakeStartedAt) + bakeMinutes * 60_000 - now;
  if (left <= 0) return 'bake time over; checking';
  const minutes = Math.ceil(left / 60_000);
  return minutes >= 90 ? `bake ends in ${Math.floor(minutes / 60)} h ${minutes % 60} min` : `bake ends in ${minutes} min`;
}

function approveForm(ctx: ViewContext, rollout: Rollout, wave: RolloutWave, index: number): HTMLElement | null {
  const waiting = rollout.gates.requireApproval !== false && wave.approval === undefined && ['pending', 'gating', 'blocked', 'awaiting_approval'].includes(wave.state) && ACTIVE.has(rollout.state);
  if (!waiting) return null;
  if (!hasRole('Enforcement.Approve')) return h('p', { class: 'sub' }, 'Waiting for an approval (needs the app role ', h('code', {}, 'Enforcement.Approve'), ').');
  const inputId = `comment-${rollout.id}-${index}`;
  const comment = h('input', { id: inputId, name: 'comment', maxlength: 1000, placeholder: 'change number, note' });
  const out = h('div', { 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'primary' }, `Approve ${wave.name}`);
  const form = h('form', { class: 'approve' }, h('label', { for: inputId }, 'Comment (optional)'), comment, button, out);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    button.disabled = true;
    const body = comment.value.trim() === '' ? {} : { comment: comment.value.trim() };
    api<Rollout>(`rollouts/${encodeURIComponent(rollout.id)}/waves/${encodeURIComponent(wave.name)}/approve`, { method: 'POST', body })
      .then(() => ctx.refresh())
      .catch((error: unknown) => {
        button.disabled = false;
        const message = error instanceof MissingRole ? `Not allowed: approving needs the app role ${error.role}.` : error instanceof ApiFailure ? `Refused (${error.status} ${error.code}): ${error.message}` : String(error);
        out.replaceChildren(h('p', { role: 'alert', class: 'problem' }, message));
      });
  });
  return form;
}

function waveCard(ctx: ViewContext, rollout: Rollout, wave: RolloutWave, index: number, now: number): HTMLElement {
  const bake = bakeText(wave, rollout.gates.bakeMinutes ?? 60, now);
  const scope = [...(wave.locations ?? []), ...(wave.resourceGroups ?? []).map((g) => g.split('/').pop() ?? g)].join(', ');
  return h(
    'li',
    { class: `wave wave-${wave.state}`, 'aria-label': `Wave ${index + 1}: ${wave.name}` },
    h('h3', {}, `${index + 1}. ${wave.name}`),
    h('p', {}, statusBadge(wave.state), index === rollout.currentWave && ACTIVE.has(rollout.state) ? ' (current)' : ''),
    h('p', { class: 'sub' }, scope),
    bake !== undefined ? h('p', { class: 'countdown', 'data-bake-start': wave.bakeStartedAt ?? '', 'data-bake-minutes': rollout.gates.bakeMinutes ?? 60 }, bake) : null,
    wave.reasons.length > 0 ? h('ul', { class: 'reasons', 'aria-label': 'Gate reasons' }, wave.reasons.map((r) => h('li', {}, r))) : null,
    wave.approval !== undefined ? h('p', { class: 'sub' }, `Approved by ${wave.approval.by} at ${formatTime(wave.approval.at)}`, wave.approval.comment !== undefined ? `: “${wave.approval.comment}”` : '') : null,
    h(
      'details',
      {},
      h('summary', {}, `${wave.clusters.length} cluster${wave.clusters.length === 1 ? '' : 's'} under deny, ${wave.nonCompliant} non-compliant (their workloads would be refused)`),
      h('ul', {}, wave.clusters.map((id) => h('li', {}, link({ view: 'cluster', id }, NAME.exec(id)?.[1] ?? id)))),
    ),
    approveForm(ctx, rollout, wave, index),
  );
}

export async function renderRollouts(ctx: ViewContext): Promise<Node> {
  const listed = await apiAll<Rollout>('rollouts?top=100', 200);
  const selected = ctx.params.get('id');
  const rollouts = selected === null ? listed.items : listed.items.filter((r) => r.id === selected);
  const now = Date.now();
  const boards = rollouts.map((r) =>
    h(
      'article',
      { class: 'rollout', 'aria-labelledby': `r-${r.id}` },
      h('h2', { id: `r-${r.id}` }, link({ view: 'rollouts', id: r.id }, r.policyAssignmentId.split('/').pop() ?? r.id), ' ', statusBadge(r.state)),
      h('p', { class: 'sub' }, h('code', {}, r.policyAssignmentId), ` · created by ${r.createdBy} at ${formatTime(r.createdAt)} · gates: at most ${r.gates.maxNonCompliant ?? 0} non-compliant, bake ${r.gates.bakeMinutes ?? 60} min, approval ${r.gates.requireApproval === false ? 'not required' : 'required'}`),
      r.cause !== undefined ? h('p', { class: 'warning' }, r.cause) : null,
      h('ol', { class: 'waves' }, r.waves.map((w, i) => waveCard(ctx, r, w, i, now))),
    ),
  );
  const tick = setInterval(() => {
    const nodes = document.querySelectorAll<HTMLElement>('.countdown[data-bake-start]');
    if (nodes.length === 0 || !document.body.contains(nodes[0] ?? null)) clearInterval(tick);
    for (const n of nodes) {
      const text = bakeText({ name: '', state: 'baking', clusters: [], nonCompliant: 0, reasons: [], bakeStartedAt: n.dataset['bakeStart'] ?? '' }, Number(n.dataset['bakeMinutes']), Date.now());
      if (text !== undefined) n.textContent = text;
    }
  }, 30_000);
  return h(
    'div',
    {},
    heading('Rollouts', h('p', { class: 'subtitle' }, 'Staged enforcement from audit to deny, wave by wave, behind gates and approvals.')),
    rollouts.length === 0 ? h('p', { class: 'notice' }, 'No rollout yet (POST /api/v1/rollouts, docs/rollouts.md).') : boards,
    section(
      'All rollouts',
      dataTable({
        caption: 'Rollouts',
        exportName: 'rollouts',
        rows: listed.items,
        columns: [
          { label: 'Assignment', value: (r) => r.policyAssignmentId },
          { label: 'State', value: (r) => r.state, render: (r) => statusBadge(r.state) },
          { label: 'Current wave', value: (r) => r.waves[r.currentWave]?.name ?? '' },
          { label: 'Waves', value: (r) => r.waves.map((w) => `${w.name}:${w.state}`).join(' ') },
          { label: 'Created by', value: (r) => r.createdBy },
          { label: 'Updated', value: (r) => formatTime(r.updatedAt) },
        ],
      }),
    ),
  );
}

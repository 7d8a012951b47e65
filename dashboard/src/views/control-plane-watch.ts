/**
 * The Activity Log watch per subscription (`GET /api/v1/control-plane-watch`): a subscription whose log
 * cannot be read is listed first, as failing, with the failure's code, time and hint, so a gap in the
 * control-plane changes is visible rather than an empty table; a subscription the latest evaluation found
 * clusters in that the watch has never read is listed next, as never read.
 */
import { ApiFailure, MissingRole, api } from '../api.js';
import { h } from '../dom.js';
import { formatInt, formatTime } from '../format.js';
import { dataTable, statusBadge } from '../table.js';
import type { ControlPlaneWatchReport } from '../types.js';

export async function controlPlaneWatchState(): Promise<HTMLElement> {
  try {
    const report = await api<ControlPlaneWatchReport>('control-plane-watch');
    return h(
      'div',
      {},
      h(
        'p',
        { class: report.failing > 0 ? 'warning' : 'sub', 'data-figure': 'watch-failing', role: report.failing > 0 ? 'note' : undefined },
        report.failing > 0
          ? `⚠ ${formatInt(report.failing)} of ${formatInt(report.value.length)} subscriptions failing: their control-plane changes are not being read, and ARC-TD-04 turns unknown once the last read no longer covers the lookback.`
          : `${formatInt(report.value.length - report.neverRead)} subscription${report.value.length - report.neverRead === 1 ? '' : 's'} read without failure.`,
      ),
      report.neverRead > 0
        ? h(
            'p',
            { class: 'warning', 'data-figure': 'watch-never-read', role: 'note' },
            `⚠ ${formatInt(report.neverRead)} subscription${report.neverRead === 1 ? '' : 's'} of the latest evaluation never read by the watch: their control-plane changes are unknown until the watch timer queues ${report.neverRead === 1 ? 'it' : 'them'}.`,
          )
        : null,
      dataTable({
        caption: 'Activity Log watch per subscription',
        exportName: 'control-plane-watch',
        id: 'control-plane-watch',
        rows: report.value,
        empty: 'No subscription read yet (the watch timer or a nightly run reads them).',
        columns: [
          { label: 'Subscription', value: (w) => w.subscriptionId },
          { label: 'Status', value: (w) => w.status, render: (w) => statusBadge(w.status) },
          { label: 'Read up to', value: (w) => formatTime(w.watermark) },
          { label: 'Last successful read', value: (w) => formatTime(w.lastSuccessAt) },
          { label: 'Last failure', value: (w) => (w.lastFailure === undefined ? '' : `${formatTime(w.lastFailure.at)} ${w.lastFailure.code} (${w.lastFailure.stage})`) },
          { label: 'Message', value: (w) => (w.lastFailure === undefined ? '' : `${w.lastFailure.message}${w.lastFailure.hint !== undefined ? ` ${w.lastFailure.hint}` : ''}`) },
        ],
      }),
    );
  } catch (error) {
    if (error instanceof MissingRole) return h('p', { class: 'notice' }, 'The watch state needs the app role ', h('code', {}, error.role), '.');
    if (error instanceof ApiFailure) return h('p', { class: 'problem', role: 'alert' }, `The watch state could not be read (${error.code}): ${error.message}`);
    throw error;
  }
}

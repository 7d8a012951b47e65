/**
 * Tables with a caption, a CSV export of exactly the rows shown for the current filter (through the
 * domain's CSV encoder: RFC 4180 quoting, spreadsheet formula neutralisation), and status words
 * beside every colour.
 */
import { toCsv, type CsvCell } from '../../domain/fleet-summary.js';
import { h, type Child } from './dom.js';

export interface Column<T> {
  readonly label: string;
  /** The cell's value in the CSV export. */
  readonly value: (row: T) => CsvCell;
  /** What the page shows (default: the value as text). */
  readonly render?: (row: T) => Child;
  readonly numeric?: boolean;
}

export interface TableOptions<T> {
  readonly caption: string;
  readonly columns: readonly Column<T>[];
  readonly rows: readonly T[];
  /** File name of the export, without `.csv`. */
  readonly exportName: string;
  /** Rows for the export when the table shows a page of a longer listing (fetched on demand). */
  readonly allRows?: () => Promise<readonly T[]>;
  readonly empty?: string;
  readonly id?: string;
}

export function downloadCsv(fileName: string, records: readonly (readonly CsvCell[])[]): void {
  const blob = new Blob([toCsv(records)], { type: 'text/csv;charset=utf-8' });
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: `${fileName.replace(/[^A-Za-z0-9._-]+/g, '-')}.csv`, hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function dataTable<T>(options: TableOptions<T>): HTMLElement {
  const { columns, rows } = options;
  const exportButton = h(
    'button',
    {
      type: 'button',
      class: 'export',
      // The DOM ignores a handler's promise: a failed read of all rows surfaces as the page's unhandled rejection.
      onclick: () =>
        void (async () => {
          exportButton.setAttribute('aria-busy', 'true');
          try {
            const all = options.allRows !== undefined ? await options.allRows() : rows;
            downloadCsv(options.exportName, [columns.map((c) => c.label), ...all.map((r) => columns.map((c) => c.value(r)))]);
          } finally {
            exportButton.removeAttribute('aria-busy');
          }
        })(),
    },
    `Export CSV`,
    h('span', { class: 'visually-hidden' }, ` of ${options.caption}`),
  );
  const table = h(
    'table',
    {},
    h('caption', {}, options.caption),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.numeric === true ? 'num' : undefined }, c.label)))),
    h(
      'tbody',
      {},
      rows.length === 0
        ? h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, options.empty ?? 'Nothing to show.'))
        : rows.map((r) => h('tr', {}, columns.map((c) => h('td', { class: c.numeric === true ? 'num' : undefined }, c.render !== undefined ? c.render(r) : formatCell(c.value(r)))))),
    ),
  );
  return h('div', { class: 'table-block', id: options.id }, h('div', { class: 'table-actions' }, exportButton), h('div', { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': options.caption }, table));
}

function formatCell(v: CsvCell): string {
  if (v === null || v === undefined) return '—';
  return String(v);
}

/** A status as a word with a symbol, never colour alone. */
export function statusBadge(status: string): HTMLElement {
  const symbol: Record<string, string> = { pass: '✓', compliant: '✓', succeeded: '✓', ok: '✓', fail: '✗', failing: '✗', noncompliant: '✗', failed: '✗', partial: '!', unknown: '?', exempt: '⊘', not_applicable: '–', stale: '!', 'never-read': '!', running: '…' };
  return h('span', { class: `badge badge-${status.replace(/[^a-z_]/gi, '')}` }, h('span', { 'aria-hidden': 'true' }, `${symbol[status] ?? '•'} `), status.replace('_', ' '));
}

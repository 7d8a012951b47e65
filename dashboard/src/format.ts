/**
 * How figures are written on the page. Shared with the browser tests, which format the API's numbers
 * with the same functions and compare them with what the page shows.
 */
export function formatInt(n: number): string {
  return n.toLocaleString('en-US');
}

/** One decimal, e.g. `87.5`. */
export function formatScore(n: number): string {
  return n.toFixed(1);
}

/** A share of a whole as a percentage with one decimal (`0.0%` when the whole is 0). */
export function formatShare(part: number, whole: number): string {
  return `${whole === 0 ? '0.0' : ((part / whole) * 100).toFixed(1)}%`;
}

/** A signed change with one decimal and a word, so the direction never depends on colour: `+2.5 (up)`. */
export function formatDelta(delta: number, unit = ''): string {
  const rounded = Math.round(delta * 10) / 10;
  if (rounded === 0) return `±0.0${unit} (no change)`;
  return `${rounded > 0 ? '+' : '−'}${Math.abs(rounded).toFixed(1)}${unit} (${rounded > 0 ? 'up' : 'down'})`;
}

/** `2026-12-07 07:31 UTC`: one unambiguous form for every time on the page. */
export function formatTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function formatDate(iso: string): string {
  return iso.slice(0, 10);
}

/** A heatmap cell: failing of assessed clusters (pass, fail, unknown or exempt), e.g. `3/10`. */
export function cellText(t: { readonly pass: number; readonly fail: number; readonly unknown: number; readonly exempt: number } | undefined): string {
  if (t === undefined) return '—';
  return `${t.fail}/${t.pass + t.fail + t.unknown + t.exempt}`;
}

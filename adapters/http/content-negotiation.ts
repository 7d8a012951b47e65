/**
 * Choosing between JSON and CSV for operations that offer both: an explicit `format` query parameter
 * wins; otherwise the `Accept` header (RFC 9110 quality values) decides, and JSON is the default.
 */

function quality(accept: string, ranges: readonly string[]): number {
  let best = -1;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    if (!ranges.includes(range)) continue;
    const q = params.find((p) => p.startsWith('q='));
    const value = q === undefined ? 1 : Number(q.slice(2));
    if (Number.isFinite(value) && value > best) best = value;
  }
  return best;
}

/** `csv` when `format=csv`, or when no format is given and `Accept` prefers `text/csv` to JSON. */
export function prefersCsv(format: 'json' | 'csv' | undefined, accept: string | null): boolean {
  if (format !== undefined) return format === 'csv';
  if (accept === null || accept.trim() === '') return false;
  const csv = quality(accept, ['text/csv', 'text/*']);
  const json = quality(accept, ['application/json', 'application/*', '*/*']);
  return csv > 0 && csv > json;
}

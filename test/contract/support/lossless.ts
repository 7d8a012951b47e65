/**
 * "Nothing lost" between an ARM wire body and what an SDK returns for it. SDK models rename and
 * flatten (`properties.x` → `x`, `@odata.nextLink` → `odataNextLink`) and turn timestamps into
 * `Date`s, so both sides are reduced to leaves keyed by their path without `properties` segments,
 * compared case- and punctuation-insensitively; ISO timestamps compare as instants.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const EXAMPLES = join(import.meta.dirname, '..', '..', 'fixtures', 'azure-rest-examples');

export interface Example {
  readonly parameters: Record<string, unknown>;
  readonly responses: Record<string, { body?: unknown }>;
}

export function loadExample(relative: string): Example {
  return JSON.parse(readFileSync(join(EXAMPLES, relative), 'utf8')) as Example;
}

export function responseBody<T = Record<string, unknown>>(example: Example, status = '200'): T {
  const body = example.responses[status]?.body;
  if (body === undefined) throw new Error(`example has no ${status} body`);
  return structuredClone(body) as T;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const keyOf = (segments: readonly string[]): string =>
  segments.filter((s) => s !== 'properties').map((s) => s.toLowerCase().replace(/[^a-z0-9]/g, '')).join('/');

function leaves(value: unknown, path: string[], out: Map<string, unknown>): void {
  if (value instanceof Date) {
    out.set(keyOf(path), value.toISOString());
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => leaves(v, [...path, String(i)], out));
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) leaves(v, [...path, k], out);
  } else if (value !== null && value !== undefined) {
    out.set(keyOf(path), value);
  }
}

const same = (a: unknown, b: unknown): boolean =>
  a === b || (typeof a === 'string' && typeof b === 'string' && ISO.test(a) && ISO.test(b) && Date.parse(a) === Date.parse(b));

/** Wire leaves the SDK result lacks or changed, minus `allowedMissing` (normalised path prefixes the SDK does not model). */
export function lostFields(wire: unknown, sdk: unknown, allowedMissing: readonly string[] = []): string[] {
  const w = new Map<string, unknown>();
  const s = new Map<string, unknown>();
  leaves(wire, [], w);
  leaves(sdk, [], s);
  const lost: string[] = [];
  for (const [k, v] of w) {
    if (allowedMissing.some((p) => k === p || k.startsWith(`${p}/`))) continue;
    if (!s.has(k)) lost.push(`${k} (missing)`);
    else if (!same(v, s.get(k))) lost.push(`${k}: ${JSON.stringify(v)} → ${JSON.stringify(s.get(k))}`);
  }
  return lost;
}

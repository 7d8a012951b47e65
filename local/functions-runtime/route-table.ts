/**
 * HTTP trigger route templates, in the subset the app registers: literal segments (case-insensitive),
 * `{name}` parameters and a final catch-all `{*path}` (the API's fallback route). Where several routes
 * match, the more specific wins per segment, as in ASP.NET's inbound precedence: literal, then
 * parameter, then catch-all. A route without `route` is the function name, as in the host.
 * Constraints (`{id:int}`), optional parameters and defaults fail the start with a clear message:
 * nothing in the app uses them, so the local host does not carry them.
 */

interface LiteralSegment {
  readonly kind: 'literal';
  readonly text: string;
}
interface ParameterSegment {
  readonly kind: 'parameter';
  readonly name: string;
  readonly catchAll: boolean;
}
type Segment = LiteralSegment | ParameterSegment;

export class RouteTemplateError extends Error {
  constructor(template: string, problem: string) {
    super(`Route template "${template}": ${problem}`);
    this.name = 'RouteTemplateError';
  }
}

function parseParameter(body: string, template: string): ParameterSegment {
  const catchAll = body.startsWith('*');
  const name = body.replace(/^\*{1,2}/, '');
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return { kind: 'parameter', name, catchAll };
  if (/[:?=]/.test(name)) {
    throw new RouteTemplateError(template, `"{${body}}": constraints, optional parameters and defaults are not supported by the local runtime`);
  }
  throw new RouteTemplateError(template, `invalid parameter "{${body}}"`);
}

export interface CompiledRoute {
  readonly template: string;
  readonly segments: readonly Segment[];
  /** Per segment, smaller is more specific: 1 literal, 2 parameter, 3 catch-all. */
  readonly precedence: readonly number[];
}

export function compileRoute(template: string): CompiledRoute {
  const trimmed = template.replace(/^\/+|\/+$/g, '');
  const rawSegments = trimmed === '' ? [] : trimmed.split('/');
  const segments: Segment[] = rawSegments.map((part) => {
    if (part === '') throw new RouteTemplateError(template, 'empty segment');
    const m = /^\{([^{}]+)\}$/.exec(part);
    if (m?.[1] !== undefined) return parseParameter(m[1], template);
    if (part.includes('{') || part.includes('}')) throw new RouteTemplateError(template, `complex segment "${part}" is not supported locally`);
    return { kind: 'literal', text: part };
  });
  const names = new Set<string>();
  segments.forEach((segment, i) => {
    if (segment.kind !== 'parameter') return;
    if (names.has(segment.name.toLowerCase())) throw new RouteTemplateError(template, `parameter "${segment.name}" appears twice`);
    names.add(segment.name.toLowerCase());
    if (segment.catchAll && i !== segments.length - 1) throw new RouteTemplateError(template, 'a catch-all parameter must be the last segment');
  });
  const precedence = segments.map((s) => (s.kind === 'literal' ? 1 : s.catchAll ? 3 : 2));
  return { template, segments, precedence };
}

/** Matches decoded path segments; returns route values (an empty catch-all omitted) or undefined. */
export function matchRoute(route: CompiledRoute, path: readonly string[]): Record<string, string> | undefined {
  const values: Record<string, string> = {};
  let i = 0;
  for (const segment of route.segments) {
    const value = path[i];
    if (segment.kind === 'literal') {
      if (value === undefined || value.toLowerCase() !== segment.text.toLowerCase()) return undefined;
      i++;
    } else if (segment.catchAll) {
      const rest = path.slice(i).join('/');
      i = path.length;
      if (rest !== '') values[segment.name] = rest;
    } else {
      if (value === undefined) return undefined;
      values[segment.name] = value;
      i++;
    }
  }
  return i === path.length ? values : undefined;
}

/** Negative when `a` is more specific than `b` and must be tried first. */
export function compareRoutes(a: CompiledRoute, b: CompiledRoute): number {
  const n = Math.max(a.precedence.length, b.precedence.length);
  for (let i = 0; i < n; i++) {
    // A route that ends earlier is less specific at that position than one that still has a segment.
    const d = (a.precedence[i] ?? 4) - (b.precedence[i] ?? 4);
    if (d !== 0) return d;
  }
  // Ordinal and case-insensitive, as ASP.NET orders route templates (and no ICU collator to load).
  const x = a.template.toLowerCase();
  const y = b.template.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Splits a URL path into decoded segments (a trailing slash is ignored); undefined if badly encoded. */
export function splitPath(pathname: string): string[] | undefined {
  const trimmed = pathname.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return [];
  try {
    return trimmed.split('/').map((p) => decodeURIComponent(p));
  } catch {
    return undefined;
  }
}

/**
 * HTTP trigger route templates with the subset of ASP.NET routing the Functions host accepts in
 * `route`: literal segments (case-insensitive), `{name}`, optional `{name?}`, defaults `{name=value}`,
 * constraints `{id:int}`, `{id:guid}`, `{n:range(1,9)}` …, and a final catch-all `{*path}`.
 * Where several routes match, the more specific wins per segment, as in ASP.NET's inbound precedence:
 * literal, then constrained parameter, then plain parameter, then catch-all. A route without `route`
 * is the function name, as in the host.
 */

type Constraint = (value: string) => boolean;

interface LiteralSegment {
  readonly kind: 'literal';
  readonly text: string;
}
interface ParameterSegment {
  readonly kind: 'parameter';
  readonly name: string;
  readonly optional: boolean;
  readonly catchAll: boolean;
  readonly defaultValue: string | undefined;
  readonly constraints: readonly Constraint[];
}
type Segment = LiteralSegment | ParameterSegment;

export class RouteTemplateError extends Error {
  constructor(template: string, problem: string) {
    super(`Route template "${template}": ${problem}`);
    this.name = 'RouteTemplateError';
  }
}

const isInteger = (v: string): boolean => /^-?\d+$/.test(v);
const isNumber = (v: string): boolean => v.trim() !== '' && Number.isFinite(Number(v));
const CONSTRAINTS: Record<string, (args: readonly string[]) => Constraint> = {
  int: () => (v) => isInteger(v) && Math.abs(Number(v)) <= 2 ** 31,
  long: () => isInteger,
  bool: () => (v) => /^(true|false)$/i.test(v),
  guid: () => (v) => /^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i.test(v),
  alpha: () => (v) => /^[a-z]+$/i.test(v),
  double: () => isNumber,
  float: () => isNumber,
  decimal: () => isNumber,
  datetime: () => (v) => !Number.isNaN(Date.parse(v)),
  min: ([n]) => (v) => isInteger(v) && Number(v) >= Number(n),
  max: ([n]) => (v) => isInteger(v) && Number(v) <= Number(n),
  range: ([a, b]) => (v) => isInteger(v) && Number(v) >= Number(a) && Number(v) <= Number(b),
  length: ([a, b]) => (v) => (b === undefined ? v.length === Number(a) : v.length >= Number(a) && v.length <= Number(b)),
  minlength: ([n]) => (v) => v.length >= Number(n),
  maxlength: ([n]) => (v) => v.length <= Number(n),
  regex: ([pattern]) => {
    const rx = new RegExp(pattern ?? '', 'i');
    return (v) => rx.test(v);
  },
};

function parseConstraint(spec: string, template: string): Constraint {
  const m = /^([a-z]+)(?:\((.*)\))?$/i.exec(spec);
  const kind = (m?.[1] ?? '').toLowerCase();
  const factory = CONSTRAINTS[kind];
  if (m === null || factory === undefined) throw new RouteTemplateError(template, `unsupported constraint "${spec}"`);
  const rawArgs = m[2];
  const args = rawArgs === undefined ? [] : kind === 'regex' ? [rawArgs] : rawArgs.split(',').map((a) => a.trim());
  return factory(args);
}

function parseParameter(body: string, template: string): ParameterSegment {
  const catchAll = body.startsWith('*');
  let text = body.replace(/^\*{1,2}/, '');
  const optional = text.endsWith('?');
  if (optional) text = text.slice(0, -1);
  let defaultValue: string | undefined;
  const eq = text.indexOf('=');
  if (eq >= 0) {
    defaultValue = text.slice(eq + 1);
    text = text.slice(0, eq);
  }
  // Constraints are ':'-separated, but a regex argument may itself contain ':' inside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (ch === ':' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  const [name = '', ...specs] = parts;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new RouteTemplateError(template, `invalid parameter "{${body}}"`);
  return { kind: 'parameter', name, optional: optional || catchAll, catchAll, defaultValue, constraints: specs.map((s) => parseConstraint(s, template)) };
}

export interface CompiledRoute {
  readonly template: string;
  readonly segments: readonly Segment[];
  /** Per segment, smaller is more specific: 1 literal, 2 constrained, 3 parameter, 4 catch-all. */
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
    if (segment.optional && !segment.catchAll && segments.slice(i + 1).some((s) => s.kind === 'literal' || !s.optional)) {
      throw new RouteTemplateError(template, 'an optional parameter may only be followed by optional parameters');
    }
  });
  const precedence = segments.map((s) => (s.kind === 'literal' ? 1 : s.catchAll ? 4 : s.constraints.length > 0 ? 2 : 3));
  return { template, segments, precedence };
}

/** Matches decoded path segments; returns route values (absent optional parameters omitted) or undefined. */
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
      if (rest !== '') {
        if (!segment.constraints.every((c) => c(rest))) return undefined;
        values[segment.name] = rest;
      } else if (segment.defaultValue !== undefined) values[segment.name] = segment.defaultValue;
    } else if (value === undefined) {
      if (segment.defaultValue !== undefined) values[segment.name] = segment.defaultValue;
      else if (!segment.optional) return undefined;
    } else {
      if (!segment.constraints.every((c) => c(value))) return undefined;
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
    const d = (a.precedence[i] ?? 5) - (b.precedence[i] ?? 5);
    if (d !== 0) return d;
  }
  return a.template.localeCompare(b.template);
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

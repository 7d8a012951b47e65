/**
 * The subset of OData `$filter` that Policy Insights queries use: `eq`, `ne`, `and`, `or`, `not`,
 * parentheses, `startswith(field, 'x')` and `contains(field, 'x')`. Field names and string values
 * compare case-insensitively (as Policy Insights does); `resourceType` ignores a leading `/`
 * (some records carry `/Microsoft.Network/...`).
 */

export type FilterPredicate = (record: Readonly<Record<string, unknown>>) => boolean;

export class ODataFilterError extends Error {}

type Token =
  | { kind: 'ident'; text: string }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'punct'; text: '(' | ')' | ',' };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: 'punct', text: c });
      i++;
    } else if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= input.length) throw new ODataFilterError('Unterminated string literal in $filter');
        if (input[i] === "'") {
          if (input[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += input[i];
        i++;
      }
      tokens.push({ kind: 'string', value });
    } else if (/[-0-9]/.test(c)) {
      const m = /^-?\d+(\.\d+)?/.exec(input.slice(i));
      if (!m) throw new ODataFilterError(`Unexpected '${c}' in $filter`);
      tokens.push({ kind: 'number', value: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_@$]/.test(c)) {
      const m = /^[A-Za-z_@$][A-Za-z0-9_.@$]*/.exec(input.slice(i))!;
      tokens.push({ kind: 'ident', text: m[0] });
      i += m[0].length;
    } else {
      throw new ODataFilterError(`Unexpected '${c}' in $filter`);
    }
  }
  return tokens;
}

type Literal = string | number | boolean | null;

function fieldValue(record: Readonly<Record<string, unknown>>, field: string): unknown {
  const wanted = field.toLowerCase();
  for (const [k, v] of Object.entries(record)) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

function normalise(field: string, v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const lower = v.toLowerCase();
  return field.toLowerCase() === 'resourcetype' ? lower.replace(/^\/+/, '') : lower;
}

function equals(field: string, actual: unknown, literal: Literal): boolean {
  if (literal === null) return actual === null || actual === undefined || actual === '';
  return normalise(field, actual) === normalise(field, literal);
}

export function parseODataFilter(input: string): FilterPredicate {
  const tokens = tokenize(input);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isKeyword = (t: Token | undefined, word: string): boolean => t?.kind === 'ident' && t.text.toLowerCase() === word;
  const expectPunct = (text: string): void => {
    const t = tokens[pos++];
    if (t?.kind !== 'punct' || t.text !== text) throw new ODataFilterError(`Expected '${text}' in $filter`);
  };
  const literal = (): Literal => {
    const t = tokens[pos++];
    if (t?.kind === 'string' || t?.kind === 'number') return t.value;
    if (isKeyword(t, 'true')) return true;
    if (isKeyword(t, 'false')) return false;
    if (isKeyword(t, 'null')) return null;
    throw new ODataFilterError('Expected a literal in $filter');
  };

  const parseOr = (): FilterPredicate => {
    let left = parseAnd();
    while (isKeyword(peek(), 'or')) {
      pos++;
      const l = left;
      const r = parseAnd();
      left = (rec) => l(rec) || r(rec);
    }
    return left;
  };
  const parseAnd = (): FilterPredicate => {
    let left = parseUnary();
    while (isKeyword(peek(), 'and')) {
      pos++;
      const l = left;
      const r = parseUnary();
      left = (rec) => l(rec) && r(rec);
    }
    return left;
  };
  const parseUnary = (): FilterPredicate => {
    if (isKeyword(peek(), 'not')) {
      pos++;
      const inner = parseUnary();
      return (rec) => !inner(rec);
    }
    return parsePrimary();
  };
  const parsePrimary = (): FilterPredicate => {
    const t = tokens[pos++];
    if (t?.kind === 'punct' && t.text === '(') {
      const inner = parseOr();
      expectPunct(')');
      return inner;
    }
    if (t?.kind !== 'ident') throw new ODataFilterError('Expected a field name in $filter');
    const name = t.text;
    const next = peek();
    if (next?.kind === 'punct' && next.text === '(') {
      pos++;
      const fn = name.toLowerCase();
      const field = tokens[pos++];
      if (field?.kind !== 'ident') throw new ODataFilterError(`Expected a field name in ${name}()`);
      expectPunct(',');
      const arg = literal();
      expectPunct(')');
      const needle = String(arg).toLowerCase();
      if (fn === 'startswith') return (rec) => String(normalise(field.text, fieldValue(rec, field.text)) ?? '').startsWith(needle);
      if (fn === 'contains') return (rec) => String(normalise(field.text, fieldValue(rec, field.text)) ?? '').includes(needle);
      throw new ODataFilterError(`Unsupported function ${name}() in $filter`);
    }
    const op = tokens[pos++];
    if (op?.kind !== 'ident') throw new ODataFilterError(`Expected an operator after ${name} in $filter`);
    const value = literal();
    switch (op.text.toLowerCase()) {
      case 'eq':
        return (rec) => equals(name, fieldValue(rec, name), value);
      case 'ne':
        return (rec) => !equals(name, fieldValue(rec, name), value);
      default:
        throw new ODataFilterError(`Unsupported operator '${op.text}' in $filter`);
    }
  };

  if (tokens.length === 0) return () => true;
  const predicate = parseOr();
  if (pos !== tokens.length) throw new ODataFilterError('Unexpected trailing input in $filter');
  return predicate;
}

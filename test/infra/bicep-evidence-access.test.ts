/**
 * The evidence container's access model in infra/modules/storage.bicep, checked against Microsoft's
 * documented formats because Bicep cannot be compiled or deployed here (no Bicep CLI offline; the npm
 * registry has no Bicep compiler, only wrappers that download the CLI at run time).
 *
 * - The role-assignment condition on Storage Blob Data Owner is evaluated the way Bicep would build it
 *   (its `map`/`join` and string interpolation), then parsed with the documented condition grammar
 *   ("Azure role assignment condition format and syntax": `ActionMatches{…}`, attribute sources
 *   `@Resource/@Request/@Principal/@Environment`, the documented operators, parentheses required when
 *   AND and OR are mixed) and evaluated for every documented Blob Storage data action in the evidence
 *   container and in another container.
 * - The evidence writer role and the condition name only data actions listed in "Actions and
 *   attributes for Azure role assignment conditions for Azure Blob Storage".
 * - The WORM policy uses the documented name and retention range.
 */
import { describe, expect, it } from 'vitest';
import { bicepResources, readText, stripBicepComments } from './infra-files.js';

const BLOB = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs';

/**
 * Every Blob Storage data action the condition docs list (storage-auth-abac-attributes, "Azure Blob
 * Storage actions and suboperations"), by kind: what a reader needs, and everything else.
 */
const DOCUMENTED_READ_ACTIONS = [`${BLOB}/filter/action`, `${BLOB}/read`, `${BLOB}/tags/read`];
const DOCUMENTED_CHANGING_ACTIONS = [
  `${BLOB}/add/action`,
  `${BLOB}/delete`,
  `${BLOB}/deleteBlobVersion/action`,
  `${BLOB}/permanentDelete/action`,
  `${BLOB}/move/action`,
  `${BLOB}/write`,
  `${BLOB}/tags/write`,
  `${BLOB}/immutableStorage/runAsSuperUser/action`,
  `${BLOB}/manageOwnership/action`,
  `${BLOB}/modifyPermissions/action`,
  `${BLOB}/runAsSuperUser/action`,
];
const DOCUMENTED_ACTIONS = new Set([...DOCUMENTED_READ_ACTIONS, ...DOCUMENTED_CHANGING_ACTIONS]);
/** The container-name resource attribute, as the docs spell it. */
const CONTAINER_NAME = '@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name]';

// ---------------------------------------------------------------------------------------------------
// The Bicep expressions that build the condition, evaluated as Bicep does.

type Scope = Readonly<Record<string, string | readonly string[]>>;

/** A Bicep single-quoted string literal's value: `\'` `\\` `\$` escapes and `${name}` interpolation. */
function bicepString(literal: string, scope: Scope): string {
  if (!literal.startsWith("'") || !literal.endsWith("'")) throw new Error(`not a Bicep string literal: ${literal}`);
  const body = literal.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      const next = body[++i];
      out += next === 'n' ? '\n' : (next ?? '');
    } else if (c === '$' && body[i + 1] === '{') {
      const end = body.indexOf('}', i);
      const name = body.slice(i + 2, end).trim();
      const value = scope[name];
      if (typeof value !== 'string') throw new Error(`\${${name}} is not a string in scope`);
      out += value;
      i = end;
    } else out += c;
  }
  return out;
}

const STRING = String.raw`'(?:[^'\\]|\\.)*'`;

function evaluateStorageCondition(code: string): { condition: string; conditionVersion: string; changingActions: string[]; container: string } {
  const container = bicepString(new RegExp(String.raw`param evidenceContainerName string = (${STRING})`).exec(code)?.[1] ?? "''", {});
  const arrayText = /var evidenceChangingActions = \[([\s\S]*?)\n\]/.exec(code)?.[1] ?? '';
  const changingActions = [...arrayText.matchAll(new RegExp(STRING, 'g'))].map((m) => bicepString(m[0], {}));
  const mapJoin = new RegExp(String.raw`var notEvidenceChange = join\(map\(evidenceChangingActions, (\w+) => (${STRING})\), (${STRING})\)`).exec(code);
  if (mapJoin === null) throw new Error('notEvidenceChange is no longer join(map(evidenceChangingActions, x => …), …): update this evaluator');
  const [, variable, template, separator] = mapJoin as unknown as [string, string, string, string];
  const notEvidenceChange = changingActions.map((action) => bicepString(template, { [variable]: action })).join(bicepString(separator, {}));
  const outsideLiteral = new RegExp(String.raw`var outsideEvidence = (${STRING})`).exec(code)?.[1];
  if (outsideLiteral === undefined) throw new Error('outsideEvidence is no longer a string literal');
  const outsideEvidence = bicepString(outsideLiteral, { evidenceContainerName: container });
  const owner = bicepResources(code).find((r) => r.name === 'blobOwner');
  const conditionLiteral = new RegExp(String.raw`condition: (${STRING})`).exec(owner?.body ?? '')?.[1];
  const versionLiteral = new RegExp(String.raw`conditionVersion: (${STRING})`).exec(owner?.body ?? '')?.[1];
  if (conditionLiteral === undefined || versionLiteral === undefined) throw new Error('blobOwner has no condition/conditionVersion literal');
  return { condition: bicepString(conditionLiteral, { notEvidenceChange, outsideEvidence }), conditionVersion: bicepString(versionLiteral, {}), changingActions, container };
}

// ---------------------------------------------------------------------------------------------------
// The documented condition grammar.

type Node =
  | { kind: 'not'; operand: Node }
  | { kind: 'and' | 'or'; operands: Node[] }
  | { kind: 'actionMatches' | 'subOperationMatches'; patterns: string[] }
  | { kind: 'compare'; attribute: string; operator: string; values: string[] };

const STRING_OPERATORS = ['StringEquals', 'StringEqualsIgnoreCase', 'StringNotEquals', 'StringNotEqualsIgnoreCase', 'StringStartsWith', 'StringStartsWithIgnoreCase', 'StringNotStartsWith', 'StringNotStartsWithIgnoreCase', 'StringLike', 'StringLikeIgnoreCase', 'StringNotLike', 'StringNotLikeIgnoreCase'];
const NUMERIC_OPERATORS = ['NumericEquals', 'NumericNotEquals', 'NumericLessThan', 'NumericLessThanEquals', 'NumericGreaterThan', 'NumericGreaterThanEquals'];
const CROSS_PRODUCT = ['ForAnyOfAnyValues', 'ForAllOfAnyValues', 'ForAnyOfAllValues', 'ForAllOfAllValues'].flatMap((q) =>
  [...STRING_OPERATORS.filter((o) => !/StartsWith/.test(o)), ...NUMERIC_OPERATORS].map((o) => `${q}:${o}`),
);
const OPERATORS = new Set([...STRING_OPERATORS, ...NUMERIC_OPERATORS, ...CROSS_PRODUCT]);
const ATTRIBUTE = /^@(Resource|Request|Principal|Environment)\[[^\]\s]+\]$/;

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const re = /\s*(\|\||&&|[(){},!]|'(?:[^'\\]|\\.)*'|@\w+\[[^\]]*\]|[A-Za-z][\w:]*|-?\d+)/y;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(text);
    if (m === null) throw new Error(`unexpected character at ${at}: ${text.slice(at, at + 20)}`);
    tokens.push(m[1]!);
    at = re.lastIndex;
  }
  return tokens;
}

/** Parses a role assignment condition; throws with the reason when it is not in the documented format. */
function parseCondition(text: string): Node {
  const tokens = tokenize(text);
  let i = 0;
  const peek = (): string | undefined => tokens[i];
  const take = (expected?: string): string => {
    const t = tokens[i++];
    if (t === undefined || (expected !== undefined && t !== expected)) throw new Error(`expected ${expected ?? 'a token'} at token ${i - 1}, got ${t ?? 'end'}`);
    return t;
  };
  const logical = (t: string | undefined): 'and' | 'or' | undefined => (t === 'AND' || t === '&&' ? 'and' : t === 'OR' || t === '||' ? 'or' : undefined);
  const valueSet = (): string[] => {
    take('{');
    const values = [value()];
    while (peek() === ',') {
      take(',');
      values.push(value());
    }
    take('}');
    return values;
  };
  const value = (): string => {
    const t = take();
    if (/^'.*'$/s.test(t)) return t.slice(1, -1);
    if (/^-?\d+$/.test(t)) return t;
    throw new Error(`expected a quoted string or an integer, got ${t}`);
  };
  const unary = (): Node => {
    const t = peek();
    if (t === '!' || t === 'NOT') {
      take();
      return { kind: 'not', operand: unary() };
    }
    if (t === '(') {
      take('(');
      const inner = expression();
      take(')');
      return inner;
    }
    if (t === 'ActionMatches' || t === 'SubOperationMatches') {
      take();
      return { kind: t === 'ActionMatches' ? 'actionMatches' : 'subOperationMatches', patterns: valueSet() };
    }
    const attribute = take();
    if (!ATTRIBUTE.test(attribute)) throw new Error(`expected an attribute (@Resource/@Request/@Principal/@Environment[…]), got ${attribute}`);
    const operator = take();
    if (!OPERATORS.has(operator)) throw new Error(`unknown operator ${operator}`);
    return { kind: 'compare', attribute, operator, values: peek() === '{' ? valueSet() : [value()] };
  };
  const expression = (): Node => {
    const operands = [unary()];
    let op: 'and' | 'or' | undefined;
    for (let next = logical(peek()); next !== undefined; next = logical(peek())) {
      take();
      // "If you have three or more expressions … you must add parentheses": no unparenthesized mix.
      if (op !== undefined && next !== op) throw new Error('AND and OR mixed without parentheses');
      op = next;
      operands.push(unary());
    }
    return op === undefined ? operands[0]! : { kind: op, operands };
  };
  const root = expression();
  if (i !== tokens.length) throw new Error(`unexpected ${tokens[i]} after the condition`);
  return root;
}

/** ActionMatches as documented: the permission pattern match (`*` wildcard, case-insensitive). */
function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`, 'i');
  return re.test(action);
}

function evaluate(node: Node, request: { action: string; container: string }): boolean {
  switch (node.kind) {
    case 'not':
      return !evaluate(node.operand, request);
    case 'and':
      return node.operands.every((o) => evaluate(o, request));
    case 'or':
      return node.operands.some((o) => evaluate(o, request));
    case 'actionMatches':
      return node.patterns.some((p) => actionMatches(p, request.action));
    case 'subOperationMatches':
      return false;
    case 'compare': {
      if (node.attribute !== CONTAINER_NAME) throw new Error(`this evaluator knows only ${CONTAINER_NAME}, not ${node.attribute}`);
      if (node.operator === 'StringEquals') return node.values.includes(request.container);
      if (node.operator === 'StringNotEquals') return !node.values.includes(request.container);
      throw new Error(`this evaluator knows only StringEquals/StringNotEquals, not ${node.operator}`);
    }
  }
}

/** The documented data actions the condition lets through in a container. */
function allowedIn(condition: Node, container: string): string[] {
  return [...DOCUMENTED_ACTIONS].filter((action) => evaluate(condition, { action, container })).sort();
}

// ---------------------------------------------------------------------------------------------------

const code = stripBicepComments(readText('infra/modules/storage.bicep'));

describe('the condition grammar and evaluator used below', () => {
  it('accept the documented examples', () => {
    const single = parseCondition(`(!(ActionMatches{'${BLOB}/read'} AND NOT SubOperationMatches{'Blob.List'})) OR (${CONTAINER_NAME} StringEquals 'blobs-example-container')`);
    expect(single.kind).toBe('or');
    expect(parseCondition(`${CONTAINER_NAME} ForAnyOfAnyValues:StringEquals {'a', 'b'}`).kind).toBe('compare');
  });

  it('reject what is not in the documented format', () => {
    expect(() => parseCondition(`!(ActionMatches{'${BLOB}/read'}) AND !(ActionMatches{'${BLOB}/write'}) OR (${CONTAINER_NAME} StringEquals 'x')`)).toThrow(/mixed without parentheses/);
    expect(() => parseCondition(`(${CONTAINER_NAME} StringEqual 'x')`)).toThrow(/unknown operator StringEqual/);
    expect(() => parseCondition(`(@Resources[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'x')`)).toThrow(/expected an attribute/);
    expect(() => parseCondition(`(!(ActionMatches '${BLOB}/read'))`)).toThrow(/expected \{/);
    expect(() => parseCondition(`((${CONTAINER_NAME} StringEquals 'x')`)).toThrow(/expected \)/);
  });

  it('find the hole in a condition that forgets an action', () => {
    const leaky = parseCondition(`((!(ActionMatches{'${BLOB}/write'})) OR (${CONTAINER_NAME} StringNotEquals 'evidence'))`);
    expect(allowedIn(leaky, 'evidence')).toContain(`${BLOB}/delete`);
  });
});

describe('infra: evidence container access (storage.bicep)', () => {
  const built = evaluateStorageCondition(code);

  it('the Owner condition is in the documented format (version 2.0) and names only documented actions and attributes', () => {
    expect(built.conditionVersion).toBe('2.0');
    expect(built.container).toBe('evidence');
    const parsed = parseCondition(built.condition);
    expect(parsed.kind).toBe('or');
    for (const action of built.changingActions) expect(DOCUMENTED_ACTIONS.has(action), action).toBe(true);
    expect(built.condition).toContain(`${CONTAINER_NAME} StringNotEquals 'evidence'`);
  });

  it('in the evidence container the Owner role keeps only reading; every documented changing action is taken away', () => {
    const parsed = parseCondition(built.condition);
    expect(allowedIn(parsed, 'evidence')).toEqual([...DOCUMENTED_READ_ACTIONS].sort());
    expect(built.changingActions.slice().sort()).toEqual([...DOCUMENTED_CHANGING_ACTIONS].sort());
  });

  it("in every other container (the Functions host's) the Owner role keeps every action", () => {
    const parsed = parseCondition(built.condition);
    for (const container of ['azure-webjobs-hosts', 'app-package-arc-compliance', 'evidence-archive']) {
      expect(allowedIn(parsed, container), container).toEqual([...DOCUMENTED_ACTIONS].sort());
    }
  });

  it('the evidence writer is a custom role of documented data actions: read, write and create, no delete', () => {
    const role = bicepResources(code).find((r) => r.name === 'evidenceWriterRole');
    const body = role?.body ?? '';
    expect(body).toMatch(/type: 'CustomRole'/);
    expect(body).toMatch(/assignableScopes: \[resourceGroup\(\)\.id\]/);
    const dataActions = [...(/dataActions: \[([\s\S]*?)\]/.exec(body)?.[1] ?? '').matchAll(new RegExp(STRING, 'g'))].map((m) => bicepString(m[0], {}));
    for (const action of dataActions) expect(DOCUMENTED_ACTIONS.has(action), action).toBe(true);
    expect(dataActions.sort()).toEqual([`${BLOB}/add/action`, `${BLOB}/read`, `${BLOB}/write`]);
    for (const empty of ['actions', 'notActions', 'notDataActions']) expect(body).toMatch(new RegExp(`\\b${empty}: \\[\\]`));
  });

  it('the WORM policy has the only name ARM accepts and a retention within the documented 1 to 146,000 days', () => {
    expect(code).toMatch(/resource worm 'immutabilityPolicies' = \{\s*name: 'default'/);
    expect(code).toMatch(/@minValue\(1\)\s*@maxValue\(146000\)\s*@description\('(?:[^'\\]|\\.)*'\)\s*param evidenceRetentionDays int/);
    const main = stripBicepComments(readText('infra/main.bicep'));
    expect(main).toMatch(/@minValue\(1\)\s*@maxValue\(146000\)\s*@description\('(?:[^'\\]|\\.)*'\)\s*param evidenceRetentionDays int = 400/);
    expect(code).toMatch(/allowProtectedAppendWrites: false/);
  });
});

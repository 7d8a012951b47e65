/**
 * Validators compiled ahead of time, as ajv standalone code, from the same schemas and ajv options the
 * run-time compilers use:
 * - request validators for every operation's path, query and body schema (`adapters/http/validator-schemas.ts`),
 *   in place of `adapters/http/validator-compiler.ts`: the OpenAPI document still drives validation;
 * - stored-record validators for every codec's schema (`adapters/storage/records/`), in place of
 *   `adapters/storage/records/record-validator.ts`, found by a hash of the schema.
 * `bundle-app.ts` puts these modules in the bundle, so a cold instance compiles no schema.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { _ } from 'ajv';
import addFormatsModule from 'ajv-formats';
import standaloneCodeModule from 'ajv/dist/standalone/index.js';
import { readdirSync } from 'node:fs';
import { listDocumentedOperations } from '../../adapters/http/validation.js';
import { definedRecordSchemas } from '../../adapters/storage/records/record-codec.js';
import { RECORD_AJV_OPTIONS, recordSchemaKey } from '../../adapters/storage/records/record-validator-options.js';
import { ajvOptions, componentsSchema, requestSchema, type RequestPart } from '../../adapters/http/validator-schemas.js';

type Ajv = InstanceType<typeof Ajv2020>;
// CommonJS modules: under NodeNext their default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;
const standaloneCode = ((standaloneCodeModule as unknown as { default?: unknown }).default ?? standaloneCodeModule) as (ajv: Ajv, refs: Record<string, string>) => string;

/**
 * The generated modules: `index` replaces the request validator compiler and imports `coercing` and
 * `exact` by these ids; `records` replaces the stored-record validator compiler and imports `recordCode`.
 */
export interface ValidatorModules {
  readonly index: string;
  readonly coercing: string;
  readonly exact: string;
  readonly records: string;
  readonly recordCode: string;
}

export const AOT_MODULE_PREFIX = 'arc-aot-validators:';

/**
 * Every stored-record codec's schema: each module of `adapters/storage/records/` is imported, and
 * defining a codec registers its schema (projections included).
 */
async function recordSchemas(): Promise<Map<string, Readonly<Record<string, unknown>>>> {
  const dir = new URL('../../adapters/storage/records/', import.meta.url);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort()) {
    await import(new URL(file.replace(/\.ts$/, '.js'), dir).href);
  }
  const byKey = new Map<string, Readonly<Record<string, unknown>>>();
  for (const schema of definedRecordSchemas()) byKey.set(recordSchemaKey(schema), schema);
  if (byKey.size === 0) throw new Error('no stored-record codec was found to compile');
  return byKey;
}

function recordValidatorModules(schemas: ReadonlyMap<string, Readonly<Record<string, unknown>>>): { records: string; recordCode: string } {
  const ajv = new Ajv2020({ ...RECORD_AJV_OPTIONS, code: { source: true, esm: true } });
  const exports: Record<string, string> = {};
  const rows: string[] = [];
  let n = 0;
  for (const [key, schema] of schemas) {
    const id = `urn:arc-compliance:record:${key}`;
    const name = `r${n++}`;
    ajv.addSchema({ ...schema, $id: id });
    exports[name] = id;
    rows.push(`${JSON.stringify(key)}:code.${name}`);
  }
  const records = [
    `import * as code from ${JSON.stringify(`${AOT_MODULE_PREFIX}recordCode`)};`,
    `import { recordSchemaKey } from './record-validator-options.js';`,
    `const table = {${rows.join(',')}};`,
    'export function recordValidator(schema) {',
    '  const v = table[recordSchemaKey(schema)];',
    "  if (v === undefined) throw new Error('no validator was compiled at build time for this stored-record schema');",
    '  return v;',
    '}',
  ].join('\n');
  return { records, recordCode: standaloneCode(ajv, exports) };
}

export async function generateValidatorModules(): Promise<ValidatorModules> {
  const newAjv = (coerce: boolean): Ajv => {
    const ajv = new Ajv2020({ ...ajvOptions(coerce), code: { source: true, esm: true, formats: _`require("ajv-formats/dist/formats").fullFormats` } });
    addFormats(ajv);
    ajv.addSchema(componentsSchema());
    return ajv;
  };
  const ajvs = { coercing: newAjv(true), exact: newAjv(false) };
  const exports = { coercing: {} as Record<string, string>, exact: {} as Record<string, string> };
  const table: Record<string, Partial<Record<RequestPart, string>>> = {};
  let n = 0;
  for (const spec of listDocumentedOperations()) {
    for (const part of ['path', 'query', 'body'] as const) {
      const schema = requestSchema(spec, part);
      if (schema === undefined) continue;
      const which = part === 'body' ? 'exact' : 'coercing';
      const id = `urn:arc-compliance:request:${spec.operationId}:${part}`;
      const name = `v${n++}`;
      ajvs[which].addSchema({ ...schema, $id: id });
      exports[which][name] = id;
      (table[spec.operationId] ??= {})[part] = `${which}.${name}`;
    }
  }
  const rows = Object.entries(table).map(
    ([operationId, parts]) => `${JSON.stringify(operationId)}:{${Object.entries(parts).map(([part, ref]) => `${part}:${ref}`).join(',')}}`,
  );
  const index = [
    `import * as coercing from ${JSON.stringify(`${AOT_MODULE_PREFIX}coercing`)};`,
    `import * as exact from ${JSON.stringify(`${AOT_MODULE_PREFIX}exact`)};`,
    `const table = {${rows.join(',')}};`,
    'export function requestValidator(spec, part) {',
    '  const v = table[spec.operationId]?.[part];',
    "  if (v === undefined && part !== 'body') throw new Error(`no ${part} validator was compiled for ${spec.operationId}`);",
    '  return v;',
    '}',
    'export function compileSchema() {',
    "  throw new Error('the deployment bundle validates requests with validators compiled at build time; it compiles no other schema');",
    '}',
  ].join('\n');
  return { index, coercing: standaloneCode(ajvs.coercing, exports.coercing), exact: standaloneCode(ajvs.exact, exports.exact), ...recordValidatorModules(await recordSchemas()) };
}

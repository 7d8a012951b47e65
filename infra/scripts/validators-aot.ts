/**
 * Validators compiled ahead of time, as ajv standalone code, from the same schemas and ajv options the
 * run-time compilers use:
 * - request validators for every operation's path, query and body schema (`adapters/http/validator-schemas.ts`),
 *   in place of `adapters/http/validator-compiler.ts`: the OpenAPI document still drives validation;
 * - stored-record validators for every codec's schema (`adapters/storage/records/`), in place of
 *   `adapters/storage/records/record-validator.ts`, found by a hash of the schema;
 * - the operation routes as data, in place of `adapters/http/operation-route-table.ts`.
 * `bundle-app.ts` puts these in the package, so a cold instance compiles no schema, walks no document,
 * and reads only the validators of what it serves.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { _ } from 'ajv';
import addFormatsModule from 'ajv-formats';
import standaloneCodeModule from 'ajv/dist/standalone/index.js';
import { readdirSync } from 'node:fs';
import { listDocumentedOperations } from '../../adapters/http/validation.js';
import { operationRouteTable, type OperationRouteRow } from '../../adapters/http/operation-route-table.js';
import { definedRecordSchemas } from '../../adapters/storage/records/record-codec.js';
import { RECORD_AJV_OPTIONS, recordSchemaKey } from '../../adapters/storage/records/record-validator-options.js';
import { ajvOptions, componentsSchema, requestSchema } from '../../adapters/http/validator-schemas.js';

type Ajv = InstanceType<typeof Ajv2020>;
// CommonJS modules: under NodeNext their default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;
const standaloneCode = ((standaloneCodeModule as unknown as { default?: unknown }).default ?? standaloneCodeModule) as (ajv: Ajv, refs: Record<string, string>) => string;

/**
 * What the build generates. `modules` are bundled (ids after {@link AOT_MODULE_PREFIX}):
 * - `index` replaces `adapters/http/validator-compiler.ts`: a table of one dynamic `import()` per
 *   operation, so each operation's validators are a chunk of their own, read by its first request;
 * - `op/<operationId>`, `coercing/<operationId>`, `exact/<operationId>`: that chunk (path and query
 *   validators coerce, the body validator does not: two ajv instances, two standalone modules);
 * - `routes` replaces `adapters/http/operation-route-table.ts`: the operation routes as data;
 * - `records` replaces `adapters/storage/records/record-validator.ts`.
 * `recordFiles` are CommonJS sources, one per stored-record schema, that `records` loads with a
 * synchronous `require` when a codec decodes its first record (decoding is synchronous, and a cold
 * instance reads only the few kinds its first request touches); `bundle-app.ts` bundles each beside
 * the chunks.
 */
export interface ValidatorModules {
  readonly modules: ReadonlyMap<string, string>;
  readonly recordFiles: ReadonlyMap<string, string>;
}

export const AOT_MODULE_PREFIX = 'arc-aot-validators:';

/** Where the record validator files go, relative to the entry file's folder. */
export const RECORD_VALIDATOR_DIR = 'chunks';

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

function recordValidatorModules(schemas: ReadonlyMap<string, Readonly<Record<string, unknown>>>): { records: string; recordFiles: Map<string, string> } {
  const recordFiles = new Map<string, string>();
  const files: Record<string, string> = {};
  for (const [key, schema] of schemas) {
    const ajv = new Ajv2020({ ...RECORD_AJV_OPTIONS, code: { source: true, esm: false } });
    const id = `urn:arc-compliance:record:${key}`;
    ajv.addSchema({ ...schema, $id: id });
    const file = `record-validator-${key}.cjs`;
    files[key] = file;
    recordFiles.set(file, standaloneCode(ajv, { validate: id }));
  }
  const records = [
    `import { createRequire } from 'node:module';`,
    `import { recordSchemaKey } from './record-validator-options.js';`,
    // This module lands in the entry file or in a chunk, whichever esbuild picks: find the folder from here.
    `const base = /\\/${RECORD_VALIDATOR_DIR}\\/[^/]*$/.test(import.meta.url) ? new URL('./', import.meta.url) : new URL(${JSON.stringify(`./${RECORD_VALIDATOR_DIR}/`)}, import.meta.url);`,
    'const load = createRequire(base);',
    `const files = ${JSON.stringify(files)};`,
    'export function recordValidator(schema) {',
    '  const key = recordSchemaKey(schema);',
    '  const file = Object.hasOwn(files, key) ? files[key] : undefined;',
    "  if (file === undefined) throw new Error('no validator was compiled at build time for this stored-record schema');",
    '  return load(`./${file}`).validate;',
    '}',
  ].join('\n');
  return { records, recordFiles };
}

export async function generateValidatorModules(): Promise<ValidatorModules> {
  const newAjv = (coerce: boolean): Ajv => {
    const ajv = new Ajv2020({ ...ajvOptions(coerce), code: { source: true, esm: true, formats: _`require("ajv-formats/dist/formats").fullFormats` } });
    addFormats(ajv);
    ajv.addSchema(componentsSchema());
    return ajv;
  };
  const ajvs = { coercing: newAjv(true), exact: newAjv(false) };
  const modules = new Map<string, string>();
  const loaders: string[] = [];
  for (const spec of listDocumentedOperations()) {
    const ids = { path: '', query: '', body: '' };
    for (const part of ['path', 'query', 'body'] as const) {
      const schema = requestSchema(spec, part);
      if (schema === undefined) continue;
      ids[part] = `urn:arc-compliance:request:${spec.operationId}:${part}`;
      ajvs[part === 'body' ? 'exact' : 'coercing'].addSchema({ ...schema, $id: ids[part] });
    }
    const op = spec.operationId;
    modules.set(`coercing/${op}`, standaloneCode(ajvs.coercing, { path: ids.path, query: ids.query }));
    const lines = [`export { path, query } from ${JSON.stringify(`${AOT_MODULE_PREFIX}coercing/${op}`)};`];
    if (ids.body !== '') {
      modules.set(`exact/${op}`, standaloneCode(ajvs.exact, { body: ids.body }));
      lines.push(`export { body } from ${JSON.stringify(`${AOT_MODULE_PREFIX}exact/${op}`)};`);
    } else lines.push('export const body = undefined;');
    modules.set(`op/${op}`, lines.join('\n'));
    loaders.push(`${JSON.stringify(op)}:()=>import(${JSON.stringify(`${AOT_MODULE_PREFIX}op/${op}`)})`);
  }
  modules.set(
    'index',
    [
      `const loaders = {${loaders.join(',')}};`,
      'export async function requestValidateFunctions(operationId) {',
      '  const load = Object.hasOwn(loaders, operationId) ? loaders[operationId] : undefined;',
      '  if (load === undefined) throw new Error(`operationId ${operationId} is not in the OpenAPI document`);',
      '  const { path, query, body } = await load();',
      '  return { path, query, body };',
      '}',
    ].join('\n'),
  );
  const routes: readonly OperationRouteRow[] = operationRouteTable();
  modules.set('routes', `const rows = ${JSON.stringify(routes)};\nexport function operationRouteTable() { return rows; }`);
  const { records, recordFiles } = recordValidatorModules(await recordSchemas());
  modules.set('records', records);
  return { modules, recordFiles };
}

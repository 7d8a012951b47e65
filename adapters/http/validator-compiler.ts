/**
 * Validators compiled with ajv at run time, on first use: what tsx, the tests and the local tools use.
 * The deployment bundle replaces this module with ajv standalone code generated from the same schemas
 * and options at build time (`infra/scripts/validators-aot.ts`), exporting the same functions.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { DocumentedOperation } from './validation.js';
import { ajvOptions, componentsSchema, requestSchema, type JsonObject, type RequestPart } from './validator-schemas.js';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

function newAjv(coerce: boolean): Ajv2020 {
  const ajv = new Ajv2020(ajvOptions(coerce));
  addFormats(ajv);
  ajv.addSchema(componentsSchema());
  return ajv;
}

let ajvs: { coercing: Ajv2020; exact: Ajv2020 } | undefined;
function getAjv(): { coercing: Ajv2020; exact: Ajv2020 } {
  ajvs ??= { coercing: newAjv(true), exact: newAjv(false) };
  return ajvs;
}

/** The validator of one part of an operation's request (path and query coerce; undefined: no JSON body). */
export function requestValidator(spec: DocumentedOperation, part: 'path' | 'query'): ValidateFunction;
export function requestValidator(spec: DocumentedOperation, part: RequestPart): ValidateFunction | undefined;
export function requestValidator(spec: DocumentedOperation, part: RequestPart): ValidateFunction | undefined {
  const schema = requestSchema(spec, part);
  if (schema === undefined) return undefined;
  return (part === 'body' ? getAjv().exact : getAjv().coercing).compile(schema);
}

/** Compiles a schema of the document (references rewritten) without coercion: response checks in tests. */
export function compileSchema(schema: JsonObject): ValidateFunction {
  return getAjv().exact.compile(schema);
}

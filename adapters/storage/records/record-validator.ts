/**
 * Where stored-record validators come from: under tsx and in tests, ajv compiles a codec's schema on
 * its first decode. The deployment bundle replaces this module with ajv standalone code generated at
 * build time from every codec's schema with the same options (`infra/scripts/validators-aot.ts`), so a
 * cold instance neither loads ajv's compiler nor compiles a schema before its first read.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { RECORD_AJV_OPTIONS } from './record-validator-options.js';

let ajv: Ajv2020 | undefined;

/** The validator of one codec's schema, compiled now. */
export function recordValidator<T>(schema: Readonly<Record<string, unknown>>): ValidateFunction<T> {
  ajv ??= new Ajv2020({ ...RECORD_AJV_OPTIONS });
  return ajv.compile<T>(schema);
}

/**
 * Request validators compiled with ajv at run time, on first use: what tsx, the tests and the local
 * tools use. The deployment bundle replaces this module with ajv standalone code generated from the
 * same schemas and options at build time (`infra/scripts/validators-aot.ts`), one chunk per operation
 * loaded by its first request, exporting the same function.
 */
import type { Ajv2020, ValidateFunction } from 'ajv/dist/2020.js';
import { getDocumentedOperation } from './validation.js';
import { newRequestAjv, requestSchema } from './validator-schemas.js';

/** The raw validators of one operation's request: path and query coerce; `body` undefined without a JSON body. */
export interface OperationValidateFunctions {
  readonly path: ValidateFunction;
  readonly query: ValidateFunction;
  readonly body: ValidateFunction | undefined;
}

let ajvs: { coercing: Ajv2020; exact: Ajv2020 } | undefined;

// Async like the bundle's version, which imports the operation's chunk.
export async function requestValidateFunctions(operationId: string): Promise<OperationValidateFunctions> {
  ajvs ??= { coercing: newRequestAjv(true), exact: newRequestAjv(false) };
  const { coercing, exact } = ajvs;
  const spec = getDocumentedOperation(operationId);
  const body = requestSchema(spec, 'body');
  return {
    path: coercing.compile(requestSchema(spec, 'path') ?? {}),
    query: coercing.compile(requestSchema(spec, 'query') ?? {}),
    body: body === undefined ? undefined : exact.compile(body),
  };
}

/**
 * Request validation: path and query values arrive as strings and are coerced (`top=5` → 5,
 * `stale=true` → true); bodies are validated without coercion. Unknown query parameters and unknown body
 * fields are refused, and every refusal is an {@link InvalidRequestError} naming what was wrong.
 *
 * The validators come from `./validator-compiler.ts`: compiled from the OpenAPI document's schemas with
 * ajv under tsx and in tests, generated ahead of time in the deployment bundle.
 */
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { InvalidRequestError, type ErrorDetail } from '../../domain/errors.js';
import { requestValidateFunctions, type OperationValidateFunctions } from './validator-compiler.js';

type JsonObject = Record<string, unknown>;

export interface RequestValidators {
  /** Validates and coerces path params; returns the typed values. */
  path(raw: Readonly<Record<string, string | undefined>>): JsonObject;
  /** Validates and coerces the query (defaults applied); unknown parameters are refused. */
  query(search: URLSearchParams): JsonObject;
  body(value: unknown): unknown;
}

function toDetails(errors: readonly ErrorObject[] | null | undefined, where: 'path' | 'query' | 'body'): ErrorDetail[] {
  return (errors ?? []).map((e) => {
    const segments = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const params = e.params as Record<string, unknown>;
    if (e.keyword === 'required' && typeof params['missingProperty'] === 'string') segments.push(params['missingProperty']);
    if (e.keyword === 'additionalProperties' && typeof params['additionalProperty'] === 'string') segments.push(params['additionalProperty']);
    const path = segments.reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : acc === '' ? s : `${acc}.${s}`), '');
    const target = path === '' ? where : path;
    const code = e.keyword === 'required' ? 'MissingValue' : e.keyword === 'additionalProperties' ? 'UnknownField' : 'InvalidValue';
    const message = e.keyword === 'additionalProperties' ? `unknown ${where === 'query' ? 'query parameter' : 'field'}` : (e.message ?? 'invalid value');
    return { code, message, target };
  });
}

function fail(where: 'path' | 'query' | 'body', validate: ValidateFunction): never {
  const details = toDetails(validate.errors, where);
  const what = where === 'body' ? 'request body is' : `${where} parameters are`;
  const first = details[0];
  // The first problem in the message too: many clients show only the message.
  const why = first === undefined ? '' : `: ${first.target === where ? '' : `${first.target}: `}${first.message}${details.length > 1 ? ` (and ${details.length - 1} more)` : ''}`;
  throw new InvalidRequestError(`The ${what} invalid${why}.`, first?.target ?? where, details);
}

const byOperation = new Map<string, Promise<RequestValidators>>();

function validatorsOf(fns: OperationValidateFunctions): RequestValidators {
  const { path: pathValidate, query: queryValidate, body: bodyValidate } = fns;
  return {
    path(raw) {
      const value: JsonObject = {};
      for (const [k, v] of Object.entries(raw)) if (v !== undefined) value[k] = v;
      if (!pathValidate(value)) fail('path', pathValidate);
      return value;
    },
    query(search) {
      const value: JsonObject = {};
      for (const key of new Set(search.keys())) {
        const all = search.getAll(key);
        if (all.length > 1) throw new InvalidRequestError(`Query parameter ${key} must not be repeated.`, key, [{ code: 'InvalidValue', message: 'repeated query parameter', target: key }]);
        value[key] = all[0];
      }
      if (!queryValidate(value)) fail('query', queryValidate);
      return value;
    },
    body(input) {
      if (bodyValidate === undefined) return undefined;
      if (!bodyValidate(input)) fail('body', bodyValidate);
      return input;
    },
  };
}

/**
 * The request validators of one operation, loaded (or, under tsx, compiled) by its first request and
 * kept: an instance pays only for the operations it serves.
 */
export function loadRequestValidators(operationId: string): Promise<RequestValidators> {
  let validators = byOperation.get(operationId);
  if (validators === undefined) {
    validators = requestValidateFunctions(operationId).then(validatorsOf);
    byOperation.set(operationId, validators);
    // A failed load is not kept: the next request tries again.
    validators.catch(() => byOperation.delete(operationId));
  }
  return validators;
}

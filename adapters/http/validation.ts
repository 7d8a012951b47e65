/**
 * Request (and, for tests, response) validators compiled with ajv from the OpenAPI document's own
 * schemas, so what the document says and what the API accepts are the same thing.
 *
 * Where the validators come from is `./validator-compiler.ts`: under tsx and in tests it compiles the
 * document's schemas with ajv on first use; the deployment bundle replaces it with ajv standalone code
 * generated from the same schemas at build time (`infra/scripts/bundle-app.ts`), so a cold instance
 * neither loads ajv's compiler nor compiles a schema.
 *
 * Path and query values arrive as strings and are coerced (`top=5` → 5, `stale=true` → true); bodies are
 * validated without coercion. Unknown query parameters and unknown body fields are rejected.
 */
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import type { OpenAPIV3_1 } from 'openapi-types';
import { InvalidRequestError, type ErrorDetail } from '../../domain/errors.js';
import { document, type ApiDocument } from '../../openapi/document.js';
import { compileSchema, requestValidator } from './validator-compiler.js';
import { rewriteRefs, type JsonObject } from './validator-schemas.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export interface DocumentedOperation {
  readonly operationId: string;
  readonly method: HttpMethod;
  /** OpenAPI path, e.g. `/api/v1/clusters/{subscriptionId}/{resourceGroup}/{clusterName}`. */
  readonly path: string;
  readonly requiredRole: string | undefined;
  /** No token needed: `security` is empty or lists the empty requirement `{}`. */
  readonly anonymous: boolean;
  /**
   * Anonymous, but the document also lists a bearer requirement (`security: [{}, { bearerAuth: [role] }]`):
   * a valid token, when one comes, is passed to the handler as the principal (and may see more).
   */
  readonly optionalAuth: boolean;
  readonly operation: OpenAPIV3_1.OperationObject;
  readonly parameters: readonly OpenAPIV3_1.ParameterObject[];
  readonly hasBody: boolean;
  /** False when the document marks the request body optional (no body = `{}`). */
  readonly bodyRequired: boolean;
  /** True when the 200 response declares an ETag header. */
  readonly etag: boolean;
  /** Statuses whose documented response declares an ETag header (the pipeline sends one on each). */
  readonly etagStatuses: ReadonlySet<number>;
}

function resolveParameter(doc: ApiDocument, p: OpenAPIV3_1.ReferenceObject | OpenAPIV3_1.ParameterObject): OpenAPIV3_1.ParameterObject {
  if ('$ref' in p) {
    const name = p.$ref.slice('#/components/parameters/'.length);
    const found = doc.components?.parameters?.[name];
    if (found === undefined || '$ref' in found) throw new Error(`Unresolvable parameter ${p.$ref}`);
    return found;
  }
  return p;
}

function resolveResponse(doc: ApiDocument, r: OpenAPIV3_1.ReferenceObject | OpenAPIV3_1.ResponseObject): OpenAPIV3_1.ResponseObject {
  if (!('$ref' in r)) return r;
  const name = r.$ref.slice('#/components/responses/'.length);
  const found = doc.components?.responses?.[name];
  if (found === undefined || '$ref' in found) throw new Error(`Unresolvable response ${r.$ref}`);
  return found;
}

function declaresEtag(response: OpenAPIV3_1.ResponseObject): boolean {
  return Object.keys(response.headers ?? {}).some((name) => name.toLowerCase() === 'etag');
}

/** Every operation of the document, keyed by operationId. */
export function listDocumentedOperations(doc: ApiDocument = document): DocumentedOperation[] {
  const out: DocumentedOperation[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    if (item === undefined) continue;
    for (const method of METHODS) {
      const op = item[method.toLowerCase() as Lowercase<HttpMethod>] as (OpenAPIV3_1.OperationObject & { 'x-required-role'?: string }) | undefined;
      if (op === undefined || op.operationId === undefined) continue;
      const etagStatuses = new Set<number>();
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (/^[1-5]\d\d$/.test(status) && status !== '304' && declaresEtag(resolveResponse(doc, response))) etagStatuses.add(Number(status));
      }
      out.push({
        operationId: op.operationId,
        method,
        path,
        requiredRole: op['x-required-role'],
        anonymous: Array.isArray(op.security) && (op.security.length === 0 || op.security.some((r) => Object.keys(r).length === 0)),
        optionalAuth: Array.isArray(op.security) && op.security.some((r) => Object.keys(r).length === 0) && op.security.some((r) => Object.keys(r).length > 0),
        operation: op,
        parameters: (op.parameters ?? []).map((p) => resolveParameter(doc, p)),
        hasBody: op.requestBody !== undefined,
        bodyRequired: op.requestBody !== undefined && !('$ref' in op.requestBody) && op.requestBody.required === true,
        etag: etagStatuses.has(200),
        etagStatuses,
      });
    }
  }
  return out;
}

let byId: Map<string, DocumentedOperation> | undefined;
export function getDocumentedOperation(operationId: string): DocumentedOperation {
  byId ??= new Map(listDocumentedOperations().map((o) => [o.operationId, o]));
  const found = byId.get(operationId);
  if (found === undefined) throw new Error(`operationId ${operationId} is not in the OpenAPI document`);
  return found;
}

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

const compiled = new Map<string, RequestValidators>();

export function getRequestValidators(operationId: string): RequestValidators {
  const existing = compiled.get(operationId);
  if (existing !== undefined) return existing;
  const spec = getDocumentedOperation(operationId);
  const pathValidate = requestValidator(spec, 'path');
  const queryValidate = requestValidator(spec, 'query');
  const bodyValidate = requestValidator(spec, 'body');
  const validators: RequestValidators = {
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
  compiled.set(operationId, validators);
  return validators;
}

/**
 * A documented response (`$ref` resolved): of an operation and status, or of `components.responses`
 * by name (errors any route can give, e.g. `NotFound`, `MethodNotAllowed`). Throws when undocumented.
 */
export function getDocumentedResponse(operationIdOrComponent: string | { readonly component: string }, status?: number): OpenAPIV3_1.ResponseObject {
  if (typeof operationIdOrComponent !== 'string') {
    const found = document.components?.responses?.[operationIdOrComponent.component];
    if (found === undefined) throw new Error(`The document has no response component ${operationIdOrComponent.component}`);
    return resolveResponse(document, found);
  }
  const spec = getDocumentedOperation(operationIdOrComponent);
  const response = spec.operation.responses?.[String(status)];
  if (response === undefined) throw new Error(`${operationIdOrComponent} does not document status ${String(status)}`);
  return resolveResponse(document, response);
}

const schemaValidators = new WeakMap<object, ValidateFunction>();

/** Validator of a response schema taken from the document (compiled once per schema object). */
export function getSchemaValidator(schema: OpenAPIV3_1.SchemaObject | OpenAPIV3_1.ReferenceObject): ValidateFunction {
  let validate = schemaValidators.get(schema);
  if (validate === undefined) {
    validate = compileSchema(rewriteRefs(schema) as JsonObject);
    schemaValidators.set(schema, validate);
  }
  return validate;
}

/** A header declared on a response, `$ref` resolved. */
export function resolveHeader(header: OpenAPIV3_1.ReferenceObject | OpenAPIV3_1.HeaderObject): OpenAPIV3_1.HeaderObject {
  if (!('$ref' in header)) return header;
  const name = header.$ref.slice('#/components/headers/'.length);
  const found = document.components?.headers?.[name];
  if (found === undefined || '$ref' in found) throw new Error(`Unresolvable header ${header.$ref}`);
  return found;
}

const responseValidators = new Map<string, ValidateFunction | null>();

/**
 * Validator of one documented response body (used by the contract and integration tests, so every
 * response they see is checked against the document). Returns null when the response has no JSON body.
 */
export function getResponseValidator(operationId: string, status: number): ValidateFunction | null {
  const key = `${operationId} ${status}`;
  const cached = responseValidators.get(key);
  if (cached !== undefined) return cached;
  const response = getDocumentedResponse(operationId, status);
  const schema = response.content?.['application/json']?.schema;
  const validate = schema === undefined ? null : compileSchema(rewriteRefs(schema) as JsonObject);
  responseValidators.set(key, validate);
  return validate;
}

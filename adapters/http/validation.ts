/**
 * The operations of the OpenAPI document (path, method, roles, parameters, responses), and validators
 * of its response schemas for the contract and integration tests: one reading of the document that the
 * run-time route table (`./operation-route-table.ts`), the request validators (`./validator-compiler.ts`
 * and their ahead-of-time build) and the tests share, so what the document says and what the API does
 * are the same thing. The request pipeline itself reads neither this module nor the document.
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { OpenAPIV3_1 } from 'openapi-types';
import { document, type ApiDocument } from '../../openapi/document.js';
import type { HttpMethod, OperationRoute } from './operation-routes.js';
import { newRequestAjv, rewriteRefs, type JsonObject } from './validator-schemas.js';

const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** An operation as the document has it: its route, and the operation object with parameters resolved. */
export interface DocumentedOperation extends OperationRoute {
  readonly operation: OpenAPIV3_1.OperationObject;
  readonly parameters: readonly OpenAPIV3_1.ParameterObject[];
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

let responseAjv: ReturnType<typeof newRequestAjv> | undefined;
/** Compiles a schema of the document (references rewritten) without coercion. */
function compileSchema(schema: JsonObject): ValidateFunction {
  responseAjv ??= newRequestAjv(false);
  return responseAjv.compile(schema);
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

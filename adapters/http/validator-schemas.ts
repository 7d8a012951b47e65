/**
 * The JSON Schemas request validation compiles, taken from the OpenAPI document: one schema holding every
 * component (`#/components/schemas/X` rewritten to point into it) and, per operation, the path and query
 * parameters as an object schema and the JSON request body. Both the run-time compiler (tsx, tests) and
 * the ahead-of-time one (the deployment bundle) compile exactly these, with the same ajv options.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { OpenAPIV3_1 } from 'openapi-types';
import { document } from '../../openapi/document.js';
import type { DocumentedOperation } from './validation.js';

export type JsonObject = Record<string, unknown>;

export const COMPONENTS_ID = 'https://arc-compliance.local/openapi/components';

/** The parts of a request validated against the document. */
export type RequestPart = 'path' | 'query' | 'body';

/** Rewrites `#/components/schemas/X` into references to one ajv schema holding all components. */
export function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value !== null && typeof value === 'object') {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')) {
        out[k] = `${COMPONENTS_ID}#/$defs/${v.slice('#/components/schemas/'.length)}`;
      } else {
        out[k] = rewriteRefs(v);
      }
    }
    return out;
  }
  return value;
}

/** Every component schema, as one schema ajv resolves the rewritten references against. */
export function componentsSchema(): JsonObject {
  return { $id: COMPONENTS_ID, $defs: rewriteRefs(document.components?.schemas ?? {}) };
}

/**
 * ajv options: path and query values arrive as strings and are coerced (`top=5` → 5) with defaults
 * applied; bodies are validated as sent.
 */
export function ajvOptions(coerce: boolean): Record<string, unknown> {
  return {
    strict: true,
    // `oneOf: [{ required: ['clusterIds'] }, { required: ['subscriptionId'] }]` names properties declared
    // by the parent schema, which strictRequired would refuse.
    strictRequired: false,
    allowUnionTypes: true,
    allErrors: true,
    coerceTypes: coerce,
    useDefaults: coerce,
  };
}

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

/** An ajv instance with the formats and every component schema added, with the options above. */
export function newRequestAjv(coerce: boolean): Ajv2020 {
  const ajv = new Ajv2020(ajvOptions(coerce));
  addFormats(ajv);
  ajv.addSchema(componentsSchema());
  return ajv;
}

function paramsSchema(params: readonly OpenAPIV3_1.ParameterObject[], where: 'path' | 'query'): JsonObject {
  const properties: JsonObject = {};
  const required: string[] = [];
  for (const p of params) {
    if (p.in !== where) continue;
    properties[p.name] = rewriteRefs(p.schema ?? {});
    if (p.required === true) required.push(p.name);
  }
  return { type: 'object', properties, required, additionalProperties: false };
}

/** The schema of one part of an operation's request; undefined when the operation takes no JSON body. */
export function requestSchema(spec: DocumentedOperation, part: RequestPart): JsonObject | undefined {
  if (part !== 'body') return paramsSchema(spec.parameters, part);
  const rb = spec.operation.requestBody;
  if (rb === undefined || '$ref' in rb) return undefined;
  const schema = rb.content['application/json']?.schema;
  return schema === undefined ? undefined : (rewriteRefs(schema) as JsonObject);
}

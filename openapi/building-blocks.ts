/**
 * Shared pieces of the OpenAPI document: references to shared components, the JSON response shape
 * (every response carries `x-request-id`), and `secured` (the app role an operation requires, declared
 * three ways: `security`, `x-required-role` for the request pipeline, and text Swagger UI shows).
 * `document.ts`, `rollout-paths.ts` and `webhook-paths.ts` all build on these.
 */
import type { OpenAPIV3_1 } from 'openapi-types';
import type { AppRole } from '../adapters/http/app-roles.js';

export interface OperationExtensions {
  /** The Entra ID app role a caller needs; absent on anonymous operations. */
  'x-required-role'?: AppRole;
  /** Inbound webhooks authenticated by a Standard Webhooks signature instead of a bearer token. */
  'x-signature-auth'?: 'standard-webhooks';
}

export type Schema = OpenAPIV3_1.SchemaObject | OpenAPIV3_1.ReferenceObject;
export type Operation = OpenAPIV3_1.OperationObject<OperationExtensions>;
type Header = OpenAPIV3_1.ReferenceObject | OpenAPIV3_1.HeaderObject;

export const ref = (name: string): OpenAPIV3_1.ReferenceObject => ({ $ref: `#/components/schemas/${name}` });
export const respRef = (name: string): OpenAPIV3_1.ReferenceObject => ({ $ref: `#/components/responses/${name}` });
export const paramRef = (name: string): OpenAPIV3_1.ReferenceObject => ({ $ref: `#/components/parameters/${name}` });

export const requestIdHeader: OpenAPIV3_1.ReferenceObject = { $ref: '#/components/headers/RequestId' };
export const etagHeader: OpenAPIV3_1.ReferenceObject = { $ref: '#/components/headers/ETag' };

// Identifiers in paths: letters, digits, dot, underscore, hyphen; never a slash or anything OData-special.
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';
export const GUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
export const dateTime: Schema = { type: 'string', format: 'date-time' };

/** A JSON response; every response carries `x-request-id`. */
export function json(schema: Schema, description: string, extraHeaders: Record<string, Header> = {}): OpenAPIV3_1.ResponseObject {
  return { description, headers: { 'x-request-id': requestIdHeader, ...extraHeaders }, content: { 'application/json': { schema } } };
}

/** An operation that needs `role`, with the error responses every secured operation can give (400, 401, 403, 500, 502, 503). */
export function secured(role: AppRole, op: Omit<Operation, 'security' | 'x-required-role' | 'responses'> & { responses: OpenAPIV3_1.ResponsesObject }): Operation {
  return {
    ...op,
    description: `${op.description ?? op.summary ?? ''}\n\nRequires the app role \`${role}\`.`.trim(),
    security: [{ bearerAuth: [role] }],
    'x-required-role': role,
    responses: {
      ...op.responses,
      '400': respRef('BadRequest'),
      '401': respRef('Unauthorized'),
      '403': respRef('Forbidden'),
      '500': respRef('InternalError'),
      // Every secured operation reads or writes storage (if only the audit log) and checks tokens
      // against the issuer's keys: either can fail.
      '502': respRef('DependencyFailed'),
      '503': respRef('ServiceUnavailable'),
    },
  };
}

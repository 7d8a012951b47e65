/**
 * Asserts a response against the OpenAPI document: documented status, every header the document marks
 * required (x-request-id, ETag, WWW-Authenticate …), a declared content type (JSON, CSV, HTML, assets)
 * or no body where none is declared (204, 304), and a JSON body valid against its schema.
 */
import { expect } from 'vitest';
import type { OpenAPIV3_1 } from 'openapi-types';
import { getDocumentedResponse, getSchemaValidator, resolveHeader } from '../../adapters/http/validation.js';

async function conforms(label: string, response: OpenAPIV3_1.ResponseObject, res: Response): Promise<unknown> {
  expect(res.headers.get('x-request-id'), `${label}: x-request-id`).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  expect(res.headers.get('x-content-type-options'), `${label}: x-content-type-options`).toBe('nosniff');
  for (const [name, header] of Object.entries(response.headers ?? {})) {
    if (resolveHeader(header).required === true) expect(res.headers.get(name), `${label}: required header ${name}`).not.toBeNull();
  }
  const text = await res.text();
  const content = response.content ?? {};
  if (Object.keys(content).length === 0) {
    expect(text, `${label}: the document declares no body`).toBe('');
    return text;
  }
  const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const declared = content[mediaType];
  if (declared === undefined) throw new Error(`${label}: content-type "${mediaType}" is not declared (the document declares ${Object.keys(content).join(', ')})`);
  if (mediaType !== 'application/json' || declared.schema === undefined) return text;
  const body: unknown = JSON.parse(text);
  const validate = getSchemaValidator(declared.schema);
  if (!validate(body)) throw new Error(`${label} does not match the document: ${JSON.stringify(validate.errors)}\n${text.slice(0, 500)}`);
  return body;
}

/** A response of `operationId`; throws for an undocumented status. Returns the parsed JSON body, or the text. */
export async function documented(operationId: string, res: Response): Promise<unknown> {
  return conforms(`${operationId} ${res.status}`, getDocumentedResponse(operationId, res.status), res);
}

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly target?: string; readonly details?: readonly { code: string; message: string; target?: string }[] };
}

/**
 * A response to a request no operation serves: the `default` error response every operation declares,
 * 404 `NotFound`, or 405 `MethodNotAllowed` with the `Allow` methods.
 */
export async function documentedUnmatched(res: Response, expected: { readonly status: 404 } | { readonly status: 405; readonly allow: string }): Promise<ErrorBody> {
  expect(res.status).toBe(expected.status);
  if (expected.status === 405) expect(res.headers.get('allow')).toBe(expected.allow);
  const body = (await conforms(`unmatched ${res.status}`, getDocumentedResponse({ component: 'ErrorResponse' }), res)) as ErrorBody;
  expect(body.error.code).toBe(expected.status === 404 ? 'NotFound' : 'MethodNotAllowed');
  return body;
}

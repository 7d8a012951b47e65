/** Asserts a response against the OpenAPI document: documented status, JSON body valid against its schema. */
import { expect } from 'vitest';
import { getResponseValidator } from '../../adapters/http/validation.js';

export async function documented(operationId: string, res: Response): Promise<unknown> {
  expect(res.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  const validate = getResponseValidator(operationId, res.status); // throws for an undocumented status
  const text = await res.text();
  if (validate === null) return text;
  const body: unknown = JSON.parse(text);
  if (!validate(body)) throw new Error(`${operationId} ${res.status} does not match the document: ${JSON.stringify(validate.errors)}\n${text.slice(0, 500)}`);
  return body;
}

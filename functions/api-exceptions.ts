/** Create, list, get and revoke time-bound control exceptions. */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { registerOperations } from '../adapters/http/azure-functions.js';
import { toCollection } from '../adapters/http/collections.js';
import { defineOperation } from '../adapters/http/operation.js';
import type { ExceptionStatus } from '../application/exception-service.js';
import type { NewExceptionInput } from '../domain/exceptions.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/api-runtime.js').then((m) => m.getApiRuntime());

export const createException = defineOperation<object, object, NewExceptionInput>('createException', async ({ services, body, principal, now, url }) => {
  const created = await services.exceptions.create(body, principal?.subject ?? 'unknown', now);
  const location = new URL(`/api/v1/exceptions/${encodeURIComponent(created.id)}`, url).toString();
  return { status: 201, body: created, headers: { location }, auditTarget: `exceptions/${created.id} (${created.controlId} on ${created.scope})` };
});

export const listExceptions = defineOperation<object, { status?: ExceptionStatus; top: number; continuationToken?: string }>('listExceptions', async ({ services, query, now, url }) => ({
  status: 200,
  body: toCollection(await services.exceptions.list(query, now), url),
}));

export const getException = defineOperation<{ exceptionId: string }>('getException', async ({ services, params, now }) => ({
  status: 200,
  body: await services.exceptions.get(params.exceptionId, now),
}));

export const deleteException = defineOperation<{ exceptionId: string }>('deleteException', async ({ services, params }) => {
  await services.exceptions.delete(params.exceptionId);
  return { status: 204, auditTarget: `exceptions/${params.exceptionId}` };
});

registerOperations([createException, listExceptions, getException, deleteException], runtime);

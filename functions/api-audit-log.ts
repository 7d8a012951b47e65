/** `GET /api/v1/audit-log`: every mutating call, newest first (app role Audit.Read). */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { registerOperations } from '../adapters/http/azure-functions.js';
import { toCollection } from '../adapters/http/collections.js';
import { defineOperation } from '../adapters/http/operation.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/api-runtime.js').then((m) => m.getApiRuntime());

export const listAuditLog = defineOperation<object, { top: number; continuationToken?: string }>('listAuditLog', async ({ services, query, url }) => ({
  status: 200,
  body: toCollection(await services.audit.list(query.top, query.continuationToken), url),
}));

registerOperations([listAuditLog], runtime);

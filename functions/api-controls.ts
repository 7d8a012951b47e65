/** `GET /api/v1/controls`, `GET /api/v1/controls/{controlId}`. */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { registerOperations } from '../adapters/http/azure-functions.js';
import { toCollection } from '../adapters/http/collections.js';
import { defineOperation } from '../adapters/http/operation.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/api-runtime.js').then((m) => m.getApiRuntime());

export const listControls = defineOperation<object, { top: number; continuationToken?: string }>('listControls', async ({ services, query, url }) => ({
  status: 200,
  body: toCollection(services.compliance.listControls(query.top, query.continuationToken), url),
}));

export const getControl = defineOperation<{ controlId: string }>('getControl', async ({ services, params }) => ({
  status: 200,
  body: services.compliance.getControl(params.controlId),
}));

registerOperations([listControls, getControl], runtime);

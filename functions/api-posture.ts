/** Fleet summary and trends: read from precomputed summaries. */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { registerOperations } from '../adapters/http/azure-functions.js';
import { defineOperation } from '../adapters/http/operation.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/api-runtime.js').then((m) => m.getApiRuntime());

export const getSummary = defineOperation('getSummary', async ({ services }) => ({
  status: 200,
  body: await services.compliance.getSummary(),
}));

export const getTrends = defineOperation<object, { days: number; environment?: string; subscriptionId?: string; location?: string; tag?: string }>('getTrends', async ({ services, query, now }) => ({
  status: 200,
  body: await services.compliance.getTrends(query.days, now, { environment: query.environment, subscriptionId: query.subscriptionId, location: query.location, tag: query.tag }),
}));

registerOperations([getSummary, getTrends], runtime);

/** Start an on-demand evaluation (202 + Location), list runs, get one run. */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { registerOperations } from '../adapters/http/azure-functions.js';
import { toCollection } from '../adapters/http/collections.js';
import { defineOperation } from '../adapters/http/operation.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/api-runtime.js').then((m) => m.getApiRuntime());

export const startEvaluation = defineOperation<object, object, { subscriptionIds?: string[] }>('startEvaluation', async ({ services, principal, url, body }) => {
  const run = await services.evaluations.startOnDemand({ requestedBy: principal?.subject, subscriptionIds: body.subscriptionIds });
  const location = new URL(`/api/v1/evaluations/${encodeURIComponent(run.id)}`, url).toString();
  return { status: 202, body: run, headers: { location }, auditTarget: `evaluations/${run.id}` };
});

export const listEvaluations = defineOperation<object, { top: number; continuationToken?: string }>('listEvaluations', async ({ services, query, url }) => ({
  status: 200,
  body: toCollection(await services.compliance.listEvaluations(query.top, query.continuationToken), url),
}));

export const getEvaluation = defineOperation<{ evaluationId: string }>('getEvaluation', async ({ services, params }) => ({
  status: 200,
  body: await services.compliance.getEvaluation(params.evaluationId),
}));

registerOperations([startEvaluation, listEvaluations, getEvaluation], runtime);

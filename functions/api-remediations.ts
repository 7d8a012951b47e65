/** Start an Azure Policy remediation for a control (202 + Location), list them and read their ARM progress. */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { registerOperations } from '../adapters/http/azure-functions.js';
import { toCollection } from '../adapters/http/collections.js';
import { defineOperation } from '../adapters/http/operation.js';
import type { NewRemediationInput } from '../application/remediation-service.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/api-runtime.js').then((m) => m.getApiRuntime());

export const startRemediation = defineOperation<object, object, NewRemediationInput>('startRemediation', async ({ services, body, principal, now, url }) => {
  const remediation = await services.remediations.start(body, principal?.subject ?? 'unknown', now);
  const location = new URL(`/api/v1/remediations/${encodeURIComponent(remediation.id)}`, url).toString();
  return { status: 202, body: remediation, headers: { location }, auditTarget: `remediations/${remediation.id} (${remediation.controlId})` };
});

export const getRemediation = defineOperation<{ remediationId: string }>('getRemediation', async ({ services, params }) => ({
  status: 200,
  body: await services.remediations.get(params.remediationId),
}));

export const listRemediations = defineOperation<object, { top: number; continuationToken?: string }>('listRemediations', async ({ services, query, url }) => ({
  status: 200,
  body: toCollection(await services.remediations.list(query.top, query.continuationToken), url),
}));

registerOperations([startRemediation, listRemediations, getRemediation], runtime);

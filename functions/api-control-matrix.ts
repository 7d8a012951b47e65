/** The control × cluster matrix (the dashboard's heatmap): the fleet aggregate and one group's clusters. */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { registerOperations } from '../adapters/http/azure-functions.js';
import { toCollection } from '../adapters/http/collections.js';
import { defineOperation } from '../adapters/http/operation.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/api-runtime.js').then((m) => m.getApiRuntime());

export const getControlMatrix = defineOperation('getControlMatrix', async ({ services }) => ({
  status: 200,
  body: await services.matrix.getMatrix(),
}));

interface MatrixClustersQuery {
  subscriptionId: string;
  environment?: string;
  top: number;
  continuationToken?: string;
}

export const listControlMatrixClusters = defineOperation<object, MatrixClustersQuery>('listControlMatrixClusters', async ({ services, query, url }) => ({
  status: 200,
  body: toCollection(await services.matrix.listClusters(query), url),
}));

registerOperations([getControlMatrix, listControlMatrixClusters], runtime);

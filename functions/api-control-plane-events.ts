/** Control-plane events from the Azure Activity Log, fleet-wide and per cluster, and each subscription's watch state. */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { registerOperations } from '../adapters/http/azure-functions.js';
import { toCollection } from '../adapters/http/collections.js';
import { defineOperation } from '../adapters/http/operation.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/api-runtime.js').then((m) => m.getApiRuntime());

interface EventQuery {
  since?: string;
  operation?: string;
  top: number;
  continuationToken?: string;
}

export const listControlPlaneEvents = defineOperation<object, EventQuery & { subscriptionId?: string; clusterId?: string }>('listControlPlaneEvents', async ({ services, query, url }) => ({
  status: 200,
  body: toCollection(await services.controlPlane.list(query), url),
}));

export const listClusterControlPlaneEvents = defineOperation<{ subscriptionId: string; resourceGroup: string; clusterName: string }, EventQuery>(
  'listClusterControlPlaneEvents',
  async ({ services, params, query, url }) => ({
    status: 200,
    body: toCollection(await services.controlPlane.listForCluster(params, query), url),
  }),
);

export const getControlPlaneWatch = defineOperation('getControlPlaneWatch', async ({ services }) => ({
  status: 200,
  body: await services.controlPlane.watchStates(),
}));

registerOperations([listControlPlaneEvents, listClusterControlPlaneEvents, getControlPlaneWatch], runtime);

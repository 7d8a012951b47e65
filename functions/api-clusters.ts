/** Cluster list, cluster detail and per-cluster history. */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { registerOperations } from '../adapters/http/azure-functions.js';
import { toCollection } from '../adapters/http/collections.js';
import { defineOperation } from '../adapters/http/operation.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/api-runtime.js').then((m) => m.getApiRuntime());

interface ClusterPath {
  subscriptionId: string;
  resourceGroup: string;
  clusterName: string;
}

interface ClusterListQuery {
  subscriptionId?: string;
  status?: 'compliant' | 'noncompliant';
  controlId?: string;
  environment?: string;
  location?: string;
  stale?: boolean;
  top: number;
  continuationToken?: string;
}

export const listClusters = defineOperation<object, ClusterListQuery>('listClusters', async ({ services, query, url }) => {
  const page = await services.compliance.listClusters({
    subscriptionId: query.subscriptionId,
    status: query.status,
    failingControlId: query.controlId,
    environment: query.environment,
    location: query.location,
    stale: query.stale,
    top: query.top,
    continuationToken: query.continuationToken,
  });
  return { status: 200, body: toCollection(page, url) };
});

export const getCluster = defineOperation<ClusterPath>('getCluster', async ({ services, params }) => ({
  status: 200,
  body: await services.compliance.getCluster(params.subscriptionId, params.resourceGroup, params.clusterName),
}));

export const getClusterHistory = defineOperation<ClusterPath, { from?: string; to?: string }>('getClusterHistory', async ({ services, params, query, now }) => ({
  status: 200,
  body: await services.compliance.getClusterHistory(params.subscriptionId, params.resourceGroup, params.clusterName, query, now),
}));

registerOperations([listClusters, getCluster, getClusterHistory], runtime);

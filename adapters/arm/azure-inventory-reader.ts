/**
 * Production {@link AzureInventoryReader}: the real Azure SDK clients against the configured ARM
 * endpoint. Throttling is handled once, by the SDK pipeline's retry policy (429/503 + Retry-After);
 * this class adds no retry loop of its own, so one throttled request costs at most the SDK's retries.
 */
import { getClient, createRestError, type Client } from '@azure-rest/core-client';
import { SourceControlConfigurationClient } from '@azure/arm-kubernetesconfiguration';
import { PolicyClient } from '@azure/arm-policy';
import { PolicyInsightsClient } from '@azure/arm-policyinsights';
import { SubscriptionClient } from '@azure/arm-resources-subscriptions';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { AzureInventoryReader, ConnectedClusterRecord, PolicyAssignmentSummary, SubscriptionRef } from '../../application/ports.js';
import { DependencyError } from '../../domain/errors.js';
import type { ExtensionFact, FluxFact, PolicyStateFact } from '../../domain/model.js';
import { sdkClientOptions, type ArmConnection, type SdkClientOptions } from './arm-client-options.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import { toConnectedClusterRecord, toExtensionFact, toFluxFact, toPolicyStateFact } from './arm-wire-mapping.js';

/** `@azure/arm-hybridkubernetes` 2.1.0 speaks 2021-10-01 and drops kind/aadProfile/arcAgentProfile/…; this version carries them. */
export const CONNECTED_CLUSTERS_API_VERSION = '2026-03-01';

export const CLUSTER_RESOURCE_TYPE = 'Microsoft.Kubernetes/connectedClusters';
/** The one policy-state query per subscription: cluster resources only, only the fields the domain reads. */
export const POLICY_STATE_FILTER = `resourceType eq '${CLUSTER_RESOURCE_TYPE}'`;
export const POLICY_STATE_SELECT = [
  'timestamp',
  'resourceId',
  'policyAssignmentId',
  'policyDefinitionId',
  'policyDefinitionName',
  'policySetDefinitionName',
  'policyDefinitionReferenceId',
  'complianceState',
  'policyDefinitionAction',
].join(',');

export interface InventoryReaderOptions extends ArmConnection {
  /** Concurrent per-cluster child listings (config `ARM_MAX_CONCURRENCY`). */
  readonly maxConcurrency: number;
  /**
   * Ask for in-cluster offenders with `$expand=components`. `@azure/arm-policyinsights` 6.0.0 only
   * serialises `queryOptions.expand` for the resource-scope query, so a pipeline policy adds it to
   * the subscription-scope query. Default true.
   */
  readonly expandComponents?: boolean | undefined;
}

interface ClusterRef {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly clusterRp: string;
  readonly clusterResourceName: string;
  readonly clusterName: string;
}

function parseClusterId(clusterId: string): ClusterRef {
  const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/([^/]+)\/([^/]+)\/([^/]+)\/?$/i.exec(clusterId);
  if (!m) throw new DependencyError(`Not a cluster resource id: ${clusterId}`, 'clusterId');
  return { subscriptionId: m[1]!, resourceGroup: m[2]!, clusterRp: m[3]!, clusterResourceName: m[4]!, clusterName: m[5]! };
}

/** Wraps an SDK failure (after the SDK's own retries) as a typed dependency error, without request details that could hold secrets. */
function dependencyFailure(operation: string, target: string, e: unknown): DependencyError {
  const status = typeof e === 'object' && e !== null && 'statusCode' in e ? (e as { statusCode?: unknown }).statusCode : undefined;
  const code = typeof e === 'object' && e !== null && 'code' in e ? (e as { code?: unknown }).code : undefined;
  const detail = [status, code].filter((x) => x !== undefined).join(' ');
  return new DependencyError(`ARM ${operation} failed${detail ? ` (${detail})` : ''}: ${e instanceof Error ? e.message : String(e)}`, target, { cause: e });
}

const expandComponentsPolicy: PipelinePolicy = {
  name: 'arcComplianceExpandPolicyStateComponents',
  sendRequest(request, next) {
    const url = new URL(request.url);
    if (request.method === 'POST' && /^\/subscriptions\/[^/]+\/providers\/Microsoft\.PolicyInsights\/policyStates\/latest\/queryResults$/i.test(url.pathname) && !url.searchParams.has('$expand')) {
      url.searchParams.set('$expand', 'components');
      request.url = url.toString();
    }
    return next(request);
  },
};

export class ArmInventoryReader implements AzureInventoryReader {
  private readonly options: SdkClientOptions;
  private readonly subscriptions: SubscriptionClient;
  private readonly insights: PolicyInsightsClient;
  private readonly rest: Client;
  private readonly limit: ConcurrencyLimit;
  private readonly configurationClients = new Map<string, SourceControlConfigurationClient>();
  private readonly policyClients = new Map<string, PolicyClient>();

  constructor(private readonly connection: InventoryReaderOptions) {
    this.options = sdkClientOptions(connection);
    this.subscriptions = new SubscriptionClient(connection.credential, this.options);
    this.insights = new PolicyInsightsClient(connection.credential, this.options);
    if (connection.expandComponents ?? true) this.insights.pipeline.addPolicy(expandComponentsPolicy);
    this.rest = getClient(this.options.endpoint, connection.credential, { ...this.options, apiVersion: CONNECTED_CLUSTERS_API_VERSION });
    this.limit = new ConcurrencyLimit(connection.maxConcurrency);
  }

  async listSubscriptions(): Promise<SubscriptionRef[]> {
    const out: SubscriptionRef[] = [];
    try {
      for await (const s of this.subscriptions.subscriptions.list()) {
        if (s.subscriptionId) out.push({ subscriptionId: s.subscriptionId, displayName: s.displayName ?? s.subscriptionId, state: s.state ?? 'Unknown' });
      }
    } catch (e) {
      throw dependencyFailure('subscriptions.list', 'subscriptions', e);
    }
    return out;
  }

  async listConnectedClusters(subscriptionId: string): Promise<ConnectedClusterRecord[]> {
    const out: ConnectedClusterRecord[] = [];
    const origin = new URL(this.options.endpoint).origin;
    try {
      let response = await this.rest.path('/subscriptions/{subscriptionId}/providers/Microsoft.Kubernetes/connectedClusters', subscriptionId).get();
      for (;;) {
        if (response.status !== '200') throw createRestError(response);
        const body = response.body as { value?: unknown; nextLink?: unknown } | undefined;
        for (const item of Array.isArray(body?.value) ? body.value : []) {
          const record = toConnectedClusterRecord(item);
          if (record) out.push(record);
        }
        const next = typeof body?.nextLink === 'string' && body.nextLink !== '' ? body.nextLink : undefined;
        if (next === undefined) break;
        // The bearer token follows the link: never send it to another host.
        if (new URL(next).origin !== origin) throw new Error(`nextLink points outside ${origin}`);
        response = await this.rest.pathUnchecked(next).get();
      }
    } catch (e) {
      throw dependencyFailure('connectedClusters.list', subscriptionId, e);
    }
    return out;
  }

  listExtensions(clusterId: string): Promise<ExtensionFact[]> {
    const ref = parseClusterId(clusterId);
    return this.limit.run(async () => {
      const out: ExtensionFact[] = [];
      try {
        const client = this.configurationClient(ref.subscriptionId);
        for await (const e of client.extensions.list(ref.resourceGroup, ref.clusterRp, ref.clusterResourceName, ref.clusterName)) {
          const fact = toExtensionFact(e);
          if (fact) out.push(fact);
        }
      } catch (e) {
        throw dependencyFailure('extensions.list', clusterId, e);
      }
      return out;
    });
  }

  listFluxConfigurations(clusterId: string): Promise<FluxFact[]> {
    const ref = parseClusterId(clusterId);
    return this.limit.run(async () => {
      const out: FluxFact[] = [];
      try {
        const client = this.configurationClient(ref.subscriptionId);
        for await (const f of client.fluxConfigurations.list(ref.resourceGroup, ref.clusterRp, ref.clusterResourceName, ref.clusterName)) {
          const fact = toFluxFact(f);
          if (fact) out.push(fact);
        }
      } catch (e) {
        throw dependencyFailure('fluxConfigurations.list', clusterId, e);
      }
      return out;
    });
  }

  async listPolicyAssignments(subscriptionId: string): Promise<PolicyAssignmentSummary[]> {
    const out: PolicyAssignmentSummary[] = [];
    try {
      // No filter: assignments at the subscription, its management groups and its resource groups all apply to clusters.
      for await (const a of this.policyClient(subscriptionId).policyAssignments.list()) {
        if (!a.id || !a.policyDefinitionId) continue;
        out.push({
          id: a.id,
          name: a.name ?? a.id.split('/').pop() ?? a.id,
          scope: a.scope ?? a.id.replace(/\/providers\/Microsoft\.Authorization\/policyAssignments\/[^/]+$/i, ''),
          policyDefinitionId: a.policyDefinitionId,
          enforcementMode: a.enforcementMode,
          notScopes: a.notScopes ?? [],
        });
      }
    } catch (e) {
      throw dependencyFailure('policyAssignments.list', subscriptionId, e);
    }
    return out;
  }

  async queryClusterPolicyStates(subscriptionId: string): Promise<PolicyStateFact[]> {
    const out: PolicyStateFact[] = [];
    try {
      const pages = this.insights.policyStates.listQueryResultsForSubscription('latest', subscriptionId, {
        queryOptions: { filter: POLICY_STATE_FILTER, select: POLICY_STATE_SELECT, ...(this.connection.expandComponents ?? true ? { expand: 'components' } : {}) },
      });
      for await (const state of pages) {
        const fact = toPolicyStateFact(state);
        if (fact) out.push(fact);
      }
    } catch (e) {
      throw dependencyFailure('policyStates.queryResults', subscriptionId, e);
    }
    return out;
  }

  private configurationClient(subscriptionId: string): SourceControlConfigurationClient {
    let client = this.configurationClients.get(subscriptionId);
    if (!client) {
      client = new SourceControlConfigurationClient(this.connection.credential, subscriptionId, this.options);
      this.configurationClients.set(subscriptionId, client);
    }
    return client;
  }

  private policyClient(subscriptionId: string): PolicyClient {
    let client = this.policyClients.get(subscriptionId);
    if (!client) {
      client = new PolicyClient(this.connection.credential, subscriptionId, this.options);
      this.policyClients.set(subscriptionId, client);
    }
    return client;
  }
}

/**
 * Production {@link AzureInventoryReader}: the real Azure SDK clients against the configured ARM
 * endpoint. Throttling is handled once, by the SDK pipeline's retry policy (429/503 + Retry-After);
 * this class adds no retry loop of its own, so one throttled request costs at most the SDK's retries.
 * A request still throttled after them fails with {@link ArmRetryLaterError}, carrying the service's
 * `Retry-After` so the queue retry waits at least that long. Every HTTP attempt has a timeout
 * (`requestTimeoutMs`, default {@link DEFAULT_ARM_REQUEST_TIMEOUT_MS}): a hung call fails its read
 * instead of holding the invocation until the function timeout.
 *
 * Connected clusters, policy states, extensions and Flux configurations are read with the REST client
 * (`@azure-rest/core-client`: same pipeline — bearer token, retry/throttling, TLS options — but the
 * wire JSON as is): the autorest mappers turned every state, component and extension into a model
 * object first (policy states alone ~30 % of the app's busy time in a 10,000-cluster run: 400,000
 * states), only for the `arm-wire-mapping` functions to read a few strings from it.
 */
import { getClient, createRestError, type Client, type HttpResponse } from '@azure-rest/core-client';
import { PolicyClient } from '@azure/arm-policy';
import { SubscriptionClient } from '@azure/arm-resources-subscriptions';
import type { AzureInventoryReader, ConnectedClusterRecord, PolicyAssignmentSummary, SubscriptionRef } from '../../application/ports.js';
import { silentLogger, type Logger } from '../../application/logger.js';
import { DependencyError } from '../../domain/errors.js';
import type { ExtensionFact, FluxFact, PolicyStateFact } from '../../domain/model.js';
import { sdkClientOptions, type ArmConnection, type SdkClientOptions } from './arm-client-options.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import { armFailure, statusOf } from './arm-errors.js';

export { ArmRequestError, ArmRetryLaterError, retryAfterSecondsOf } from './arm-errors.js';
import { toConnectedClusterRecord, toExtensionFact, toFluxFact, toPolicyStateFact } from './arm-wire-mapping.js';
import { PerSubscriptionClients } from './per-subscription-clients.js';

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

/**
 * Default budget of one ARM HTTP attempt. ARM answers reads in seconds; a minute leaves room for a
 * 1,000-state policy page with components while keeping a hung call far from host.json's 10-minute
 * `functionTimeout` (the SDK retries neither a timeout nor, so, multiplies it).
 */
export const DEFAULT_ARM_REQUEST_TIMEOUT_MS = 60_000;

export interface InventoryReaderOptions extends ArmConnection {
  /** Concurrent per-cluster child listings (config `ARM_MAX_CONCURRENCY`). */
  readonly maxConcurrency: number;
  /** Ask for in-cluster offenders with `$expand=components` on the policy-state query. Default true. */
  readonly expandComponents?: boolean | undefined;
  /** Told when the reader degrades (e.g. the service refused `$expand=components`). */
  readonly log?: Logger | undefined;
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

/** Wraps an SDK failure (after the SDK's own retries) as a typed, classified ARM error. */
const dependencyFailure = armFailure;

/** The `api-version` `@azure/arm-kubernetesconfiguration` 6.1.0 sends (extensions, Flux configurations). */
export const KUBERNETES_CONFIGURATION_API_VERSION = '2023-05-01';

/** The `api-version` `@azure/arm-policyinsights` 6.0.0 sends for `policyStates` (and the emulator serves). */
export const POLICY_INSIGHTS_API_VERSION = '2024-10-01';

const CANONICAL_ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
/** ARM serialises dates as strings; the autorest models held `Date`s, which the facts carried as `toISOString()`. */
function isoTime(value: unknown): unknown {
  if (typeof value !== 'string' || CANONICAL_ISO.test(value)) return value;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? value : new Date(ms).toISOString();
}

export class ArmInventoryReader implements AzureInventoryReader {
  private readonly options: SdkClientOptions;
  private readonly subscriptions: SubscriptionClient;
  /** Connected clusters (`api-version` added by the client). */
  private readonly rest: Client;
  /** Policy states: `api-version` on the first request only; a nextLink is followed exactly as ARM returns it (as the SDK does). */
  private readonly restUnversioned: Client;
  private readonly limit: ConcurrencyLimit;
  private readonly policyClients = new PerSubscriptionClients((subscriptionId) => new PolicyClient(this.connection.credential, subscriptionId, this.options));
  /** Set once the service refused `$expand=components` at subscription scope (then never asked again). */
  private componentsRefused = false;

  private readonly timeoutMs: number;

  constructor(private readonly connection: InventoryReaderOptions) {
    this.timeoutMs = connection.requestTimeoutMs ?? DEFAULT_ARM_REQUEST_TIMEOUT_MS;
    this.options = sdkClientOptions({ ...connection, requestTimeoutMs: this.timeoutMs });
    this.subscriptions = new SubscriptionClient(connection.credential, this.options);
    this.rest = getClient(this.options.endpoint, connection.credential, { ...this.options, apiVersion: CONNECTED_CLUSTERS_API_VERSION });
    this.restUnversioned = getClient(this.options.endpoint, connection.credential, this.options);
    this.limit = new ConcurrencyLimit(connection.maxConcurrency);
  }

  async listSubscriptions(): Promise<SubscriptionRef[]> {
    const out: SubscriptionRef[] = [];
    try {
      for await (const s of this.subscriptions.subscriptions.list()) {
        if (s.subscriptionId) out.push({ subscriptionId: s.subscriptionId, displayName: s.displayName ?? s.subscriptionId, state: s.state ?? 'Unknown' });
      }
    } catch (e) {
      throw dependencyFailure('subscriptions.list', 'subscriptions', e, this.timeoutMs);
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
      throw dependencyFailure('connectedClusters.list', subscriptionId, e, this.timeoutMs);
    }
    return out;
  }

  listExtensions(clusterId: string): Promise<ExtensionFact[]> {
    return this.listClusterChildren(clusterId, 'extensions', 'extensions.list', toExtensionFact);
  }

  listFluxConfigurations(clusterId: string): Promise<FluxFact[]> {
    return this.listClusterChildren(clusterId, 'fluxConfigurations', 'fluxConfigurations.list', toFluxFact);
  }

  /**
   * A cluster's `Microsoft.KubernetesConfiguration` children (the requests
   * `SourceControlConfigurationClient` sends: GET with its `api-version`, then each `nextLink` as
   * returned), mapped from the wire JSON flattened as the SDK's models are (`name` + `properties.*`).
   */
  private listClusterChildren<T>(clusterId: string, child: 'extensions' | 'fluxConfigurations', operation: string, toFact: (model: unknown) => T | undefined): Promise<T[]> {
    const ref = parseClusterId(clusterId);
    return this.limit.run(async () => {
      const out: T[] = [];
      try {
        const first = this.restUnversioned
          .path(
            `/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/{clusterRp}/{clusterResourceName}/{clusterName}/providers/Microsoft.KubernetesConfiguration/${child}`,
            ref.subscriptionId,
            ref.resourceGroup,
            ref.clusterRp,
            ref.clusterResourceName,
            ref.clusterName,
          )
          .get({ queryParameters: { 'api-version': KUBERNETES_CONFIGURATION_API_VERSION } });
        for (const item of await this.followNextLinks(first, 'nextLink')) {
          const wire = item !== null && typeof item === 'object' ? (item as Record<string, unknown>) : {};
          const properties = wire['properties'] !== null && typeof wire['properties'] === 'object' ? (wire['properties'] as Record<string, unknown>) : {};
          const fact = toFact({ ...properties, name: wire['name'] });
          if (fact) out.push(fact);
        }
      } catch (e) {
        throw dependencyFailure(operation, clusterId, e, this.timeoutMs);
      }
      return out;
    });
  }

  /** Every item of a paged ARM list: `value` of each page, following `linkField` on the same host only (the bearer token follows it). */
  private async followNextLinks(first: Promise<HttpResponse>, linkField: 'nextLink' | '@odata.nextLink'): Promise<unknown[]> {
    const origin = new URL(this.options.endpoint).origin;
    const items: unknown[] = [];
    let response = await first;
    for (;;) {
      if (response.status !== '200') throw createRestError(response);
      const body = response.body as Record<string, unknown> | undefined;
      const value = body?.['value'];
      if (Array.isArray(value)) for (const item of value as unknown[]) items.push(item);
      const link = body?.[linkField];
      const next = typeof link === 'string' && link !== '' ? link : undefined;
      if (next === undefined) return items;
      if (new URL(next).origin !== origin) throw new Error(`nextLink points outside ${origin}`);
      response = await this.restUnversioned.pathUnchecked(next).get();
    }
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
      throw dependencyFailure('policyAssignments.list', subscriptionId, e, this.timeoutMs);
    }
    return out;
  }

  /**
   * The one subscription-level query (POST `policyStates/latest/queryResults` with `$filter`, `$select`
   * and `$expand=components`), following `@odata.nextLink` with GETs, as the SDK's pager does.
   */
  async queryClusterPolicyStates(subscriptionId: string): Promise<PolicyStateFact[]> {
    const query = (expand: boolean): Promise<unknown[]> =>
      this.followNextLinks(
        this.restUnversioned
          .path('/subscriptions/{subscriptionId}/providers/Microsoft.PolicyInsights/policyStates/{policyStatesResource}/queryResults', subscriptionId, 'latest')
          .post({
            queryParameters: {
              'api-version': POLICY_INSIGHTS_API_VERSION,
              $filter: POLICY_STATE_FILTER,
              $select: POLICY_STATE_SELECT,
              ...(expand ? { $expand: 'components' } : {}),
            },
          }),
        '@odata.nextLink',
      );
    const out: PolicyStateFact[] = [];
    try {
      let items: unknown[];
      const expand = (this.connection.expandComponents ?? true) && !this.componentsRefused;
      try {
        items = await query(expand);
      } catch (e) {
        // `$expand=components` is documented for resource-scope queries; should a subscription-scope
        // query refuse it (400), the run must not lose every policy control over a detail: query again
        // without it (offending policies are still listed, in-cluster resources are not) and stop asking.
        if (!expand || statusOf(e) !== 400) throw e;
        this.componentsRefused = true;
        (this.connection.log ?? silentLogger).warn(`policyStates.queryResults refused $expand=components (${subscriptionId}); evidence will list offending policies without in-cluster resources`);
        items = await query(false);
      }
      for (const item of items) {
        const fact = toPolicyStateFact(item);
        if (fact) out.push({ ...fact, timestamp: isoTime(fact.timestamp) as string | undefined });
      }
    } catch (e) {
      throw dependencyFailure('policyStates.queryResults', subscriptionId, e, this.timeoutMs);
    }
    return out;
  }

  private policyClient(subscriptionId: string): PolicyClient {
    return this.policyClients.get(subscriptionId);
  }
}

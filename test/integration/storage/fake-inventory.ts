import type { AzureInventoryReader, ConnectedClusterRecord, PolicyAssignmentSummary, SubscriptionRef } from '../../../application/ports.js';
import type { ExtensionFact, FluxFact, PolicyStateFact } from '../../../domain/model.js';

/** In-memory estate with switchable failures. */
export class FakeInventory implements AzureInventoryReader {
  readonly subscriptions: SubscriptionRef[] = [];
  readonly clusters = new Map<string, ConnectedClusterRecord[]>();
  readonly extensions = new Map<string, ExtensionFact[]>();
  readonly policyStates = new Map<string, PolicyStateFact[]>();
  readonly failingSubscriptions = new Set<string>();
  readonly failingExtensions = new Set<string>();
  /** Subscriptions whose cluster listing fails as ARM throttling does after the SDK's retries (error with `retryAfterSeconds`). */
  readonly throttledSubscriptions = new Map<string, number>();
  policyStateQueries = 0;

  /** Agents heartbeat at 01:00 UTC of "today", so ARC-OP-01 passes whatever day a run starts at 02:00. */
  constructor(private readonly now: () => Date = () => new Date('2026-05-01T02:00:00Z')) {}

  addCluster(subscriptionId: string, resourceGroup: string, name: string, opts: { env?: string; rbac?: boolean } = {}): ConnectedClusterRecord {
    if (!this.subscriptions.some((s) => s.subscriptionId === subscriptionId)) this.subscriptions.push({ subscriptionId, displayName: subscriptionId, state: 'Enabled' });
    const record: ConnectedClusterRecord = {
      id: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Kubernetes/connectedClusters/${name}`,
      name,
      subscriptionId,
      resourceGroup,
      location: 'westeurope',
      kind: undefined,
      tags: opts.env ? { Environment: opts.env } : {},
      properties: { distribution: 'k3s', kubernetesVersion: '1.30.4', connectivityStatus: 'Connected', lastConnectivityTime: '2026-05-01T01:00:00Z', aadProfile: { enableAzureRBAC: opts.rbac ?? true } },
    };
    this.clusters.set(subscriptionId, [...(this.clusters.get(subscriptionId) ?? []), record]);
    this.extensions.set(record.id.toLowerCase(), [{ name: 'azurepolicy', extensionType: 'Microsoft.PolicyInsights', provisioningState: 'Succeeded', version: '1.0' }]);
    return record;
  }

  setRbac(subscriptionId: string, name: string, enabled: boolean): void {
    const list = this.clusters.get(subscriptionId) ?? [];
    this.clusters.set(subscriptionId, list.map((c) => (c.name === name ? { ...c, properties: { ...c.properties, aadProfile: { enableAzureRBAC: enabled } } } : c)));
  }

  async listSubscriptions(): Promise<SubscriptionRef[]> {
    return [...this.subscriptions, { subscriptionId: 'ffffffff-0000-0000-0000-000000000000', displayName: 'disabled', state: 'Disabled' }];
  }
  async listConnectedClusters(subscriptionId: string): Promise<ConnectedClusterRecord[]> {
    if (this.failingSubscriptions.has(subscriptionId)) throw new Error(`ARM 503 for ${subscriptionId}`);
    const retryAfterSeconds = this.throttledSubscriptions.get(subscriptionId);
    if (retryAfterSeconds !== undefined) throw Object.assign(new Error(`ARM 429 for ${subscriptionId}`), { retryAfterSeconds });
    const heartbeat = `${this.now().toISOString().slice(0, 10)}T01:00:00.000Z`;
    return (this.clusters.get(subscriptionId) ?? []).map((c) => ({ ...c, properties: { ...c.properties, lastConnectivityTime: heartbeat } }));
  }
  async listExtensions(clusterId: string): Promise<ExtensionFact[]> {
    if (this.failingExtensions.has(clusterId.toLowerCase())) throw new Error('extensions 500 after retries');
    return this.extensions.get(clusterId.toLowerCase()) ?? [];
  }
  async listFluxConfigurations(): Promise<FluxFact[]> {
    return [{ name: 'gitops', complianceState: 'Compliant' }];
  }
  async listPolicyAssignments(): Promise<PolicyAssignmentSummary[]> {
    return [];
  }
  async queryClusterPolicyStates(subscriptionId: string): Promise<PolicyStateFact[]> {
    this.policyStateQueries += 1;
    return this.policyStates.get(subscriptionId) ?? [];
  }
}


/** Test data builders: a snapshot that passes every control, and policy states/extensions to vary it. */
import type { EvaluationContext } from '../../../domain/evaluate-cluster.js';
import type { ClusterSnapshot, ControlException, ExtensionFact, PolicyStateFact } from '../../../domain/model.js';

export const SUB = '00000000-0000-0000-0000-000000000001';
export const RUN_START = new Date('2026-03-10T02:00:00.000Z');

export const IDS = {
  automount: '423dd1ba-798e-40e4-9c4d-b6902674b423',
  allowedImages: 'febd0533-8e55-448f-b837-bd0e06f16469',
  probes: 'b1a9997f-2883-4f12-bdff-2280f99b5915',
  baseline: 'a8640138-9b0a-4a28-b8cb-1666c838647d',
  restricted: '42b8ef37-b724-4e24-bbc8-7a7708edfe00',
  noPrivileged: '95edb821-ddaf-4404-9732-666045e056b4',
} as const;

export function clusterId(name: string, rg = 'rg-prod', sub = SUB): string {
  return `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Kubernetes/connectedClusters/${name}`;
}

export function policyState(definition: string, overrides: Partial<PolicyStateFact> = {}): PolicyStateFact {
  return {
    resourceId: clusterId('c1').toLowerCase(),
    policyAssignmentId: `/subscriptions/${SUB}/providers/microsoft.authorization/policyassignments/assign-${definition.slice(0, 8)}`,
    policyDefinitionId: `/providers/microsoft.authorization/policydefinitions/${definition}`,
    policyDefinitionName: definition,
    policySetDefinitionName: undefined,
    policyDefinitionReferenceId: undefined,
    complianceState: 'Compliant',
    policyDefinitionAction: 'deny',
    timestamp: '2026-03-09T20:00:00Z',
    components: undefined,
    ...overrides,
  };
}

export function extension(extensionType: string, provisioningState: string | undefined = 'Succeeded', name = extensionType): ExtensionFact {
  return { name, extensionType, provisioningState, version: '1.0.0' };
}

export const GOOD_EXTENSIONS: readonly ExtensionFact[] = [
  extension('microsoft.policyinsights'),
  extension('microsoft.azuredefender.kubernetes'),
  extension('microsoft.azuremonitor.containers'),
  extension('microsoft.dataprotection.kubernetes'),
];

export const GOOD_STATES: readonly PolicyStateFact[] = [
  policyState(IDS.automount),
  policyState(IDS.allowedImages),
  policyState(IDS.probes),
  policyState(IDS.noPrivileged, { policySetDefinitionName: IDS.baseline, policyDefinitionReferenceId: 'NoPrivilegedContainers' }),
];

/** A prod cluster that passes every control at {@link RUN_START}. */
export function snapshot(overrides: Partial<ClusterSnapshot> = {}): ClusterSnapshot {
  const name = overrides.name ?? 'c1';
  const rg = overrides.resourceGroup ?? 'rg-prod';
  return {
    id: clusterId(name, rg),
    name,
    subscriptionId: SUB,
    resourceGroup: rg,
    location: 'westeurope',
    kind: undefined,
    tags: { environment: 'prod' },
    properties: {
      distribution: 'k3s',
      kubernetesVersion: '1.30.4',
      connectivityStatus: 'Connected',
      lastConnectivityTime: '2026-03-10T01:00:00Z',
      managedIdentityCertificateExpirationTime: '2026-06-01T00:00:00Z',
      aadProfile: { enableAzureRBAC: true },
      arcAgentProfile: { agentAutoUpgrade: 'Enabled' },
      securityProfile: { workloadIdentity: { enabled: true } },
      oidcIssuerProfile: { enabled: true },
    },
    extensions: GOOD_EXTENSIONS,
    fluxConfigurations: [{ name: 'cluster-config', complianceState: 'Compliant' }],
    policyStates: GOOD_STATES,
    ...overrides,
  };
}

export function context(overrides: Partial<EvaluationContext> = {}, self?: ClusterSnapshot): EvaluationContext {
  return {
    runId: 'run-1',
    runStartedAt: RUN_START,
    resourceGroupPeers: self === undefined ? [] : [self],
    exceptions: [],
    ...overrides,
  };
}

export function exception(overrides: Partial<ControlException> = {}): ControlException {
  return {
    id: 'ex-1',
    controlId: 'ARC-AC-01',
    scope: clusterId('c1').toLowerCase(),
    justification: 'vendor appliance, RBAC handled upstream',
    ticket: 'SEC-42',
    createdBy: 'alice',
    createdAt: '2026-03-01T00:00:00Z',
    expiresAt: '2026-04-01T00:00:00Z',
    ...overrides,
  };
}

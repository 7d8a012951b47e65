/**
 * A hand-written fleet and a small policy-state derivation for emulator tests (the real generator
 * lives in local/arm-emulator/fleet). The derivation honours assignment parameters (`effect`),
 * `notScopes` and `overrides` of kind `policyEffect` with `resourceLocation` selectors.
 */
import type { ArmResource, FleetCluster, FleetModel } from '../../../../local/arm-emulator/fleet-model.js';

export const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const SUB_A = '11111111-1111-1111-1111-111111111111';
export const SUB_B = '22222222-2222-2222-2222-222222222222';
export const BASELINE = 'a8640138-9b0a-4a28-b8cb-1666c838647d';
export const NO_PRIVILEGED = '95edb821-ddaf-4404-9732-666045e056b4';
export const ALLOWED_IMAGES = 'febd0533-8e55-448f-b837-bd0e06f16469';

export function clusterId(sub: string, rg: string, name: string): string {
  return `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Kubernetes/connectedClusters/${name}`;
}

export function makeCluster(sub: string, rg: string, name: string, location: string, extra: Partial<FleetCluster> = {}): FleetCluster {
  const id = clusterId(sub, rg, name);
  return {
    resource: {
      id,
      name,
      type: 'Microsoft.Kubernetes/connectedClusters',
      location,
      kind: name.endsWith('-aks') ? 'ProvisionedCluster' : undefined,
      tags: { environment: 'prod' },
      properties: {
        distribution: 'k3s',
        kubernetesVersion: '1.30.4',
        agentVersion: '1.21.0',
        totalNodeCount: 3,
        provisioningState: 'Succeeded',
        connectivityStatus: 'Connected',
        lastConnectivityTime: '2026-01-01T00:00:00Z',
        managedIdentityCertificateExpirationTime: '2026-06-01T00:00:00Z',
        aadProfile: { enableAzureRBAC: true, adminGroupObjectIDs: ['56f988bf-86f1-41af-91ab-2d7cd011db47'], tenantID: TENANT },
        arcAgentProfile: { agentAutoUpgrade: 'Enabled', desiredAgentVersion: '1.21.0' },
        securityProfile: { workloadIdentity: { enabled: true } },
        oidcIssuerProfile: { enabled: true, issuerUrl: 'https://oidc.example/' },
      },
    },
    extensions: [
      {
        id: `${id}/providers/Microsoft.KubernetesConfiguration/extensions/azurepolicy`,
        name: 'azurepolicy',
        type: 'Microsoft.KubernetesConfiguration/extensions',
        properties: { extensionType: 'microsoft.policyinsights', provisioningState: 'Succeeded', version: '1.8.0', autoUpgradeMinorVersion: true },
      },
    ],
    fluxConfigurations: [
      {
        id: `${id}/providers/Microsoft.KubernetesConfiguration/fluxConfigurations/gitops`,
        name: 'gitops',
        type: 'Microsoft.KubernetesConfiguration/fluxConfigurations',
        properties: { scope: 'cluster', namespace: 'flux-system', sourceKind: 'GitRepository', complianceState: 'Compliant' },
      },
    ],
    violations: [],
    ...extra,
  };
}

export function baselineAssignment(sub: string, effect = 'Audit'): ArmResource {
  return {
    id: `/subscriptions/${sub}/providers/Microsoft.Authorization/policyAssignments/pss-baseline`,
    name: 'pss-baseline',
    type: 'Microsoft.Authorization/policyAssignments',
    properties: {
      displayName: 'Pod Security baseline',
      policyDefinitionId: `/providers/Microsoft.Authorization/policySetDefinitions/${BASELINE}`,
      scope: `/subscriptions/${sub}`,
      notScopes: [],
      enforcementMode: 'Default',
      parameters: { effect: { value: effect } },
    },
  };
}

/** `clustersPerSubscription` clusters in each of two subscriptions; the first cluster of SUB_A runs a privileged pod. */
export function tinyFleet(clustersPerSubscription = 3): FleetModel {
  const clusters: FleetCluster[] = [];
  const locations = ['westeurope', 'East US', 'northeurope'];
  for (const sub of [SUB_A, SUB_B]) {
    for (let i = 0; i < clustersPerSubscription; i++) {
      clusters.push(makeCluster(sub, i % 2 === 0 ? 'edge-rg' : 'store-rg', `c${i}`, locations[i % locations.length]!));
    }
  }
  clusters[0]!.violations.push({ policyDefinitionName: NO_PRIVILEGED, components: [{ id: 'default/priv-pod', name: 'priv-pod', type: 'pod' }] });
  return {
    tenantId: TENANT,
    subscriptions: [
      { subscriptionId: SUB_A, displayName: 'Edge A', state: 'Enabled' },
      { subscriptionId: SUB_B, displayName: 'Edge B', state: 'Enabled' },
    ],
    clusters,
    policyAssignments: [baselineAssignment(SUB_A), baselineAssignment(SUB_B)],
    policyExemptions: [],
    policySets: {
      [BASELINE]: [
        { policyDefinitionId: `/providers/Microsoft.Authorization/policyDefinitions/${NO_PRIVILEGED}`, policyDefinitionReferenceId: 'noPrivilegedContainers' },
        { policyDefinitionId: '/providers/Microsoft.Authorization/policyDefinitions/47a1ee2f-2a2a-4576-bf2a-e0e36709c2b8', policyDefinitionReferenceId: 'noHostNamespace' },
      ],
    },
    remediations: [],
  };
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});
const norm = (s: unknown): string => String(s ?? '').toLowerCase().replace(/\s+/g, '');

function effectFor(assignment: ArmResource, cluster: FleetCluster, referenceId: string | undefined): string {
  const props = obj(assignment['properties']);
  let effect = String(obj(obj(props['parameters'])['effect'])['value'] ?? 'Audit');
  for (const o of Array.isArray(props['overrides']) ? props['overrides'] : []) {
    const override = obj(o);
    if (override['kind'] !== 'policyEffect') continue;
    const selectors = Array.isArray(override['selectors']) ? override['selectors'].map(obj) : [];
    const selected = selectors.every((s) => {
      const values = (Array.isArray(s['in']) ? s['in'] : []).map(norm);
      if (s['kind'] === 'resourceLocation') return values.includes(norm(cluster.resource['location']));
      if (s['kind'] === 'policyDefinitionReferenceId') return values.includes(norm(referenceId));
      return false;
    });
    if (selected) effect = String(override['value']);
  }
  return effect.toLowerCase();
}

export function tinyDerivePolicyStates(fleet: FleetModel, subscriptionId: string, now: Date): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const sub = subscriptionId.toLowerCase();
  for (const cluster of fleet.clusters) {
    const cid = cluster.resource.id.toLowerCase();
    if (!cid.startsWith(`/subscriptions/${sub}/`)) continue;
    for (const a of fleet.policyAssignments) {
      const props = obj(a['properties']);
      const scope = String(props['scope'] ?? '').toLowerCase();
      if (!(cid === scope || cid.startsWith(`${scope}/`))) continue;
      const notScopes = (Array.isArray(props['notScopes']) ? props['notScopes'] : []).map((s) => String(s).toLowerCase());
      if (notScopes.some((s) => cid === s || cid.startsWith(`${s}/`))) continue;
      const defId = String(props['policyDefinitionId']);
      const setName = /policySetDefinitions\/([^/]+)$/i.exec(defId)?.[1]?.toLowerCase();
      const members = setName ? (fleet.policySets[setName] ?? []) : [{ policyDefinitionId: defId, policyDefinitionReferenceId: undefined }];
      for (const m of members) {
        const defName = m.policyDefinitionId.split('/').pop()!.toLowerCase();
        const violation = cluster.violations.find((v) => v.policyDefinitionName === defName);
        const rg = /resourcegroups\/([^/]+)/i.exec(cluster.resource.id)?.[1] ?? '';
        out.push({
          '@odata.id': null,
          '@odata.context': `https://management.azure.com/subscriptions/${subscriptionId}/providers/Microsoft.PolicyInsights/policyStates/$metadata#latest/$entity`,
          timestamp: now.toISOString(),
          resourceId: cid,
          policyAssignmentId: a.id.toLowerCase(),
          policyDefinitionId: m.policyDefinitionId.toLowerCase(),
          isCompliant: violation === undefined,
          subscriptionId,
          resourceType: 'Microsoft.Kubernetes/connectedClusters',
          resourceLocation: norm(cluster.resource['location']),
          resourceGroup: rg,
          policyAssignmentName: a.name,
          policyAssignmentScope: scope,
          policyDefinitionName: defName,
          policyDefinitionAction: effectFor(a, cluster, m.policyDefinitionReferenceId),
          policySetDefinitionId: setName ? defId.toLowerCase() : '',
          policySetDefinitionName: setName ?? '',
          policyDefinitionReferenceId: m.policyDefinitionReferenceId ?? '',
          complianceState: violation ? 'NonCompliant' : 'Compliant',
          ...(violation ? { components: violation.components.map((c) => ({ ...c, timestamp: now.toISOString(), complianceState: 'NonCompliant' })) } : {}),
        });
      }
    }
  }
  return out;
}

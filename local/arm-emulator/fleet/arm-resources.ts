/**
 * Builders for the ARM wire shapes the emulator serves. Property names, casing and order follow the
 * official examples: connectedClusters 2026-03-01, extensions / fluxConfigurations 2023-05-01,
 * policyAssignments 2025-03-01, policyExemptions 2024-12-01-preview.
 */
import type { ArmResource } from '../fleet-model.js';

export const CONNECTED_CLUSTER_TYPE = 'Microsoft.Kubernetes/connectedClusters';
export const EXTENSION_TYPE = 'Microsoft.KubernetesConfiguration/extensions';
export const FLUX_CONFIGURATION_TYPE = 'Microsoft.KubernetesConfiguration/fluxConfigurations';
export const POLICY_ASSIGNMENT_TYPE = 'Microsoft.Authorization/policyAssignments';
export const POLICY_EXEMPTION_TYPE = 'Microsoft.Authorization/policyExemptions';

/** A short, valid base64 stand-in for the agent's public key certificate (never used as a key). */
export const FAKE_AGENT_CERTIFICATE = 'MIIBCgKCAQEAemulatedArcAgentPublicKeyNotARealCertificate0123456789ABCDEFabcdef==';

export function clusterId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${CONNECTED_CLUSTER_TYPE}/${name}`;
}

export interface SystemData {
  createdBy: string;
  createdByType: string;
  createdAt: string;
  lastModifiedBy: string;
  lastModifiedByType: string;
  lastModifiedAt: string;
}

export function systemData(createdAt: Date, modifiedAt: Date, by = 'arc-onboarding@contoso.example'): SystemData {
  return {
    createdBy: by,
    createdByType: 'User',
    createdAt: createdAt.toISOString(),
    lastModifiedBy: by,
    lastModifiedByType: 'User',
    lastModifiedAt: modifiedAt.toISOString(),
  };
}

export interface ClusterResourceInput {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  kind: 'ProvisionedCluster' | undefined;
  identity: Record<string, unknown>;
  /** Already in wire shape (alphabetical, as the examples). */
  properties: Record<string, unknown>;
  systemData: SystemData;
  tags: Record<string, string>;
}

export function clusterResource(input: ClusterResourceInput): ArmResource {
  // Key order as in CreateCluster_KindExample (kind right after identity, only when set).
  const resource: ArmResource = {
    name: input.name,
    type: CONNECTED_CLUSTER_TYPE,
    id: clusterId(input.subscriptionId, input.resourceGroup, input.name),
    identity: input.identity,
  };
  if (input.kind !== undefined) resource['kind'] = input.kind;
  resource['location'] = input.location;
  resource['properties'] = input.properties;
  resource['systemData'] = input.systemData;
  resource['tags'] = input.tags;
  return resource;
}

/** A Microsoft.KubernetesConfiguration child resource of a cluster, as the 2023-05-01 examples show it. */
function clusterChildResource(type: string) {
  return (clusterResourceId: string, name: string, properties: Record<string, unknown>, sysData: SystemData): ArmResource => ({
    id: `${clusterResourceId}/providers/${type}/${name}`,
    type,
    name,
    systemData: sysData,
    properties,
  });
}

export const extensionResource = clusterChildResource(EXTENSION_TYPE);

export interface ExtensionPropertiesInput {
  extensionType: string;
  version: string;
  releaseNamespace: string;
  provisioningState: 'Succeeded' | 'Failed' | 'Creating';
  configurationSettings?: Record<string, string>;
  failureMessage?: string;
  statusTime: string;
}

export function extensionProperties(input: ExtensionPropertiesInput): Record<string, unknown> {
  const failed = input.provisioningState === 'Failed';
  return {
    extensionType: input.extensionType,
    autoUpgradeMinorVersion: true,
    releaseTrain: 'Stable',
    version: null,
    scope: { cluster: { releaseNamespace: input.releaseNamespace } },
    configurationSettings: input.configurationSettings ?? {},
    provisioningState: input.provisioningState,
    currentVersion: input.version,
    statuses: failed
      ? [
          {
            code: 'InstallationFailed',
            displayStatus: 'Failed',
            level: 'Error',
            message: input.failureMessage ?? 'Helm install failed: timed out waiting for the condition',
            time: input.statusTime,
          },
        ]
      : [],
    isSystemExtension: false,
  };
}

export type FluxState = 'Compliant' | 'Non-Compliant' | 'Pending';

export const fluxConfigurationResource = clusterChildResource(FLUX_CONFIGURATION_TYPE);

/**
 * Flux configuration properties (GetFluxConfiguration.json shape). `complianceState` uses the service's
 * FluxComplianceState values: `Compliant`, `Non-Compliant` (with a hyphen), `Pending`…
 */
export function fluxConfigurationProperties(name: string, repoUrl: string, state: FluxState, at: string): Record<string, unknown> {
  const commit = `main/${fluxCommit(name + repoUrl)}`;
  const ready = state === 'Compliant';
  const condition = {
    lastTransitionTime: at,
    message: ready ? `'Applied revision: ${commit}'` : state === 'Pending' ? "'Reconciliation in progress'" : "'kustomize build failed: accumulating resources'",
    reason: ready ? 'ReconciliationSucceeded' : state === 'Pending' ? 'Progressing' : 'BuildFailed',
    status: ready ? 'True' : state === 'Pending' ? 'Unknown' : 'False',
    type: 'Ready',
  };
  return {
    scope: 'cluster',
    namespace: 'flux-system',
    sourceKind: 'GitRepository',
    suspend: false,
    gitRepository: {
      url: repoUrl,
      timeoutInSeconds: 600,
      syncIntervalInSeconds: 600,
      repositoryRef: { branch: 'main', tag: null, semver: null, commit: null },
    },
    kustomizations: {
      apps: { name: 'apps', path: './apps', dependsOn: [], timeoutInSeconds: 600, syncIntervalInSeconds: 600, prune: true, wait: true },
    },
    statuses: [
      { name, kind: 'GitRepository', complianceState: ready ? 'Compliant' : state, appliedBy: null, helmReleaseProperties: null, statusConditions: [condition] },
      { name: `${name}-apps`, kind: 'Kustomization', complianceState: state, appliedBy: null, helmReleaseProperties: null, statusConditions: [condition] },
    ],
    repositoryPublicKey: '',
    sourceSyncedCommitId: commit,
    sourceUpdatedAt: at,
    statusUpdatedAt: at,
    complianceState: state,
    provisioningState: 'Succeeded',
    errorMessage: ready ? '' : condition.message,
  };
}

/** A stable 40-hex pseudo commit id derived from text (FNV-1a, repeated). */
function fluxCommit(text: string): string {
  let out = '';
  let h = 0x811c9dc5;
  for (let round = 0; out.length < 40; round++) {
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ round, 0x01000193) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 40);
}

export interface PolicyAssignmentInput {
  /** Subscription id or resource group id (`/subscriptions/…/resourceGroups/…`), without trailing slash. */
  scope: string;
  name: string;
  displayName: string;
  description: string;
  policyDefinitionId: string;
  definitionVersion: string;
  parameters: Record<string, { value: unknown }>;
  enforcementMode?: 'Default' | 'DoNotEnforce';
  notScopes?: string[];
  overrides?: Record<string, unknown>[];
  resourceSelectors?: Record<string, unknown>[];
  instanceId: string;
  createdOn: string;
}

export function policyAssignmentResource(input: PolicyAssignmentInput): ArmResource {
  const properties: Record<string, unknown> = {
    displayName: input.displayName,
    description: input.description,
    metadata: { assignedBy: 'Platform Security', createdOn: input.createdOn },
    policyDefinitionId: input.policyDefinitionId,
    definitionVersion: input.definitionVersion,
    notScopes: input.notScopes ?? [],
    parameters: input.parameters,
    enforcementMode: input.enforcementMode ?? 'Default',
    scope: input.scope,
  };
  if (input.overrides !== undefined) properties['overrides'] = input.overrides;
  if (input.resourceSelectors !== undefined) properties['resourceSelectors'] = input.resourceSelectors;
  properties['instanceId'] = input.instanceId;
  return {
    properties,
    id: `${input.scope}/providers/${POLICY_ASSIGNMENT_TYPE}/${input.name}`,
    type: POLICY_ASSIGNMENT_TYPE,
    name: input.name,
  };
}

export interface PolicyExemptionInput {
  /** Cluster id, resource group id or subscription id. */
  scope: string;
  name: string;
  policyAssignmentId: string;
  policyDefinitionReferenceIds: string[];
  exemptionCategory: 'Waiver' | 'Mitigated';
  displayName: string;
  description: string;
  expiresOn?: string;
  reason: string;
  systemData: SystemData;
}

export function policyExemptionResource(input: PolicyExemptionInput): ArmResource {
  const properties: Record<string, unknown> = {
    policyAssignmentId: input.policyAssignmentId,
    policyDefinitionReferenceIds: input.policyDefinitionReferenceIds,
    exemptionCategory: input.exemptionCategory,
    displayName: input.displayName,
    description: input.description,
  };
  if (input.expiresOn !== undefined) properties['expiresOn'] = input.expiresOn;
  properties['metadata'] = { reason: input.reason };
  return {
    properties,
    systemData: input.systemData,
    id: `${input.scope}/providers/${POLICY_EXEMPTION_TYPE}/${input.name}`,
    type: POLICY_EXEMPTION_TYPE,
    name: input.name,
  };
}

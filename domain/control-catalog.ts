/**
 * The control catalog: the guidance in "Securing your operations" turned into checkable controls for
 * Azure Arc-enabled Kubernetes clusters. Pure, frozen data plus lookups.
 *
 * The catalog is one object keyed by control id; {@link ControlId} and {@link CONTROL_IDS} are derived
 * from it, so every table keyed by `Record<ControlId, …>` (the checks in `evaluate-cluster.ts`, the
 * hand mappings in `control-mappings.ts`) fails to compile until it covers a new control.
 * Framework requirements are not here: `frameworks.ts` joins the mappings generated from Microsoft's
 * regulatory initiatives (`regulatory-mappings.generated.ts`) with the hand mappings.
 *
 * Policy and initiative ids are built-in GUIDs (lower-case), each in `../shared/azure-policy-builtins`
 * (mirrored in test/fixtures/azure-policy-builtins):
 * - 423dd1ba-798e-40e4-9c4d-b6902674b423 "Kubernetes clusters should disable automounting API
 *   credentials" (BlockAutomountToken.json).
 * - febd0533-8e55-448f-b837-bd0e06f16469 (allowed images), b1a9997f-2883-4f12-bdff-2280f99b5915
 *   (probes), initiatives a8640138-9b0a-4a28-b8cb-1666c838647d (baseline) and
 *   42b8ef37-b724-4e24-bbc8-7a7708edfe00 (restricted).
 * - DeployIfNotExists 0adc5395-9169-4b9b-8687-af838d69410a "Configure Azure Arc enabled Kubernetes
 *   clusters to install the Azure Policy extension" (ArcPolicyExtension_DINE.json, existence condition
 *   extensionType microsoft.policyinsights, provisioningState Succeeded) and its AuditIfNotExists twin
 *   6b2122c1-8120-4ff5-801b-17625a355590 (ArcPolicyExtension_Audit.json).
 * - DeployIfNotExists 708b60a6-d253-4fe0-9114-4be4c00f012c "[Preview]: Configure Azure Arc enabled
 *   Kubernetes clusters to install Microsoft Defender for Cloud extension"
 *   (ASC_Azure_Defender_Arc_Extension_DINE.json) and its AuditIfNotExists twin
 *   8dfab9c4-fe7b-49ad-85e4-1e9be085358f (ASC_Azure_Defender_Arc_Extension_Audit.json).
 * No built-in DeployIfNotExists for the Azure Monitor (Container insights) or backup extension on
 * Arc clusters could be verified, so ARC-TD-02 and ARC-TD-03 name none.
 */
import type { Severity } from './model.js';

export type ControlCategory = 'access-control' | 'policy' | 'threat-detection' | 'updates' | 'operations';

export interface Remediation {
  readonly text: string;
  /** Built-in DeployIfNotExists policy that fixes the finding when assigned with remediation. */
  readonly deployIfNotExistsPolicyDefinitionId?: string | undefined;
  /**
   * The built-in AuditIfNotExists twin of the DeployIfNotExists policy: the definition Microsoft's
   * regulatory initiatives list for the same check (full id).
   */
  readonly auditIfNotExistsPolicyDefinitionId?: string | undefined;
}

/** The Azure Policy definitions and initiatives a policy-backed control reads (lower-case GUIDs). */
export interface PolicySource {
  /** States of these definitions count whether assigned directly or through any initiative. */
  readonly policyDefinitionIds: readonly string[];
  /** States that came through these initiatives count, whatever their member definition. */
  readonly policySetDefinitionIds: readonly string[];
}

/** One catalog entry as written below (the id is its key). */
export interface ControlSpec {
  readonly title: string;
  /** Why the control matters, in the guidance's terms. */
  readonly description: string;
  readonly severity: Severity;
  readonly category: ControlCategory;
  /** What the evaluator reads to decide. */
  readonly evidence: string;
  readonly remediation: Remediation;
  /** Present for controls decided by Azure Policy compliance states. */
  readonly policy?: PolicySource | undefined;
  /**
   * Controls whose policy states this control reads too (ARC-PL-04 judges the effect of the pod
   * security and allowed-images states); their definitions count among this control's.
   */
  readonly readsPolicyStatesOf?: readonly string[] | undefined;
}

// ---------------------------------------------------------------------------------------------
// Built-in policy ids (see the module comment for where each was verified)
// ---------------------------------------------------------------------------------------------

export const POLICY_IDS = {
  blockAutomountToken: '423dd1ba-798e-40e4-9c4d-b6902674b423',
  allowedImages: 'febd0533-8e55-448f-b837-bd0e06f16469',
  probes: 'b1a9997f-2883-4f12-bdff-2280f99b5915',
  podSecurityBaselineInitiative: 'a8640138-9b0a-4a28-b8cb-1666c838647d',
  podSecurityRestrictedInitiative: '42b8ef37-b724-4e24-bbc8-7a7708edfe00',
  arcPolicyExtensionDeployIfNotExists: '0adc5395-9169-4b9b-8687-af838d69410a',
  arcDefenderExtensionDeployIfNotExists: '708b60a6-d253-4fe0-9114-4be4c00f012c',
  arcPolicyExtensionAuditIfNotExists: '6b2122c1-8120-4ff5-801b-17625a355590',
  arcDefenderExtensionAuditIfNotExists: '8dfab9c4-fe7b-49ad-85e4-1e9be085358f',
} as const;

const builtin = (guid: string): string => `/providers/Microsoft.Authorization/policyDefinitions/${guid}`;

// ---------------------------------------------------------------------------------------------
// The catalog
// ---------------------------------------------------------------------------------------------

const DEFINITIONS = {
  'ARC-AC-01': {
    title: 'API server access through Entra ID with Azure RBAC',
    description:
      'Kubernetes has no user accounts of its own; integrating the API server with Microsoft Entra ID and authorizing with Azure RBAC lets you manage and audit who can do what on edge clusters in one central place, least privilege, alongside your cloud resources.',
    severity: 'high',
    category: 'access-control',
    evidence: 'properties.aadProfile.enableAzureRBAC == true',
    remediation: {
      text: 'Enable Azure RBAC on the cluster (az connectedk8s enable-features --features azure-rbac, or enable Entra ID integration with Azure RBAC for AKS on Azure Local) and grant least-privilege Azure Arc Kubernetes roles per namespace.',
    },
  },
  'ARC-AC-02': {
    title: 'Workloads do not automount API credentials',
    description:
      'Non-human access to the API server should be limited to the specific service accounts that need it; automounted service-account tokens give every pod API credentials a compromised workload could use.',
    severity: 'medium',
    category: 'access-control',
    evidence: `Azure Policy states of ${POLICY_IDS.blockAutomountToken} (Kubernetes clusters should disable automounting API credentials)`,
    remediation: {
      text: `Assign the built-in policy ${builtin(POLICY_IDS.blockAutomountToken)} and set automountServiceAccountToken: false on service accounts and pods that do not call the API server.`,
    },
    policy: { policyDefinitionIds: [POLICY_IDS.blockAutomountToken], policySetDefinitionIds: [] },
  },
  'ARC-AC-03': {
    title: 'Workload identity federation for non-human access',
    description:
      'Workloads that need Azure access should use issued, short-lived federated identities rather than stored secrets; this requires the OIDC issuer and workload identity to be enabled on the cluster.',
    severity: 'medium',
    category: 'access-control',
    evidence: 'properties.securityProfile.workloadIdentity.enabled == true and properties.oidcIssuerProfile.enabled == true',
    remediation: {
      text: 'Enable the OIDC issuer and workload identity on the cluster (az connectedk8s update --enable-oidc-issuer --enable-workload-identity) and federate service accounts with managed identities.',
    },
  },
  'ARC-AC-04': {
    title: 'Development, test and production clusters are separated',
    description:
      'Standard practice separates development, test and production clusters. A classified environment tag makes the separation visible, and keeping production out of resource groups shared with non-production keeps Azure RBAC on the control plane from granting access across environments.',
    severity: 'medium',
    category: 'access-control',
    evidence:
      'tag environment (name and value case-insensitive) is dev, test or prod, and no prod cluster shares its subscription and resource group with a non-prod cluster',
    remediation: {
      text: 'Tag every cluster with environment=dev|test|prod and move production clusters into resource groups that contain only production clusters.',
    },
  },
  'ARC-AC-05': {
    title: 'Deployments through GitOps',
    description:
      'Production deployments are more reliably and securely managed with GitOps: changes go through pull requests on a protected Git branch under role-based access control instead of direct API server access.',
    severity: 'low',
    category: 'access-control',
    evidence: 'at least one Flux configuration with complianceState Compliant',
    remediation: {
      text: 'Create a Flux (GitOps) configuration for the cluster (az k8s-configuration flux create) pointing to a repository and branch protected by review and RBAC, and fix reconciliation errors until it reports Compliant.',
    },
  },
  'ARC-PL-01': {
    title: 'Azure Policy extension installed and healthy',
    description:
      "The Azure Policy extension extends Gatekeeper on the cluster to apply pod security enforcement at scale and reports per-resource compliance; without it no Kubernetes policy is assessed or enforced.",
    severity: 'high',
    category: 'policy',
    evidence: 'extension of type microsoft.policyinsights with provisioningState Succeeded',
    remediation: {
      text: 'Install the Azure Policy extension (az k8s-extension create --extension-type Microsoft.PolicyInsights), or assign the built-in DeployIfNotExists policy and run a remediation task.',
      deployIfNotExistsPolicyDefinitionId: builtin(POLICY_IDS.arcPolicyExtensionDeployIfNotExists),
      auditIfNotExistsPolicyDefinitionId: builtin(POLICY_IDS.arcPolicyExtensionAuditIfNotExists),
    },
  },
  'ARC-PL-02': {
    title: 'Pod Security Standards assessed and met',
    description:
      "Validating that all pods meet the Pod Security Standards with Azure Policy's built-in initiatives enforces container security hygiene in a low-code way across the fleet.",
    severity: 'high',
    category: 'policy',
    evidence: `Azure Policy states that came through the pod security baseline (${POLICY_IDS.podSecurityBaselineInitiative}) or restricted (${POLICY_IDS.podSecurityRestrictedInitiative}) initiative`,
    remediation: {
      text: 'Assign the built-in initiative "Kubernetes cluster pod security baseline standards for Linux-based workloads" (or the restricted one) in audit mode, fix the reported non-compliant pods, then move to deny.',
    },
    policy: {
      policyDefinitionIds: [],
      policySetDefinitionIds: [POLICY_IDS.podSecurityBaselineInitiative, POLICY_IDS.podSecurityRestrictedInitiative],
    },
  },
  'ARC-PL-03': {
    title: 'Images only from trusted registries',
    description:
      'Following the Containers Secure Supply Chain framework through the deploy phase means deploying only from your own trusted registries, such as Azure Container Registry.',
    severity: 'high',
    category: 'policy',
    evidence: `Azure Policy states of ${POLICY_IDS.allowedImages} (Kubernetes cluster containers should only use allowed images)`,
    remediation: {
      text: `Assign the built-in policy ${builtin(POLICY_IDS.allowedImages)} with an allowed-images pattern matching your trusted registries.`,
    },
    policy: { policyDefinitionIds: [POLICY_IDS.allowedImages], policySetDefinitionIds: [] },
  },
  'ARC-PL-04': {
    title: 'Production enforces policies (deny), not only audits',
    description:
      "Audit mode is the first step; once existing violations are fixed, policy assignments should move to deny so that further deviations are actively prevented. Production clusters should be in enforcement mode.",
    severity: 'medium',
    category: 'policy',
    evidence: 'on clusters tagged environment=prod: every policy state read by ARC-PL-02 and ARC-PL-03 has policyDefinitionAction deny',
    remediation: {
      text: 'Set the effect parameter of the pod security initiative and allowed-images assignments to Deny for production scopes, rolling out gradually with resource selectors.',
    },
    readsPolicyStatesOf: ['ARC-PL-02', 'ARC-PL-03'],
  },
  'ARC-TD-01': {
    title: 'Defender for Containers sensor deployed',
    description:
      'The Defender for Containers sensor collects logs and sends them to Defender for Cloud, where anomalous behaviour that might indicate an attack is detected, and which supports forensics after an incident.',
    severity: 'high',
    category: 'threat-detection',
    evidence: 'extension of type microsoft.azuredefender.kubernetes with provisioningState Succeeded',
    remediation: {
      text: 'Enable Defender for Containers on the subscription and install the Defender extension (az k8s-extension create --extension-type microsoft.azuredefender.kubernetes), or assign the built-in DeployIfNotExists policy.',
      deployIfNotExistsPolicyDefinitionId: builtin(POLICY_IDS.arcDefenderExtensionDeployIfNotExists),
      auditIfNotExistsPolicyDefinitionId: builtin(POLICY_IDS.arcDefenderExtensionAuditIfNotExists),
    },
  },
  'ARC-TD-02': {
    title: 'Audit logs and monitoring sent to Azure Monitor',
    description:
      'Sending Kubernetes logs and audit logs to Azure Monitor (Log Analytics) lets you monitor control plane changes and retain the evidence an incident response needs.',
    severity: 'medium',
    category: 'threat-detection',
    evidence: 'extension of type microsoft.azuremonitor.containers (legacy azuremonitor-containers) with provisioningState Succeeded',
    remediation: {
      text: 'Install the Azure Monitor Container insights extension (az k8s-extension create --extension-type Microsoft.AzureMonitor.Containers) with a Log Analytics workspace, and for AKS on Azure Local send Kubernetes audit logs there.',
    },
  },
  'ARC-TD-03': {
    title: 'Ready to recover to a known-good state',
    description:
      "An incident response plan should cover how to preserve the cluster's state and recover it to a known-good state; a cluster backup is the minimum that makes recovery possible.",
    severity: 'medium',
    category: 'threat-detection',
    evidence: 'extension of type microsoft.dataprotection.kubernetes (Azure Backup for Kubernetes) with provisioningState Succeeded',
    remediation: {
      text: 'Install the Azure Backup extension (az k8s-extension create --extension-type microsoft.dataprotection.kubernetes), configure a backup policy and practise a restore.',
    },
  },
  'ARC-TD-04': {
    title: 'Break-glass admin access reviewed',
    description:
      'On AKS enabled by Azure Arc the admin client certificate (listAdminKubeconfig) bypasses Entra ID and every per-user policy: it should be used only when nothing else works, stored carefully and deleted afterwards. Each download is a control-plane change to review.',
    severity: 'high',
    category: 'threat-detection',
    evidence:
      'Azure Activity Log: no Succeeded Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action on the cluster within BREAK_GLASS_LOOKBACK_DAYS (default 30) before the run start; kind ProvisionedCluster only',
    remediation: {
      text: 'Review each admin kubeconfig download (caller and time are in the evidence and in GET /api/v1/clusters/{…}/control-plane-events): confirm it was an emergency, make sure the kubeconfig was deleted, rotate the cluster certificates if it may have leaked (az aksarc get-credentials --admin only when Entra ID access is unavailable), then record the review as a time-bound exception for ARC-TD-04 with the incident ticket.',
    },
  },
  'ARC-UP-01': {
    title: 'Readiness and liveness probes configured',
    description:
      'Readiness and liveness probes let Kubernetes learn the state of workloads during rollouts, so urgent security updates can be deployed without interrupting availability.',
    severity: 'low',
    category: 'updates',
    evidence: `Azure Policy states of ${POLICY_IDS.probes} (Ensure cluster containers have readiness or liveness probes configured)`,
    remediation: {
      text: `Assign the built-in policy ${builtin(POLICY_IDS.probes)} and add readiness and liveness probes to the containers it reports.`,
    },
    policy: { policyDefinitionIds: [POLICY_IDS.probes], policySetDefinitionIds: [] },
  },
  'ARC-UP-02': {
    title: 'Arc agents take security updates automatically',
    description:
      'Critical security updates should reach clusters without manual steps; automatic upgrade of the Azure Arc agents keeps the connection to the Azure control plane patched.',
    severity: 'medium',
    category: 'updates',
    evidence: 'properties.arcAgentProfile.agentAutoUpgrade == Enabled',
    remediation: {
      text: 'Turn on agent auto-upgrade (az connectedk8s update --auto-upgrade true).',
    },
  },
  'ARC-OP-01': {
    title: 'Cluster connected to Azure',
    description:
      'Azure Arc cloud management, RBAC, policy and threat detection only reach a cluster while it is connected; a disconnected cluster silently drifts out of governance.',
    severity: 'medium',
    category: 'operations',
    evidence: 'properties.connectivityStatus == Connected and properties.lastConnectivityTime within 24 hours before the run start',
    remediation: {
      text: 'Restore outbound connectivity from the cluster to the Azure Arc endpoints and check the azure-arc agents (kubectl get pods -n azure-arc).',
    },
  },
  'ARC-OP-02': {
    title: 'Managed identity certificate not about to expire',
    description:
      'Microsoft-generated certificates secure the connection between an edge cluster and the Azure control plane; if the managed identity certificate expires the cluster loses that connection and must be reconnected.',
    severity: 'high',
    category: 'operations',
    evidence: 'properties.managedIdentityCertificateExpirationTime more than 30 days after the run start',
    remediation: {
      text: 'Reconnect the cluster to Azure Arc soon enough for the agents to renew the certificate (keep it connected at least once every 90 days); if it has expired, delete and re-create the Arc connection.',
    },
  },
} satisfies Record<string, ControlSpec>;

/** Every control id, in catalog order (the order results are reported in). */
export type ControlId = keyof typeof DEFINITIONS;

export interface ControlDefinition extends ControlSpec {
  readonly id: ControlId;
  readonly readsPolicyStatesOf?: readonly ControlId[] | undefined;
}

export const CONTROL_IDS: readonly ControlId[] = Object.freeze(Object.keys(DEFINITIONS) as ControlId[]);

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function toDefinition(id: ControlId): ControlDefinition {
  const spec: ControlSpec = DEFINITIONS[id];
  const reads = spec.readsPolicyStatesOf;
  if (reads !== undefined && !reads.every((r): r is ControlId => Object.hasOwn(DEFINITIONS, r))) {
    throw new Error(`${id} reads the policy states of a control that is not in the catalog`);
  }
  return { id, ...spec, readsPolicyStatesOf: reads };
}

const CATALOG: readonly ControlDefinition[] = deepFreeze(CONTROL_IDS.map(toDefinition));
const BY_ID: ReadonlyMap<string, ControlDefinition> = new Map(CATALOG.map((c) => [c.id, c]));

/** Every control, in catalog order (the order results are reported in). */
export function listControls(): readonly ControlDefinition[] {
  return CATALOG;
}

/** The control with this exact id, or `undefined`. Ids are case-sensitive (`ARC-AC-01`). */
export function getControl(id: string): ControlDefinition | undefined {
  return BY_ID.get(id);
}

/** Type guard for catalog ids. */
export function isControlId(id: string): id is ControlId {
  return BY_ID.has(id);
}

/**
 * The control catalog: the guidance in "Securing your operations" turned into sixteen checkable
 * controls for Azure Arc-enabled Kubernetes clusters. Pure, frozen data plus lookups.
 *
 * References: each control carries the framework sections of the guidance section it comes from.
 * The guidance lists one References block for its two access-control sections ("Control who can use
 * the Azure control plane…" and "Control who can deploy to your cluster with RBAC"), so the access
 * control (ARC-AC-*) and control-plane connection (ARC-OP-*) controls share it. The section on
 * zero-downtime updates lists no references, so ARC-UP-* carry none rather than invented ones.
 *
 * Policy and initiative ids are built-in GUIDs (lower-case). Where they were verified:
 * - 423dd1ba-798e-40e4-9c4d-b6902674b423 "Kubernetes clusters should disable automounting API
 *   credentials": Azure/azure-policy built-in-policies/policyDefinitions/Kubernetes/BlockAutomountToken.json.
 * - febd0533-8e55-448f-b837-bd0e06f16469 (allowed images), b1a9997f-2883-4f12-bdff-2280f99b5915
 *   (probes), initiatives a8640138-9b0a-4a28-b8cb-1666c838647d (baseline) and
 *   42b8ef37-b724-4e24-bbc8-7a7708edfe00 (restricted): test/fixtures/azure-policy-builtins.
 * - DeployIfNotExists 0adc5395-9169-4b9b-8687-af838d69410a "Configure Azure Arc enabled Kubernetes
 *   clusters to install the Azure Policy extension": Azure/azure-policy
 *   built-in-policies/policyDefinitions/Kubernetes/ArcPolicyExtension_DINE.json (existence condition
 *   extensionType microsoft.policyinsights, provisioningState Succeeded).
 * - DeployIfNotExists 708b60a6-d253-4fe0-9114-4be4c00f012c "[Preview]: Configure Azure Arc enabled
 *   Kubernetes clusters to install Microsoft Defender for Cloud extension": Azure/azure-policy
 *   built-in-policies/policyDefinitions/Kubernetes/ASC_Azure_Defender_Arc_Extension_DINE.json.
 * No built-in DeployIfNotExists for the Azure Monitor (Container insights) or backup extension on
 * Arc clusters could be verified, so ARC-TD-02 and ARC-TD-03 name none.
 */
import type { Framework, Severity } from './model.js';

export const CONTROL_IDS = [
  'ARC-AC-01',
  'ARC-AC-02',
  'ARC-AC-03',
  'ARC-AC-04',
  'ARC-AC-05',
  'ARC-PL-01',
  'ARC-PL-02',
  'ARC-PL-03',
  'ARC-PL-04',
  'ARC-TD-01',
  'ARC-TD-02',
  'ARC-TD-03',
  'ARC-UP-01',
  'ARC-UP-02',
  'ARC-OP-01',
  'ARC-OP-02',
] as const;

export type ControlId = (typeof CONTROL_IDS)[number];

export type ControlCategory = 'access-control' | 'policy' | 'threat-detection' | 'updates' | 'operations';

export interface FrameworkReference {
  readonly framework: Framework;
  /** Section number (CIS, NIST) or section heading (NSA, OWASP). */
  readonly section: string;
  readonly title: string;
}

export interface Remediation {
  readonly text: string;
  /** Built-in DeployIfNotExists policy that fixes the finding when assigned with remediation. */
  readonly deployIfNotExistsPolicyDefinitionId?: string | undefined;
}

/** The Azure Policy definitions and initiatives a policy-backed control reads (lower-case GUIDs). */
export interface PolicySource {
  /** States of these definitions count whether assigned directly or through any initiative. */
  readonly policyDefinitionIds: readonly string[];
  /** States that came through these initiatives count, whatever their member definition. */
  readonly policySetDefinitionIds: readonly string[];
}

export interface ControlDefinition {
  readonly id: ControlId;
  readonly title: string;
  /** Why the control matters, in the guidance's terms. */
  readonly description: string;
  readonly severity: Severity;
  readonly category: ControlCategory;
  /** What the evaluator reads to decide. */
  readonly evidence: string;
  readonly references: readonly FrameworkReference[];
  readonly remediation: Remediation;
  /** Present for controls decided by Azure Policy compliance states. */
  readonly policy?: PolicySource | undefined;
}

// ---------------------------------------------------------------------------------------------
// Framework sections cited by the guidance
// ---------------------------------------------------------------------------------------------

const CIS_3_1: FrameworkReference = { framework: 'cis', section: '3.1', title: 'Authentication and Authorization' };
const CIS_3_2: FrameworkReference = { framework: 'cis', section: '3.2', title: 'Logging' };
const CIS_5_1: FrameworkReference = { framework: 'cis', section: '5.1', title: 'RBAC and Service Accounts' };
const NIST_4_2: FrameworkReference = { framework: 'nist-800-190', section: '4.2', title: 'Registry countermeasures' };
const NIST_4_3_1: FrameworkReference = { framework: 'nist-800-190', section: '4.3.1', title: 'Unbounded administrative access' };
const NIST_4_3_2: FrameworkReference = { framework: 'nist-800-190', section: '4.3.2', title: 'Unauthorized access' };
const NIST_4_4_4: FrameworkReference = { framework: 'nist-800-190', section: '4.4.4', title: 'App vulnerabilities' };
const NIST_4_4_5: FrameworkReference = { framework: 'nist-800-190', section: '4.4.5', title: 'Rogue containers' };
const NSA_AUTH: FrameworkReference = { framework: 'nsa', section: 'Authentication and Authorization', title: 'Authentication and Authorization' };
const NSA_THREAT: FrameworkReference = { framework: 'nsa', section: 'Threat detection', title: 'Threat detection' };
const OWASP_API: FrameworkReference = {
  framework: 'owasp',
  section: 'Controlling access to the Kubernetes API',
  title: 'Controlling access to the Kubernetes API',
};
const OWASP_PSA: FrameworkReference = { framework: 'owasp', section: 'Use Pod Security Admission', title: 'Use Pod Security Admission' };
const OWASP_LOGGING: FrameworkReference = { framework: 'owasp', section: 'Logging', title: 'Logging' };

/** "Control who can use the Azure control plane" + "Control who can deploy … with RBAC". */
const ACCESS_REFERENCES = [CIS_3_1, CIS_5_1, NIST_4_3_1, NIST_4_3_2, NIST_4_4_5, NSA_AUTH, OWASP_API] as const;
/** "Follow a secure container lifecycle … with Azure Policy for Kubernetes". */
const POLICY_REFERENCES = [NIST_4_2, OWASP_PSA] as const;
/** "Detect emerging threats including monitoring control plane changes". */
const THREAT_REFERENCES = [CIS_3_2, NIST_4_4_4, NSA_THREAT, OWASP_LOGGING] as const;

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
} as const;

const builtin = (guid: string): string => `/providers/Microsoft.Authorization/policyDefinitions/${guid}`;

// ---------------------------------------------------------------------------------------------
// The catalog
// ---------------------------------------------------------------------------------------------

const DEFINITIONS: readonly ControlDefinition[] = [
  {
    id: 'ARC-AC-01',
    title: 'API server access through Entra ID with Azure RBAC',
    description:
      'Kubernetes has no user accounts of its own; integrating the API server with Microsoft Entra ID and authorizing with Azure RBAC lets you manage and audit who can do what on edge clusters in one central place, least privilege, alongside your cloud resources.',
    severity: 'high',
    category: 'access-control',
    evidence: 'properties.aadProfile.enableAzureRBAC == true',
    references: ACCESS_REFERENCES,
    remediation: {
      text: 'Enable Azure RBAC on the cluster (az connectedk8s enable-features --features azure-rbac, or enable Entra ID integration with Azure RBAC for AKS on Azure Local) and grant least-privilege Azure Arc Kubernetes roles per namespace.',
    },
  },
  {
    id: 'ARC-AC-02',
    title: 'Workloads do not automount API credentials',
    description:
      'Non-human access to the API server should be limited to the specific service accounts that need it; automounted service-account tokens give every pod API credentials a compromised workload could use.',
    severity: 'medium',
    category: 'access-control',
    evidence: `Azure Policy states of ${POLICY_IDS.blockAutomountToken} (Kubernetes clusters should disable automounting API credentials)`,
    references: ACCESS_REFERENCES,
    remediation: {
      text: `Assign the built-in policy ${builtin(POLICY_IDS.blockAutomountToken)} and set automountServiceAccountToken: false on service accounts and pods that do not call the API server.`,
    },
    policy: { policyDefinitionIds: [POLICY_IDS.blockAutomountToken], policySetDefinitionIds: [] },
  },
  {
    id: 'ARC-AC-03',
    title: 'Workload identity federation for non-human access',
    description:
      'Workloads that need Azure access should use issued, short-lived federated identities rather than stored secrets; this requires the OIDC issuer and workload identity to be enabled on the cluster.',
    severity: 'medium',
    category: 'access-control',
    evidence: 'properties.securityProfile.workloadIdentity.enabled == true and properties.oidcIssuerProfile.enabled == true',
    references: ACCESS_REFERENCES,
    remediation: {
      text: 'Enable the OIDC issuer and workload identity on the cluster (az connectedk8s update --enable-oidc-issuer --enable-workload-identity) and federate service accounts with managed identities.',
    },
  },
  {
    id: 'ARC-AC-04',
    title: 'Development, test and production clusters are separated',
    description:
      'Standard practice separates development, test and production clusters. A classified environment tag makes the separation visible, and keeping production out of resource groups shared with non-production keeps Azure RBAC on the control plane from granting access across environments.',
    severity: 'medium',
    category: 'access-control',
    evidence:
      'tag environment (name and value case-insensitive) is dev, test or prod, and no prod cluster shares its subscription and resource group with a non-prod cluster',
    references: ACCESS_REFERENCES,
    remediation: {
      text: 'Tag every cluster with environment=dev|test|prod and move production clusters into resource groups that contain only production clusters.',
    },
  },
  {
    id: 'ARC-AC-05',
    title: 'Deployments through GitOps',
    description:
      'Production deployments are more reliably and securely managed with GitOps: changes go through pull requests on a protected Git branch under role-based access control instead of direct API server access.',
    severity: 'low',
    category: 'access-control',
    evidence: 'at least one Flux configuration with complianceState Compliant',
    references: ACCESS_REFERENCES,
    remediation: {
      text: 'Create a Flux (GitOps) configuration for the cluster (az k8s-configuration flux create) pointing to a repository and branch protected by review and RBAC, and fix reconciliation errors until it reports Compliant.',
    },
  },
  {
    id: 'ARC-PL-01',
    title: 'Azure Policy extension installed and healthy',
    description:
      "The Azure Policy extension extends Gatekeeper on the cluster to apply pod security enforcement at scale and reports per-resource compliance; without it no Kubernetes policy is assessed or enforced.",
    severity: 'high',
    category: 'policy',
    evidence: 'extension of type microsoft.policyinsights with provisioningState Succeeded',
    references: POLICY_REFERENCES,
    remediation: {
      text: 'Install the Azure Policy extension (az k8s-extension create --extension-type Microsoft.PolicyInsights), or assign the built-in DeployIfNotExists policy and run a remediation task.',
      deployIfNotExistsPolicyDefinitionId: builtin(POLICY_IDS.arcPolicyExtensionDeployIfNotExists),
    },
  },
  {
    id: 'ARC-PL-02',
    title: 'Pod Security Standards assessed and met',
    description:
      "Validating that all pods meet the Pod Security Standards with Azure Policy's built-in initiatives enforces container security hygiene in a low-code way across the fleet.",
    severity: 'high',
    category: 'policy',
    evidence: `Azure Policy states that came through the pod security baseline (${POLICY_IDS.podSecurityBaselineInitiative}) or restricted (${POLICY_IDS.podSecurityRestrictedInitiative}) initiative`,
    references: POLICY_REFERENCES,
    remediation: {
      text: 'Assign the built-in initiative "Kubernetes cluster pod security baseline standards for Linux-based workloads" (or the restricted one) in audit mode, fix the reported non-compliant pods, then move to deny.',
    },
    policy: {
      policyDefinitionIds: [],
      policySetDefinitionIds: [POLICY_IDS.podSecurityBaselineInitiative, POLICY_IDS.podSecurityRestrictedInitiative],
    },
  },
  {
    id: 'ARC-PL-03',
    title: 'Images only from trusted registries',
    description:
      'Following the Containers Secure Supply Chain framework through the deploy phase means deploying only from your own trusted registries, such as Azure Container Registry.',
    severity: 'high',
    category: 'policy',
    evidence: `Azure Policy states of ${POLICY_IDS.allowedImages} (Kubernetes cluster containers should only use allowed images)`,
    references: POLICY_REFERENCES,
    remediation: {
      text: `Assign the built-in policy ${builtin(POLICY_IDS.allowedImages)} with an allowed-images pattern matching your trusted registries.`,
    },
    policy: { policyDefinitionIds: [POLICY_IDS.allowedImages], policySetDefinitionIds: [] },
  },
  {
    id: 'ARC-PL-04',
    title: 'Production enforces policies (deny), not only audits',
    description:
      "Audit mode is the first step; once existing violations are fixed, policy assignments should move to deny so that further deviations are actively prevented. Production clusters should be in enforcement mode.",
    severity: 'medium',
    category: 'policy',
    evidence: 'on clusters tagged environment=prod: every policy state read by ARC-PL-02 and ARC-PL-03 has policyDefinitionAction deny',
    references: POLICY_REFERENCES,
    remediation: {
      text: 'Set the effect parameter of the pod security initiative and allowed-images assignments to Deny for production scopes, rolling out gradually with resource selectors.',
    },
  },
  {
    id: 'ARC-TD-01',
    title: 'Defender for Containers sensor deployed',
    description:
      'The Defender for Containers sensor collects logs and sends them to Defender for Cloud, where anomalous behaviour that might indicate an attack is detected, and which supports forensics after an incident.',
    severity: 'high',
    category: 'threat-detection',
    evidence: 'extension of type microsoft.azuredefender.kubernetes with provisioningState Succeeded',
    references: THREAT_REFERENCES,
    remediation: {
      text: 'Enable Defender for Containers on the subscription and install the Defender extension (az k8s-extension create --extension-type microsoft.azuredefender.kubernetes), or assign the built-in DeployIfNotExists policy.',
      deployIfNotExistsPolicyDefinitionId: builtin(POLICY_IDS.arcDefenderExtensionDeployIfNotExists),
    },
  },
  {
    id: 'ARC-TD-02',
    title: 'Audit logs and monitoring sent to Azure Monitor',
    description:
      'Sending Kubernetes logs and audit logs to Azure Monitor (Log Analytics) lets you monitor control plane changes and retain the evidence an incident response needs.',
    severity: 'medium',
    category: 'threat-detection',
    evidence: 'extension of type microsoft.azuremonitor.containers (legacy azuremonitor-containers) with provisioningState Succeeded',
    references: THREAT_REFERENCES,
    remediation: {
      text: 'Install the Azure Monitor Container insights extension (az k8s-extension create --extension-type Microsoft.AzureMonitor.Containers) with a Log Analytics workspace, and for AKS on Azure Local send Kubernetes audit logs there.',
    },
  },
  {
    id: 'ARC-TD-03',
    title: 'Ready to recover to a known-good state',
    description:
      "An incident response plan should cover how to preserve the cluster's state and recover it to a known-good state; a cluster backup is the minimum that makes recovery possible.",
    severity: 'medium',
    category: 'threat-detection',
    evidence: 'extension of type microsoft.dataprotection.kubernetes (Azure Backup for Kubernetes) with provisioningState Succeeded',
    references: THREAT_REFERENCES,
    remediation: {
      text: 'Install the Azure Backup extension (az k8s-extension create --extension-type microsoft.dataprotection.kubernetes), configure a backup policy and practise a restore.',
    },
  },
  {
    id: 'ARC-UP-01',
    title: 'Readiness and liveness probes configured',
    description:
      'Readiness and liveness probes let Kubernetes learn the state of workloads during rollouts, so urgent security updates can be deployed without interrupting availability.',
    severity: 'low',
    category: 'updates',
    evidence: `Azure Policy states of ${POLICY_IDS.probes} (Ensure cluster containers have readiness or liveness probes configured)`,
    references: [],
    remediation: {
      text: `Assign the built-in policy ${builtin(POLICY_IDS.probes)} and add readiness and liveness probes to the containers it reports.`,
    },
    policy: { policyDefinitionIds: [POLICY_IDS.probes], policySetDefinitionIds: [] },
  },
  {
    id: 'ARC-UP-02',
    title: 'Arc agents take security updates automatically',
    description:
      'Critical security updates should reach clusters without manual steps; automatic upgrade of the Azure Arc agents keeps the connection to the Azure control plane patched.',
    severity: 'medium',
    category: 'updates',
    evidence: 'properties.arcAgentProfile.agentAutoUpgrade == Enabled',
    references: [],
    remediation: {
      text: 'Turn on agent auto-upgrade (az connectedk8s update --auto-upgrade true).',
    },
  },
  {
    id: 'ARC-OP-01',
    title: 'Cluster connected to Azure',
    description:
      'Azure Arc cloud management, RBAC, policy and threat detection only reach a cluster while it is connected; a disconnected cluster silently drifts out of governance.',
    severity: 'medium',
    category: 'operations',
    evidence: 'properties.connectivityStatus == Connected and properties.lastConnectivityTime within 24 hours before the run start',
    references: ACCESS_REFERENCES,
    remediation: {
      text: 'Restore outbound connectivity from the cluster to the Azure Arc endpoints and check the azure-arc agents (kubectl get pods -n azure-arc).',
    },
  },
  {
    id: 'ARC-OP-02',
    title: 'Managed identity certificate not about to expire',
    description:
      'Microsoft-generated certificates secure the connection between an edge cluster and the Azure control plane; if the managed identity certificate expires the cluster loses that connection and must be reconnected.',
    severity: 'high',
    category: 'operations',
    evidence: 'properties.managedIdentityCertificateExpirationTime more than 30 days after the run start',
    references: ACCESS_REFERENCES,
    remediation: {
      text: 'Reconnect the cluster to Azure Arc soon enough for the agents to renew the certificate (keep it connected at least once every 90 days); if it has expired, delete and re-create the Arc connection.',
    },
  },
];

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const CATALOG: readonly ControlDefinition[] = deepFreeze(DEFINITIONS);
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

/** One framework section and the controls that cite it. */
export interface FrameworkSectionIndexEntry {
  readonly framework: Framework;
  readonly section: string;
  readonly title: string;
  /** Control ids in catalog order. */
  readonly controls: readonly ControlId[];
}

export const FRAMEWORKS: readonly Framework[] = Object.freeze(['cis', 'nist-800-190', 'nsa', 'owasp'] as const);

/** Orders `3.1` < `3.2` < `4.3.1` < `4.4.4` numerically; named sections in first-citation order. */
function compareSections(a: string, b: string): number {
  const na = a.split('.').map(Number);
  const nb = b.split('.').map(Number);
  if (na.some(Number.isNaN) || nb.some(Number.isNaN)) return 0;
  for (let i = 0; i < Math.max(na.length, nb.length); i++) {
    const d = (na[i] ?? -1) - (nb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

const SECTION_INDEX: ReadonlyMap<Framework, readonly FrameworkSectionIndexEntry[]> = (() => {
  const index = new Map<Framework, FrameworkSectionIndexEntry[]>();
  for (const framework of FRAMEWORKS) {
    const sections = new Map<string, { title: string; controls: ControlId[] }>();
    for (const control of CATALOG) {
      for (const ref of control.references) {
        if (ref.framework !== framework) continue;
        const entry = sections.get(ref.section) ?? { title: ref.title, controls: [] };
        entry.controls.push(control.id);
        sections.set(ref.section, entry);
      }
    }
    const entries = [...sections.entries()]
      .map(([section, e]) => ({ framework, section, title: e.title, controls: e.controls }))
      .sort((x, y) => compareSections(x.section, y.section));
    index.set(framework, deepFreeze(entries));
  }
  return index;
})();

/** The sections of one framework that the catalog cites, with their controls, in section order. */
export function frameworkSections(framework: Framework): readonly FrameworkSectionIndexEntry[] {
  return SECTION_INDEX.get(framework) ?? [];
}

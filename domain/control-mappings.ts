/**
 * Framework mappings written by hand, each with its source:
 *
 * - {@link SEED_FRAMEWORKS}: the four frameworks the guidance cites (CIS Kubernetes Benchmark, NIST SP
 *   800-190, NSA/CISA, OWASP), at the finest level the guidance and the documents support, with the
 *   documents' own identifiers and headings, and which controls meet each requirement.
 * - {@link CONFIGURATION_MAPPINGS}: the regulatory requirements of the controls read from cluster
 *   configuration (no Azure Policy definition of their own). Each mapping cites its source: a twin
 *   built-in definition that Microsoft's initiative lists for the same setting on another resource
 *   type (the requirements are then exactly that definition's `groupNames` in the initiative, which a
 *   test checks against the initiative file), or a passage of the framework.
 *
 * Policy-backed controls are never mapped here: their regulatory requirements are generated from the
 * initiatives (`regulatory-mappings.generated.ts`). `frameworks.ts` refuses to compile unless every
 * other control has an entry in {@link CONFIGURATION_MAPPINGS} (an empty one says "no requirement").
 */
import type { ControlId } from './control-catalog.js';
import type { RegulatoryFrameworkId } from './regulatory-mappings.generated.js';

export const SEED_FRAMEWORK_IDS = ['cis', 'nist-800-190', 'nsa', 'owasp'] as const;
export type SeedFrameworkId = (typeof SEED_FRAMEWORK_IDS)[number];

/** One requirement of a seed framework: the document's identifier, its heading, and the controls meeting it. */
export interface SeedRequirement {
  readonly id: string;
  readonly title: string;
  readonly controls: readonly ControlId[];
}

export interface SeedFramework {
  readonly title: string;
  readonly version: string;
  /** The document the requirements come from, and where its identifiers can be checked. */
  readonly source: { readonly title: string; readonly url: string };
  readonly requirements: readonly SeedRequirement[];
}

/**
 * The guidance cites CIS Kubernetes Benchmark sections 3.1, 3.2 and 5.1; their recommendations (ids
 * and titles) are those of benchmark v1.10 as kube-bench ships them. A control is listed where the
 * recommendation's own audit or remediation names what the control checks: 3.1.1–3.1.3 all say to use
 * an OIDC provider instead (Entra ID, ARC-AC-01), and 3.1.1 is about client certificates, which the admin
 * kubeconfig of AKS enabled by Azure Arc is (ARC-TD-04 finds each use); 5.1.5 and 5.1.6 both audit
 * `automountServiceAccountToken` (ARC-AC-02). None of the controls reads an audit policy, so 3.2.x are
 * manual.
 */
const CIS_KUBERNETES: SeedFramework = {
  title: 'CIS Kubernetes Benchmark',
  version: '1.10',
  source: {
    title: 'CIS Kubernetes Benchmark v1.10, sections 3.1, 3.2 and 5.1 (recommendations as in aquasecurity/kube-bench cfg/cis-1.10)',
    url: 'https://github.com/aquasecurity/kube-bench/tree/main/cfg/cis-1.10',
  },
  requirements: [
    { id: '3.1.1', title: 'Client certificate authentication should not be used for users', controls: ['ARC-AC-01', 'ARC-TD-04'] },
    { id: '3.1.2', title: 'Service account token authentication should not be used for users', controls: ['ARC-AC-01'] },
    { id: '3.1.3', title: 'Bootstrap token authentication should not be used for users', controls: ['ARC-AC-01'] },
    { id: '3.2.1', title: 'Ensure that a minimal audit policy is created', controls: [] },
    { id: '3.2.2', title: 'Ensure that the audit policy covers key security concerns', controls: [] },
    { id: '5.1.1', title: 'Ensure that the cluster-admin role is only used where required', controls: [] },
    { id: '5.1.2', title: 'Minimize access to secrets', controls: [] },
    { id: '5.1.3', title: 'Minimize wildcard use in Roles and ClusterRoles', controls: [] },
    { id: '5.1.4', title: 'Minimize access to create pods', controls: [] },
    { id: '5.1.5', title: 'Ensure that default service accounts are not actively used', controls: ['ARC-AC-02'] },
    { id: '5.1.6', title: 'Ensure that Service Account Tokens are only mounted where necessary', controls: ['ARC-AC-02'] },
    { id: '5.1.7', title: 'Avoid use of system:masters group', controls: [] },
    { id: '5.1.8', title: 'Limit use of the Bind, Impersonate and Escalate permissions in the Kubernetes cluster', controls: [] },
    { id: '5.1.9', title: 'Minimize access to create persistent volumes', controls: [] },
    { id: '5.1.10', title: 'Minimize access to the proxy sub-resource of nodes', controls: [] },
    { id: '5.1.11', title: 'Minimize access to the approval sub-resource of certificatesigningrequests objects', controls: [] },
    { id: '5.1.12', title: 'Minimize access to webhook configuration objects', controls: [] },
    { id: '5.1.13', title: 'Minimize access to the service account token creation', controls: [] },
  ],
};

/**
 * NIST SP 800-190 at the subsections the guidance cites: 4.2 (registries; only ARC-PL-03 concerns
 * where images come from), 4.3.1 (least-privilege access model: Azure RBAC for people, no automounted
 * tokens for workloads; an admin client certificate is unbounded administrative access, so each use is
 * reviewed, ARC-TD-04), 4.3.2 (authentication through the organisation's directory: Entra ID for people,
 * federated workload identity for workloads), 4.4.4 (runtime defence and hardened pod configuration),
 * 4.4.5 (separate environments, deployments only through controlled, attributable processes).
 */
const NIST_800_190: SeedFramework = {
  title: 'NIST SP 800-190 Application Container Security Guide',
  version: '2017-09',
  source: { title: 'NIST Special Publication 800-190, section 4 (Countermeasures for Major Risks)', url: 'https://doi.org/10.6028/NIST.SP.800-190' },
  requirements: [
    { id: '4.2', title: 'Registry Countermeasures', controls: ['ARC-PL-03'] },
    { id: '4.3.1', title: 'Unbounded administrative access', controls: ['ARC-AC-01', 'ARC-AC-02', 'ARC-TD-04'] },
    { id: '4.3.2', title: 'Unauthorized access', controls: ['ARC-AC-01', 'ARC-AC-03'] },
    { id: '4.4.4', title: 'App vulnerabilities', controls: ['ARC-PL-02', 'ARC-TD-01'] },
    { id: '4.4.5', title: 'Rogue containers', controls: ['ARC-AC-04', 'ARC-AC-05'] },
  ],
};

/** The two sections of the NSA/CISA Kubernetes Hardening Guide the guidance cites, by heading (the guide does not number them). */
const NSA_CISA: SeedFramework = {
  title: 'NSA/CISA Kubernetes Hardening Guide',
  version: '1.2',
  source: { title: 'NSA/CISA Kubernetes Hardening Guidance v1.2 (August 2022)', url: 'https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF' },
  requirements: [
    { id: 'Authentication and authorization', title: 'Authentication and authorization', controls: ['ARC-AC-01', 'ARC-AC-02', 'ARC-AC-03'] },
    { id: 'Threat detection', title: 'Threat detection', controls: ['ARC-TD-01', 'ARC-TD-02', 'ARC-TD-04'] },
  ],
};

/** The OWASP Kubernetes Security Cheat Sheet headings the guidance cites (the cheat sheet does not number them). */
const OWASP: SeedFramework = {
  title: 'OWASP Kubernetes Security Cheat Sheet',
  version: 'current',
  source: { title: 'OWASP Cheat Sheet Series: Kubernetes Security Cheat Sheet', url: 'https://cheatsheetseries.owasp.org/cheatsheets/Kubernetes_Security_Cheat_Sheet.html' },
  requirements: [
    { id: 'Controlling access to the Kubernetes API', title: 'Controlling access to the Kubernetes API', controls: ['ARC-AC-01'] },
    { id: 'Continuously assess the privileges used by containers', title: 'Continuously assess the privileges used by containers', controls: ['ARC-PL-02'] },
    { id: 'Use Pod Security Admission', title: 'Use Pod Security Admission', controls: ['ARC-PL-01', 'ARC-PL-02', 'ARC-PL-04'] },
    { id: 'Logging', title: 'Logging', controls: ['ARC-TD-02'] },
  ],
};

export const SEED_FRAMEWORKS: Readonly<Record<SeedFrameworkId, SeedFramework>> = {
  cis: CIS_KUBERNETES,
  'nist-800-190': NIST_800_190,
  nsa: NSA_CISA,
  owasp: OWASP,
};

/** Where a hand mapping comes from. */
export type MappingSource =
  | {
      /** A built-in definition Microsoft maps in this initiative for the same setting on another resource type. */
      readonly kind: 'twin';
      readonly policyDefinitionId: string;
      readonly displayName: string;
    }
  | {
      /** A passage of the framework itself. */
      readonly kind: 'passage';
      readonly text: string;
    };

/** One framework's requirements for a configuration control: group names without the initiative prefix. */
export interface HandMapping {
  readonly requirements: readonly string[];
  readonly source: MappingSource;
}

export type ConfigurationMapping = Readonly<Partial<Record<RegulatoryFrameworkId, HandMapping>>>;

const twin = (guid: string, displayName: string): MappingSource => ({
  kind: 'twin',
  policyDefinitionId: `/providers/Microsoft.Authorization/policyDefinitions/${guid}`,
  displayName,
});

const AKS_RBAC = twin('ac4a19c2-fa67-49b4-8ae5-0b2e78c49457', 'Role-Based Access Control (RBAC) should be used on Kubernetes Services');
const APP_MANAGED_IDENTITY = twin('2b9ad585-36bc-4615-b300-fd4435808332', 'App Service apps should use managed identity');
const AKS_RESOURCE_LOGS = twin('245fc9df-fa96-4414-9a0b-3738c2f7341c', 'Resource logs in Azure Kubernetes Service should be enabled');
const VM_BACKUP = twin('013e242c-8828-4970-87b3-ab247555486d', 'Azure Backup should be enabled for Virtual Machines');
const AKS_VERSION = twin('fb893a29-21bb-418c-a157-e99480ec364c', 'Kubernetes Services should be upgraded to a non-vulnerable Kubernetes version');
const ALLOWED_IMAGES = twin('febd0533-8e55-448f-b837-bd0e06f16469', 'Kubernetes cluster containers should only use allowed images');
const CERTIFICATE_VALIDITY = twin('0a075868-4c26-42ef-914c-5bc007359560', 'Certificates should have the specified maximum validity period');

/**
 * Regulatory requirements of the controls read from cluster configuration, per framework. A framework
 * left out has no requirement for the control in Microsoft's initiative (docs/controls.md says why).
 */
export const CONFIGURATION_MAPPINGS = {
  'ARC-AC-01': {
    mcsb: { requirements: ['PA-7'], source: AKS_RBAC },
    'nist-800-53-r5': { requirements: ['AC-3(7)'], source: AKS_RBAC },
  },
  'ARC-AC-03': {
    mcsb: { requirements: ['IM-3'], source: APP_MANAGED_IDENTITY },
    'nist-800-53-r5': { requirements: ['AC-2', 'AC-3', 'IA-2', 'IA-4'], source: APP_MANAGED_IDENTITY },
    'pci-dss-4.0.1': { requirements: ['10.2.1.2'], source: APP_MANAGED_IDENTITY },
    'cis-controls-8.1': { requirements: ['3.3'], source: APP_MANAGED_IDENTITY },
  },
  // Separation of environments (PCI DSS 6.5.3, CIS Controls 16.8) is not a group of Microsoft's initiatives.
  'ARC-AC-04': {},
  'ARC-AC-05': {
    'nist-800-53-r5': {
      requirements: ['CM-3'],
      source: { kind: 'passage', text: 'NIST SP 800-53 Rev. 5 CM-3 Configuration Change Control: changes are reviewed and approved before they are implemented, and documented.' },
    },
    'pci-dss-4.0.1': {
      requirements: ['6.5.1'],
      source: { kind: 'passage', text: 'PCI DSS v4.0.1 6.5.1: changes to all system components in the production environment are made according to established procedures.' },
    },
  },
  'ARC-PL-04': {
    mcsb: { requirements: ['PV-2'], source: ALLOWED_IMAGES },
    'nist-800-53-r5': { requirements: ['CM-6'], source: ALLOWED_IMAGES },
  },
  'ARC-TD-02': {
    mcsb: { requirements: ['LT-3'], source: AKS_RESOURCE_LOGS },
    'pci-dss-4.0.1': { requirements: ['10.2.1.2', '10.4.2.1'], source: AKS_RESOURCE_LOGS },
    'cis-controls-8.1': { requirements: ['3.14', '8.1', '8.2', '8.3', '8.5', '8.7', '8.8', '8.9', '13.11'], source: AKS_RESOURCE_LOGS },
    'nist-csf-2.0': { requirements: ['DE.AE_03'], source: AKS_RESOURCE_LOGS },
  },
  'ARC-TD-03': {
    mcsb: { requirements: ['BR-1', 'BR-2'], source: VM_BACKUP },
    'nist-800-53-r5': { requirements: ['CP-9'], source: VM_BACKUP },
    'nist-csf-2.0': { requirements: ['PR.DS_01'], source: VM_BACKUP },
  },
  'ARC-UP-02': {
    'nist-800-53-r5': { requirements: ['SI-2', 'SI-2(6)'], source: AKS_VERSION },
    'pci-dss-4.0.1': { requirements: ['6.3.3'], source: AKS_VERSION },
    'cis-controls-8.1': {
      requirements: ['10.7', '12.1', '12.3', '13.1', '13.3', '16.2', '16.5', '16.6', '16.7', '16.12', '16.13', '18.1', '18.2', '18.3', '18.4', '18.5'],
      source: AKS_VERSION,
    },
    'nist-csf-2.0': { requirements: ['DE.CM_09'], source: AKS_VERSION },
  },
  // Review of emergency (break-glass) access: no built-in definition audits the use of an admin
  // credential, so each mapping cites the requirement's own text (paraphrased).
  'ARC-TD-04': {
    mcsb: {
      requirements: ['PA-5'],
      source: { kind: 'passage', text: 'Microsoft cloud security benchmark v3 PA-5 Set up emergency access: keep emergency (break-glass) access for when normal administrative access is unavailable, protect its credentials, and monitor and audit every use of it.' },
    },
    'nist-800-53-r5': {
      requirements: ['AC-6(9)', 'AU-6'],
      source: { kind: 'passage', text: 'NIST SP 800-53 Rev. 5 AC-6(9) Log Use of Privileged Functions, and AU-6 Audit Record Review, Analysis, and Reporting: the execution of privileged functions is logged, and audit records are reviewed for inappropriate or unusual activity.' },
    },
    'pci-dss-4.0.1': {
      requirements: ['10.2.1.2'],
      source: { kind: 'passage', text: 'PCI DSS v4.0.1 10.2.1.2: audit logs capture all actions taken by any individual with administrative access, including any interactive use of application or system accounts.' },
    },
    'cis-controls-8.1': {
      requirements: ['8.11'],
      source: { kind: 'passage', text: 'CIS Controls v8.1 8.11 Conduct Audit Log Reviews: review audit logs to detect anomalies or abnormal events that could indicate a potential threat, on a regular basis.' },
    },
    'nist-csf-2.0': {
      requirements: ['DE.CM_03'],
      source: { kind: 'passage', text: 'NIST CSF 2.0 DE.CM-03: personnel activity and technology usage are monitored to find potentially adverse events.' },
    },
  },
  // No group of the initiatives concerns the management connection of a hybrid resource.
  'ARC-OP-01': {},
  'ARC-OP-02': {
    mcsb: { requirements: ['DP-7'], source: CERTIFICATE_VALIDITY },
    'nist-800-53-r5': { requirements: ['IA-5'], source: CERTIFICATE_VALIDITY },
  },
} as const satisfies Readonly<Partial<Record<ControlId, ConfigurationMapping>>>;

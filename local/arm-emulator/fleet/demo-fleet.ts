/**
 * The default demo fleet: three subscriptions of edge sites (retail stores, factories, branch offices),
 * 30 Arc-connected clusters, and the Azure Policy assignments around them.
 *
 * The security-relevant facts are a hand-written table, so every control of the catalog both passes
 * and fails somewhere whatever the seed; the seed only varies cosmetic details (versions, node counts,
 * identities, pod names, heartbeat jitter). The comment above each group of rows says which
 * assignment situation (resource-group wave, location override, missing assignment) it exercises.
 */
import type { ArmResource, FleetCluster, FleetModel, FleetSubscription, WorkloadViolation } from '../fleet-model.js';
import { clusterId, clusterResource, policyAssignmentResource, policyExemptionResource, systemData } from './arm-resources.js';
import { PSS_BASELINE_INITIATIVE, PSS_RESTRICTED_INITIATIVE, builtinPolicySets } from './builtin-initiatives.js';
import { clusterExtensions, clusterFluxConfigurations, clusterProperties, type ClusterTraits } from './cluster-traits.js';
import { DEF, policyDefinitionId, policySetDefinitionId } from './policy-catalog.js';
import { seededRandom, type SeededRandom } from './seeded-random.js';
import { demoActivityLog } from './activity-log.js';

const DAY_MS = 86_400_000;

export const DEMO_TENANT_ID = '4d2c9f6e-8a13-4b70-9e25-c1f0a7d3b604';

/** Stable subscription ids of the demo fleet (the same for every seed). */
export const DEMO_SUBSCRIPTIONS = {
  retail: '7c3e1a52-4b9d-4f0e-9a61-2d8f5c7b1e01',
  factories: '2f9b6d84-1c3a-4e57-8b20-6a4d9e3f7c02',
  branches: 'b45a0e17-93d2-4c68-a1f5-0e7c3b9d2a03',
} as const;

type SubKey = keyof typeof DEMO_SUBSCRIPTIONS;

const SUBSCRIPTION_NAMES: Record<SubKey, string> = {
  retail: 'Contoso Retail Stores',
  factories: 'Contoso Manufacturing Sites',
  branches: 'Contoso Branch Offices',
};

/** Workload violations by short key → definition GUID (see policy-catalog). */
type ViolationKey = 'privileged' | 'hostNetwork' | 'hostPath' | 'runAsRoot' | 'seccomp' | 'images' | 'probes' | 'automount';

interface DemoClusterRow extends Omit<ClusterTraits, 'kind'> {
  sub: SubKey;
  rg: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  kind?: 'ProvisionedCluster';
  /** Violation key → number of offending pods. */
  violations?: Partial<Record<ViolationKey, number>>;
}

const PC = { kind: 'ProvisionedCluster' as const, distribution: 'AKS', infrastructure: 'azure_stack_hci' };
const K3S = { distribution: 'k3s', infrastructure: 'generic' };
const EDGE = { distribution: 'AKS_Edge_K8S', infrastructure: 'generic' };
const OPENSHIFT = { distribution: 'openshift', infrastructure: 'vsphere' };
const RKE = { distribution: 'rancher_rke', infrastructure: 'generic' };
const GOOD = {
  rbac: 'on',
  identity: 'wi+oidc',
  flux: 'compliant',
  policyExtension: 'ok',
  defender: 'ok',
  monitor: 'ok-lower',
  backup: 'ok',
  autoUpgrade: 'Enabled',
  connectivity: 'ok',
} as const;

// prettier-ignore
const ROWS: DemoClusterRow[] = [
  // Retail stores: PSS baseline + allowed images audit at subscription scope, deny on rg-stores-prod-weu
  // through resource-group assignments and notScopes (a resource-group wave).
  { sub: 'retail', rg: 'rg-stores-prod-weu', name: 'store-ams-001', location: 'westeurope', tags: { Environment: 'prod', site: 'amsterdam-001' }, ...PC, ...GOOD, certificateDays: 240 },
  { sub: 'retail', rg: 'rg-stores-prod-weu', name: 'store-rtm-002', location: 'westeurope', tags: { environment: 'Prod', site: 'rotterdam-002' }, ...K3S, ...GOOD, monitor: 'ok-pascal', backup: 'missing', certificateDays: 180, violations: { images: 2 } },
  { sub: 'retail', rg: 'rg-stores-prod-neu', name: 'store-dub-003', location: 'northeurope', tags: { Environment: 'prod', site: 'dublin-003' }, ...PC, ...GOOD, rbac: 'off', identity: 'off', flux: 'noncompliant', defender: 'missing', monitor: 'ok-legacy', autoUpgrade: 'Disabled', certificateDays: 20, violations: { privileged: 1, probes: 3 } },
  { sub: 'retail', rg: 'rg-stores-prod-neu', name: 'store-cork-004', location: 'northeurope', tags: { environment: 'prod', site: 'cork-004' }, ...K3S, ...GOOD, rbac: 'missing', identity: 'oidc-only', flux: 'none', policyExtension: 'failed', backup: 'missing', connectivity: 'offline', certificateDays: 90 },
  { sub: 'retail', rg: 'rg-stores-dev-weu', name: 'store-dev-weu-005', location: 'westeurope', tags: { Environment: 'dev' }, ...K3S, ...GOOD, rbac: 'off', identity: 'off', flux: 'mixed', defender: 'missing', monitor: 'missing', backup: 'missing', autoUpgrade: 'Disabled', certificateDays: 300, violations: { automount: 4, privileged: 2, images: 250, probes: 6 } },
  { sub: 'retail', rg: 'rg-stores-dev-weu', name: 'store-test-weu-006', location: 'westeurope', tags: { environment: 'test' }, ...EDGE, ...GOOD, monitor: 'ok-legacy', certificateDays: 400, violations: { hostNetwork: 1 } },
  { sub: 'retail', rg: 'rg-stores-uks', name: 'store-lon-007', location: 'uksouth', tags: { Environment: 'prod', site: 'london-007' }, ...PC, ...GOOD, monitor: 'ok-pascal', certificateDays: 200 },
  { sub: 'retail', rg: 'rg-stores-uks', name: 'store-lon-lab-008', location: 'uksouth', tags: { environment: 'dev', site: 'london-lab' }, ...K3S, ...GOOD, identity: 'oidc-only', flux: 'none', monitor: 'failed', backup: 'missing', connectivity: 'stale', certificateDays: 150, violations: { automount: 1 } },
  { sub: 'retail', rg: 'rg-stores-pilot-uks', name: 'store-man-009', location: 'uksouth', tags: { site: 'manchester-009' }, ...K3S, ...GOOD, rbac: 'off', identity: 'missing', flux: 'noncompliant', policyExtension: 'missing', defender: 'missing', monitor: 'missing', backup: 'missing', autoUpgrade: 'Disabled', connectivity: 'expired', certificateDays: 5 },
  { sub: 'retail', rg: 'rg-stores-pilot-uks', name: 'store-edi-010', location: 'uksouth', tags: { Environment: 'staging', site: 'edinburgh-010' }, ...OPENSHIFT, ...GOOD, certificateDays: 365, violations: { probes: 2 } },

  // Factories: PSS restricted (not on rg-factory-dev-cus) and allowed images audit, overridden to Deny
  // in westus2 (a location wave); probes in DoNotEnforce; automount only for eastus/westus2 (resourceSelectors).
  { sub: 'factories', rg: 'rg-factory-prod-wus2', name: 'factory-sea-011', location: 'westus2', tags: { Environment: 'prod', site: 'seattle-011' }, ...PC, ...GOOD, certificateDays: 220 },
  { sub: 'factories', rg: 'rg-factory-prod-wus2', name: 'factory-pdx-012', location: 'westus2', tags: { environment: 'prod', site: 'portland-012' }, ...PC, ...GOOD, identity: 'oidc-only', monitor: 'ok-legacy', certificateDays: 25, violations: { runAsRoot: 2 } },
  { sub: 'factories', rg: 'rg-factory-prod-eus', name: 'factory-nyc-013', location: 'eastus', tags: { Environment: 'prod', site: 'newark-013' }, distribution: 'generic', infrastructure: 'generic', ...GOOD, rbac: 'off', identity: 'off', flux: 'noncompliant', defender: 'failed', monitor: 'ok-pascal', backup: 'missing', autoUpgrade: 'Disabled', certificateDays: 120, violations: { images: 3, seccomp: 2 } },
  { sub: 'factories', rg: 'rg-factory-prod-eus', name: 'factory-det-014', location: 'eastus', tags: { environment: 'prod', site: 'detroit-014' }, ...RKE, ...GOOD, certificateDays: 60, violations: { images: 1 } },
  { sub: 'factories', rg: 'rg-factory-test-eus', name: 'factory-bos-015', location: 'eastus', tags: { Environment: 'test', site: 'boston-015' }, ...K3S, ...GOOD, rbac: 'missing', identity: 'off', flux: 'none', policyExtension: 'failed', defender: 'missing', monitor: 'missing', backup: 'missing', autoUpgrade: 'Disabled', connectivity: 'offline', certificateDays: 45, violations: { seccomp: 1, automount: 2 } },
  { sub: 'factories', rg: 'rg-factory-dev-cus', name: 'factory-chi-016', location: 'centralus', tags: { environment: 'dev', site: 'chicago-016' }, ...K3S, ...GOOD, flux: 'mixed', monitor: 'ok-legacy', certificateDays: 500, violations: { privileged: 1 } },
  { sub: 'factories', rg: 'rg-factory-dev-cus', name: 'factory-dal-017', location: 'centralus', tags: { Environment: 'Dev', site: 'dallas-017' }, ...PC, ...GOOD, rbac: 'off', identity: 'oidc-only', flux: 'pending', backup: 'missing', connectivity: 'stale', certificateDays: 75, violations: { probes: 1 } },
  { sub: 'factories', rg: 'rg-factory-test-wus2', name: 'factory-sjc-018', location: 'westus2', tags: { environment: 'test', site: 'san-jose-018' }, ...K3S, ...GOOD, defender: 'missing', monitor: 'ok-pascal', autoUpgrade: 'Disabled', certificateDays: 33, violations: { hostNetwork: 2 } },
  { sub: 'factories', rg: 'rg-factory-sandbox-eus', name: 'factory-aus-019', location: 'eastus', tags: {}, ...K3S, ...GOOD, rbac: 'off', identity: 'off', flux: 'none', policyExtension: 'missing', defender: 'missing', monitor: 'missing', backup: 'missing', autoUpgrade: 'Disabled', connectivity: 'expired', certificateDays: 2 },
  { sub: 'factories', rg: 'rg-factory-prod-wus2', name: 'factory-phx-020', location: 'westus2', tags: { Environment: 'PROD', site: 'phoenix-020' }, ...PC, ...GOOD, certificateDays: 100, violations: { automount: 1 } },

  // Branch offices: PSS baseline and allowed images audit, overridden to Deny everywhere but eastus
  // (notIn selector); no probes and no automount assignment (controls report not-assigned).
  { sub: 'branches', rg: 'rg-branch-prod-weu', name: 'branch-par-021', location: 'westeurope', tags: { Environment: 'prod', site: 'paris-021' }, ...PC, ...GOOD, certificateDays: 260 },
  { sub: 'branches', rg: 'rg-branch-prod-weu', name: 'branch-ber-022', location: 'westeurope', tags: { environment: 'prod', site: 'berlin-022' }, ...K3S, ...GOOD, identity: 'off', backup: 'missing', certificateDays: 28, violations: { hostPath: 1 } },
  { sub: 'branches', rg: 'rg-branch-prod-uks', name: 'branch-lds-023', location: 'uksouth', tags: { Environment: 'prod', site: 'leeds-023' }, distribution: 'microk8s', infrastructure: 'generic', ...GOOD, rbac: 'off', identity: 'oidc-only', flux: 'noncompliant', policyExtension: 'failed', monitor: 'ok-legacy', autoUpgrade: 'Disabled', connectivity: 'offline', certificateDays: 210, violations: { images: 2 } },
  { sub: 'branches', rg: 'rg-branch-prod-eus', name: 'branch-atl-024', location: 'eastus', tags: { environment: 'prod', site: 'atlanta-024' }, ...PC, ...GOOD, monitor: 'ok-pascal', certificateDays: 365 },
  { sub: 'branches', rg: 'rg-branch-prod-eus', name: 'branch-mia-025', location: 'eastus', tags: { Environment: 'prod', site: 'miami-025' }, ...K3S, ...GOOD, rbac: 'missing', identity: 'missing', flux: 'none', policyExtension: 'missing', defender: 'missing', monitor: 'missing', backup: 'missing', autoUpgrade: 'Disabled', connectivity: 'expired', certificateDays: 10, violations: { privileged: 1, images: 5 } },
  { sub: 'branches', rg: 'rg-branch-prod-eus', name: 'branch-dev-026', location: 'eastus', tags: { environment: 'dev', site: 'atlanta-lab' }, ...K3S, ...GOOD, flux: 'pending', backup: 'missing', certificateDays: 80 },
  { sub: 'branches', rg: 'rg-branch-dev-uks', name: 'branch-dev-027', location: 'uksouth', tags: { Environment: 'dev' }, ...K3S, ...GOOD, flux: 'mixed', certificateDays: 130, violations: { hostNetwork: 1 } },
  { sub: 'branches', rg: 'rg-branch-test-neu', name: 'branch-test-028', location: 'northeurope', tags: { environment: 'test' }, ...OPENSHIFT, ...GOOD, rbac: 'off', identity: 'off', monitor: 'ok-legacy', backup: 'missing', certificateDays: 95 },
  { sub: 'branches', rg: 'rg-branch-test-neu', name: 'branch-kiosk-029', location: 'northeurope', tags: { env: 'test', site: 'kiosk-029' }, ...K3S, ...GOOD, identity: 'oidc-only', flux: 'none', policyExtension: 'failed', defender: 'failed', monitor: 'failed', backup: 'missing', autoUpgrade: 'Disabled', connectivity: 'stale', certificateDays: 15 },
  { sub: 'branches', rg: 'rg-branch-dev-uks', name: 'branch-lab-030', location: 'uksouth', tags: { environment: 'dev' }, ...PC, ...GOOD, certificateDays: 700, violations: { images: 1, privileged: 1 } },
];

const VIOLATION_DEFINITIONS: Record<ViolationKey, string> = {
  privileged: DEF.privileged,
  hostNetwork: DEF.hostNetwork,
  hostPath: DEF.hostPath,
  runAsRoot: DEF.runAsRoot,
  seccomp: DEF.seccomp,
  images: DEF.allowedImages,
  probes: DEF.probes,
  automount: DEF.automount,
};

const WORKLOADS: Record<SubKey, readonly { ns: string; apps: readonly string[] }[]> = {
  retail: [
    { ns: 'pos', apps: ['pos-api', 'receipt-printer', 'payment-gateway'] },
    { ns: 'inventory', apps: ['stock-sync', 'shelf-camera', 'price-labels'] },
  ],
  factories: [
    { ns: 'opcua', apps: ['opcua-gateway', 'plc-bridge', 'historian'] },
    { ns: 'vision', apps: ['defect-detector', 'frame-grabber'] },
  ],
  branches: [
    { ns: 'kiosk', apps: ['kiosk-web', 'queue-display'] },
    { ns: 'office', apps: ['print-spooler', 'badge-reader', 'wifi-portal'] },
  ],
};

function violationsFor(row: DemoClusterRow, rnd: SeededRandom): WorkloadViolation[] {
  const out: WorkloadViolation[] = [];
  for (const [key, count] of Object.entries(row.violations ?? {}) as [ViolationKey, number][]) {
    const components = [];
    for (let i = 0; i < count; i++) {
      const workload = rnd.pick(WORKLOADS[row.sub]);
      const pod = `${rnd.pick(workload.apps)}-${rnd.hex(8)}-${rnd.hex(5)}`;
      components.push({ id: `${workload.ns}/${pod}`, name: pod, type: 'pod' });
    }
    out.push({ policyDefinitionName: VIOLATION_DEFINITIONS[key], components });
  }
  return out;
}

const K8S_VERSIONS = ['1.29.9', '1.30.6', '1.31.4', '1.32.2'] as const;
const AGENT_VERSIONS = ['1.21.10', '1.22.4', '1.23.1'] as const;

function buildCluster(row: DemoClusterRow, rnd: SeededRandom, now: Date): FleetCluster {
  const subscriptionId = DEMO_SUBSCRIPTIONS[row.sub];
  const id = clusterId(subscriptionId, row.rg, row.name);
  const traits: ClusterTraits = { ...row, kind: row.kind };
  const created = new Date(now.getTime() - rnd.int(120, 700) * DAY_MS);
  const modified = new Date(now.getTime() - rnd.int(1, 60) * DAY_MS);
  const sys = systemData(created, modified);
  const properties = clusterProperties(traits, {
    now,
    tenantId: DEMO_TENANT_ID,
    kubernetesVersion: rnd.pick(K8S_VERSIONS),
    agentVersion: rnd.pick(AGENT_VERSIONS),
    totalNodeCount: rnd.int(1, 5),
    heartbeatMinutes: rnd.int(1, 30),
    adminGroupObjectId: rnd.guid(),
    issuerUrl: `https://oidcdiscovery-${row.location}-endpoint.z01.azurefd.net/${rnd.guid()}/`,
  });
  const resource = clusterResource({
    subscriptionId,
    resourceGroup: row.rg,
    name: row.name,
    location: row.location,
    kind: row.kind,
    identity: { type: 'SystemAssigned', principalId: rnd.guid(), tenantId: DEMO_TENANT_ID },
    properties,
    systemData: sys,
    tags: { ...row.tags },
  });
  const statusTime = modified.toISOString();
  return {
    resource,
    extensions: clusterExtensions(id, row.name, traits, sys, statusTime),
    fluxConfigurations: clusterFluxConfigurations(id, `https://dev.azure.com/contoso/edge/_git/platform-${row.sub}`, traits, sys, statusTime),
    violations: violationsFor(row, rnd),
  };
}

function subScope(sub: SubKey): string {
  return `/subscriptions/${DEMO_SUBSCRIPTIONS[sub]}`;
}

function rgScope(sub: SubKey, rg: string): string {
  return `${subScope(sub)}/resourceGroups/${rg}`;
}

const ALLOWED_IMAGES_REGEX = '^(contosoedge\\.azurecr\\.io|mcr\\.microsoft\\.com)\\/.+$';

function buildAssignments(rnd: SeededRandom, now: Date): ArmResource[] {
  const createdOn = new Date(now.getTime() - 200 * DAY_MS).toISOString();
  const common = { createdOn, definitionVersion: '1.*.*' };
  const baselineId = policySetDefinitionId(PSS_BASELINE_INITIATIVE.name);
  const restrictedId = policySetDefinitionId(PSS_RESTRICTED_INITIATIVE.name);
  const baselineDisplay = 'Pod Security Standards: baseline';
  const imagesDisplay = 'Containers only from trusted registries';
  const effect = (value: string) => ({ effect: { value } });
  const images = (value: string) => ({ effect: { value }, allowedContainerImagesRegex: { value: ALLOWED_IMAGES_REGEX } });
  const prodWeu = rgScope('retail', 'rg-stores-prod-weu');
  return [
    // retail
    policyAssignmentResource({ ...common, scope: subScope('retail'), name: 'pss-baseline', displayName: baselineDisplay, description: 'Audit Pod Security baseline on every store cluster.', policyDefinitionId: baselineId, definitionVersion: '1.*.*', parameters: effect('Audit'), notScopes: [prodWeu], instanceId: rnd.guid() }),
    policyAssignmentResource({ ...common, scope: prodWeu, name: 'pss-baseline-deny', displayName: `${baselineDisplay} (enforced)`, description: 'Enforce Pod Security baseline on the West Europe production stores.', policyDefinitionId: baselineId, parameters: effect('Deny'), instanceId: rnd.guid() }),
    policyAssignmentResource({ ...common, scope: subScope('retail'), name: 'allowed-images', displayName: imagesDisplay, description: 'Audit images outside the Contoso registries.', policyDefinitionId: policyDefinitionId(DEF.allowedImages), definitionVersion: '9.*.*', parameters: images('audit'), notScopes: [prodWeu], instanceId: rnd.guid() }),
    policyAssignmentResource({ ...common, scope: prodWeu, name: 'allowed-images-deny', displayName: `${imagesDisplay} (enforced)`, description: 'Deny images outside the Contoso registries on the West Europe production stores.', policyDefinitionId: policyDefinitionId(DEF.allowedImages), definitionVersion: '9.*.*', parameters: images('deny'), instanceId: rnd.guid() }),
    policyAssignmentResource({ ...common, scope: subScope('retail'), name: 'container-probes', displayName: 'Readiness or liveness probes', description: 'Audit containers without probes.', policyDefinitionId: policyDefinitionId(DEF.probes), definitionVersion: '3.*.*', parameters: effect('Audit'), instanceId: rnd.guid() }),
    policyAssignmentResource({ ...common, scope: subScope('retail'), name: 'no-automount-credentials', displayName: 'No automounted API credentials', description: 'Audit pods that automount service account tokens.', policyDefinitionId: policyDefinitionId(DEF.automount), parameters: effect('Audit'), instanceId: rnd.guid() }),
    // factories
    policyAssignmentResource({ ...common, scope: subScope('factories'), name: 'pss-restricted', displayName: 'Pod Security Standards: restricted', description: 'Pod Security restricted on factory clusters; enforced in West US 2 first.', policyDefinitionId: restrictedId, definitionVersion: '2.*.*', parameters: effect('Audit'), notScopes: [rgScope('factories', 'rg-factory-dev-cus')], overrides: [{ kind: 'policyEffect', value: 'Deny', selectors: [{ kind: 'resourceLocation', in: ['westus2'] }] }], instanceId: rnd.guid() }),
    policyAssignmentResource({ ...common, scope: subScope('factories'), name: 'allowed-images', displayName: imagesDisplay, description: 'Trusted registries on factory clusters; enforced in West US 2 first.', policyDefinitionId: policyDefinitionId(DEF.allowedImages), definitionVersion: '9.*.*', parameters: images('audit'), overrides: [{ kind: 'policyEffect', value: 'Deny', selectors: [{ kind: 'resourceLocation', in: ['westus2'] }] }], instanceId: rnd.guid() }),
    policyAssignmentResource({ ...common, scope: subScope('factories'), name: 'container-probes', displayName: 'Readiness or liveness probes', description: 'What-if: probes required on factory clusters.', policyDefinitionId: policyDefinitionId(DEF.probes), definitionVersion: '3.*.*', parameters: effect('Deny'), enforcementMode: 'DoNotEnforce', instanceId: rnd.guid() }),
    policyAssignmentResource({ ...common, scope: subScope('factories'), name: 'no-automount-credentials', displayName: 'No automounted API credentials', description: 'Automount audit, rolled out to East US and West US 2 so far.', policyDefinitionId: policyDefinitionId(DEF.automount), parameters: effect('Audit'), resourceSelectors: [{ name: 'SDPRegions', selectors: [{ kind: 'resourceLocation', in: ['eastus', 'westus2'] }] }], instanceId: rnd.guid() }),
    // branches (no probes, no automount assignment on purpose)
    policyAssignmentResource({ ...common, scope: subScope('branches'), name: 'pss-baseline', displayName: baselineDisplay, description: 'Pod Security baseline on branch clusters; enforced outside East US.', policyDefinitionId: baselineId, parameters: effect('Audit'), overrides: [{ kind: 'policyEffect', value: 'Deny', selectors: [{ kind: 'resourceLocation', notIn: ['eastus'] }] }], instanceId: rnd.guid() }),
    policyAssignmentResource({ ...common, scope: subScope('branches'), name: 'allowed-images', displayName: imagesDisplay, description: 'Trusted registries on branch clusters; enforced outside East US.', policyDefinitionId: policyDefinitionId(DEF.allowedImages), definitionVersion: '9.*.*', parameters: images('audit'), overrides: [{ kind: 'policyEffect', value: 'Deny', selectors: [{ kind: 'resourceLocation', notIn: ['eastus'] }] }], instanceId: rnd.guid() }),
  ];
}

function buildExemptions(now: Date): ArmResource[] {
  const sys = systemData(new Date(now.getTime() - 30 * DAY_MS), new Date(now.getTime() - 30 * DAY_MS), 'security-lead@contoso.example');
  const factoriesAssignment = (name: string) => `${subScope('factories')}/providers/Microsoft.Authorization/policyAssignments/${name}`;
  return [
    policyExemptionResource({
      scope: clusterId(DEMO_SUBSCRIPTIONS.factories, 'rg-factory-prod-eus', 'factory-det-014'),
      name: 'legacy-vision-registry',
      policyAssignmentId: factoriesAssignment('allowed-images'),
      policyDefinitionReferenceIds: [],
      exemptionCategory: 'Waiver',
      displayName: 'Legacy vision vendor registry',
      description: 'Vendor images pulled from their registry until the line is replaced.',
      expiresOn: new Date(now.getTime() + 60 * DAY_MS).toISOString(),
      reason: 'CHG-4821',
      systemData: sys,
    }),
    policyExemptionResource({
      scope: rgScope('factories', 'rg-factory-test-eus'),
      name: 'test-lab-seccomp',
      policyAssignmentId: factoriesAssignment('pss-restricted'),
      policyDefinitionReferenceIds: ['AllowedSeccompProfiles', 'AllowedUsersGroups'],
      exemptionCategory: 'Mitigated',
      displayName: 'Test lab runs unconfined profiling pods',
      description: 'Profiling agents need an unconfined seccomp profile; the lab is isolated.',
      reason: 'RISK-112',
      systemData: sys,
    }),
    policyExemptionResource({
      scope: subScope('branches'),
      name: 'branch-migration-window',
      policyAssignmentId: `${subScope('branches')}/providers/Microsoft.Authorization/policyAssignments/pss-baseline`,
      policyDefinitionReferenceIds: [],
      exemptionCategory: 'Waiver',
      displayName: 'Migration window (expired)',
      description: 'Expired waiver kept to show that expired exemptions no longer apply.',
      expiresOn: new Date(now.getTime() - 10 * DAY_MS).toISOString(),
      reason: 'CHG-3377',
      systemData: sys,
    }),
  ];
}

/** Names of the demo clusters, for tests and docs that refer to particular situations. */
export const DEMO_CLUSTER_NAMES: readonly string[] = ROWS.map((r) => r.name);

export function generateDemoFleet(seed: number, now: Date): FleetModel {
  const rnd = seededRandom(seed);
  const subscriptions: FleetSubscription[] = (Object.keys(DEMO_SUBSCRIPTIONS) as SubKey[]).map((key) => ({
    subscriptionId: DEMO_SUBSCRIPTIONS[key],
    displayName: SUBSCRIPTION_NAMES[key],
    state: 'Enabled',
  }));
  const clusters = ROWS.map((row) => buildCluster(row, rnd, now));
  return {
    tenantId: DEMO_TENANT_ID,
    subscriptions,
    clusters,
    policyAssignments: buildAssignments(rnd, now),
    policyExemptions: buildExemptions(now),
    policySets: builtinPolicySets(),
    remediations: [],
    activityLog: demoActivityLog(DEMO_SUBSCRIPTIONS, DEMO_TENANT_ID, seed, now),
  };
}

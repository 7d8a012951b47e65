/**
 * Scale mode for benchmarks: N subscriptions × M clusters, K policy states and E extensions per
 * cluster. Built to stay small in memory at 200 × 50 × 40: cluster properties, tags, identities,
 * extension and flux properties and violations are shared objects picked from small pools, so only
 * ids and names are per cluster. Treat every generated object as immutable.
 */
import type { ArmResource, FleetCluster, FleetModel, FleetSubscription, WorkloadViolation } from '../fleet-model.js';
import {
  clusterId,
  clusterResource,
  extensionProperties,
  extensionResource,
  fluxConfigurationProperties,
  fluxConfigurationResource,
  policyAssignmentResource,
  systemData,
} from './arm-resources.js';
import { PSS_BASELINE_INITIATIVE, PSS_RESTRICTED_INITIATIVE, builtinPolicySets } from './builtin-initiatives.js';
import { clusterProperties, type ClusterTraits } from './cluster-traits.js';
import { DEF, policyDefinitionId, policySetDefinitionId } from './policy-catalog.js';
import { seededRandom } from './seeded-random.js';

const DAY_MS = 86_400_000;

export interface ScaleFleetOptions {
  subscriptions: number;
  clustersPerSubscription: number;
  policyStatesPerCluster: number;
  extensionsPerCluster: number;
}

const LOCATIONS = ['westeurope', 'northeurope', 'uksouth', 'eastus', 'westus2', 'centralus', 'swedencentral', 'southeastasia'] as const;
const RESOURCE_GROUPS_PER_SUBSCRIPTION = 5;
const ENVIRONMENTS = ['prod', 'prod', 'test', 'dev'] as const;

/** Single-definition pool used to top assignments up to exactly K states. */
const SINGLE_DEFINITIONS = [
  DEF.allowedImages,
  DEF.probes,
  DEF.automount,
  DEF.privileged,
  DEF.hostNamespace,
  DEF.runAsRoot,
  DEF.resourceLimits,
  DEF.httpsIngress,
  DEF.policyExtension,
  DEF.defenderExtension,
] as const;

/** Extension pool: the four the controls read first, then others so E can exceed four. */
const EXTENSION_POOL = [
  { name: 'azurepolicy', type: 'microsoft.policyinsights', ns: 'kube-system', version: '1.8.1' },
  { name: 'microsoft.azuredefender.kubernetes', type: 'microsoft.azuredefender.kubernetes', ns: 'mdc', version: '0.7.6' },
  { name: 'azuremonitor-containers', type: 'microsoft.azuremonitor.containers', ns: 'kube-system', version: '3.1.24' },
  { name: 'azure-aks-backup', type: 'microsoft.dataprotection.kubernetes', ns: 'dataprotection-microsoft', version: '0.0.1026' },
  { name: 'flux', type: 'microsoft.flux', ns: 'flux-system', version: '1.14.1' },
  { name: 'akvsecretsprovider', type: 'microsoft.azurekeyvaultsecretsprovider', ns: 'kube-system', version: '1.6.2' },
  { name: 'osm', type: 'microsoft.openservicemesh', ns: 'arc-osm-system', version: '1.2.10' },
  { name: 'azureml', type: 'microsoft.azureml.kubernetes', ns: 'azureml', version: '1.1.64' },
] as const;

interface PlannedAssignment {
  name: string;
  displayName: string;
  policyDefinitionId: string;
  definitionNames: readonly string[];
}

/**
 * Assignments whose expansion gives exactly `k` states per cluster: the initiatives while they fit,
 * then single definitions round-robin (repeated definitions get distinct assignment names, as when a
 * definition is assigned twice with different parameters).
 */
export function planScaleAssignments(k: number): PlannedAssignment[] {
  const plan: PlannedAssignment[] = [];
  let remaining = k;
  for (const set of [PSS_RESTRICTED_INITIATIVE, PSS_BASELINE_INITIATIVE]) {
    if (remaining >= set.members.length) {
      plan.push({
        name: `scale-${set.name.slice(0, 8)}`,
        displayName: set.displayName,
        policyDefinitionId: policySetDefinitionId(set.name),
        definitionNames: set.members.map((m) => m.policyDefinitionId.split('/').pop()!.toLowerCase()),
      });
      remaining -= set.members.length;
    }
  }
  for (let i = 0; i < remaining; i++) {
    const def = SINGLE_DEFINITIONS[i % SINGLE_DEFINITIONS.length]!;
    plan.push({ name: `scale-${def.slice(0, 8)}-${Math.floor(i / SINGLE_DEFINITIONS.length)}`, displayName: `Scale ${def}`, policyDefinitionId: policyDefinitionId(def), definitionNames: [def] });
  }
  return plan;
}

function guidFromIndex(prefix: string, index: number, seedHex: string): string {
  const n = index.toString(16).padStart(8, '0');
  return `${n}-${prefix}-4${seedHex.slice(0, 3)}-8${seedHex.slice(3, 6)}-${seedHex.slice(6, 18)}`;
}

export function generateScaleFleet(seed: number, options: ScaleFleetOptions, now: Date): FleetModel {
  for (const key of ['subscriptions', 'clustersPerSubscription', 'policyStatesPerCluster', 'extensionsPerCluster'] as const) {
    const value = options[key];
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`scale option ${key} must be a non-negative integer, got ${String(value)}`);
  }
  const rnd = seededRandom(seed);
  const seedHex = rnd.hex(18);
  const tenantId = rnd.guid();
  const sys = systemData(new Date(now.getTime() - 180 * DAY_MS), new Date(now.getTime() - 7 * DAY_MS));
  const statusTime = sys.lastModifiedAt;

  // Shared pools: a handful of trait combinations cover pass and fail for the property controls.
  const traitVariants: ClusterTraits[] = [];
  for (let v = 0; v < 16; v++) {
    traitVariants.push({
      kind: v % 3 === 0 ? 'ProvisionedCluster' : undefined,
      distribution: v % 3 === 0 ? 'AKS' : 'k3s',
      infrastructure: v % 3 === 0 ? 'azure_stack_hci' : 'generic',
      rbac: v % 5 === 0 ? 'off' : v % 7 === 0 ? 'missing' : 'on',
      identity: v % 4 === 0 ? 'off' : 'wi+oidc',
      flux: 'compliant',
      policyExtension: 'ok',
      defender: 'ok',
      monitor: 'ok-lower',
      backup: 'ok',
      autoUpgrade: v % 6 === 0 ? 'Disabled' : 'Enabled',
      connectivity: v % 8 === 0 ? 'offline' : 'ok',
      certificateDays: v % 9 === 0 ? 12 : 200,
    });
  }
  const propertyPool = traitVariants.map((t, v) =>
    clusterProperties(t, {
      now,
      tenantId,
      kubernetesVersion: ['1.30.6', '1.31.4', '1.32.2'][v % 3]!,
      agentVersion: '1.22.4',
      totalNodeCount: 1 + (v % 4),
      heartbeatMinutes: 5 + v,
      adminGroupObjectId: guidFromIndex('0000', v, seedHex),
      issuerUrl: `https://oidcdiscovery-emulator.z01.azurefd.net/${guidFromIndex('0001', v, seedHex)}/`,
    }),
  );
  const tagPool: Record<string, string>[] = ENVIRONMENTS.map((env, i): Record<string, string> => (i % 2 === 0 ? { Environment: env } : { environment: env }));
  const identity = { type: 'SystemAssigned', principalId: guidFromIndex('0002', 0, seedHex), tenantId };
  const extensionPropertiesPool = EXTENSION_POOL.map((e) =>
    extensionProperties({ extensionType: e.type, version: e.version, releaseNamespace: e.ns, provisioningState: 'Succeeded', statusTime }),
  );
  const fluxProperties = fluxConfigurationProperties('cluster-config', 'https://dev.azure.com/contoso/edge/_git/platform', 'Compliant', statusTime);

  const plan = planScaleAssignments(options.policyStatesPerCluster);
  const plannedDefinitions = [...new Set(plan.flatMap((p) => p.definitionNames))];
  // One shared violation per planned definition; every 7th cluster carries one.
  const violationPool: WorkloadViolation[] = plannedDefinitions.map((def, i) => ({
    policyDefinitionName: def,
    components: [
      { id: `apps/web-${i}-7d9f8c6b5-x2kq9`, name: `web-${i}-7d9f8c6b5-x2kq9`, type: 'pod' },
      { id: `apps/worker-${i}-5c4b3a2d1-p8mz4`, name: `worker-${i}-5c4b3a2d1-p8mz4`, type: 'pod' },
    ],
  }));

  const subscriptions: FleetSubscription[] = [];
  const clusters: FleetCluster[] = [];
  const policyAssignments: ArmResource[] = [];
  for (let s = 0; s < options.subscriptions; s++) {
    const subscriptionId = guidFromIndex('5ca1', s, seedHex);
    subscriptions.push({ subscriptionId, displayName: `Edge scale ${String(s + 1).padStart(3, '0')}`, state: 'Enabled' });
    for (const [i, p] of plan.entries()) {
      policyAssignments.push(
        policyAssignmentResource({
          scope: `/subscriptions/${subscriptionId}`,
          name: p.name,
          displayName: p.displayName,
          description: 'Scale-mode assignment.',
          policyDefinitionId: p.policyDefinitionId,
          definitionVersion: '1.*.*',
          parameters: { effect: { value: 'Audit' } },
          instanceId: guidFromIndex('a551', s * plan.length + i, seedHex),
          createdOn: sys.createdAt,
        }),
      );
    }
    for (let c = 0; c < options.clustersPerSubscription; c++) {
      const global = s * options.clustersPerSubscription + c;
      const resourceGroup = `rg-edge-site-${c % RESOURCE_GROUPS_PER_SUBSCRIPTION}`;
      const name = `edge-${String(s).padStart(3, '0')}-${String(c).padStart(4, '0')}`;
      const variant = global % propertyPool.length;
      const id = clusterId(subscriptionId, resourceGroup, name);
      const extensions: ArmResource[] = [];
      for (let e = 0; e < options.extensionsPerCluster; e++) {
        const poolIndex = e % EXTENSION_POOL.length;
        const suffix = e < EXTENSION_POOL.length ? '' : `-${Math.floor(e / EXTENSION_POOL.length)}`;
        extensions.push(extensionResource(id, `${EXTENSION_POOL[poolIndex]!.name}${suffix}`, extensionPropertiesPool[poolIndex]!, sys));
      }
      const violation = global % 7 === 3 && violationPool.length > 0 ? violationPool[global % violationPool.length] : undefined;
      clusters.push({
        resource: clusterResource({
          subscriptionId,
          resourceGroup,
          name,
          location: LOCATIONS[global % LOCATIONS.length]!,
          kind: traitVariants[variant]!.kind,
          identity,
          properties: propertyPool[variant]!,
          systemData: sys,
          tags: tagPool[global % tagPool.length]!,
        }),
        extensions,
        fluxConfigurations: [fluxConfigurationResource(id, 'cluster-config', fluxProperties, sys)],
        violations: violation === undefined ? [] : [violation],
      });
    }
  }
  return { tenantId, subscriptions, clusters, policyAssignments, policyExemptions: [], policySets: builtinPolicySets(), remediations: [] };
}

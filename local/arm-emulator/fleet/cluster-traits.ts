/**
 * The security-relevant facts of one cluster, as a compact record the demo table and the scale
 * generator share, and their translation into wire-shaped connectedCluster properties and extensions.
 */
import type { ArmResource } from '../fleet-model.js';
import {
  FAKE_AGENT_CERTIFICATE,
  extensionProperties,
  extensionResource,
  fluxConfigurationProperties,
  fluxConfigurationResource,
  type SystemData,
} from './arm-resources.js';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

export type RbacTrait = 'on' | 'off' | 'missing';
/** `wi+oidc`: both on (ARC-AC-03 passes); `oidc-only`: issuer on, workload identity off; `off`: both explicitly false; `missing`: neither profile present. */
export type IdentityTrait = 'wi+oidc' | 'oidc-only' | 'off' | 'missing';
export type FluxTrait = 'compliant' | 'noncompliant' | 'pending' | 'mixed' | 'none';
export type ExtensionTrait = 'ok' | 'failed' | 'missing';
/** Monitoring extension spellings seen in the field (ARM compares extension types case-insensitively). */
export type MonitorTrait = 'ok-lower' | 'ok-pascal' | 'ok-legacy' | 'failed' | 'missing';
/** `stale`: still reports `Connected` but has not been heard from for days. */
export type ConnectivityTrait = 'ok' | 'offline' | 'expired' | 'stale';

export interface ClusterTraits {
  kind: 'ProvisionedCluster' | undefined;
  distribution: string;
  infrastructure: string;
  rbac: RbacTrait;
  identity: IdentityTrait;
  flux: FluxTrait;
  policyExtension: ExtensionTrait;
  defender: ExtensionTrait;
  monitor: MonitorTrait;
  backup: 'ok' | 'missing';
  autoUpgrade: 'Enabled' | 'Disabled';
  connectivity: ConnectivityTrait;
  /** Days from `now` to `managedIdentityCertificateExpirationTime`. */
  certificateDays: number;
}

export interface PropertyContext {
  now: Date;
  tenantId: string;
  kubernetesVersion: string;
  agentVersion: string;
  totalNodeCount: number;
  /** Minutes since the last heartbeat for connected clusters (small jitter). */
  heartbeatMinutes: number;
  adminGroupObjectId: string;
  issuerUrl: string;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** connectedCluster `properties` in the 2026-03-01 wire shape (keys alphabetical, as in the examples). */
export function clusterProperties(t: ClusterTraits, ctx: PropertyContext): Record<string, unknown> {
  const now = ctx.now.getTime();
  const p: Record<string, unknown> = {};
  if (t.rbac !== 'missing') {
    p['aadProfile'] = { adminGroupObjectIDs: [ctx.adminGroupObjectId], enableAzureRBAC: t.rbac === 'on', tenantID: ctx.tenantId };
  }
  p['agentPublicKeyCertificate'] = FAKE_AGENT_CERTIFICATE;
  p['agentVersion'] = ctx.agentVersion;
  p['arcAgentProfile'] =
    t.autoUpgrade === 'Enabled'
      ? { agentAutoUpgrade: 'Enabled', agentState: 'Succeeded' }
      : { agentAutoUpgrade: 'Disabled', agentState: 'Succeeded', desiredAgentVersion: ctx.agentVersion };
  p['azureHybridBenefit'] = t.kind === 'ProvisionedCluster' ? 'NotApplicable' : 'False';
  p['connectivityStatus'] = t.connectivity === 'offline' ? 'Offline' : t.connectivity === 'expired' ? 'Expired' : 'Connected';
  p['distribution'] = t.distribution;
  p['distributionVersion'] = '1.0';
  p['infrastructure'] = t.infrastructure;
  p['kubernetesVersion'] = ctx.kubernetesVersion;
  const lastSeenMs =
    t.connectivity === 'ok'
      ? now - ctx.heartbeatMinutes * MINUTE_MS
      : t.connectivity === 'stale'
        ? now - 3 * DAY_MS - ctx.heartbeatMinutes * MINUTE_MS
        : t.connectivity === 'offline'
          ? now - 6 * DAY_MS - ctx.heartbeatMinutes * MINUTE_MS
          : now - 104 * DAY_MS - ctx.heartbeatMinutes * MINUTE_MS;
  p['lastConnectivityTime'] = iso(lastSeenMs);
  p['managedIdentityCertificateExpirationTime'] = iso(now + t.certificateDays * DAY_MS + ctx.heartbeatMinutes * MINUTE_MS);
  if (t.identity === 'wi+oidc' || t.identity === 'oidc-only') {
    p['oidcIssuerProfile'] = { enabled: true, issuerUrl: ctx.issuerUrl };
  } else if (t.identity === 'off') {
    p['oidcIssuerProfile'] = { enabled: false };
  }
  p['privateLinkState'] = 'Disabled';
  p['provisioningState'] = 'Succeeded';
  if (t.identity !== 'missing') {
    p['securityProfile'] = { workloadIdentity: { enabled: t.identity === 'wi+oidc' } };
  }
  p['totalCoreCount'] = ctx.totalNodeCount * 8;
  p['totalNodeCount'] = ctx.totalNodeCount;
  return p;
}

/** Extension name → (type spelling, namespace); the monitoring names vary on purpose. */
const MONITOR_SPELLINGS: Record<'ok-lower' | 'ok-pascal' | 'ok-legacy', { name: string; type: string }> = {
  'ok-lower': { name: 'azuremonitor-containers', type: 'microsoft.azuremonitor.containers' },
  'ok-pascal': { name: 'ContainerInsights', type: 'Microsoft.AzureMonitor.Containers' },
  'ok-legacy': { name: 'ClusterMonitor', type: 'azuremonitor-containers' },
};

export function clusterExtensions(
  clusterResourceId: string,
  clusterName: string,
  t: ClusterTraits,
  sysData: SystemData,
  statusTime: string,
): ArmResource[] {
  const out: ArmResource[] = [];
  const add = (name: string, type: string, ns: string, version: string, state: 'Succeeded' | 'Failed', settings?: Record<string, string>): void => {
    out.push(
      extensionResource(
        clusterResourceId,
        name,
        extensionProperties({
          extensionType: type,
          version,
          releaseNamespace: ns,
          provisioningState: state,
          statusTime,
          ...(settings === undefined ? {} : { configurationSettings: settings }),
        }),
        sysData,
      ),
    );
  };
  if (t.policyExtension !== 'missing') {
    add('azurepolicy', 'microsoft.policyinsights', 'kube-system', '1.8.1', t.policyExtension === 'ok' ? 'Succeeded' : 'Failed');
  }
  if (t.defender !== 'missing') {
    add('microsoft.azuredefender.kubernetes', 'microsoft.azuredefender.kubernetes', 'mdc', '0.7.6', t.defender === 'ok' ? 'Succeeded' : 'Failed');
  }
  if (t.monitor !== 'missing') {
    const spelling = MONITOR_SPELLINGS[t.monitor === 'failed' ? 'ok-lower' : t.monitor];
    add(spelling.name, spelling.type, 'kube-system', '3.1.24', t.monitor === 'failed' ? 'Failed' : 'Succeeded', {
      'omsagent.env.clusterName': clusterName,
    });
  }
  if (t.backup === 'ok') {
    add('azure-aks-backup', 'microsoft.dataprotection.kubernetes', 'dataprotection-microsoft', '0.0.1026', 'Succeeded');
  }
  if (t.flux !== 'none') {
    add('flux', 'microsoft.flux', 'flux-system', '1.14.1', 'Succeeded');
  }
  return out;
}

export function clusterFluxConfigurations(
  clusterResourceId: string,
  repoUrl: string,
  t: ClusterTraits,
  sysData: SystemData,
  at: string,
): ArmResource[] {
  switch (t.flux) {
    case 'none':
      return [];
    case 'compliant':
      return [fluxConfigurationResource(clusterResourceId, 'cluster-config', fluxConfigurationProperties('cluster-config', repoUrl, 'Compliant', at), sysData)];
    case 'noncompliant':
      return [fluxConfigurationResource(clusterResourceId, 'cluster-config', fluxConfigurationProperties('cluster-config', repoUrl, 'Non-Compliant', at), sysData)];
    case 'pending':
      return [fluxConfigurationResource(clusterResourceId, 'cluster-config', fluxConfigurationProperties('cluster-config', repoUrl, 'Pending', at), sysData)];
    case 'mixed':
      return [
        fluxConfigurationResource(clusterResourceId, 'cluster-config', fluxConfigurationProperties('cluster-config', repoUrl, 'Non-Compliant', at), sysData),
        fluxConfigurationResource(clusterResourceId, 'apps', fluxConfigurationProperties('apps', repoUrl.replace('platform', 'apps'), 'Compliant', at), sysData),
      ];
  }
}

/**
 * Wire JSON / SDK models → domain facts. Parses `unknown` defensively: a missing or mistyped field
 * becomes `undefined` (the controls treat it as "not configured"), never an exception.
 */
import type { ClusterProperties, ExtensionFact, FluxFact, PolicyComponentFact, PolicyStateFact } from '../../domain/model.js';
import type { ConnectedClusterRecord } from '../../application/ports.js';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
/** Dates arrive as strings on the wire and as `Date` from the autorest SDK models. */
const time = (v: unknown): string | undefined => (v instanceof Date ? v.toISOString() : str(v));
const lower = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v.toLowerCase());

/** `East US` → `eastus`: ARM accepts display names and normalised names; the domain compares the latter. */
export function normaliseLocation(location: string | undefined): string {
  return (location ?? '').toLowerCase().replace(/\s+/g, '');
}

/** `/subscriptions/{s}/resourceGroups/{rg}/...` → `{ subscriptionId, resourceGroup }` (original casing). */
export function parseResourceId(id: string): { subscriptionId: string; resourceGroup: string } {
  const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\//i.exec(id);
  return { subscriptionId: m?.[1] ?? '', resourceGroup: m?.[2] ?? '' };
}

function clusterProperties(p: Json | undefined): ClusterProperties {
  if (!p) return {};
  const aad = obj(p['aadProfile']);
  const agent = obj(p['arcAgentProfile']);
  const security = obj(p['securityProfile']);
  const oidc = obj(p['oidcIssuerProfile']);
  const wi = obj(security?.['workloadIdentity']);
  return {
    distribution: str(p['distribution']),
    kubernetesVersion: str(p['kubernetesVersion']),
    infrastructure: str(p['infrastructure']),
    agentVersion: str(p['agentVersion']),
    totalNodeCount: num(p['totalNodeCount']),
    provisioningState: str(p['provisioningState']),
    connectivityStatus: str(p['connectivityStatus']),
    lastConnectivityTime: str(p['lastConnectivityTime']),
    managedIdentityCertificateExpirationTime: str(p['managedIdentityCertificateExpirationTime']),
    aadProfile: aad
      ? {
          enableAzureRBAC: bool(aad['enableAzureRBAC']),
          adminGroupObjectIDs: Array.isArray(aad['adminGroupObjectIDs']) ? aad['adminGroupObjectIDs'].filter((x): x is string => typeof x === 'string') : undefined,
          tenantID: str(aad['tenantID']),
        }
      : undefined,
    arcAgentProfile: agent ? { agentAutoUpgrade: str(agent['agentAutoUpgrade']), desiredAgentVersion: str(agent['desiredAgentVersion']) } : undefined,
    securityProfile: security ? { workloadIdentity: wi ? { enabled: bool(wi['enabled']) } : undefined } : undefined,
    oidcIssuerProfile: oidc ? { enabled: bool(oidc['enabled']), issuerUrl: str(oidc['issuerUrl']) } : undefined,
  };
}

/** A connectedClusters resource (api-version 2026-03-01 wire JSON) → record; undefined when it has no id. */
export function toConnectedClusterRecord(wire: unknown): ConnectedClusterRecord | undefined {
  const r = obj(wire);
  const id = str(r?.['id']);
  if (!r || !id) return undefined;
  const { subscriptionId, resourceGroup } = parseResourceId(id);
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(r['tags']) ?? {})) if (typeof v === 'string') tags[k] = v;
  return {
    id,
    name: str(r['name']) ?? id.split('/').pop() ?? id,
    subscriptionId,
    resourceGroup,
    location: normaliseLocation(str(r['location'])),
    kind: str(r['kind']),
    tags,
    properties: clusterProperties(obj(r['properties'])),
  };
}

/** SDK `Extension` (flattened properties) → fact. */
export function toExtensionFact(model: unknown): ExtensionFact | undefined {
  const m = obj(model);
  const name = str(m?.['name']);
  if (!m || !name) return undefined;
  return { name, extensionType: str(m['extensionType']) ?? '', provisioningState: str(m['provisioningState']), version: str(m['version']) ?? str(m['currentVersion']) };
}

/** SDK `FluxConfiguration` (flattened properties) → fact. */
export function toFluxFact(model: unknown): FluxFact | undefined {
  const m = obj(model);
  const name = str(m?.['name']);
  if (!m || !name) return undefined;
  return { name, complianceState: str(m['complianceState']) };
}

function toComponent(model: unknown): PolicyComponentFact | undefined {
  const m = obj(model);
  const id = str(m?.['id']);
  if (!m || !id) return undefined;
  return { id, name: str(m['name']), type: str(m['type']), complianceState: str(m['complianceState']) };
}

/** SDK `PolicyState` → fact, ids lower-cased (Policy Insights ids compare case-insensitively). */
export function toPolicyStateFact(model: unknown): PolicyStateFact | undefined {
  const m = obj(model);
  const resourceId = str(m?.['resourceId']);
  const definitionId = str(m?.['policyDefinitionId']);
  if (!m || !resourceId || !definitionId) return undefined;
  const components = Array.isArray(m['components']) ? m['components'].map(toComponent).filter((c): c is PolicyComponentFact => c !== undefined) : undefined;
  return {
    resourceId: resourceId.toLowerCase(),
    policyAssignmentId: (str(m['policyAssignmentId']) ?? '').toLowerCase(),
    policyDefinitionId: definitionId.toLowerCase(),
    policyDefinitionName: (lower(str(m['policyDefinitionName'])) ?? definitionId.split('/').pop() ?? '').toLowerCase(),
    policySetDefinitionName: lower(str(m['policySetDefinitionName'])),
    policyDefinitionReferenceId: str(m['policyDefinitionReferenceId']) || undefined,
    complianceState: str(m['complianceState']) ?? 'Unknown',
    policyDefinitionAction: (str(m['policyDefinitionAction']) ?? '').toLowerCase(),
    timestamp: time(m['timestamp']),
    components,
  };
}

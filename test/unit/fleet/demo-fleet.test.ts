import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONTROL_IDS } from '../../../domain/control-catalog.js';
import type { FleetCluster, FleetModel } from '../../../local/arm-emulator/fleet-model.js';
import { DEMO_SUBSCRIPTIONS, derivePolicyStates, generateFleet } from '../../../local/arm-emulator/fleet/index.js';
import { VERIFIED_BUILTIN_IDS } from '../../fixtures/verified-builtin-ids.js';

const NOW = new Date('2026-05-01T02:00:00Z');
const DAY = 86_400_000;
const examples = fileURLToPath(new URL('../../fixtures/azure-rest-examples/', import.meta.url));
const readJson = (rel: string): unknown => JSON.parse(readFileSync(examples + rel, 'utf8'));

type Status = 'pass' | 'fail' | 'exempt';
const PSS = new Set(['a8640138-9b0a-4a28-b8cb-1666c838647d', '42b8ef37-b724-4e24-bbc8-7a7708edfe00']);

/** Parsed JSON read by path in assertions: a wrong path reads `undefined` and fails the assertion, so typing every example shape would add nothing. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above: one place names the loose type.
type Json = any;

const props = (c: FleetCluster): Record<string, Json> => c.resource['properties'] as Record<string, Json>;
const tagEnv = (c: FleetCluster): string | undefined => {
  const tags = (c.resource['tags'] ?? {}) as Record<string, string>;
  const key = Object.keys(tags).find((k) => k.toLowerCase() === 'environment');
  return key === undefined ? undefined : tags[key]!.toLowerCase();
};
const rgOf = (c: FleetCluster): string => c.resource.id.split('/')[4]!.toLowerCase();
const ext = (c: FleetCluster, ...types: string[]): boolean =>
  c.extensions.some((e) => {
    const p = e['properties'] as Record<string, unknown>;
    return types.includes(String(p['extensionType']).toLowerCase()) && p['provisioningState'] === 'Succeeded';
  });

/** Succeeded admin kubeconfig downloads (break-glass) of a cluster in the Activity Log, in the 30 days before NOW. */
function adminDownloads(fleet: FleetModel, c: FleetCluster): number {
  const id = `${c.resource.id.toLowerCase()}/`;
  const value = (v: unknown): string => String(typeof v === 'object' && v !== null ? (v as { value?: unknown }).value : v);
  return (fleet.activityLog ?? []).filter((e) => {
    const at = Date.parse(String(e['eventTimestamp']));
    return (
      String(e['resourceId']).toLowerCase().startsWith(id) &&
      value(e['operationName']).toLowerCase().endsWith('/listadminkubeconfig/action') &&
      value(e['status']) === 'Succeeded' &&
      at > NOW.getTime() - 30 * DAY &&
      at <= NOW.getTime()
    );
  }).length;
}

/** A deliberately independent reading of the control catalog, to prove the demo data exercises it. */
function evaluate(fleet: FleetModel, c: FleetCluster, states: Record<string, unknown>[]): Record<string, Status | 'n/a'> {
  const mine = states.filter((s) => s['resourceId'] === c.resource.id.toLowerCase());
  const policy = (match: (s: Record<string, unknown>) => boolean): Status => {
    const rel = mine.filter(match);
    if (rel.length === 0) return 'fail'; // not-assigned
    if (rel.some((s) => s['complianceState'] === 'NonCompliant')) return 'fail';
    if (rel.some((s) => s['complianceState'] === 'Exempt')) return 'exempt';
    return 'pass';
  };
  const def = (guid: string) => (s: Record<string, unknown>) => s['policyDefinitionName'] === guid;
  const pss = (s: Record<string, unknown>) => PSS.has(String(s['policySetDefinitionName']));
  const env = tagEnv(c);
  const siblings = fleet.clusters.filter((o) => o !== c && o.resource.id.split('/')[2] === c.resource.id.split('/')[2] && rgOf(o) === rgOf(c));
  const mixesProd = (x: FleetCluster, others: FleetCluster[]) =>
    (tagEnv(x) === 'prod' && others.some((o) => tagEnv(o) !== 'prod')) || (tagEnv(x) !== 'prod' && others.some((o) => tagEnv(o) === 'prod'));
  const p = props(c);
  const lastSeen = Date.parse(p['lastConnectivityTime']);
  const pl0203 = mine.filter((s) => pss(s) || s['policyDefinitionName'] === 'febd0533-8e55-448f-b837-bd0e06f16469');
  return {
    'ARC-AC-01': p['aadProfile']?.enableAzureRBAC === true ? 'pass' : 'fail',
    'ARC-AC-02': policy(def('423dd1ba-798e-40e4-9c4d-b6902674b423')),
    'ARC-AC-03': p['securityProfile']?.workloadIdentity?.enabled === true && p['oidcIssuerProfile']?.enabled === true ? 'pass' : 'fail',
    'ARC-AC-04': env !== undefined && ['dev', 'test', 'prod'].includes(env) && !mixesProd(c, siblings) ? 'pass' : 'fail',
    'ARC-AC-05': c.fluxConfigurations.some((f) => (f['properties'] as Record<string, unknown>)['complianceState'] === 'Compliant') ? 'pass' : 'fail',
    'ARC-PL-01': ext(c, 'microsoft.policyinsights') ? 'pass' : 'fail',
    'ARC-PL-02': policy(pss),
    'ARC-PL-03': policy(def('febd0533-8e55-448f-b837-bd0e06f16469')),
    'ARC-PL-04': env !== 'prod' ? 'n/a' : pl0203.length > 0 && pl0203.every((s) => s['policyDefinitionAction'] === 'deny') ? 'pass' : 'fail',
    'ARC-TD-01': ext(c, 'microsoft.azuredefender.kubernetes') ? 'pass' : 'fail',
    'ARC-TD-02': ext(c, 'microsoft.azuremonitor.containers', 'azuremonitor-containers') ? 'pass' : 'fail',
    'ARC-TD-03': ext(c, 'microsoft.dataprotection.kubernetes') ? 'pass' : 'fail',
    'ARC-TD-04': String(c.resource['kind'] ?? '').toLowerCase() !== 'provisionedcluster' ? 'n/a' : adminDownloads(fleet, c) > 0 ? 'fail' : 'pass',
    'ARC-UP-01': policy(def('b1a9997f-2883-4f12-bdff-2280f99b5915')),
    'ARC-UP-02': p['arcAgentProfile']?.agentAutoUpgrade === 'Enabled' ? 'pass' : 'fail',
    'ARC-OP-01': p['connectivityStatus'] === 'Connected' && NOW.getTime() - lastSeen <= DAY ? 'pass' : 'fail',
    'ARC-OP-02': Date.parse(p['managedIdentityCertificateExpirationTime']) - NOW.getTime() > 30 * DAY ? 'pass' : 'fail',
  };
}

function allStates(fleet: FleetModel): Record<string, unknown>[] {
  return fleet.subscriptions.flatMap((s) => derivePolicyStates(fleet, s.subscriptionId, NOW));
}

describe('demo fleet', () => {
  const fleet = generateFleet({ mode: 'demo' }, NOW);
  const states = allStates(fleet);

  it('is 3 stable subscriptions and about 30 clusters in several locations', () => {
    expect(fleet.subscriptions.map((s) => s.subscriptionId)).toEqual(Object.values(DEMO_SUBSCRIPTIONS));
    expect(fleet.clusters.length).toBeGreaterThanOrEqual(25);
    expect(new Set(fleet.clusters.map((c) => c.resource['location'])).size).toBeGreaterThanOrEqual(5);
    expect(new Set(fleet.clusters.map((c) => c.resource.id.toLowerCase())).size).toBe(fleet.clusters.length);
  });

  it.each([1, 2, 99, 123456])('makes every control of the catalog both pass and fail somewhere (seed %i)', (seed) => {
    const f = generateFleet({ mode: 'demo', seed }, NOW);
    const st = allStates(f);
    const seen = new Map<string, Set<string>>();
    for (const c of f.clusters) {
      for (const [control, status] of Object.entries(evaluate(f, c, st))) {
        if (!seen.has(control)) seen.set(control, new Set());
        seen.get(control)!.add(status);
      }
    }
    expect([...seen.keys()].sort()).toEqual([...CONTROL_IDS].sort());
    for (const [control, statuses] of seen) {
      expect({ control, pass: statuses.has('pass'), fail: statuses.has('fail') }).toEqual({ control, pass: true, fail: true });
    }
    // Exempt policy states reach the controls too.
    expect(seen.get('ARC-PL-03')!.has('exempt')).toBe(true);
  });

  it('has the edge cases the controls care about', () => {
    const rbac = fleet.clusters.map((c) => props(c)['aadProfile']?.enableAzureRBAC);
    expect(rbac).toContain(true);
    expect(rbac).toContain(false);
    expect(rbac).toContain(undefined);
    expect(fleet.clusters.some((c) => c.resource['kind'] === 'ProvisionedCluster' && props(c)['distribution'] === 'AKS')).toBe(true);
    expect(fleet.clusters.some((c) => c.resource['kind'] === undefined)).toBe(true);
    const tagNames = new Set(fleet.clusters.flatMap((c) => Object.keys(c.resource['tags'] as object)));
    expect(tagNames).toContain('Environment');
    expect(tagNames).toContain('environment');
    expect(fleet.clusters.some((c) => tagEnv(c) === undefined)).toBe(true);
    const statuses = new Set(fleet.clusters.map((c) => props(c)['connectivityStatus']));
    expect(statuses).toEqual(new Set(['Connected', 'Offline', 'Expired']));
    const fluxStates = new Set(fleet.clusters.flatMap((c) => c.fluxConfigurations.map((f) => (f['properties'] as Record<string, unknown>)['complianceState'])));
    expect(fluxStates).toContain('Compliant');
    expect(fluxStates).toContain('Non-Compliant');
    expect(fleet.clusters.some((c) => c.fluxConfigurations.length === 0)).toBe(true);
    const policyExt = fleet.clusters.map((c) => c.extensions.find((e) => (e['properties'] as Record<string, unknown>)['extensionType'] === 'microsoft.policyinsights'));
    expect(policyExt.some((e) => e === undefined)).toBe(true);
    expect(policyExt.some((e) => e !== undefined && (e['properties'] as Record<string, unknown>)['provisioningState'] === 'Failed')).toBe(true);
    // A prod cluster shares a resource group with a dev one.
    expect(fleet.clusters.some((c) => tagEnv(c) === 'prod' && fleet.clusters.some((o) => rgOf(o) === rgOf(c) && tagEnv(o) === 'dev'))).toBe(true);
    // Hundreds of components on one state, to exercise evidence truncation downstream.
    expect(Math.max(...fleet.clusters.flatMap((c) => c.violations.map((v) => v.components.length)))).toBeGreaterThanOrEqual(200);
  });

  it('spells the monitoring extension in all the ways found in the field', () => {
    const types = new Set(fleet.clusters.flatMap((c) => c.extensions.map((e) => String((e['properties'] as Record<string, unknown>)['extensionType']))));
    for (const t of ['microsoft.azuremonitor.containers', 'Microsoft.AzureMonitor.Containers', 'azuremonitor-containers', 'microsoft.dataprotection.kubernetes', 'microsoft.azuredefender.kubernetes']) {
      expect(types).toContain(t);
    }
  });

  it('uses only real built-in definition and initiative ids in assignments', () => {
    const real = new Set([
      ...readdirIds('policyDefinitions'),
      ...readdirIds('policySetDefinitions'),
      // Real built-ins the shared copy lacks, each with its upstream file (test/fixtures/verified-builtin-ids.ts).
      ...Object.keys(VERIFIED_BUILTIN_IDS),
    ]);
    for (const a of fleet.policyAssignments) {
      const id = String((a['properties'] as Record<string, unknown>)['policyDefinitionId']);
      expect(real).toContain(id.split('/').pop());
    }
    const members = new Set(readdirMembers());
    for (const s of states) expect(real.has(String(s['policyDefinitionName'])) || members.has(String(s['policyDefinitionName']))).toBe(true);
  });

  it('has a subscription lacking assignments (not-assigned happens)', () => {
    const bySub = (sub: string, guid: string) => states.filter((s) => s['subscriptionId'] === sub && s['policyDefinitionName'] === guid).length;
    expect(bySub(DEMO_SUBSCRIPTIONS.branches, 'b1a9997f-2883-4f12-bdff-2280f99b5915')).toBe(0);
    expect(bySub(DEMO_SUBSCRIPTIONS.branches, '423dd1ba-798e-40e4-9c4d-b6902674b423')).toBe(0);
    expect(bySub(DEMO_SUBSCRIPTIONS.retail, 'b1a9997f-2883-4f12-bdff-2280f99b5915')).toBeGreaterThan(0);
  });

  it('follows the official example shapes (keys and casing)', () => {
    const get = readJson('hybridkubernetes/2026-03-01/GetClusterExample.json') as Json;
    const create = readJson('hybridkubernetes/2026-03-01/CreateCluster_KindExample.json') as Json;
    const topKeys = new Set([...Object.keys(get.responses['200'].body), ...Object.keys(create.responses['200'].body)]);
    // In the 2026-03-01 spec but absent from these two examples.
    const specOnly = ['connectivityStatus', 'lastConnectivityTime', 'managedIdentityCertificateExpirationTime', 'infrastructure', 'totalCoreCount'];
    const propKeys = new Set([...Object.keys(get.responses['200'].body.properties), ...Object.keys(create.responses['200'].body.properties), ...specOnly]);
    const extKeys = new Set(Object.keys((readJson('kubernetesconfiguration/2023-05-01/GetExtension.json') as Json).responses['200'].body.properties));
    const fluxKeys = new Set(Object.keys((readJson('kubernetesconfiguration/2023-05-01/GetFluxConfiguration.json') as Json).responses['200'].body.properties));
    for (const c of fleet.clusters) {
      for (const k of Object.keys(c.resource)) expect(topKeys).toContain(k);
      for (const k of Object.keys(props(c))) expect(propKeys).toContain(k);
      for (const e of c.extensions) for (const k of Object.keys(e['properties'] as object)) expect(extKeys).toContain(k);
      for (const f of c.fluxConfigurations) for (const k of Object.keys(f['properties'] as object)) expect(fluxKeys).toContain(k);
    }
    const assignmentExamples = ['getPolicyAssignment', 'getPolicyAssignmentWithOverrides', 'getPolicyAssignmentWithResourceSelectors'].map(
      (n) => (readJson(`authorization/2025-03-01/${n}.json`) as Json).responses['200'].body,
    );
    const aKeys = new Set(assignmentExamples.flatMap((b) => Object.keys(b.properties)));
    for (const a of fleet.policyAssignments) {
      expect(Object.keys(a)).toEqual(['properties', 'id', 'type', 'name']);
      for (const k of Object.keys(a['properties'] as object)) expect(aKeys).toContain(k);
    }
    const exemption = (readJson('authorization/2024-12-01-preview/getPolicyExemption.json') as Json).responses['200'].body;
    for (const e of fleet.policyExemptions) {
      expect(Object.keys(e)).toEqual(Object.keys(exemption));
      for (const k of Object.keys(e['properties'] as object)) expect([...Object.keys(exemption.properties), 'expiresOn']).toContain(k);
    }
  });
});

function readdirIds(kind: 'policyDefinitions' | 'policySetDefinitions'): string[] {
  const dir = fileURLToPath(new URL(`../../fixtures/azure-policy-builtins/${kind}/Kubernetes/`, import.meta.url));
  return readdirSync(dir).map((f) => (JSON.parse(readFileSync(dir + f, 'utf8')) as { name: string }).name);
}

function readdirMembers(): string[] {
  const dir = fileURLToPath(new URL('../../fixtures/azure-policy-builtins/policySetDefinitions/Kubernetes/', import.meta.url));
  return readdirSync(dir).flatMap((f) =>
    (JSON.parse(readFileSync(dir + f, 'utf8')) as { properties: { policyDefinitions: { policyDefinitionId: string }[] } }).properties.policyDefinitions.map((d) =>
      d.policyDefinitionId.split('/').pop()!,
    ),
  );
}

/**
 * Contract of the ARM emulator against the official REST examples: every example the emulator can
 * serve is loaded into it and read back through the real SDK client (or the REST client for
 * connectedClusters 2026-03-01 and policyExemptions, which no installed SDK models), and nothing may be lost.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getClient, type Client } from '@azure-rest/core-client';
import { SourceControlConfigurationClient } from '@azure/arm-kubernetesconfiguration';
import { PolicyClient } from '@azure/arm-policy';
import { PolicyInsightsClient } from '@azure/arm-policyinsights';
import { SubscriptionClient } from '@azure/arm-resources-subscriptions';
import type { ManagedIdentityCredential } from '@azure/identity';
import { startArmEmulator, type ArmEmulator, type ArmResource, type FleetCluster, type FleetModel } from '../../local/arm-emulator/index.js';
import { armToken, rawArm, sdkOptions, useEmulatorIdentity } from '../integration/arm-emulator/support/emulator-clients.js';
import { loadExample, lostFields, responseBody } from './support/lossless.js';

let emulator: ArmEmulator;
let credential: ManagedIdentityCredential;
let policyStateRecords: Record<string, unknown>[] = [];

const fleet: FleetModel = { tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', subscriptions: [], clusters: [], policyAssignments: [], policyExemptions: [], policySets: {}, remediations: [] };

beforeAll(async () => {
  emulator = await startArmEmulator({
    fleet,
    derivePolicyStates: (_f, sub) => policyStateRecords.filter((r) => String(r['resourceId']).toLowerCase().startsWith(`/subscriptions/${sub.toLowerCase()}/`)),
    remediationDelayMs: 0,
  });
  credential = useEmulatorIdentity(emulator);
});
afterAll(async () => {
  await emulator?.stop();
});
beforeEach(() => {
  fleet.subscriptions.length = 0;
  fleet.clusters.length = 0;
  fleet.policyAssignments.length = 0;
  fleet.policyExemptions.length = 0;
  fleet.remediations.length = 0;
  policyStateRecords = [];
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function addSubscription(id: string): void {
  const sub = /^\/?subscriptions\/([^/]+)/i.exec(id)?.[1] ?? id;
  if (!fleet.subscriptions.some((s) => s.subscriptionId === sub)) fleet.subscriptions.push({ subscriptionId: sub, displayName: sub, state: 'Enabled' });
}

function addCluster(resource: ArmResource): FleetCluster {
  addSubscription(resource.id);
  const cluster: FleetCluster = { resource, extensions: [], fluxConfigurations: [], violations: [] };
  fleet.clusters.push(cluster);
  return cluster;
}

function restClient(apiVersion: string): Client {
  return getClient(emulator.url, credential, { ...sdkOptions(emulator), apiVersion, credentials: { scopes: [`${emulator.url}/.default`] } });
}

describe('Microsoft.Kubernetes/connectedClusters through the REST client (whole bodies)', () => {
  const singles = ['hybridkubernetes/2026-03-01/GetClusterExample.json', 'hybridkubernetes/2024-01-01/GetClusterExample.json'];
  for (const file of singles) {
    it(`get + list: ${file}`, async () => {
      const body = responseBody<ArmResource>(loadExample(file));
      addCluster(structuredClone(body));
      const client = restClient('2026-03-01');
      const got = await client.pathUnchecked(body.id).get();
      expect(got.status).toBe('200');
      expect(got.body).toEqual(body);
      const sub = body.id.split('/')[2]!;
      const listed = await client.path('/subscriptions/{subscriptionId}/providers/Microsoft.Kubernetes/connectedClusters', sub).get();
      expect(listed.body).toEqual({ value: [body] });
    });
  }

  for (const status of ['200', '201']) {
    it(`CreateCluster_KindExample ${status} body (kind ProvisionedCluster, aadProfile)`, async () => {
      const body = responseBody<ArmResource>(loadExample('hybridkubernetes/2026-03-01/CreateCluster_KindExample.json'), status);
      addCluster(structuredClone(body));
      const got = await restClient('2026-03-01').pathUnchecked(body.id).get();
      expect(got.body).toEqual(body);
    });
  }

  const lists = [
    'hybridkubernetes/2026-03-01/GetClustersBySubscriptionExample.json',
    'hybridkubernetes/2021-10-01/GetClustersBySubscriptionExample.json',
    'hybridkubernetes/2021-10-01/GetClustersByResourceGroupExample.json',
  ];
  for (const file of lists) {
    it(`list by subscription and resource group: ${file}`, async () => {
      const { value } = responseBody<{ value: ArmResource[] }>(loadExample(file));
      for (const c of value) addCluster(structuredClone(c));
      const [, , sub, , rg] = value[0]!.id.split('/');
      const client = restClient('2026-03-01');
      const bySub = await client.path('/subscriptions/{subscriptionId}/providers/Microsoft.Kubernetes/connectedClusters', sub!).get();
      expect(bySub.body).toEqual({ value });
      const byRg = await client.path('/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Kubernetes/connectedClusters', sub!, rg!).get();
      expect((byRg.body as { value: unknown[] }).value).toEqual(value.filter((c) => c.id.split('/')[4] === rg));
    });
  }
});

describe('Microsoft.KubernetesConfiguration through SourceControlConfigurationClient', () => {
  function clusterFor(childId: string): FleetCluster {
    const clusterIdPart = childId.split('/providers/Microsoft.KubernetesConfiguration/')[0]!;
    return addCluster({ id: clusterIdPart, name: clusterIdPart.split('/').pop()!, type: 'Microsoft.Kubernetes/connectedClusters' });
  }

  it('ListExtensions.json + GetExtension.json', async () => {
    const { value } = responseBody<{ value: ArmResource[] }>(loadExample('kubernetesconfiguration/2023-05-01/ListExtensions.json'));
    const single = responseBody<ArmResource>(loadExample('kubernetesconfiguration/2023-05-01/GetExtension.json'));
    const cluster = clusterFor(value[0]!.id);
    cluster.extensions.push(...structuredClone(value));
    const client = new SourceControlConfigurationClient(credential, 'subId1', sdkOptions(emulator));
    const listed = await collect(client.extensions.list('rg1', 'Microsoft.Kubernetes', 'connectedClusters', 'clusterName1'));
    expect(listed).toHaveLength(value.length);
    value.forEach((wire, i) => expect(lostFields(wire, listed[i])).toEqual([]));

    // Same cluster and extension name as in the list example: the single example replaces it.
    const singleCluster = fleet.clusters.find((c) => single.id.startsWith(`${c.resource.id}/`)) ?? clusterFor(single.id);
    singleCluster.extensions.splice(0, singleCluster.extensions.length, structuredClone(single));
    const [, , sub, , rg, , rp, type, name] = single.id.split('/');
    const got = await new SourceControlConfigurationClient(credential, sub!, sdkOptions(emulator)).extensions.get(rg!, rp!, type!, name!, single.name);
    expect(lostFields(single, got)).toEqual([]);
  });

  it('ListFluxConfigurations.json + GetFluxConfiguration.json', async () => {
    const { value } = responseBody<{ value: ArmResource[] }>(loadExample('kubernetesconfiguration/2023-05-01/ListFluxConfigurations.json'));
    const single = responseBody<ArmResource>(loadExample('kubernetesconfiguration/2023-05-01/GetFluxConfiguration.json'));
    clusterFor(value[0]!.id).fluxConfigurations.push(...structuredClone(value));
    const client = new SourceControlConfigurationClient(credential, 'subId1', sdkOptions(emulator));
    const listed = await collect(client.fluxConfigurations.list('rg1', 'Microsoft.Kubernetes', 'connectedClusters', 'clusterName1'));
    expect(listed).toHaveLength(value.length);
    value.forEach((wire, i) => expect(lostFields(wire, listed[i])).toEqual([]));

    const singleCluster = fleet.clusters.find((c) => single.id.startsWith(`${c.resource.id}/`)) ?? clusterFor(single.id);
    singleCluster.fluxConfigurations.splice(0, singleCluster.fluxConfigurations.length, structuredClone(single));
    const [, , sub, , rg, , rp, type, name] = single.id.split('/');
    const got = await new SourceControlConfigurationClient(credential, sub!, sdkOptions(emulator)).fluxConfigurations.get(rg!, rp!, type!, name!, single.name);
    expect(lostFields(single, got)).toEqual([]);
  });
});

describe('Microsoft.Authorization through PolicyClient (2025-03-01)', () => {
  const scopeOf = (id: string): string => id.split('/providers/Microsoft.Authorization/')[0]!.replace(/^\//, '');

  for (const file of ['getPolicyAssignment.json', 'getPolicyAssignmentWithOverrides.json', 'getPolicyAssignmentWithResourceSelectors.json']) {
    it(`get: ${file}`, async () => {
      const body = responseBody<ArmResource>(loadExample(`authorization/2025-03-01/${file}`));
      addSubscription(body.id);
      fleet.policyAssignments.push(structuredClone(body));
      const got = await new PolicyClient(credential, body.id.split('/')[2]!, sdkOptions(emulator)).policyAssignments.get(scopeOf(body.id), body.name);
      expect(lostFields(body, got)).toEqual([]);
    });
  }

  it('list (subscription, $filter=atScope()): listPolicyAssignments.json', async () => {
    const example = loadExample('authorization/2025-03-01/listPolicyAssignments.json');
    const { value } = responseBody<{ value: ArmResource[] }>(example);
    const sub = String(example.parameters['subscriptionId']);
    addSubscription(sub);
    fleet.policyAssignments.push(...structuredClone(value));
    const listed = await collect(new PolicyClient(credential, sub, sdkOptions(emulator)).policyAssignments.list({ filter: 'atScope()', expand: String(example.parameters['$expand']) }));
    expect(listed).toHaveLength(value.length);
    value.forEach((wire, i) => expect(lostFields(wire, listed[i])).toEqual([]));
  });

  it('list for a resource group: listPolicyAssignmentsForResourceGroup.json', async () => {
    const example = loadExample('authorization/2025-03-01/listPolicyAssignmentsForResourceGroup.json');
    const { value } = responseBody<{ value: ArmResource[] }>(example);
    const sub = String(example.parameters['subscriptionId']);
    addSubscription(sub);
    fleet.policyAssignments.push(...structuredClone(value));
    const listed = await collect(new PolicyClient(credential, sub, sdkOptions(emulator)).policyAssignments.listForResourceGroup(String(example.parameters['resourceGroupName']), { filter: 'atScope()' }));
    expect(listed).toHaveLength(value.length);
    value.forEach((wire, i) => expect(lostFields(wire, listed[i])).toEqual([]));
  });

  for (const file of ['createPolicyAssignmentWithOverrides.json', 'createPolicyAssignmentWithResourceSelectors.json', 'createPolicyAssignmentWithoutEnforcement.json', 'createPolicyAssignmentWithIdentity.json']) {
    it(`create (PUT) round trip and stored 201 body: ${file}`, async () => {
      const example = loadExample(`authorization/2025-03-01/${file}`);
      const scope = String(example.parameters['scope']);
      const name = String(example.parameters['policyAssignmentName']);
      addSubscription(`/${scope}`);
      const client = new PolicyClient(credential, scope.split('/')[1]!, sdkOptions(emulator));
      const request = example.parameters['parameters'] as Record<string, unknown>;
      const created = await client.policyAssignments.create(scope, name, flattenAssignment(request));
      // Everything the request carried comes back in the 201 body.
      expect(lostFields(request, created)).toEqual([]);
      expect(created.scope).toBe(`/${scope}`);

      fleet.policyAssignments.length = 0;
      const stored = responseBody<ArmResource>(example, '201');
      fleet.policyAssignments.push(structuredClone(stored));
      expect(lostFields(stored, await client.policyAssignments.get(scopeOf(stored.id), stored.name))).toEqual([]);
    });
  }

  it('update (PATCH) with overrides: updatePolicyAssignmentWithOverrides.json', async () => {
    const example = loadExample('authorization/2025-03-01/updatePolicyAssignmentWithOverrides.json');
    const expected = responseBody<ArmResource & { properties: Record<string, unknown> }>(example);
    const base = structuredClone(expected);
    delete base.properties['overrides'];
    addSubscription(base.id);
    fleet.policyAssignments.push(base);
    const scope = String(example.parameters['scope']);
    const patch = (example.parameters['parameters'] as { properties: Record<string, unknown> }).properties;
    const updated = await new PolicyClient(credential, scope.split('/')[1]!, sdkOptions(emulator)).policyAssignments.update(scope, String(example.parameters['policyAssignmentName']), patch);
    expect(lostFields(expected, updated, ['systemdata'])).toEqual([]);
  });

  it('policy exemption get (2024-12-01-preview, not in @azure/arm-policy 7): getPolicyExemption.json, whole body', async () => {
    const body = responseBody<ArmResource>(loadExample('authorization/2024-12-01-preview/getPolicyExemption.json'));
    addSubscription(body.id);
    fleet.policyExemptions.push(structuredClone(body));
    const client = restClient('2024-12-01-preview');
    expect((await client.pathUnchecked(body.id).get()).body).toEqual(body);
    const scope = body.id.split('/providers/Microsoft.Authorization/')[0]!;
    expect((await client.pathUnchecked(`${scope}/providers/Microsoft.Authorization/policyExemptions`).get()).body).toEqual({ value: [body] });
  });
});

/** The 2025-03-01 SDK model is flat; the wire request nests `properties`. */
function flattenAssignment(request: Record<string, unknown>): Record<string, unknown> {
  const { properties, ...rest } = request;
  return { ...rest, ...(properties as Record<string, unknown>) };
}

describe('Microsoft.PolicyInsights through PolicyInsightsClient (2024-10-01)', () => {
  const insights = (subscriptionId?: string): PolicyInsightsClient =>
    subscriptionId ? new PolicyInsightsClient(credential, subscriptionId, sdkOptions(emulator)) : new PolicyInsightsClient(credential, sdkOptions(emulator));

  for (const file of ['PolicyStates_QuerySubscriptionScope.json', 'PolicyStates_QuerySubscriptionScopeNextLink.json']) {
    it(`subscription query: ${file}`, async () => {
      const example = loadExample(`policyinsights/2024-10-01/${file}`);
      const { value } = responseBody<{ value: Record<string, unknown>[] }>(example);
      const sub = String(example.parameters['subscriptionId']);
      addSubscription(sub);
      policyStateRecords = structuredClone(value);
      const got = await collect(insights().policyStates.listQueryResultsForSubscription('latest', sub));
      expect(got).toHaveLength(value.length);
      value.forEach((wire, i) => expect(lostFields(wire, got[i])).toEqual([]));
    });
  }

  it('resource-group query: PolicyStates_QueryResourceGroupScope.json', async () => {
    const example = loadExample('policyinsights/2024-10-01/PolicyStates_QueryResourceGroupScope.json');
    const { value } = responseBody<{ value: Record<string, unknown>[] }>(example);
    const sub = String(example.parameters['subscriptionId']);
    addSubscription(sub);
    policyStateRecords = structuredClone(value);
    const got = await collect(insights().policyStates.listQueryResultsForResourceGroup('latest', sub, String(example.parameters['resourceGroupName'])));
    expect(got).toHaveLength(value.length);
    value.forEach((wire, i) => expect(lostFields(wire, got[i])).toEqual([]));
  });

  it('resource query with $expand=components($filter=…): PolicyStates_QueryResourceScopeExpandComponents.json', async () => {
    const example = loadExample('policyinsights/2024-10-01/PolicyStates_QueryResourceScopeExpandComponents.json');
    const { value } = responseBody<{ value: Record<string, unknown>[] }>(example);
    addSubscription(String(example.parameters['resourceId']));
    policyStateRecords = structuredClone(value);
    const got = await collect(insights().policyStates.listQueryResultsForResource('latest', String(example.parameters['resourceId']), {
      queryOptions: { filter: String(example.parameters['$filter']), expand: String(example.parameters['$expand']) },
    }));
    expect(got).toHaveLength(1);
    expect(lostFields(value[0], got[0])).toEqual([]);
    expect(got[0]!.components).toHaveLength(5);
    expect(emulator.requests.log.at(-1)?.route).toBe('policyStates.queryResults');
  });

  it('summarize: the SDK reads every field of the emulator summary, in the shape of PolicyStates_SummarizeSubscriptionScope.json', async () => {
    const states = responseBody<{ value: Record<string, unknown>[] }>(loadExample('policyinsights/2024-10-01/PolicyStates_QuerySubscriptionScope.json')).value;
    const example = responseBody<{ value: Record<string, unknown>[] }>(loadExample('policyinsights/2024-10-01/PolicyStates_SummarizeSubscriptionScope.json'));
    const sub = 'fffedd8f-ffff-fffd-fffd-fffed2f84852';
    addSubscription(sub);
    policyStateRecords = structuredClone(states);
    const summary = await insights().policyStates.summarizeForSubscription('latest', sub, { queryOptions: { top: 5 } });
    const raw = await rawArm(emulator, 'POST', `/subscriptions/${sub}/providers/Microsoft.PolicyInsights/policyStates/latest/summarize?api-version=2024-10-01&$top=5`, {
      token: await armToken(credential, emulator),
    });
    expect(lostFields(raw.body, summary)).toEqual([]);
    const entity = (raw.body as { value: Record<string, unknown>[] }).value[0]!;
    expect(Object.keys(entity).sort()).toEqual(Object.keys(example.value[0]!).sort());
    expect(Object.keys(entity['results'] as object).sort()).toEqual(Object.keys(example.value[0]!['results'] as object).sort());
    expect(summary.value?.[0]?.results?.nonCompliantResources).toBe(1);
    expect(summary.value?.[0]?.policyAssignments).toHaveLength(2);
  });

  it('remediation get: Remediations_GetSubscriptionScope.json', async () => {
    const example = loadExample('policyinsights/2024-10-01/Remediations_GetSubscriptionScope.json');
    const body = responseBody<ArmResource>(example);
    addSubscription(body.id);
    fleet.remediations.push(structuredClone(body));
    const got = await insights(String(example.parameters['subscriptionId'])).remediations.getAtSubscription(String(example.parameters['remediationName']));
    expect(lostFields(body, got)).toEqual([]);
  });

  it('remediation create: Remediations_CreateSubscriptionScope.json request round-trips, response has the example shape and values', async () => {
    const example = loadExample('policyinsights/2024-10-01/Remediations_CreateSubscriptionScope.json');
    const sub = String(example.parameters['subscriptionId']);
    addSubscription(sub);
    const request = example.parameters['parameters'] as { properties: { policyAssignmentId: string } };
    const created = await insights(sub).remediations.createOrUpdateAtSubscription(String(example.parameters['remediationName']), request.properties);
    expect(lostFields(request, created)).toEqual([]);
    const expected = responseBody<Record<string, unknown>>(example, '201');
    const raw = await rawArm(emulator, 'GET', `/subscriptions/${sub}/providers/Microsoft.PolicyInsights/remediations/${String(example.parameters['remediationName'])}?api-version=2024-10-01`, {
      token: await armToken(credential, emulator),
    });
    const body = raw.body as Record<string, unknown>;
    // Every leaf of the example, at the same path; `statusMessage` is free text the emulator does not produce.
    expect(leafPaths(body)).toEqual(leafPaths(expected).filter((p) => p !== 'properties.statusMessage'));
    // The values that do not depend on time or generated ids (no noncompliant resources here: 0 deployments).
    // Created `Accepted`, as in the example; read back `Succeeded` because this emulator's remediation delay is 0.
    expect(created.provisioningState).toBe('Accepted');
    expect(body).toMatchObject({
      name: expected['name'],
      type: expected['type'],
      properties: { policyAssignmentId: request.properties.policyAssignmentId, provisioningState: 'Succeeded', resourceDiscoveryMode: 'ExistingNonCompliant', deploymentStatus: { totalDeployments: 0, successfulDeployments: 0, failedDeployments: 0 } },
    });
    expect(String(body['id']).toLowerCase()).toBe(String(expected['id']).toLowerCase());
  });

  it('remediation deployments: Remediations_ListDeploymentsSubscriptionScope.json', async () => {
    const example = loadExample('policyinsights/2024-10-01/Remediations_ListDeploymentsSubscriptionScope.json');
    const { value } = responseBody<{ value: Record<string, unknown>[] }>(example);
    const sub = String(example.parameters['subscriptionId']);
    const name = String(example.parameters['remediationName']);
    const id = `/subscriptions/${sub}/providers/microsoft.policyinsights/remediations/${name}`;
    addSubscription(sub);
    fleet.remediations.push({ id, name, type: 'Microsoft.PolicyInsights/remediations', properties: { provisioningState: 'Succeeded' } });
    emulator.state.remediationDeployments.set(id.toLowerCase(), structuredClone(value));
    const got = await collect(insights(sub).remediations.listDeploymentsAtSubscription(name));
    expect(got).toHaveLength(value.length);
    value.forEach((wire, i) => expect(lostFields(wire, got[i])).toEqual([]));
  });
});

/** Dot-joined paths of a JSON value's leaves (array items as `[]`), sorted and unique: the shape of a wire body. */
function leafPaths(value: unknown, prefix = ''): string[] {
  const out = new Set<string>();
  const walk = (v: unknown, path: string): void => {
    if (Array.isArray(v)) v.forEach((item) => walk(item, `${path}[]`));
    else if (typeof v === 'object' && v !== null) for (const [k, child] of Object.entries(v)) walk(child, path === '' ? k : `${path}.${k}`);
    else out.add(path);
  };
  walk(value, prefix);
  return [...out].sort();
}

/**
 * Policy events and component policy states are not stored: the emulator derives them from the same
 * policy states as `policyStates/latest` (local/arm-emulator/wire/routes/policy-records.ts). Each
 * example is read back by giving the emulator the states it derives from; a second test per resource
 * derives records from real-shaped *policy state* examples and checks them against the example's wire
 * shape (same keys, same order), so the derivation itself is covered, not just a pass-through.
 */
describe('Microsoft.PolicyInsights policyEvents and componentPolicyStates through PolicyInsightsClient (2024-10-01)', () => {
  const insights = (): PolicyInsightsClient => new PolicyInsightsClient(credential, sdkOptions(emulator));
  /** The records' own `@odata.context` names the emulator's URL, not management.azure.com: compared on its path only. */
  const contextPath = (value: unknown): string => new URL(String(value)).pathname.replace(/%24/g, '$');
  const entityPath = (sub: string, resource: string, _virtual: string): string => `/subscriptions/${sub}/providers/Microsoft.PolicyInsights/${resource}/$metadata`;
  const COMPONENT_KEYS = new Set(['componentId', 'componentType', 'componentName', 'policyEvaluationDetails']);

  /** The policy state a component record was derived from: its parent fields, with the component in `components`. */
  function parentState(component: Record<string, unknown>): Record<string, unknown> {
    const state: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(component)) if (!COMPONENT_KEYS.has(k) && !k.startsWith('@odata')) state[k] = v;
    state['components'] = [
      {
        id: component['componentId'],
        type: component['componentType'],
        name: component['componentName'],
        timestamp: component['timestamp'],
        complianceState: component['complianceState'],
        ...(component['policyEvaluationDetails'] !== undefined ? { policyEvaluationDetails: component['policyEvaluationDetails'] } : {}),
      },
    ];
    return state;
  }

  it('policy events: PolicyEvents_QuerySubscriptionScope.json', async () => {
    const example = loadExample('policyinsights/2024-10-01/PolicyEvents_QuerySubscriptionScope.json');
    const { value } = responseBody<{ value: Record<string, unknown>[] }>(example);
    // Upstream quirk: the example's subscriptionId parameter is not the subscription its records are in.
    const sub = String(value[0]!['subscriptionId']);
    addSubscription(sub);
    policyStateRecords = structuredClone(value);
    const got = await collect(insights().policyEvents.listQueryResultsForSubscription('default', sub));
    expect(got).toHaveLength(value.length);
    value.forEach((wire, i) => expect(lostFields(wire, got[i], ['odatacontext'])).toEqual([]));
    for (const g of got) expect(contextPath(g.odataContext)).toBe(`${entityPath(sub, 'policyEvents', 'default')}`);

    const raw = await rawArm(emulator, 'POST', `/subscriptions/${sub}/providers/Microsoft.PolicyInsights/policyEvents/default/queryResults?api-version=2024-10-01`, { token: await armToken(credential, emulator) });
    const body = raw.body as { '@odata.context': string; '@odata.count': number; value: Record<string, unknown>[] };
    expect(body['@odata.count']).toBe(value.length);
    expect(contextPath(body['@odata.context'])).toBe(entityPath(sub, 'policyEvents', 'default'));
    body.value.forEach((record, i) => expect(Object.keys(record)).toEqual(Object.keys(value[i]!)));
  });

  it('policy events derived from policy states have the event example\'s fields, in its order', async () => {
    const eventKeys = Object.keys(responseBody<{ value: Record<string, unknown>[] }>(loadExample('policyinsights/2024-10-01/PolicyEvents_QuerySubscriptionScope.json')).value[0]!);
    const states = responseBody<{ value: Record<string, unknown>[] }>(loadExample('policyinsights/2024-10-01/PolicyStates_QuerySubscriptionScope.json')).value;
    const sub = String(states[0]!['subscriptionId']);
    addSubscription(sub);
    policyStateRecords = structuredClone(states);
    const raw = await rawArm(emulator, 'POST', `/subscriptions/${sub}/providers/Microsoft.PolicyInsights/policyEvents/default/queryResults?api-version=2024-10-01&$filter=${encodeURIComponent('isCompliant eq false')}`, {
      token: await armToken(credential, emulator),
    });
    const events = (raw.body as { value: Record<string, unknown>[] }).value;
    expect(events).toHaveLength(states.length);
    events.forEach((event, i) => {
      expect(Object.keys(event)).toEqual(eventKeys);
      const state = states[i]!;
      for (const key of eventKeys) if (key in state && !key.startsWith('@odata')) expect(event[key], key).toEqual(state[key]);
      expect(event['tenantId']).toBe(fleet.tenantId);
      expect(event['principalOid']).toBeNull();
    });
  });

  it('component policy states at subscription scope: ComponentPolicyStates_QuerySubscriptionScope.json', async () => {
    const example = loadExample('policyinsights/2024-10-01/ComponentPolicyStates_QuerySubscriptionScope.json');
    const { value } = responseBody<{ value: Record<string, unknown>[] }>(example);
    const sub = String(example.parameters['subscriptionId']);
    addSubscription(sub);
    policyStateRecords = value.map(parentState);
    const got = await insights().componentPolicyStates.listQueryResultsForSubscription(sub, 'latest');
    expect(got.odataCount).toBe(value.length);
    expect(got.value).toHaveLength(value.length);
    value.forEach((wire, i) => expect(lostFields(wire, got.value?.[i], ['odatacontext'])).toEqual([]));
    expect(contextPath(got.odataContext)).toBe(entityPath(sub, 'componentPolicyStates', 'latest'));

    const raw = await rawArm(emulator, 'POST', `/subscriptions/${sub}/providers/Microsoft.PolicyInsights/componentPolicyStates/latest/queryResults?api-version=2024-10-01`, { token: await armToken(credential, emulator) });
    (raw.body as { value: Record<string, unknown>[] }).value.forEach((record, i) => expect(Object.keys(record)).toEqual(Object.keys(value[i]!)));
  });

  it('component policy states at resource scope with $filter and $expand=PolicyEvaluationDetails: ComponentPolicyStates_QueryResourceScopeExpandPolicyEvaluationDetails.json', async () => {
    const example = loadExample('policyinsights/2024-10-01/ComponentPolicyStates_QueryResourceScopeExpandPolicyEvaluationDetails.json');
    const { value } = responseBody<{ value: Record<string, unknown>[] }>(example);
    const resourceId = String(example.parameters['resourceId']);
    addSubscription(resourceId);
    // A component of another type on the same resource, which the example's $filter must leave out.
    const other = { ...value[0]!, componentType: 'Deployment', componentId: 'default/web', componentName: 'web' };
    policyStateRecords = [...value, other].map(parentState);
    const got = await insights().componentPolicyStates.listQueryResultsForResource(resourceId, 'latest', {
      filter: String(example.parameters['$filter']),
      expand: String(example.parameters['$expand']),
    });
    expect(got.value).toHaveLength(value.length);
    value.forEach((wire, i) => expect(lostFields(wire, got.value?.[i], ['odatacontext'])).toEqual([]));
    expect(got.value?.[0]?.policyEvaluationDetails?.reason).toBe('tbd reason for evaluation outcome');

    // Without the $expand the details are left out, as the service does.
    const plain = await insights().componentPolicyStates.listQueryResultsForResource(resourceId, 'latest', { filter: String(example.parameters['$filter']) });
    expect(plain.value?.map((r) => r.policyEvaluationDetails)).toEqual([undefined, undefined]);
  });

  it('component policy states derived from policy states with components have the component example\'s fields, in its order', async () => {
    const componentKeys = Object.keys(responseBody<{ value: Record<string, unknown>[] }>(loadExample('policyinsights/2024-10-01/ComponentPolicyStates_QuerySubscriptionScope.json')).value[0]!);
    const example = loadExample('policyinsights/2024-10-01/PolicyStates_QueryResourceScopeExpandComponents.json');
    const [state] = responseBody<{ value: Record<string, unknown>[] }>(example).value;
    const components = state!['components'] as Record<string, unknown>[];
    const sub = String(state!['subscriptionId']);
    addSubscription(sub);
    policyStateRecords = [structuredClone(state!)];
    const got = await insights().componentPolicyStates.listQueryResultsForSubscription(sub, 'latest');
    expect(got.value?.map((c) => [c.componentId, c.componentType, c.componentName, c.complianceState])).toEqual(components.map((c) => [c['id'], c['type'], c['name'], c['complianceState']]));
    expect(got.value?.map((c) => c.timestamp?.toISOString())).toEqual(components.map((c) => new Date(String(c['timestamp'])).toISOString()));
    const raw = await rawArm(emulator, 'POST', `/subscriptions/${sub}/providers/Microsoft.PolicyInsights/componentPolicyStates/latest/queryResults?api-version=2024-10-01`, { token: await armToken(credential, emulator) });
    for (const record of (raw.body as { value: Record<string, unknown>[] }).value) {
      expect(Object.keys(record)).toEqual(componentKeys);
      expect(record['resourceId']).toBe(state!['resourceId']);
      expect(record['policyAssignmentId']).toBe(state!['policyAssignmentId']);
    }
  });
});

describe('Subscriptions through SubscriptionClient (2022-12-01; no example file, shape of the SDK model)', () => {
  it('lists every field the SDK models', async () => {
    addSubscription('33333333-3333-3333-3333-333333333333');
    const got = await collect(new SubscriptionClient(credential, sdkOptions(emulator)).subscriptions.list());
    const raw = await rawArm(emulator, 'GET', '/subscriptions?api-version=2022-12-01', { token: await armToken(credential, emulator) });
    const wire = (raw.body as { value: unknown[] }).value;
    expect(got).toHaveLength(1);
    expect(lostFields(wire[0], got[0])).toEqual([]);
    expect(got[0]).toMatchObject({ subscriptionId: '33333333-3333-3333-3333-333333333333', state: 'Enabled', tenantId: fleet.tenantId });
  });
});

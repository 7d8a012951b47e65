import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManagedIdentityCredential } from '@azure/identity';
import { PolicyClient } from '@azure/arm-policy';
import { PolicyInsightsClient } from '@azure/arm-policyinsights';
import { startArmEmulator, type ArmEmulator } from '../../../local/arm-emulator/index.js';
import { ArmInventoryReader } from '../../../adapters/arm/azure-inventory-reader.js';
import { DependencyError } from '../../../domain/errors.js';
import { armToken, emulatorConnection, rawArm, sdkOptions, useEmulatorIdentity } from './support/emulator-clients.js';
import { NO_PRIVILEGED, SUB_A, SUB_B, clusterId, tinyDerivePolicyStates, tinyFleet } from './support/tiny-fleet.js';
import { silentLogger } from '../../../application/logger.js';

let emulator: ArmEmulator;
let credential: ManagedIdentityCredential;
let reader: ArmInventoryReader;

beforeAll(async () => {
  emulator = await startArmEmulator({ fleet: tinyFleet(5), derivePolicyStates: tinyDerivePolicyStates, pageSizes: { resources: 2, policyStates: 4 } });
  credential = useEmulatorIdentity(emulator);
  reader = new ArmInventoryReader({ ...emulatorConnection(emulator, credential), maxConcurrency: 2 });
});
afterAll(async () => {
  await emulator?.stop();
});
beforeEach(() => {
  emulator.faults.clear();
  emulator.requests.reset();
});

describe('authentication', () => {
  it('answers 401 with an ARM error body when no token is sent', async () => {
    const res = await rawArm(emulator, 'GET', `/subscriptions/${SUB_A}/providers/Microsoft.Kubernetes/connectedClusters?api-version=2026-03-01`);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: { code: 'AuthenticationFailed', message: expect.any(String) } });
    expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
  });

  it('rejects a token it did not sign', async () => {
    const forged = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const res = await rawArm(emulator, 'GET', `/subscriptions?api-version=2022-12-01`, { token: forged });
    expect(res.status).toBe(401);
    expect((res.body as { error: { code: string } }).error.code).toBe('InvalidAuthenticationToken');
  });

  it('issues tokens through the App Service protocol to the real ManagedIdentityCredential', async () => {
    const token = await credential.getToken(`${emulator.url}/.default`);
    expect(token?.token.split('.')).toHaveLength(3);
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now());
    const identityCalls = emulator.requests.log.filter((r) => r.route === 'identity.token');
    expect(identityCalls.length).toBeGreaterThanOrEqual(1);
    expect(identityCalls.every((r) => r.apiVersion === '2019-08-01' && r.status === 200)).toBe(true);
    const res = await rawArm(emulator, 'GET', `/subscriptions?api-version=2022-12-01`, { token: token.token });
    expect(res.status).toBe(200);
  });

  /** A token from the emulator's managed-identity endpoint for `resource`, as any client could get one. */
  async function identityToken(resource: string): Promise<string> {
    const res = await fetch(`${emulator.identityEndpoint}?resource=${encodeURIComponent(resource)}&api-version=2019-08-01`, { headers: { 'X-IDENTITY-HEADER': emulator.identityHeader } });
    return ((await res.json()) as { access_token: string }).access_token;
  }

  it('refuses a valid token issued for another resource with ARM\'s InvalidAuthenticationTokenAudience', async () => {
    for (const resource of ['https://storage.azure.com', 'https://vault.azure.net', `${emulator.url}/other`]) {
      const res = await rawArm(emulator, 'GET', '/subscriptions?api-version=2022-12-01', { token: await identityToken(resource) });
      expect(res.status, resource).toBe(401);
      expect(res.body, resource).toEqual({ error: { code: 'InvalidAuthenticationTokenAudience', message: expect.stringContaining(`wrong audience or resource '${resource}'`) } });
      expect((res.body as { error: { message: string } }).error.message).toContain("'https://management.azure.com/'");
      expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
    }
    expect(emulator.requests.log.filter((r) => r.route === 'unauthenticated:subscriptions.list').map((r) => r.status)).toEqual([401, 401, 401]);
  });

  it('accepts the audiences the SDKs request: ARM\'s public ones and the emulator\'s own URL', async () => {
    const audiences = ['https://management.azure.com', 'https://management.azure.com/', 'https://management.core.windows.net/', 'https://management.core.windows.net', emulator.url, `${emulator.url}/`];
    for (const resource of audiences) {
      const res = await rawArm(emulator, 'GET', '/subscriptions?api-version=2022-12-01', { token: await identityToken(resource) });
      expect(res.status, resource).toBe(200);
    }
  });

  it('refuses the identity endpoint without the secret header', async () => {
    const res = await fetch(`${emulator.identityEndpoint}?resource=${encodeURIComponent(emulator.url)}&api-version=2019-08-01`);
    expect(res.status).toBe(401);
  });

  it('passes a user-assigned client id through', async () => {
    const clientId = '3c4d5e6f-0000-4000-8000-000000000001';
    const res = await fetch(`${emulator.identityEndpoint}?resource=https%3A%2F%2Fmanagement.azure.com&api-version=2019-08-01&client_id=${clientId}`, {
      headers: { 'X-IDENTITY-HEADER': emulator.identityHeader },
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ client_id: clientId, resource: 'https://management.azure.com', token_type: 'Bearer' });
    expect(Number(body['expires_on'])).toBeGreaterThan(Date.now() / 1000);
  });
});

describe('production reader against the emulator', () => {
  it('lists subscriptions through SubscriptionClient', async () => {
    const subs = await reader.listSubscriptions();
    expect(subs.map((s) => s.subscriptionId)).toEqual([SUB_A, SUB_B]);
    expect(emulator.requests.apiVersions()['subscriptions.list']).toEqual(['2022-12-01']);
  });

  it('follows nextLink across connected-cluster pages at api-version 2026-03-01 and maps the newer fields', async () => {
    const clusters = await reader.listConnectedClusters(SUB_A);
    expect(clusters.map((c) => c.name)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    expect(emulator.requests.count('connectedClusters.listBySubscription')).toBe(3); // pages of 2
    expect(emulator.requests.apiVersions()['connectedClusters.listBySubscription']).toEqual(['2026-03-01']);
    const c1 = clusters[1]!;
    expect(c1.location).toBe('eastus');
    expect(c1.resourceGroup).toBe('store-rg');
    expect(c1.properties.aadProfile?.enableAzureRBAC).toBe(true);
    expect(c1.properties.arcAgentProfile?.agentAutoUpgrade).toBe('Enabled');
    expect(c1.properties.securityProfile?.workloadIdentity?.enabled).toBe(true);
    expect(c1.properties.oidcIssuerProfile?.enabled).toBe(true);
    expect(c1.properties.managedIdentityCertificateExpirationTime).toBe('2026-06-01T00:00:00Z');
    expect(c1.properties.connectivityStatus).toBe('Connected');
  });

  it('lists extensions and Flux configurations per cluster', async () => {
    const id = clusterId(SUB_A, 'edge-rg', 'c0');
    expect(await reader.listExtensions(id)).toEqual([{ name: 'azurepolicy', extensionType: 'microsoft.policyinsights', provisioningState: 'Succeeded', version: '1.8.0' }]);
    expect(await reader.listFluxConfigurations(id)).toEqual([{ name: 'gitops', complianceState: 'Compliant' }]);
    expect(emulator.requests.apiVersions()['extensions.list']).toEqual(['2023-05-01']);
  });

  it('queries policy states once per subscription with $filter/$select/$expand, paging by @odata.nextLink', async () => {
    const states = await reader.queryClusterPolicyStates(SUB_A);
    expect(states).toHaveLength(10); // 5 clusters × 2 initiative members
    const queries = emulator.requests.log.filter((r) => r.route === 'policyStates.queryResults');
    expect(queries.map((q) => q.method)).toEqual(['POST', 'GET', 'GET']);
    const offender = states.find((s) => s.complianceState === 'NonCompliant')!;
    expect(offender).toMatchObject({
      resourceId: clusterId(SUB_A, 'edge-rg', 'c0').toLowerCase(),
      policyDefinitionName: NO_PRIVILEGED,
      policySetDefinitionName: 'a8640138-9b0a-4a28-b8cb-1666c838647d',
      policyDefinitionReferenceId: 'noPrivilegedContainers',
      policyDefinitionAction: 'audit',
    });
    expect(offender.components).toEqual([{ id: 'default/priv-pod', name: 'priv-pod', type: 'pod', complianceState: 'NonCompliant' }]);
  });

  it('falls back to a query without $expand when the service refuses it at subscription scope, and stops asking', async () => {
    const warnings: string[] = [];
    const degrading = new ArmInventoryReader({ ...emulatorConnection(emulator, credential), maxConcurrency: 2, log: { ...silentLogger, warn: (m) => warnings.push(m) } });
    emulator.state.refuseSubscriptionScopeExpand = true;
    try {
      emulator.requests.reset();
      const states = await degrading.queryClusterPolicyStates(SUB_A);
      expect(states).toHaveLength(10); // nothing lost but the in-cluster detail
      const offender = states.find((s) => s.complianceState === 'NonCompliant')!;
      expect(offender.policyDefinitionName).toBe(NO_PRIVILEGED);
      expect(offender.components).toBeUndefined();
      const statuses = emulator.requests.log.filter((r) => r.route === 'policyStates.queryResults').map((r) => r.status);
      expect(statuses).toEqual([400, 200, 200, 200]);
      expect(warnings).toHaveLength(1);
      emulator.requests.reset();
      await degrading.queryClusterPolicyStates(SUB_A);
      expect(emulator.requests.log.filter((r) => r.route === 'policyStates.queryResults').map((r) => r.status)).toEqual([200, 200, 200]);
    } finally {
      emulator.state.refuseSubscriptionScopeExpand = false;
    }
  });

  it('retries a 429 exactly once per throttled response, after Retry-After', async () => {
    emulator.faults.throttle({ route: 'connectedClusters.listBySubscription', count: 2, retryAfterSeconds: 1 });
    const clusters = await reader.listConnectedClusters(SUB_A);
    expect(clusters).toHaveLength(5);
    const log = emulator.requests.log.filter((r) => r.route === 'connectedClusters.listBySubscription');
    expect(log.map((r) => r.status)).toEqual([429, 429, 200, 200, 200]);
    expect(emulator.faults.injected.throttle).toBe(2);
    // Each retry came no sooner than Retry-After (1 s) after the 429 it answers (the connection's own
    // retry delay is 5 ms, so only Retry-After explains the wait).
    for (const i of [0, 1]) {
      const [throttled, retry] = [log[i]!, log[i + 1]!];
      expect(retry.path).toBe(throttled.path);
      expect(retry.at - throttled.at, `retry ${i + 1}`).toBeGreaterThanOrEqual(1000);
    }
  });

  it('does not amplify throttling: a throttled SDK call costs the SDK retries, nothing more', async () => {
    emulator.faults.throttle({ route: 'subscriptions.list', count: 100, retryAfterSeconds: 0 });
    await expect(reader.listSubscriptions()).rejects.toBeInstanceOf(DependencyError);
    // 1 attempt + the core-rest-pipeline default of 3 retries.
    expect(emulator.requests.count('subscriptions.list')).toBe(4);
  });

  it('recovers from a page that fails once', async () => {
    emulator.faults.failPageOnce({ route: 'policyStates.queryResults', page: 1 });
    const states = await reader.queryClusterPolicyStates(SUB_B);
    expect(states).toHaveLength(10);
    const statuses = emulator.requests.log.filter((r) => r.route === 'policyStates.queryResults').map((r) => r.status);
    expect(statuses).toEqual([200, 500, 200, 200]);
  });

  it('fails a subscription whose calls always fail, as a DependencyError', async () => {
    emulator.faults.failSubscription(SUB_B);
    await expect(reader.listConnectedClusters(SUB_B)).rejects.toBeInstanceOf(DependencyError);
    expect(await reader.listConnectedClusters(SUB_A)).toHaveLength(5);
  });

  it('keeps at most maxConcurrency child listings in flight', async () => {
    emulator.faults.latency({ route: 'extensions.list', ms: 30 });
    const ids = [0, 1, 2, 3, 4].map((i) => clusterId(SUB_A, i % 2 === 0 ? 'edge-rg' : 'store-rg', `c${i}`));
    let inFlight = 0;
    let peak = 0;
    const original = emulator.state.findCluster.bind(emulator.state);
    // The emulator resolves the cluster when a request arrives; count arrivals against completions.
    emulator.state.findCluster = (id) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => inFlight--, 25);
      return original(id);
    };
    try {
      await Promise.all(ids.map((id) => reader.listExtensions(id)));
    } finally {
      emulator.state.findCluster = original;
    }
    expect(peak).toBeLessThanOrEqual(2);
  });
});

describe('policy events and component policy states', () => {
  it('derives one event per policy state and one component state per offending component, paging events by @odata.nextLink', async () => {
    const insights = new PolicyInsightsClient(credential, sdkOptions(emulator));
    const states = [];
    for await (const s of insights.policyStates.listQueryResultsForSubscription('latest', SUB_A)) states.push(s);
    emulator.requests.reset();
    const events = [];
    for await (const e of insights.policyEvents.listQueryResultsForSubscription('default', SUB_A)) events.push(e);
    expect(events.map((e) => [e.resourceId, e.policyDefinitionId, e.complianceState, e.isCompliant])).toEqual(states.map((s) => [s.resourceId, s.policyDefinitionId, s.complianceState, s.isCompliant]));
    expect(events.every((e) => e.tenantId === emulator.fleet.tenantId)).toBe(true);
    // 10 events in pages of 4: a POST, then two GETs of @odata.nextLink.
    expect(emulator.requests.log.filter((r) => r.route === 'policyEvents.queryResults').map((r) => r.method)).toEqual(['POST', 'GET', 'GET']);

    const components = await insights.componentPolicyStates.listQueryResultsForSubscription(SUB_A, 'latest', { filter: "complianceState eq 'NonCompliant'" });
    // The SDK does not send $expand at subscription scope; the production reader does.
    const withComponents = await reader.queryClusterPolicyStates(SUB_A);
    const expected = withComponents.flatMap((s) => (s.components ?? []).map((c) => [s.resourceId, s.policyDefinitionName, c.id, c.type, c.name]));
    expect(expected.length).toBeGreaterThan(0);
    expect(components.value?.map((c) => [c.resourceId, c.policyDefinitionName, c.componentId, c.componentType, c.componentName])).toEqual(expected);
    expect(components.odataCount).toBe(expected.length);
  });
});

describe('ARM errors', () => {
  it('404 ResourceNotFound for an unknown cluster, SubscriptionNotFound for an unknown subscription', async () => {
    const token = await armToken(credential, emulator);
    const missing = await rawArm(emulator, 'GET', `${clusterId(SUB_A, 'edge-rg', 'nope')}?api-version=2026-03-01`, { token });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: 'ResourceNotFound', message: expect.any(String) } });
    const sub = await rawArm(emulator, 'GET', `/subscriptions/99999999-9999-9999-9999-999999999999/providers/Microsoft.Kubernetes/connectedClusters?api-version=2026-03-01`, { token });
    expect(sub.status).toBe(404);
    expect((sub.body as { error: { code: string } }).error.code).toBe('SubscriptionNotFound');
  });

  it('injects permanent refusals in the official error format, classified by the adapters', async () => {
    const token = await armToken(credential, emulator);
    const clusters = `/subscriptions/${SUB_A}/providers/Microsoft.Kubernetes/connectedClusters`;
    emulator.faults.denyAccess({ subscriptionId: SUB_A, route: 'connectedClusters.listBySubscription' });
    const denied = await rawArm(emulator, 'GET', `${clusters}?api-version=2026-03-01`, { token });
    expect(denied.status).toBe(403);
    expect(denied.body).toEqual({
      error: {
        code: 'AuthorizationFailed',
        message: expect.stringMatching(
          new RegExp(`^The client '[^']+' with object id '[^']+' does not have authorization to perform action 'Microsoft\\.Kubernetes/connectedClusters/read' over scope '${clusters}' or the scope is invalid\\. If access was recently granted, please refresh your credentials\\.$`),
        ),
      },
    });
    // Through the real SDK client: a typed, classified, permanent failure with the ARM code.
    await expect(reader.listConnectedClusters(SUB_A)).rejects.toMatchObject({ status: 403, armFailure: { kind: 'authorization', permanent: true, code: 'AuthorizationFailed' } });
    expect(emulator.requests.count('connectedClusters.listBySubscription', SUB_A)).toBe(2);
    // Other routes and subscriptions are untouched.
    expect((await rawArm(emulator, 'GET', `/subscriptions/${SUB_B}/providers/Microsoft.Kubernetes/connectedClusters?api-version=2026-03-01`, { token })).status).toBe(200);

    emulator.faults.clear().removeSubscription(SUB_B);
    await expect(reader.queryClusterPolicyStates(SUB_B)).rejects.toMatchObject({ status: 404, armFailure: { kind: 'not-found', permanent: true, code: 'SubscriptionNotFound' } });

    emulator.faults.clear().disableSubscription(SUB_A);
    const assignment = `/subscriptions/${SUB_A}/providers/Microsoft.Authorization/policyAssignments/x?api-version=2025-03-01`;
    const write = await rawArm(emulator, 'PUT', assignment, { token, body: { properties: { policyDefinitionId: '/providers/Microsoft.Authorization/policyDefinitions/x' } } });
    expect(write.status).toBe(409);
    expect(write.body).toEqual({ error: { code: 'ReadOnlyDisabledSubscription', message: expect.stringContaining('is disabled and therefore marked as read only') } });
    // Reads, including the POST policy-state query, still answer on a disabled subscription.
    expect((await reader.listConnectedClusters(SUB_A)).length).toBeGreaterThan(0);
    await reader.queryClusterPolicyStates(SUB_A);
    expect(emulator.faults.injected.refusal).toBe(4);
  });

  it('surfaces SDK 404s as DependencyError', async () => {
    await expect(reader.listExtensions(clusterId(SUB_A, 'edge-rg', 'nope'))).rejects.toBeInstanceOf(DependencyError);
  });

  it('400 for an unsupported $filter', async () => {
    const token = await armToken(credential, emulator);
    const res = await rawArm(emulator, 'POST', `/subscriptions/${SUB_A}/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults?api-version=2024-10-01&$filter=${encodeURIComponent('complianceState gt 1')}`, { token });
    expect(res.status).toBe(400);
  });
});

describe('policy states follow assignment writes', () => {
  it('an override to Deny for one location changes policyDefinitionAction of later states for that location only', async () => {
    const policy = new PolicyClient(credential, SUB_A, sdkOptions(emulator));
    // The SDK takes the scope without its leading slash (as the REST examples do).
    const scope = `subscriptions/${SUB_A}`;
    const before = await policy.policyAssignments.get(scope, 'pss-baseline');
    expect(before.overrides).toBeUndefined();
    const updated = await policy.policyAssignments.update(scope, 'pss-baseline', {
      overrides: [{ kind: 'policyEffect', value: 'Deny', selectors: [{ kind: 'resourceLocation', in: ['westeurope'] }] }],
    });
    expect(updated.overrides?.[0]?.value).toBe('Deny');
    expect(updated.parameters).toEqual(before.parameters);

    const states = await reader.queryClusterPolicyStates(SUB_A);
    const clusters = await reader.listConnectedClusters(SUB_A);
    const locationOf = new Map(clusters.map((c) => [c.id.toLowerCase(), c.location]));
    for (const s of states) expect(s.policyDefinitionAction).toBe(locationOf.get(s.resourceId) === 'westeurope' ? 'deny' : 'audit');
    expect(states.some((s) => s.policyDefinitionAction === 'deny')).toBe(true);

    // PUT replaces: restoring the snapshot restores audit everywhere.
    await policy.policyAssignments.create(scope, 'pss-baseline', { ...before, overrides: undefined });
    const after = await reader.queryClusterPolicyStates(SUB_A);
    expect(after.every((s) => s.policyDefinitionAction === 'audit')).toBe(true);
  });
});

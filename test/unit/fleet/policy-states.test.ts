import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ArmResource, FleetModel } from '../../../local/arm-emulator/fleet-model.js';
import { DEMO_SUBSCRIPTIONS, derivePolicyStates, findCluster, generateFleet } from '../../../local/arm-emulator/fleet/index.js';
import { PSS_RESTRICTED_INITIATIVE } from '../../../local/arm-emulator/fleet/builtin-initiatives.js';

const NOW = new Date('2026-05-01T02:00:00Z');
const PROBES = 'b1a9997f-2883-4f12-bdff-2280f99b5915';
const IMAGES = 'febd0533-8e55-448f-b837-bd0e06f16469';
const AUTOMOUNT = '423dd1ba-798e-40e4-9c4d-b6902674b423';
type State = Record<string, unknown>;

const demo = (): FleetModel => generateFleet({ mode: 'demo' }, NOW);
const assignment = (fleet: FleetModel, sub: string, name: string): ArmResource =>
  fleet.policyAssignments.find((a) => a.id.toLowerCase() === `/subscriptions/${sub}/providers/microsoft.authorization/policyassignments/${name}`)!;
const propsOf = (a: ArmResource): Record<string, unknown> => a['properties'] as Record<string, unknown>;
const clusterName = (s: State): string => String(s['resourceId']).split('/').pop()!;
const statesFor = (fleet: FleetModel, sub: string, pred: (s: State) => boolean): State[] => derivePolicyStates(fleet, sub, NOW).filter(pred);

describe('derivePolicyStates wire shape', () => {
  it('has the field names and order of the Policy Insights subscription-scope example', () => {
    const example = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../fixtures/azure-rest-examples/policyinsights/2024-10-01/PolicyStates_QuerySubscriptionScope.json', import.meta.url)), 'utf8'),
    ) as { responses: { 200: { body: { value: State[] } } } };
    const expected = Object.keys(example.responses[200].body.value[0]!);
    for (const s of derivePolicyStates(demo(), DEMO_SUBSCRIPTIONS.factories, NOW)) {
      expect(Object.keys(s).filter((k) => k !== 'components')).toEqual(expected);
    }
  });

  it('lower-cases resourceId, reports the connected cluster type and adds components only for violations', () => {
    const fleet = demo();
    const states = derivePolicyStates(fleet, DEMO_SUBSCRIPTIONS.retail, NOW);
    for (const s of states) {
      expect(s['resourceId']).toBe(String(s['resourceId']).toLowerCase());
      expect(findCluster(fleet, String(s['resourceId']))).toBeDefined();
      expect(s['resourceType']).toBe('Microsoft.Kubernetes/connectedClusters');
      expect(['audit', 'deny']).toContain(s['policyDefinitionAction']);
      expect(s['isCompliant']).toBe(s['complianceState'] === 'Compliant');
      expect('components' in s).toBe(s['complianceState'] === 'NonCompliant');
    }
    const devImages = states.find((s) => clusterName(s) === 'store-dev-weu-005' && s['policyDefinitionName'] === IMAGES)!;
    const components = devImages['components'] as Record<string, unknown>[];
    expect(components).toHaveLength(250);
    expect(Object.keys(components[0]!)).toEqual(['id', 'type', 'name', 'timestamp', 'complianceState']);
    expect(derivePolicyStates(fleet, DEMO_SUBSCRIPTIONS.retail, NOW, { expandComponents: false }).some((s) => 'components' in s)).toBe(false);
  });

  it('returns nothing for an unknown subscription', () => {
    expect(derivePolicyStates(demo(), '00000000-0000-0000-0000-000000000000', NOW)).toEqual([]);
  });
});

describe('assignment semantics', () => {
  it('an override to Deny for one location flips policyDefinitionAction only for clusters there', () => {
    const fleet = demo();
    const sub = DEMO_SUBSCRIPTIONS.retail;
    const before = statesFor(fleet, sub, (s) => s['policyDefinitionName'] === PROBES);
    expect(new Set(before.map((s) => s['policyDefinitionAction']))).toEqual(new Set(['audit']));
    propsOf(assignment(fleet, sub, 'container-probes'))['overrides'] = [{ kind: 'policyEffect', value: 'Deny', selectors: [{ kind: 'resourceLocation', in: ['UKSouth'] }] }];
    const after = statesFor(fleet, sub, (s) => s['policyDefinitionName'] === PROBES);
    expect(after).toHaveLength(before.length);
    for (const s of after) expect(s['policyDefinitionAction']).toBe(s['resourceLocation'] === 'uksouth' ? 'deny' : 'audit');
    expect(after.some((s) => s['resourceLocation'] === 'uksouth')).toBe(true);
  });

  it('override selectors in/notIn partition the clusters by location (property)', () => {
    const locations = ['westeurope', 'northeurope', 'uksouth', 'eastus', 'westus2', 'centralus'];
    fc.assert(
      fc.property(fc.subarray(locations), fc.boolean(), fc.constantFrom(...Object.values(DEMO_SUBSCRIPTIONS)), (chosen, useIn, sub) => {
        const fleet = demo();
        const a = fleet.policyAssignments.find((x) => x.id.toLowerCase().startsWith(`/subscriptions/${sub}/providers/`) && x.name === 'allowed-images')!;
        const selector = useIn ? { kind: 'resourceLocation', in: chosen.map((l) => l.toUpperCase()) } : { kind: 'resourceLocation', notIn: chosen };
        propsOf(a)['overrides'] = [{ kind: 'policyEffect', value: 'Deny', selectors: [selector] }];
        propsOf(a)['parameters'] = { effect: { value: 'Audit' } };
        const states = statesFor(fleet, sub, (s) => String(s['policyAssignmentId']) === a.id.toLowerCase());
        expect(states.length).toBeGreaterThan(0);
        for (const s of states) {
          const selected = chosen.includes(String(s['resourceLocation'])) === useIn;
          expect(s['policyDefinitionAction']).toBe(selected ? 'deny' : 'audit');
        }
      }),
      { numRuns: 60, seed: 42 },
    );
  });

  it('applies the first matching policyEffect override, by reference id within an initiative; Disabled removes the state', () => {
    const fleet = demo();
    const sub = DEMO_SUBSCRIPTIONS.factories;
    propsOf(assignment(fleet, sub, 'pss-restricted'))['overrides'] = [
      { kind: 'policyEffect', value: 'Disabled', selectors: [{ kind: 'policyDefinitionReferenceId', in: ['allowedseccompprofiles'] }] },
      { kind: 'policyEffect', value: 'Deny', selectors: [{ kind: 'policyDefinitionReferenceId', in: ['NoPrivilegedContainers'] }, { kind: 'resourceLocation', in: ['eastus'] }] },
      { kind: 'policyEffect', value: 'Audit', selectors: [{ kind: 'policyDefinitionReferenceId', in: ['NoPrivilegedContainers'] }] },
    ];
    const states = statesFor(fleet, sub, (s) => s['policyAssignmentName'] === 'pss-restricted');
    expect(states.some((s) => s['policyDefinitionReferenceId'] === 'AllowedSeccompProfiles')).toBe(false);
    const privileged = states.filter((s) => s['policyDefinitionReferenceId'] === 'NoPrivilegedContainers');
    for (const s of privileged) expect(s['policyDefinitionAction']).toBe(s['resourceLocation'] === 'eastus' ? 'deny' : 'audit');
  });

  it('expands initiatives into one state per member, with set and reference ids', () => {
    const fleet = demo();
    const states = statesFor(fleet, DEMO_SUBSCRIPTIONS.factories, (s) => s['policyAssignmentName'] === 'pss-restricted');
    const perCluster = new Map<string, State[]>();
    for (const s of states) perCluster.set(clusterName(s), [...(perCluster.get(clusterName(s)) ?? []), s]);
    for (const list of perCluster.values()) {
      expect(list.map((s) => s['policyDefinitionReferenceId'])).toEqual(PSS_RESTRICTED_INITIATIVE.members.map((m) => m.policyDefinitionReferenceId));
      expect(list.map((s) => s['policyDefinitionId'])).toEqual(PSS_RESTRICTED_INITIATIVE.members.map((m) => m.policyDefinitionId.toLowerCase()));
      for (const s of list) expect(s['policySetDefinitionName']).toBe(PSS_RESTRICTED_INITIATIVE.name);
    }
    // 8 clusters: every factory cluster but the two in the notScoped resource group.
    expect(perCluster.size).toBe(8);
    expect(perCluster.has('factory-chi-016')).toBe(false);
  });

  it('honours notScopes and resource-group scopes', () => {
    const fleet = demo();
    const states = derivePolicyStates(fleet, DEMO_SUBSCRIPTIONS.retail, NOW).filter((s) => s['policySetDefinitionName'] !== '');
    const prodWeu = states.filter((s) => s['resourceGroup'] === 'rg-stores-prod-weu');
    expect(new Set(prodWeu.map((s) => s['policyAssignmentName']))).toEqual(new Set(['pss-baseline-deny']));
    expect(new Set(prodWeu.map((s) => s['policyDefinitionAction']))).toEqual(new Set(['deny']));
    expect(prodWeu[0]!['policyAssignmentScope']).toBe(`/subscriptions/${DEMO_SUBSCRIPTIONS.retail}/resourceGroups/rg-stores-prod-weu`);
    const elsewhere = states.filter((s) => s['resourceGroup'] !== 'rg-stores-prod-weu');
    expect(new Set(elsewhere.map((s) => s['policyAssignmentName']))).toEqual(new Set(['pss-baseline']));
    // Moving the notScope away makes the subscription assignment reach the production stores too.
    propsOf(assignment(fleet, DEMO_SUBSCRIPTIONS.retail, 'pss-baseline'))['notScopes'] = [];
    const after = derivePolicyStates(fleet, DEMO_SUBSCRIPTIONS.retail, NOW).filter((s) => s['resourceGroup'] === 'rg-stores-prod-weu' && s['policySetDefinitionName'] !== '');
    expect(new Set(after.map((s) => s['policyAssignmentName']))).toEqual(new Set(['pss-baseline', 'pss-baseline-deny']));
  });

  it('honours resourceSelectors (automount only in eastus and westus2 for the factories)', () => {
    const states = statesFor(demo(), DEMO_SUBSCRIPTIONS.factories, (s) => s['policyDefinitionName'] === AUTOMOUNT);
    expect(new Set(states.map((s) => s['resourceLocation']))).toEqual(new Set(['eastus', 'westus2']));
  });

  it('keeps the reported action under enforcementMode DoNotEnforce', () => {
    const states = statesFor(demo(), DEMO_SUBSCRIPTIONS.factories, (s) => s['policyDefinitionName'] === PROBES);
    expect(states.length).toBe(10);
    expect(new Set(states.map((s) => s['policyDefinitionAction']))).toEqual(new Set(['deny']));
  });

  it('reports Exempt for live exemptions (cluster scope, resource group scope with reference ids) and ignores expired ones', () => {
    const fleet = demo();
    const factories = derivePolicyStates(fleet, DEMO_SUBSCRIPTIONS.factories, NOW);
    const det = factories.filter((s) => clusterName(s) === 'factory-det-014' && s['policyDefinitionName'] === IMAGES);
    expect(det.map((s) => s['complianceState'])).toEqual(['Exempt']);
    expect('components' in det[0]!).toBe(false);
    const bos = factories.filter((s) => clusterName(s) === 'factory-bos-015' && s['policyAssignmentName'] === 'pss-restricted');
    const exempt = bos.filter((s) => s['complianceState'] === 'Exempt').map((s) => s['policyDefinitionReferenceId']);
    expect(exempt.sort()).toEqual(['AllowedSeccompProfiles', 'AllowedUsersGroups']);
    expect(bos.filter((s) => s['complianceState'] !== 'Exempt')).toHaveLength(6);
    // The branches' exemption expired 10 days ago: nothing is exempt there.
    expect(derivePolicyStates(fleet, DEMO_SUBSCRIPTIONS.branches, NOW).some((s) => s['complianceState'] === 'Exempt')).toBe(false);
    // …but it was in force 20 days ago.
    const earlier = new Date(NOW.getTime() - 20 * 86_400_000);
    expect(derivePolicyStates(fleet, DEMO_SUBSCRIPTIONS.branches, earlier).some((s) => s['complianceState'] === 'Exempt')).toBe(true);
  });

  it('treats regressAfterApply as violations only where the action is deny and enforced', () => {
    const fleet = demo();
    const sub = DEMO_SUBSCRIPTIONS.factories;
    const regression = { policyDefinitionName: IMAGES, components: [{ id: 'vision/frame-grabber-1', name: 'frame-grabber-1', type: 'pod' }] };
    const sea = findCluster(fleet, `/subscriptions/${sub}/resourcegroups/RG-FACTORY-PROD-WUS2/providers/microsoft.kubernetes/connectedclusters/factory-sea-011`)!;
    const nyc = findCluster(fleet, `/subscriptions/${sub}/resourceGroups/rg-factory-prod-eus/providers/Microsoft.Kubernetes/connectedClusters/factory-nyc-013`)!;
    const bos = findCluster(fleet, `/subscriptions/${sub}/resourceGroups/rg-factory-test-eus/providers/Microsoft.Kubernetes/connectedClusters/factory-bos-015`)!;
    sea.regressAfterApply = [regression];
    bos.regressAfterApply = [{ ...regression, policyDefinitionName: PROBES }];
    const images = (name: string) => statesFor(fleet, sub, (s) => clusterName(s) === name && s['policyDefinitionName'] === IMAGES)[0]!;
    expect(images('factory-sea-011')['complianceState']).toBe('NonCompliant');
    expect(images('factory-sea-011')['components']).toHaveLength(1);
    nyc.regressAfterApply = [regression];
    const nycBefore = images('factory-nyc-013')['components'] as unknown[];
    expect(nycBefore).toHaveLength(3); // audit in eastus: only its own 3 violations
    // Probes are deny but DoNotEnforce: no regression.
    expect(statesFor(fleet, sub, (s) => clusterName(s) === 'factory-bos-015' && s['policyDefinitionName'] === PROBES)[0]!['complianceState']).toBe('Compliant');
  });
});

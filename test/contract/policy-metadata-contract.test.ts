/**
 * Contract of the ARM emulator's policyMetadata against the official examples
 * `policyinsights/2019-10-01/PolicyMetadata_GetResource.json` and `PolicyMetadata_List.json`: the
 * examples' resources, served by the emulator, are read back through the real `@azure/arm-policyinsights`
 * client and nothing may be lost; then the app's reader gets requirement titles from the emulator's
 * default metadata (every regulatory group) across pages.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PolicyInsightsClient } from '@azure/arm-policyinsights';
import type { ManagedIdentityCredential } from '@azure/identity';
import { ArmPolicyMetadataReader } from '../../adapters/arm/policy-metadata-reader.js';
import { RequirementTitles, TITLE_RETRY_MS } from '../../application/framework-report-service.js';
import { FRAMEWORK_IDS, frameworkRequirements } from '../../domain/frameworks.js';
import { startArmEmulator, type ArmEmulator, type ArmResource, type FleetModel } from '../../local/arm-emulator/index.js';
import { POLICY_METADATA_PAGE_SIZE, regulatoryPolicyMetadata } from '../../local/arm-emulator/wire/routes/policy-metadata-routes.js';
import { armToken, emulatorConnection, rawArm, sdkOptions, useEmulatorIdentity } from '../integration/arm-emulator/support/emulator-clients.js';
import { loadExample, lostFields, responseBody } from './support/lossless.js';
import { silentLogger } from '../../application/logger.js';

const single = responseBody<ArmResource>(loadExample('policyinsights/2019-10-01/PolicyMetadata_GetResource.json'));
const listed = responseBody<{ value: ArmResource[] }>(loadExample('policyinsights/2019-10-01/PolicyMetadata_List.json'));
const resourceName = String(loadExample('policyinsights/2019-10-01/PolicyMetadata_GetResource.json').parameters['resourceName']);

let emulator: ArmEmulator;
let credential: ManagedIdentityCredential;
const fleet: { -readonly [K in keyof FleetModel]: FleetModel[K] } = {
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  subscriptions: [],
  clusters: [],
  policyAssignments: [],
  policyExemptions: [],
  policySets: {},
  remediations: [],
};

beforeAll(async () => {
  emulator = await startArmEmulator({ fleet, derivePolicyStates: () => [] });
  credential = useEmulatorIdentity(emulator);
});
afterAll(async () => {
  await emulator?.stop();
});
beforeEach(() => {
  delete fleet.policyMetadata;
});

const client = (): PolicyInsightsClient => new PolicyInsightsClient(credential, sdkOptions(emulator));

async function listAll(top?: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const m of client().policyMetadataOperations.list(top !== undefined ? { queryOptions: { top } } : {})) out.push(m as Record<string, unknown>);
  return out;
}

describe('Microsoft.PolicyInsights policyMetadata through PolicyInsightsClient (2019-10-01)', () => {
  it('getResource: PolicyMetadata_GetResource.json, nothing lost', async () => {
    fleet.policyMetadata = [structuredClone(single)];
    const got = await client().policyMetadataOperations.getResource(resourceName);
    expect(lostFields(single, got)).toEqual([]);
    expect(got.title).toBe('Account Management');
    // The SDK speaks 2024-10-01, whose policyMetadata operations are those of the 2019-10-01 examples.
    expect(emulator.requests.apiVersions()['policyMetadata.getResource']).toEqual(['2024-10-01']);
  });

  it('list: PolicyMetadata_List.json, the slim resources, nothing lost', async () => {
    fleet.policyMetadata = [structuredClone(single)];
    const got = await listAll();
    expect(got).toHaveLength(listed.value.length);
    expect(lostFields(listed.value[0], got[0])).toEqual([]);
    // The list is slim: what the single resource has beyond it is not served.
    expect(got[0]).not.toHaveProperty('description');
    expect(got[0]).not.toHaveProperty('requirements');
  });

  it('answers 404 for an unknown name and 400 for another api-version', async () => {
    const token = await armToken(credential, emulator);
    const missing = await rawArm(emulator, 'GET', '/providers/Microsoft.PolicyInsights/policyMetadata/NOPE_1?api-version=2019-10-01', { token });
    expect(missing.status).toBe(404);
    const version = await rawArm(emulator, 'GET', '/providers/Microsoft.PolicyInsights/policyMetadata?api-version=2022-09-01', { token });
    expect(version.status).toBe(400);
    const example = await rawArm(emulator, 'GET', '/providers/Microsoft.PolicyInsights/policyMetadata?api-version=2019-10-01', { token });
    expect(example.status).toBe(200);
  });

  it('serves one resource per regulatory group by default, paged, $top capping the total', async () => {
    const all = await listAll();
    const groups = new Set(FRAMEWORK_IDS.flatMap((f) => frameworkRequirements(f).flatMap((r) => (r.policyMetadataName !== null ? [r.policyMetadataName] : []))));
    expect(all.length).toBeGreaterThan(POLICY_METADATA_PAGE_SIZE);
    expect(new Set(all.map((m) => m['name']))).toEqual(groups);
    const pci = all.find((m) => m['name'] === 'PCI_DSS_v4.0.1_7.2.1');
    expect(pci).toMatchObject({ id: '/providers/Microsoft.PolicyInsights/policyMetadata/PCI_DSS_v4.0.1_7.2.1', type: 'Microsoft.PolicyInsights/policyMetadata', metadataId: 'PCI DSS v4.0.1 7.2.1' });
    expect(pci?.['title']).toBeUndefined();
    expect(await listAll(3)).toHaveLength(3);
  });
});

describe('ArmPolicyMetadataReader', () => {
  it('reads the titles of the frameworks\' groups across every page, ignoring other metadata and blank titles', async () => {
    fleet.policyMetadata = [
      ...regulatoryPolicyMetadata().map((m, i) => ({ ...m, properties: { ...(m['properties'] as object), title: i % 2 === 0 ? `title of ${m.name}` : ' ' } })),
      structuredClone(single),
    ];
    const titles = await new ArmPolicyMetadataReader(emulatorConnection(emulator, credential)).listTitles();
    const expected = regulatoryPolicyMetadata().filter((_, i) => i % 2 === 0);
    expect(titles.size).toBe(expected.length);
    for (const m of expected) expect(titles.get(m.name)).toBe(`title of ${m.name}`);
    expect(titles.has(resourceName)).toBe(false);
  });

  it('fails when a page of the metadata keeps failing, and a report then goes without titles until the retry interval', async () => {
    fleet.policyMetadata = regulatoryPolicyMetadata().map((m) => ({ ...m, properties: { ...(m['properties'] as object), title: `title of ${m.name}` } }));
    emulator.faults.configure({ serverError: { route: 'policyMetadata.list', rate: 1, status: 500 } });
    try {
      const reader = new ArmPolicyMetadataReader(emulatorConnection(emulator, credential));
      await expect(reader.listTitles()).rejects.toThrow();
      let now = 0;
      const warnings: string[] = [];
      const titles = new RequirementTitles(reader, () => now, { ...silentLogger, warn: (message) => warnings.push(message) });
      expect((await titles.get()).size).toBe(0);
      expect(warnings).toHaveLength(1);
      emulator.faults.clear();
      now = TITLE_RETRY_MS - 1;
      expect((await titles.get()).size).toBe(0);
      now = TITLE_RETRY_MS;
      expect((await titles.get()).get('PCI_DSS_v4.0.1_7.2.1')).toBe('title of PCI_DSS_v4.0.1_7.2.1');
    } finally {
      emulator.faults.clear();
    }
  });

  it('reads no title from the default metadata, which carries none', async () => {
    expect((await new ArmPolicyMetadataReader(emulatorConnection(emulator, credential)).listTitles()).size).toBe(0);
  });
});

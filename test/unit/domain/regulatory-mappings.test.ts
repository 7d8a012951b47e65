/**
 * The framework mappings against the files they come from: the generated module is regenerated from
 * the built-ins and compared; the copy of the built-ins in test/fixtures must equal the shared originals
 * (when `../shared` is present next to the repository); known facts of the initiatives are pinned; hand
 * mappings that cite a twin definition must equal that definition's groups in the initiative.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTROL_IDS, listControls, type ControlId } from '../../../domain/control-catalog.js';
import { CONFIGURATION_MAPPINGS, SEED_FRAMEWORKS, type ConfigurationMapping } from '../../../domain/control-mappings.js';
import { controlMappings, FRAMEWORK_IDS, frameworkRequirements, listFrameworks } from '../../../domain/frameworks.js';
import { POLICY_BACKED_CONTROLS, REGULATORY_FRAMEWORK_IDS, REGULATORY_INITIATIVES } from '../../../domain/regulatory-mappings.generated.js';
import { OUTPUT, REGULATORY_SOURCES, renderRegulatoryMappings } from '../../../scripts/generate-regulatory-mappings.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'azure-policy-builtins');
const SHARED = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'azure-policy-builtins');

interface InitiativeJson {
  readonly id: string;
  readonly properties: {
    readonly version: string;
    readonly policyDefinitionGroups: readonly { readonly name: string }[];
    readonly policyDefinitions: readonly { readonly policyDefinitionId: string; readonly groupNames?: readonly string[] }[];
  };
}

const initiative = (file: string): InitiativeJson => JSON.parse(readFileSync(join(FIXTURES, 'regulatory', file), 'utf8')) as InitiativeJson;

/** The groups Microsoft maps a definition to in an initiative, read straight from the file. */
function groupsOf(file: string, guid: string): string[] {
  const names = initiative(file)
    .properties.policyDefinitions.filter((d) => d.policyDefinitionId.toLowerCase().endsWith(`/${guid}`))
    .flatMap((d) => d.groupNames ?? []);
  return [...new Set(names)].sort();
}

function files(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name), `${prefix}${e.name}/`);
      else out.push(`${prefix}${e.name}`);
    }
  };
  walk(root, '');
  return out.sort();
}

describe('generated regulatory mappings', () => {
  it('are exactly what the generator makes of the built-ins (regenerate with npx tsx scripts/generate-regulatory-mappings.ts)', () => {
    expect(renderRegulatoryMappings(FIXTURES)).toBe(readFileSync(OUTPUT, 'utf8'));
  });

  it.skipIf(!existsSync(SHARED))('come from a fixture copy identical to the shared built-ins, byte for byte', () => {
    for (const folder of ['regulatory', 'policyDefinitions/Kubernetes', 'policySetDefinitions/Kubernetes']) {
      const shared = files(join(SHARED, folder));
      expect(files(join(FIXTURES, folder)), folder).toEqual(shared);
      for (const f of shared) expect(readFileSync(join(FIXTURES, folder, f)).equals(readFileSync(join(SHARED, folder, f))), `${folder}/${f}`).toBe(true);
    }
  });

  it('name each initiative by its id and version and list every group of it', () => {
    for (const source of REGULATORY_SOURCES) {
      const json = initiative(source.file);
      const generated = REGULATORY_INITIATIVES[source.id];
      expect(generated.policySetDefinitionId).toBe(json.id);
      expect(generated.version).toBe(json.properties.version);
      expect([...generated.groups].sort()).toEqual(json.properties.policyDefinitionGroups.map((g) => g.name).sort());
    }
  });

  it('pin known facts of the initiatives', () => {
    const req = (id: ControlId) => controlMappings(id).requirements;
    expect(req('ARC-AC-02')['pci-dss-4.0.1']).toEqual(['7.2.1', '7.2.2', '7.2.5', '7.2.6', '7.3.1']);
    expect(req('ARC-TD-01').mcsb).toEqual(['LT-1', 'LT-2']);
    expect(req('ARC-PL-01')['pci-dss-4.0.1']).toEqual(['2.2.1']);
    expect(req('ARC-PL-03')['nist-800-53-r5']).toEqual(['CM-6']);
    // The probes definition is in none of the five initiatives.
    for (const f of REGULATORY_FRAMEWORK_IDS) expect(req('ARC-UP-01')[f]).toEqual([]);
  });

  it("count a control's definitions: its own, its initiatives' members, its DeployIfNotExists and the AuditIfNotExists twin", () => {
    const ids = (id: ControlId) => controlMappings(id).policyDefinitionIds.map((d) => d.split('/').pop());
    expect(ids('ARC-TD-01')).toEqual(['708b60a6-d253-4fe0-9114-4be4c00f012c', '8dfab9c4-fe7b-49ad-85e4-1e9be085358f']);
    expect(ids('ARC-PL-01')).toEqual(['0adc5395-9169-4b9b-8687-af838d69410a', '6b2122c1-8120-4ff5-801b-17625a355590']);
    const members = ['Kubernetes_PSPBaselineStandard.json', 'Kubernetes_PSPRestrictedStandard.json'].flatMap((f) =>
      (JSON.parse(readFileSync(join(FIXTURES, 'policySetDefinitions', 'Kubernetes', f), 'utf8')) as InitiativeJson).properties.policyDefinitions.map((d) => d.policyDefinitionId.split('/').pop()),
    );
    expect(ids('ARC-PL-02')).toEqual([...new Set(members)].sort());
    // ARC-PL-04 judges the states of ARC-PL-02 and ARC-PL-03, so it stands for their definitions.
    expect(ids('ARC-PL-04')).toEqual([...new Set([...ids('ARC-PL-02'), ...ids('ARC-PL-03')])].sort());
    for (const id of ['ARC-AC-01', 'ARC-AC-04', 'ARC-OP-01'] as const) expect(ids(id)).toEqual([]);
  });

  it("give each policy-backed control exactly the union of its definitions' groups in every initiative", () => {
    for (const [controlId, generated] of Object.entries(POLICY_BACKED_CONTROLS)) {
      for (const source of REGULATORY_SOURCES) {
        const expected = [...new Set(generated.policyDefinitionIds.flatMap((d) => groupsOf(source.file, d.split('/').pop() ?? '')))].sort();
        expect([...generated.requirements[source.id]].sort(), `${controlId} ${source.id}`).toEqual(expected);
      }
    }
  });
});

describe('hand mappings', () => {
  const configurationControls = CONTROL_IDS.filter((id) => !Object.hasOwn(POLICY_BACKED_CONTROLS, id));

  it('cover exactly the controls without a definition of their own', () => {
    expect(Object.keys(CONFIGURATION_MAPPINGS).sort()).toEqual([...configurationControls].sort());
    expect(configurationControls.length + Object.keys(POLICY_BACKED_CONTROLS).length).toBe(listControls().length);
  });

  it('cite a twin whose groups in the initiative are exactly the mapped requirements, or a passage', () => {
    const file = new Map(REGULATORY_SOURCES.map((s) => [s.id, s.file]));
    for (const [controlId, mapping] of Object.entries(CONFIGURATION_MAPPINGS) as [string, ConfigurationMapping][]) {
      for (const [framework, hand] of Object.entries(mapping) as [(typeof REGULATORY_FRAMEWORK_IDS)[number], NonNullable<ConfigurationMapping['mcsb']>][]) {
        const prefix = REGULATORY_INITIATIVES[framework].groupPrefix;
        const names = hand.requirements.map((r) => `${prefix}${r}`);
        for (const n of names) expect(REGULATORY_INITIATIVES[framework].groups, `${controlId} ${framework}`).toContain(n);
        if (hand.source.kind === 'twin') {
          expect(names.sort(), `${controlId} ${framework} twin ${hand.source.policyDefinitionId}`).toEqual(
            groupsOf(file.get(framework) ?? '', hand.source.policyDefinitionId.split('/').pop() ?? ''),
          );
        } else {
          expect(hand.source.text.length, `${controlId} ${framework}`).toBeGreaterThan(30);
        }
      }
    }
  });

  it('list seed requirements with their documents\' identifiers, each control a catalog control', () => {
    expect(SEED_FRAMEWORKS.cis.requirements.map((r) => r.id)).toContain('5.1.6');
    expect(SEED_FRAMEWORKS.cis.requirements.find((r) => r.id === '5.1.6')?.controls).toEqual(['ARC-AC-02']);
    for (const f of Object.values(SEED_FRAMEWORKS)) {
      expect(new Set(f.requirements.map((r) => r.id)).size).toBe(f.requirements.length);
      for (const r of f.requirements) for (const c of r.controls) expect(CONTROL_IDS).toContain(c);
    }
  });

  it('never give two seed requirements the same controls, except where the source says the same thing', () => {
    // CIS 3.1.2 and 3.1.3 both prescribe OIDC instead of another credential (3.1.1 also concerns the
    // admin client certificate, ARC-TD-04); 5.1.5 and 5.1.6 both audit automountServiceAccountToken.
    const allowed = new Set(['cis:3.1.2|3.1.3', 'cis:5.1.5|5.1.6']);
    for (const [id, f] of Object.entries(SEED_FRAMEWORKS)) {
      const byControls = new Map<string, string[]>();
      for (const r of f.requirements.filter((x) => x.controls.length > 0)) {
        const key = [...r.controls].sort().join(',');
        byControls.set(key, [...(byControls.get(key) ?? []), r.id]);
      }
      for (const ids of byControls.values()) if (ids.length > 1) expect(allowed, `${id}: ${ids.join(', ')}`).toContain(`${id}:${ids.join('|')}`);
    }
  });
});

describe('frameworks', () => {
  it('are the nine of the API, regulatory ones named by their initiative', () => {
    expect(listFrameworks().map((f) => f.id)).toEqual([...FRAMEWORK_IDS]);
    expect([...FRAMEWORK_IDS]).toEqual(['mcsb', 'nist-800-53-r5', 'pci-dss-4.0.1', 'cis-controls-8.1', 'nist-csf-2.0', 'cis', 'nist-800-190', 'nsa', 'owasp']);
    const pci = listFrameworks().find((f) => f.id === 'pci-dss-4.0.1');
    expect(pci?.source).toEqual({
      kind: 'initiative',
      title: 'PCI DSS v4.0.1',
      policySetDefinitionId: '/providers/Microsoft.Authorization/policySetDefinitions/a06d5deb-24aa-4991-9d58-fa7563154e31',
      version: '1.6.0',
      url: null,
    });
  });

  it('list every group of an initiative as a requirement, id without the prefix, controls in catalog order', () => {
    const pci = frameworkRequirements('pci-dss-4.0.1');
    expect(pci).toHaveLength(REGULATORY_INITIATIVES['pci-dss-4.0.1'].groups.length);
    const r721 = pci.find((r) => r.id === '7.2.1');
    expect(r721?.policyMetadataName).toBe('PCI_DSS_v4.0.1_7.2.1');
    expect(r721?.controls).toEqual(['ARC-AC-02', 'ARC-PL-02', 'ARC-TD-01']);
    // Natural order: 2.2.1 comes before 10.2.1.2.
    const ids = pci.map((r) => r.id);
    expect(ids.indexOf('2.2.1')).toBeLessThan(ids.indexOf('10.2.1.2'));
    const order = new Map(CONTROL_IDS.map((id, i) => [id, i]));
    for (const f of FRAMEWORK_IDS) {
      for (const r of frameworkRequirements(f)) {
        const positions = r.controls.map((c) => order.get(c) ?? -1);
        expect(positions, `${f} ${r.id}`).toEqual([...positions].sort((a, b) => a - b));
      }
    }
  });

  it("agree with the controls' view: a control lists a requirement exactly when the requirement lists the control", () => {
    for (const controlId of CONTROL_IDS) {
      for (const f of FRAMEWORK_IDS) {
        const listed = frameworkRequirements(f).filter((r) => r.controls.includes(controlId)).map((r) => r.id);
        expect(controlMappings(controlId).requirements[f], `${controlId} ${f}`).toEqual(listed);
      }
    }
  });
});

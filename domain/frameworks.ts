/**
 * The frameworks arc-compliance reports against and which controls meet each of their requirements.
 *
 * Five come from Microsoft's built-in regulatory compliance initiatives (Microsoft cloud security
 * benchmark, NIST SP 800-53 Rev. 5, PCI DSS v4.0.1, CIS Controls v8.1, NIST CSF 2.0): every group of
 * the initiative is a requirement, policy-backed controls meet the groups generated from the
 * initiative (`regulatory-mappings.generated.ts`), configuration controls the groups mapped by hand
 * (`control-mappings.ts`). Four come from the documents the guidance cites (`SEED_FRAMEWORKS`).
 * Pure, frozen data computed once at load.
 */
import { CONTROL_IDS, listControls, type ControlId } from './control-catalog.js';
import { CONFIGURATION_MAPPINGS, SEED_FRAMEWORK_IDS, SEED_FRAMEWORKS, type ConfigurationMapping } from './control-mappings.js';
import { POLICY_BACKED_CONTROLS, REGULATORY_FRAMEWORK_IDS, REGULATORY_INITIATIVES, type RegulatoryFrameworkId } from './regulatory-mappings.generated.js';

export type { RegulatoryFrameworkId } from './regulatory-mappings.generated.js';
export type { SeedFrameworkId } from './control-mappings.js';

export const FRAMEWORK_IDS = Object.freeze([...REGULATORY_FRAMEWORK_IDS, ...SEED_FRAMEWORK_IDS] as const);
export type FrameworkId = (typeof FRAMEWORK_IDS)[number];

type PolicyBackedControlId = keyof typeof POLICY_BACKED_CONTROLS;
type ConfigurationControlId = Exclude<ControlId, PolicyBackedControlId>;

/**
 * Every control is either policy-backed (generated) or mapped by hand: a control added to the catalog
 * without a definition of its own fails to compile here until it has an entry in CONFIGURATION_MAPPINGS.
 */
const CONFIGURATION: Readonly<Record<ConfigurationControlId, ConfigurationMapping>> = CONFIGURATION_MAPPINGS;

/** The standard's version for each initiative (the initiative's own version is in `source`). */
const REGULATORY_VERSIONS: Readonly<Record<RegulatoryFrameworkId, string>> = {
  mcsb: '1.0',
  'nist-800-53-r5': 'Rev. 5',
  'pci-dss-4.0.1': '4.0.1',
  'cis-controls-8.1': '8.1',
  'nist-csf-2.0': '2.0',
};

export interface FrameworkSource {
  /** `initiative`: a built-in regulatory compliance initiative; `document`: the publication itself. */
  readonly kind: 'initiative' | 'document';
  readonly title: string;
  /** The initiative's id (`/providers/Microsoft.Authorization/policySetDefinitions/<guid>`), null for a document. */
  readonly policySetDefinitionId: string | null;
  /** The initiative's version, null for a document. */
  readonly version: string | null;
  readonly url: string | null;
}

export interface Framework {
  readonly id: FrameworkId;
  readonly title: string;
  readonly version: string;
  readonly source: FrameworkSource;
}

export interface Requirement {
  /** The group name without its initiative prefix (`7.2.1`, `CM-6`, `PV-2`), or the document's identifier. */
  readonly id: string;
  /** The initiative's group name (`PCI_DSS_v4.0.1_7.2.1`): the `Microsoft.PolicyInsights/policyMetadata` name. Null for seed frameworks. */
  readonly policyMetadataName: string | null;
  /** The document's heading for seed frameworks; regulatory titles come from Policy metadata at run time. */
  readonly title: string | null;
  /** Controls meeting it, in catalog order; empty when none does (a manual requirement). */
  readonly controls: readonly ControlId[];
}

export interface ControlMappings {
  /** Built-in definitions the control stands for (full ids), empty for configuration controls. */
  readonly policyDefinitionIds: readonly string[];
  /** Requirement ids per framework, every framework present. */
  readonly requirements: Readonly<Record<FrameworkId, readonly string[]>>;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const isPolicyBacked = (id: ControlId): id is PolicyBackedControlId => Object.hasOwn(POLICY_BACKED_CONTROLS, id);

/** A control's regulatory requirements in one framework, as group names. */
function regulatoryGroups(controlId: ControlId, framework: RegulatoryFrameworkId): readonly string[] {
  if (isPolicyBacked(controlId)) return POLICY_BACKED_CONTROLS[controlId].requirements[framework];
  const prefix = REGULATORY_INITIATIVES[framework].groupPrefix;
  return (CONFIGURATION[controlId][framework]?.requirements ?? []).map((r) => `${prefix}${r}`);
}

function policyDefinitionIdsOf(controlId: ControlId): readonly string[] {
  if (isPolicyBacked(controlId)) return POLICY_BACKED_CONTROLS[controlId].policyDefinitionIds;
  const control = listControls().find((c) => c.id === controlId);
  const read = (control?.readsPolicyStatesOf ?? []).flatMap((id) => (isPolicyBacked(id) ? POLICY_BACKED_CONTROLS[id].policyDefinitionIds : []));
  return [...new Set(read)].sort();
}

const FRAMEWORKS: readonly Framework[] = deepFreeze([
  ...REGULATORY_FRAMEWORK_IDS.map((id): Framework => {
    const i = REGULATORY_INITIATIVES[id];
    return {
      id,
      title: i.displayName,
      version: REGULATORY_VERSIONS[id],
      source: { kind: 'initiative', title: i.displayName, policySetDefinitionId: i.policySetDefinitionId, version: i.version, url: null },
    };
  }),
  ...SEED_FRAMEWORK_IDS.map((id): Framework => {
    const f = SEED_FRAMEWORKS[id];
    return { id, title: f.title, version: f.version, source: { kind: 'document', title: f.source.title, policySetDefinitionId: null, version: null, url: f.source.url } };
  }),
]);

const REQUIREMENTS: ReadonlyMap<FrameworkId, readonly Requirement[]> = (() => {
  const out = new Map<FrameworkId, readonly Requirement[]>();
  for (const framework of REGULATORY_FRAMEWORK_IDS) {
    const initiative = REGULATORY_INITIATIVES[framework];
    const controlsByGroup = new Map<string, ControlId[]>();
    for (const controlId of CONTROL_IDS) {
      for (const group of regulatoryGroups(controlId, framework)) {
        const list = controlsByGroup.get(group) ?? [];
        list.push(controlId);
        controlsByGroup.set(group, list);
      }
    }
    const unknown = [...controlsByGroup.keys()].filter((g) => !initiative.groups.includes(g));
    if (unknown.length > 0) throw new Error(`${framework}: mapped requirements not in the initiative: ${unknown.join(', ')}`);
    out.set(
      framework,
      initiative.groups.map((group) => ({
        id: group.slice(initiative.groupPrefix.length),
        policyMetadataName: group,
        title: null,
        controls: controlsByGroup.get(group) ?? [],
      })),
    );
  }
  for (const framework of SEED_FRAMEWORK_IDS) {
    const order = new Map(CONTROL_IDS.map((id, i) => [id, i]));
    out.set(
      framework,
      SEED_FRAMEWORKS[framework].requirements.map((r) => ({
        id: r.id,
        policyMetadataName: null,
        title: r.title,
        controls: [...r.controls].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0)),
      })),
    );
  }
  return deepFreeze(out);
})();

const CONTROL_MAPPINGS: ReadonlyMap<ControlId, ControlMappings> = (() => {
  const out = new Map<ControlId, ControlMappings>();
  for (const controlId of CONTROL_IDS) {
    const requirements = {} as Record<FrameworkId, readonly string[]>;
    for (const f of FRAMEWORK_IDS) requirements[f] = (REQUIREMENTS.get(f) ?? []).filter((r) => r.controls.includes(controlId)).map((r) => r.id);
    out.set(controlId, deepFreeze({ policyDefinitionIds: [...policyDefinitionIdsOf(controlId)], requirements }));
  }
  return out;
})();

/** Every framework, regulatory first, in a fixed order. */
export function listFrameworks(): readonly Framework[] {
  return FRAMEWORKS;
}

export function isFrameworkId(value: string): value is FrameworkId {
  return (FRAMEWORK_IDS as readonly string[]).includes(value);
}

/** Every requirement of a framework (manual ones included), in the framework's natural order. */
export function frameworkRequirements(framework: FrameworkId): readonly Requirement[] {
  return REQUIREMENTS.get(framework) ?? [];
}

/** A control's built-in definitions and its requirements in every framework. */
export function controlMappings(controlId: ControlId): ControlMappings {
  const m = CONTROL_MAPPINGS.get(controlId);
  if (m === undefined) throw new Error(`unknown control ${controlId}`);
  return m;
}

/** Is the requirement met by at least one control (automated), or only by a person (manual)? */
export const isAutomated = (r: Requirement): boolean => r.controls.length > 0;


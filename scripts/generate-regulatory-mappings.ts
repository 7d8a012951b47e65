/**
 * Generates `domain/regulatory-mappings.generated.ts` from Microsoft's built-in regulatory compliance
 * initiatives, so that no requirement of a policy-backed control is typed by hand.
 *
 *   npx tsx scripts/generate-regulatory-mappings.ts [path/to/azure-policy-builtins]
 *
 * The built-ins default to `../shared/azure-policy-builtins` next to the repository, else the copy in
 * test/fixtures/azure-policy-builtins. A test renders the module from the fixtures and compares it with
 * the checked-in file, and checks the fixtures against the shared originals, so the two cannot drift.
 *
 * Groups are listed in natural order of their names, not the initiative's order, so reports read
 * 2.2.1 before 10.3.4.
 *
 * A control's definitions are the ones whose states it reads, the members of the initiatives it reads,
 * and its DeployIfNotExists remediation with that definition's AuditIfNotExists twin (the definition the
 * initiatives list for the same check). Its requirements in a framework are the union of those
 * definitions' `groupNames` in that framework's initiative.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { listControls, type ControlDefinition } from '../domain/control-catalog.js';

/** The five initiatives, by framework id, and the prefix their group names share. */
export const REGULATORY_SOURCES = [
  { id: 'mcsb', file: 'MCSB_AzureSecurityCenter.json', groupPrefix: 'Azure_Security_Benchmark_v3.0_' },
  { id: 'nist-800-53-r5', file: 'NIST_SP_800-53_R5.json', groupPrefix: 'NIST_SP_800-53_R5_' },
  { id: 'pci-dss-4.0.1', file: 'PCI_DSS_v4.0.1.json', groupPrefix: 'PCI_DSS_v4.0.1_' },
  { id: 'cis-controls-8.1', file: 'CIS_Controls_v8.1.json', groupPrefix: 'CIS_Controls_v8.1_' },
  { id: 'nist-csf-2.0', file: 'NIST_CSF_v2.0.json', groupPrefix: 'NIST_CSF_v2.0_' },
] as const;

export const OUTPUT = join(import.meta.dirname, '..', 'domain', 'regulatory-mappings.generated.ts');

interface InitiativeFile {
  readonly id: string;
  readonly name: string;
  readonly properties: {
    readonly displayName: string;
    readonly version: string;
    readonly policyDefinitionGroups: readonly { readonly name: string }[];
    readonly policyDefinitions: readonly { readonly policyDefinitionId: string; readonly groupNames?: readonly string[] }[];
  };
}

const guidOf = (id: string): string => (id.split('/').pop() ?? id).toLowerCase();
const fullId = (guid: string): string => `/providers/Microsoft.Authorization/policyDefinitions/${guid}`;

/** Natural order (`2.2.1` < `10.3.4`, `AC-2` < `AC-2(12)` < `AC-10`), then plain order for ties such as `16.06`/`16.6`. */
export function compareRequirementNames(a: string, b: string): number {
  const ta = a.match(/\d+|\D+/g) ?? [];
  const tb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ta.length, tb.length); i++) {
    const x = ta[i] ?? '';
    const y = tb[i] ?? '';
    const d = /^\d/.test(x) && /^\d/.test(y) ? Number(x) - Number(y) : x < y ? -1 : x > y ? 1 : 0;
    if (d !== 0) return d;
  }
  return ta.length - tb.length || (a < b ? -1 : a > b ? 1 : 0);
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Member definition GUIDs of every built-in initiative in `policySetDefinitions/Kubernetes`, by initiative GUID. */
function initiativeMembers(root: string): Map<string, string[]> {
  const dir = join(root, 'policySetDefinitions', 'Kubernetes');
  const out = new Map<string, string[]>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const set = readJson<InitiativeFile>(join(dir, file));
    out.set(set.name.toLowerCase(), set.properties.policyDefinitions.map((d) => guidOf(d.policyDefinitionId)));
  }
  return out;
}

/** The definition GUIDs a control stands for (sorted), or none for a control read from cluster configuration. */
export function controlDefinitionGuids(control: ControlDefinition, members: ReadonlyMap<string, readonly string[]>): string[] {
  const guids = new Set<string>();
  for (const d of control.policy?.policyDefinitionIds ?? []) guids.add(d.toLowerCase());
  for (const set of control.policy?.policySetDefinitionIds ?? []) {
    const m = members.get(set.toLowerCase());
    if (m === undefined) throw new Error(`${control.id} reads initiative ${set}, which is not in the built-ins`);
    for (const d of m) guids.add(d);
  }
  const { deployIfNotExistsPolicyDefinitionId: dine, auditIfNotExistsPolicyDefinitionId: aine } = control.remediation;
  if (dine !== undefined) guids.add(guidOf(dine));
  if (aine !== undefined) guids.add(guidOf(aine));
  return [...guids].sort();
}

function quoteList(items: readonly string[], indent: string): string {
  if (items.length === 0) return '[]';
  const lines: string[] = [];
  let line = '';
  for (const item of items.map((i) => `'${i}'`)) {
    if (line !== '' && indent.length + line.length + item.length + 2 > 120) {
      lines.push(line);
      line = '';
    }
    line = line === '' ? item : `${line}, ${item}`;
  }
  lines.push(line);
  return lines.length === 1 && indent.length + (lines[0]?.length ?? 0) < 100 ? `[${lines[0]}]` : `[\n${lines.map((l) => `${indent}  ${l},`).join('\n')}\n${indent}]`;
}

/** The module text, from the built-ins under `root`. */
export function renderRegulatoryMappings(root: string): string {
  const members = initiativeMembers(root);
  const initiatives = REGULATORY_SOURCES.map((source) => {
    const file = readJson<InitiativeFile>(join(root, 'regulatory', source.file));
    const groups = file.properties.policyDefinitionGroups.map((g) => g.name).sort(compareRequirementNames);
    const known = new Set(groups);
    const byDefinition = new Map<string, Set<string>>();
    for (const member of file.properties.policyDefinitions) {
      const names = byDefinition.get(guidOf(member.policyDefinitionId)) ?? new Set<string>();
      for (const g of member.groupNames ?? []) {
        if (!known.has(g)) throw new Error(`${source.file}: member ${member.policyDefinitionId} names unknown group ${g}`);
        names.add(g);
      }
      byDefinition.set(guidOf(member.policyDefinitionId), names);
    }
    for (const g of groups) {
      if (!g.startsWith(source.groupPrefix)) throw new Error(`${source.file}: group ${g} lacks the prefix ${source.groupPrefix}`);
    }
    return { source, file, groups, byDefinition };
  });

  const out: string[] = [];
  out.push(
    '// Generated by scripts/generate-regulatory-mappings.ts from the built-in regulatory compliance initiatives',
    '// (azure-policy-builtins/regulatory). Do not edit: change the catalog or the generator and run',
    '// `npx tsx scripts/generate-regulatory-mappings.ts`; test/unit/domain/regulatory-mappings.test.ts',
    '// regenerates this file and fails when it differs.',
    '',
    '/** One built-in regulatory compliance initiative: its identity and every requirement group, in its order. */',
    'export interface GeneratedInitiative {',
    '  readonly policySetDefinitionId: string;',
    '  readonly displayName: string;',
    '  readonly version: string;',
    '  readonly groupPrefix: string;',
    '  readonly groups: readonly string[];',
    '}',
    '',
    `export const REGULATORY_FRAMEWORK_IDS = [${REGULATORY_SOURCES.map((s) => `'${s.id}'`).join(', ')}] as const;`,
    '',
    'export type RegulatoryFrameworkId = (typeof REGULATORY_FRAMEWORK_IDS)[number];',
    '',
    'export const REGULATORY_INITIATIVES: Readonly<Record<RegulatoryFrameworkId, GeneratedInitiative>> = {',
  );
  for (const i of initiatives) {
    out.push(
      `  '${i.source.id}': {`,
      `    policySetDefinitionId: '${i.file.id}',`,
      `    displayName: '${i.file.properties.displayName.replace(/'/g, "\\'")}',`,
      `    version: '${i.file.properties.version}',`,
      `    groupPrefix: '${i.source.groupPrefix}',`,
      `    groups: ${quoteList(i.groups, '    ')},`,
      '  },',
    );
  }
  out.push(
    '};',
    '',
    '/**',
    ' * Policy-backed controls: the built-in definitions each stands for and, per framework, the groups',
    " * Microsoft's initiative maps those definitions to (full group names, in the initiative's order).",
    ' */',
    'export const POLICY_BACKED_CONTROLS = {',
  );
  for (const control of listControls()) {
    const guids = controlDefinitionGuids(control, members);
    if (guids.length === 0) continue;
    out.push(`  '${control.id}': {`, `    policyDefinitionIds: ${quoteList(guids.map(fullId), '    ')},`, '    requirements: {');
    for (const i of initiatives) {
      const names = new Set(guids.flatMap((g) => [...(i.byDefinition.get(g) ?? [])]));
      out.push(`      '${i.source.id}': ${quoteList(i.groups.filter((g) => names.has(g)), '      ')},`);
    }
    out.push('    },', '  },');
  }
  out.push(
    '} as const satisfies Readonly<',
    '  Record<string, { readonly policyDefinitionIds: readonly string[]; readonly requirements: Readonly<Record<RegulatoryFrameworkId, readonly string[]>> }>',
    '>;',
    '',
  );
  return out.join('\n');
}

function defaultRoot(): string {
  const shared = join(import.meta.dirname, '..', '..', 'shared', 'azure-policy-builtins');
  return existsSync(shared) ? shared : join(import.meta.dirname, '..', 'test', 'fixtures', 'azure-policy-builtins');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = process.argv[2] ?? defaultRoot();
  writeFileSync(OUTPUT, renderRegulatoryMappings(root));
  console.log(`wrote ${OUTPUT} from ${root}`);
}

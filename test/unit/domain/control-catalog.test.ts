import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTROL_IDS, getControl, isControlId, listControls } from '../../../domain/control-catalog.js';
import { VERIFIED_BUILTIN_IDS } from '../../fixtures/verified-builtin-ids.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/azure-policy-builtins');

function fixtureNames(folder: string): Set<string> {
  const dir = join(FIXTURES, folder, 'Kubernetes');
  return new Set(readdirSync(dir).map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { name: string }).name.toLowerCase()));
}

describe('control catalog', () => {
  it('derives CONTROL_IDS from the catalog: same ids, same order, well-formed and unique', () => {
    expect([...CONTROL_IDS]).toEqual(listControls().map((c) => c.id));
    expect(new Set(CONTROL_IDS).size).toBe(CONTROL_IDS.length);
    for (const id of CONTROL_IDS) expect(id).toMatch(/^ARC-[A-Z]{2}-\d{2}$/);
    // The guidance's sections, in its order; each category's controls numbered from 01 without gaps.
    const prefixes = [...new Set(CONTROL_IDS.map((id) => id.slice(0, 6)))];
    expect(prefixes).toEqual(['ARC-AC', 'ARC-PL', 'ARC-TD', 'ARC-UP', 'ARC-OP']);
    for (const prefix of prefixes) {
      const numbers = CONTROL_IDS.filter((id) => id.startsWith(prefix)).map((id) => Number(id.slice(-2)));
      expect(numbers).toEqual(numbers.map((_, i) => i + 1));
    }
  });

  it('every control has title, description, evidence, remediation text, a severity and a category', () => {
    for (const c of listControls()) {
      expect(c.title.length, c.id).toBeGreaterThan(5);
      expect(c.description.length, c.id).toBeGreaterThan(40);
      expect(c.evidence.length, c.id).toBeGreaterThan(5);
      expect(c.remediation.text.length, c.id).toBeGreaterThan(20);
      expect(['high', 'medium', 'low']).toContain(c.severity);
      expect(['access-control', 'policy', 'threat-detection', 'updates', 'operations']).toContain(c.category);
    }
  });

  it('is frozen', () => {
    const c = getControl('ARC-AC-01');
    expect(Object.isFrozen(listControls())).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c?.remediation)).toBe(true);
    expect(() => {
      (c as { severity: string }).severity = 'low';
    }).toThrow(TypeError);
  });

  it('looks controls up by exact id', () => {
    expect(getControl('ARC-PL-03')?.policy?.policyDefinitionIds).toEqual(['febd0533-8e55-448f-b837-bd0e06f16469']);
    expect(getControl('arc-pl-03')).toBeUndefined();
    expect(getControl('ARC-XX-01')).toBeUndefined();
    expect(isControlId('ARC-OP-02')).toBe(true);
    expect(isControlId('nope')).toBe(false);
  });

  it('reads the policy ids and initiatives of the issue', () => {
    expect(getControl('ARC-AC-02')?.policy?.policyDefinitionIds).toEqual(['423dd1ba-798e-40e4-9c4d-b6902674b423']);
    expect(getControl('ARC-UP-01')?.policy?.policyDefinitionIds).toEqual(['b1a9997f-2883-4f12-bdff-2280f99b5915']);
    expect(getControl('ARC-PL-02')?.policy?.policySetDefinitionIds).toEqual([
      'a8640138-9b0a-4a28-b8cb-1666c838647d',
      '42b8ef37-b724-4e24-bbc8-7a7708edfe00',
    ]);
  });

  it('policy ids that exist in the built-in fixtures match them', () => {
    const defs = fixtureNames('policyDefinitions');
    const sets = fixtureNames('policySetDefinitions');
    expect(defs.has('febd0533-8e55-448f-b837-bd0e06f16469')).toBe(true);
    expect(defs.has('b1a9997f-2883-4f12-bdff-2280f99b5915')).toBe(true);
    for (const id of getControl('ARC-PL-02')?.policy?.policySetDefinitionIds ?? []) expect(sets.has(id)).toBe(true);
  });

  it('cites only built-in ids that are in the shared built-ins or on the verified list, and the list only holds ids the fixtures lack', () => {
    const known = new Set([...fixtureNames('policyDefinitions'), ...fixtureNames('policySetDefinitions')]);
    const cited = listControls().flatMap((c) => [
      ...(c.policy?.policyDefinitionIds ?? []),
      ...(c.policy?.policySetDefinitionIds ?? []),
      ...[c.remediation.deployIfNotExistsPolicyDefinitionId, c.remediation.auditIfNotExistsPolicyDefinitionId].flatMap((id) => (id !== undefined ? [id.split('/').pop() ?? ''] : [])),
    ]);
    expect(cited.length).toBeGreaterThan(5);
    for (const id of cited) expect(known.has(id) || id in VERIFIED_BUILTIN_IDS, id).toBe(true);
    for (const id of Object.keys(VERIFIED_BUILTIN_IDS)) {
      expect(known.has(id), `${id} is in the fixtures now; drop it from the verified list`).toBe(false);
      expect(cited, `${id} is verified but no longer cited`).toContain(id);
    }
  });

  it('names a DeployIfNotExists remediation only where verified (PL-01, TD-01), as a full built-in id', () => {
    const withDine = listControls().filter((c) => c.remediation.deployIfNotExistsPolicyDefinitionId !== undefined);
    expect(withDine.map((c) => c.id)).toEqual(['ARC-PL-01', 'ARC-TD-01']);
    expect(getControl('ARC-PL-01')?.remediation.deployIfNotExistsPolicyDefinitionId).toBe(
      '/providers/Microsoft.Authorization/policyDefinitions/0adc5395-9169-4b9b-8687-af838d69410a',
    );
    expect(getControl('ARC-TD-01')?.remediation.deployIfNotExistsPolicyDefinitionId).toBe(
      '/providers/Microsoft.Authorization/policyDefinitions/708b60a6-d253-4fe0-9114-4be4c00f012c',
    );
  });

  it('names the AuditIfNotExists twin of each DeployIfNotExists remediation, as a full built-in id', () => {
    expect(getControl('ARC-PL-01')?.remediation.auditIfNotExistsPolicyDefinitionId).toBe(
      '/providers/Microsoft.Authorization/policyDefinitions/6b2122c1-8120-4ff5-801b-17625a355590',
    );
    expect(getControl('ARC-TD-01')?.remediation.auditIfNotExistsPolicyDefinitionId).toBe(
      '/providers/Microsoft.Authorization/policyDefinitions/8dfab9c4-fe7b-49ad-85e4-1e9be085358f',
    );
    for (const c of listControls()) {
      expect(c.remediation.auditIfNotExistsPolicyDefinitionId === undefined, c.id).toBe(c.remediation.deployIfNotExistsPolicyDefinitionId === undefined);
    }
  });

  it('ARC-PL-04 reads the policy states of the pod security and allowed-images controls', () => {
    expect(getControl('ARC-PL-04')?.readsPolicyStatesOf).toEqual(['ARC-PL-02', 'ARC-PL-03']);
  });
});

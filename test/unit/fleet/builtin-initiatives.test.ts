import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUILTIN_INITIATIVES, builtinPolicySets } from '../../../local/arm-emulator/fleet/builtin-initiatives.js';
import { EmulatorState } from '../../../local/arm-emulator/server/emulator-state.js';
import { builtInPolicySetDefinition } from '../../../local/arm-emulator/wire/routes/policy-set-definition-routes.js';

const fixtureDir = fileURLToPath(new URL('../../fixtures/azure-policy-builtins/policySetDefinitions/Kubernetes/', import.meta.url));

function readInitiative(file: string): { name: string; displayName: string; version: string; members: { policyDefinitionId: string; policyDefinitionReferenceId: string }[] } {
  const json = JSON.parse(readFileSync(fixtureDir + file, 'utf8')) as {
    name: string;
    properties: { displayName: string; metadata: { version: string }; policyDefinitions: { policyDefinitionId: string; policyDefinitionReferenceId: string }[] };
  };
  return {
    name: json.name,
    displayName: json.properties.displayName,
    version: json.properties.metadata.version,
    members: json.properties.policyDefinitions.map((d) => ({ policyDefinitionId: d.policyDefinitionId, policyDefinitionReferenceId: d.policyDefinitionReferenceId })),
  };
}

describe('builtin-initiatives module', () => {
  it('matches the real initiative JSON in the fixtures exactly (ids, reference ids, order, version)', () => {
    const fixtures = [readInitiative('Kubernetes_PSPBaselineStandard.json'), readInitiative('Kubernetes_PSPRestrictedStandard.json')];
    expect(BUILTIN_INITIATIVES.map((i) => ({ name: i.name, displayName: i.displayName, version: i.version, members: [...i.members] }))).toEqual(fixtures);
  });

  it('exposes the fleet policySets map keyed by lower-case initiative GUID', () => {
    const sets = builtinPolicySets();
    expect(Object.keys(sets).sort()).toEqual(['42b8ef37-b724-4e24-bbc8-7a7708edfe00', 'a8640138-9b0a-4a28-b8cb-1666c838647d']);
    expect(sets['a8640138-9b0a-4a28-b8cb-1666c838647d']).toHaveLength(5);
    expect(sets['42b8ef37-b724-4e24-bbc8-7a7708edfe00']).toHaveLength(8);
  });

  it('serves (getBuiltIn) what the real initiative JSON says, for every property it serves', () => {
    const fleet = { tenantId: 't', subscriptions: [], clusters: [], policyAssignments: [], policyExemptions: [], policySets: builtinPolicySets(), remediations: [] };
    const state = new EmulatorState(fleet, () => [], () => new Date(0), { resources: 100, policyStates: 1000, activityLog: 200 }, 0, 0);
    for (const file of ['Kubernetes_PSPBaselineStandard.json', 'Kubernetes_PSPRestrictedStandard.json']) {
      const real = JSON.parse(readFileSync(fixtureDir + file, 'utf8')) as {
        id: string;
        name: string;
        properties: {
          displayName: string;
          policyType: string;
          metadata: unknown;
          version: string;
          parameters: Record<string, unknown>;
          policyDefinitions: { policyDefinitionId: string; policyDefinitionReferenceId: string; parameters: Record<string, unknown> }[];
        };
      };
      const served = builtInPolicySetDefinition(state, real.name.toUpperCase());
      expect(served).toEqual({
        id: real.id,
        name: real.name,
        type: 'Microsoft.Authorization/policySetDefinitions',
        properties: {
          displayName: real.properties.displayName,
          policyType: real.properties.policyType,
          metadata: real.properties.metadata,
          version: real.properties.version,
          // Only the effect parameter is served, and each member's effect argument.
          parameters: { effect: real.properties.parameters['effect'] },
          policyDefinitions: real.properties.policyDefinitions.map((m) => ({
            policyDefinitionId: m.policyDefinitionId,
            policyDefinitionReferenceId: m.policyDefinitionReferenceId,
            parameters: { effect: m.parameters['effect'] },
          })),
        },
      });
    }
    expect(builtInPolicySetDefinition(state, 'arc-extensions')).toBeUndefined();
  });
});

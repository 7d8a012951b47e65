/**
 * Microsoft.Authorization policySetDefinitions (2025-03-01), shapes of getBuiltInPolicySetDefinition /
 * getPolicySetDefinition / createOrUpdatePolicySetDefinition in Azure/azure-rest-api-specs:
 * - GET `/providers/Microsoft.Authorization/policySetDefinitions/{name}` (`getBuiltIn`): the built-in
 *   initiatives of `fleet.policySets`, built from their members;
 * - GET / PUT / DELETE `/subscriptions/{sub}/providers/Microsoft.Authorization/policySetDefinitions/{name}`
 *   (`get`, `createOrUpdate`, `delete`): custom initiatives. A PUT also registers the members in
 *   `fleet.policySets`, so assignments of the initiative derive policy states and can be remediated.
 */
import { randomUUID } from 'node:crypto';
import type { ArmResource, PolicySetMember } from '../../fleet-model.js';
import { BUILTIN_INITIATIVES, PSS_CATEGORY, PSS_EFFECT_PARAMETER } from '../../fleet/builtin-initiatives.js';
import { armError, isRecord, type ArmRequestContext, type ArmResult, type ArmRoute } from '../arm-http.js';
import type { EmulatorState } from '../../server/emulator-state.js';

const SET_TYPE = 'Microsoft.Authorization/policySetDefinitions';
const DEFINITION_ID = /^(?:\/subscriptions\/[^/]+|\/providers\/Microsoft\.Management\/managementGroups\/[^/]+)?\/providers\/Microsoft\.Authorization\/policyDefinitions\/[^/]+$/i;

const setNotFound = (name: string): ArmResult => armError(404, 'PolicySetDefinitionNotFound', `The policy set definition '${name}' could not be found.`);
const invalidSet = (name: string, why: string): ArmResult =>
  armError(400, 'InvalidCreatePolicySetDefinitionRequest', `The policy set definition '${name}' request is invalid. ${why}`);

function isCustomName(state: EmulatorState, key: string): boolean {
  for (const r of state.customPolicySetDefinitions.values()) if (r.name.toLowerCase() === key) return true;
  return false;
}

/**
 * A built-in initiative of the fleet in the getBuiltIn wire shape. Every member gets the initiative's
 * `effect` as `[parameters('effect')]`: true of both real PSS initiatives (checked against their JSON in
 * test/unit/fleet/builtin-initiatives.test.ts) and of how policy-states.ts applies an assignment's effect.
 */
export function builtInPolicySetDefinition(state: EmulatorState, name: string): ArmResource | undefined {
  const key = name.toLowerCase();
  const members = state.fleet.policySets[key];
  if (members === undefined || isCustomName(state, key)) return undefined;
  const known = BUILTIN_INITIATIVES.find((i) => i.name === key);
  return {
    properties: {
      displayName: known?.displayName ?? key,
      policyType: 'BuiltIn',
      ...(known !== undefined ? { metadata: { version: known.version, category: PSS_CATEGORY }, version: known.version } : {}),
      parameters: { effect: structuredClone(PSS_EFFECT_PARAMETER) },
      policyDefinitions: members.map((m) => ({
        policyDefinitionId: m.policyDefinitionId,
        policyDefinitionReferenceId: m.policyDefinitionReferenceId,
        parameters: { effect: { value: "[parameters('effect')]" } },
      })),
    },
    id: `/providers/Microsoft.Authorization/policySetDefinitions/${key}`,
    type: SET_TYPE,
    name: key,
  };
}

function customId(subscriptionId: string, name: string): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/policySetDefinitions/${name}`;
}

function putCustom(state: EmulatorState, ctx: ArmRequestContext): ArmResult {
  const [subscriptionId, name] = ctx.params as [string, string];
  const id = customId(subscriptionId, name);
  const key = name.toLowerCase();
  if (!isRecord(ctx.body) || !isRecord(ctx.body['properties'])) return armError(400, 'InvalidRequestContent', 'The request content must be a policy set definition with a properties object.');
  const props = ctx.body['properties'];
  const raw = props['policyDefinitions'];
  if (!Array.isArray(raw) || raw.length === 0) return invalidSet(name, 'The policy set definition must reference at least one policy definition.');
  const members: Record<string, unknown>[] = [];
  const referenceIds = new Set<string>();
  for (const m of raw) {
    if (!isRecord(m) || typeof m['policyDefinitionId'] !== 'string' || !DEFINITION_ID.test(m['policyDefinitionId'])) {
      return invalidSet(name, "Referenced policy definitions must be of type 'Microsoft.Authorization/policyDefinitions'.");
    }
    // ARM generates a reference id for a member sent without one.
    const referenceId = typeof m['policyDefinitionReferenceId'] === 'string' && m['policyDefinitionReferenceId'] !== '' ? m['policyDefinitionReferenceId'] : randomUUID().replace(/-/g, '').slice(0, 20);
    if (referenceIds.has(referenceId.toLowerCase())) return invalidSet(name, `The policy definition reference id '${referenceId}' is used more than once.`);
    referenceIds.add(referenceId.toLowerCase());
    members.push({ ...m, policyDefinitionReferenceId: referenceId });
  }
  const existing = state.customPolicySetDefinitions.get(id.toLowerCase());
  // Policy states look initiatives up by name (fleet.policySets), so one name stands for one initiative here.
  if (existing === undefined && (state.fleet.policySets[key] !== undefined || isCustomName(state, key))) {
    return invalidSet(name, `The ARM emulator already knows an initiative named '${name}' (built-in or in another subscription); use another name.`);
  }
  const resource: ArmResource = {
    id,
    type: SET_TYPE,
    name,
    properties: { ...props, policyType: 'Custom', policyDefinitions: members },
  };
  state.customPolicySetDefinitions.set(id.toLowerCase(), resource);
  state.fleet.policySets[key] = members.map(
    (m): PolicySetMember => ({ policyDefinitionId: String(m['policyDefinitionId']), policyDefinitionReferenceId: String(m['policyDefinitionReferenceId']) }),
  );
  return { status: existing === undefined ? 201 : 200, body: resource };
}

export function policySetDefinitionRoutes(state: EmulatorState): ArmRoute[] {
  return [
    {
      name: 'policySetDefinitions.getBuiltIn',
      method: 'GET',
      pattern: /^\/providers\/Microsoft\.Authorization\/policySetDefinitions\/([^/]+)\/?$/i,
      handle: (ctx) => {
        const found = builtInPolicySetDefinition(state, ctx.params[0]!);
        return found !== undefined ? { status: 200, body: found } : setNotFound(ctx.params[0]!);
      },
    },
    {
      name: 'policySetDefinitions.get',
      method: 'GET',
      pattern: /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Authorization\/policySetDefinitions\/([^/]+)\/?$/i,
      handle: (ctx) => {
        const found = state.customPolicySetDefinitions.get(customId(ctx.params[0]!, ctx.params[1]!).toLowerCase());
        return found !== undefined ? { status: 200, body: found } : setNotFound(ctx.params[1]!);
      },
    },
    {
      name: 'policySetDefinitions.createOrUpdate',
      method: 'PUT',
      pattern: /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Authorization\/policySetDefinitions\/([^/]+)\/?$/i,
      handle: (ctx) => putCustom(state, ctx),
    },
    {
      name: 'policySetDefinitions.delete',
      method: 'DELETE',
      pattern: /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Authorization\/policySetDefinitions\/([^/]+)\/?$/i,
      handle: (ctx) => {
        const key = customId(ctx.params[0]!, ctx.params[1]!).toLowerCase();
        const found = state.customPolicySetDefinitions.get(key);
        if (found === undefined) return { status: 204 };
        state.customPolicySetDefinitions.delete(key);
        delete state.fleet.policySets[found.name.toLowerCase()];
        return { status: 200 };
      },
    },
  ];
}

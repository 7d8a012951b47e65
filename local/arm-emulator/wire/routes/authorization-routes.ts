/**
 * Microsoft.Authorization policyAssignments (2025-03-01: list at subscription / resource group,
 * get, create (PUT), update (PATCH), delete) and policyExemptions (2024-12-01-preview: list, get).
 * Writes mutate `fleet.policyAssignments` in place, so later derived policy states see them.
 */
import { randomUUID } from 'node:crypto';
import type { ArmResource } from '../../fleet-model.js';
import { armError, isRecord, notFound, sameId, slicePage, type ArmRequestContext, type ArmResult, type ArmRoute } from '../arm-http.js';
import type { EmulatorState } from '../../server/emulator-state.js';
import { policyAssignmentsReaching } from '../../fleet/fleet-queries.js';

const ASSIGNMENT_TYPE = 'Microsoft.Authorization/policyAssignments';

/** The scope of a policy resource: the part of its id before `/providers/Microsoft.Authorization/`. */
export function scopeOfPolicyResource(id: string): string {
  const i = id.toLowerCase().indexOf('/providers/microsoft.authorization/');
  return i < 0 ? id : id.slice(0, i);
}

/** Is `ancestor` the same scope as `scope` or one of its parents? (Management groups contain every subscription here.) */
export function scopeContains(ancestor: string, scope: string): boolean {
  const a = ancestor.toLowerCase().replace(/\/+$/, '');
  const s = scope.toLowerCase().replace(/\/+$/, '');
  if (a.startsWith('/providers/microsoft.management/managementgroups/')) return true;
  return s === a || s.startsWith(`${a}/`);
}

type AssignmentFilter = (assignmentScope: string, resource: ArmResource) => boolean;

function parseAssignmentFilter(raw: string | null, listScope: string): AssignmentFilter | ArmResult {
  const f = (raw ?? '').trim();
  if (f === '') return (s) => scopeContains(listScope, s) || scopeContains(s, listScope);
  if (/^atScope\(\)$/i.test(f)) return (s) => scopeContains(s, listScope);
  if (/^atExactScope\(\)$/i.test(f)) return (s) => sameId(s, listScope);
  const m = /^policyDefinitionId\s+eq\s+'(.*)'$/i.exec(f);
  if (m) {
    const wanted = m[1]!.replace(/''/g, "'");
    return (s, r) =>
      (scopeContains(listScope, s) || scopeContains(s, listScope)) &&
      isRecord(r['properties']) &&
      typeof r['properties']['policyDefinitionId'] === 'string' &&
      sameId(r['properties']['policyDefinitionId'], wanted);
  }
  return armError(400, 'InvalidFilterInQueryString', `Invalid $filter '${f}'. Valid values are 'atScope()', 'atExactScope()' and 'policyDefinitionId eq '{value}''.`);
}

function listAssignments(state: EmulatorState, ctx: ArmRequestContext, subscriptionId: string, listScope: string): ArmResult {
  const filter = parseAssignmentFilter(ctx.url.searchParams.get('$filter'), listScope);
  if (typeof filter !== 'function') return filter;
  // Every filter is relative to the list scope, which is in this subscription: assignments of other
  // subscriptions never match, so only this subscription's and the management groups' are tested.
  const items = policyAssignmentsReaching(state.fleet.policyAssignments, subscriptionId).filter((a) => filter(scopeOfPolicyResource(a.id), a));
  const page = slicePage(items, ctx, state.pageSizes.resources);
  return { status: 200, body: { value: page.items, ...(page.nextLink ? { nextLink: page.nextLink } : {}) } };
}

function assignmentPath(ctx: ArmRequestContext): { scope: string; name: string; id: string } {
  const [scope, name] = ctx.params as [string, string];
  const normalisedScope = scope.startsWith('/') ? scope : `/${scope}`;
  return { scope: normalisedScope, name, id: `${normalisedScope}/providers/Microsoft.Authorization/policyAssignments/${name}` };
}

function systemData(now: Date, created?: unknown): Record<string, unknown> {
  const at = now.toISOString();
  const prev = isRecord(created) ? created : undefined;
  return {
    createdBy: prev?.['createdBy'] ?? 'arc-compliance',
    createdByType: prev?.['createdByType'] ?? 'Application',
    createdAt: prev?.['createdAt'] ?? at,
    lastModifiedBy: 'arc-compliance',
    lastModifiedByType: 'Application',
    lastModifiedAt: at,
  };
}

function withIdentity(identity: unknown, tenantId: string): unknown {
  if (!isRecord(identity) || identity['type'] !== 'SystemAssigned') return identity;
  return { principalId: identity['principalId'] ?? randomUUID(), tenantId: identity['tenantId'] ?? tenantId, ...identity };
}

function putAssignment(state: EmulatorState, ctx: ArmRequestContext): ArmResult {
  const { scope, name, id } = assignmentPath(ctx);
  if (!isRecord(ctx.body) || !isRecord(ctx.body['properties'])) {
    return armError(400, 'InvalidRequestContent', 'The request content must be a policy assignment with a properties object.');
  }
  const props = ctx.body['properties'];
  if (typeof props['policyDefinitionId'] !== 'string') return armError(400, 'InvalidRequestContent', 'properties.policyDefinitionId is required.');
  const existingIndex = state.fleet.policyAssignments.findIndex((a) => sameId(a.id, id));
  const existing = existingIndex >= 0 ? state.fleet.policyAssignments[existingIndex] : undefined;
  const resource: ArmResource = {
    ...(ctx.body.identity !== undefined ? { identity: withIdentity(ctx.body['identity'], state.fleet.tenantId) } : {}),
    ...(ctx.body['location'] !== undefined ? { location: ctx.body['location'] } : {}),
    properties: {
      enforcementMode: 'Default',
      notScopes: [],
      ...props,
      scope,
      instanceId: isRecord(existing?.['properties']) ? existing['properties']['instanceId'] : randomUUID(),
    },
    id,
    type: ASSIGNMENT_TYPE,
    name,
    systemData: systemData(state.now(), existing?.['systemData']),
  };
  if (existingIndex >= 0) state.fleet.policyAssignments[existingIndex] = resource;
  else state.fleet.policyAssignments.push(resource);
  // 2025-03-01 declares only 201 for create, also when it replaces (the SDK rejects a 200).
  return { status: 201, body: resource };
}

function patchAssignment(state: EmulatorState, ctx: ArmRequestContext): ArmResult {
  const { id } = assignmentPath(ctx);
  const index = state.fleet.policyAssignments.findIndex((a) => sameId(a.id, id));
  const existing = state.fleet.policyAssignments[index];
  if (!existing) return notFound(id);
  if (!isRecord(ctx.body)) return armError(400, 'InvalidRequestContent', 'The request content must be a JSON object.');
  const patchProps = isRecord(ctx.body['properties']) ? ctx.body['properties'] : {};
  const updated: ArmResource = {
    ...existing,
    ...(ctx.body['identity'] !== undefined ? { identity: withIdentity(ctx.body['identity'], state.fleet.tenantId) } : {}),
    ...(ctx.body['location'] !== undefined ? { location: ctx.body['location'] } : {}),
    properties: { ...(isRecord(existing['properties']) ? existing['properties'] : {}), ...patchProps },
    systemData: systemData(state.now(), existing['systemData']),
  };
  state.fleet.policyAssignments[index] = updated;
  return { status: 200, body: updated };
}

function listExemptions(state: EmulatorState, ctx: ArmRequestContext): ArmResult {
  const scope = (ctx.params[0] ?? '').startsWith('/') ? ctx.params[0]! : `/${ctx.params[0] ?? ''}`;
  const filter = (ctx.url.searchParams.get('$filter') ?? '').trim();
  const items = state.fleet.policyExemptions.filter((e) => {
    const s = scopeOfPolicyResource(e.id);
    if (/^atExactScope\(\)$/i.test(filter)) return sameId(s, scope);
    if (/^atScope\(\)$/i.test(filter)) return scopeContains(s, scope);
    return scopeContains(scope, s) || scopeContains(s, scope);
  });
  const page = slicePage(items, ctx, state.pageSizes.resources);
  return { status: 200, body: { value: page.items, ...(page.nextLink ? { nextLink: page.nextLink } : {}) } };
}

export function authorizationRoutes(state: EmulatorState): ArmRoute[] {
  return [
    {
      name: 'policyAssignments.list',
      method: 'GET',
      pattern: /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Authorization\/policyAssignments\/?$/i,
      handle: (ctx) => listAssignments(state, ctx, ctx.params[0]!, `/subscriptions/${ctx.params[0]}`),
    },
    {
      name: 'policyAssignments.listForResourceGroup',
      method: 'GET',
      pattern: /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Authorization\/policyAssignments\/?$/i,
      handle: (ctx) => listAssignments(state, ctx, ctx.params[0]!, `/subscriptions/${ctx.params[0]}/resourceGroups/${ctx.params[1]}`),
    },
    {
      name: 'policyAssignments.get',
      method: 'GET',
      pattern: /^(.+)\/providers\/Microsoft\.Authorization\/policyAssignments\/([^/]+)\/?$/i,
      handle: (ctx) => {
        const { id } = assignmentPath(ctx);
        const found = state.findById(state.fleet.policyAssignments, id);
        return found ? { status: 200, body: found } : notFound(id);
      },
    },
    {
      name: 'policyAssignments.create',
      method: 'PUT',
      pattern: /^(.+)\/providers\/Microsoft\.Authorization\/policyAssignments\/([^/]+)\/?$/i,
      handle: (ctx) => putAssignment(state, ctx),
    },
    {
      name: 'policyAssignments.update',
      method: 'PATCH',
      pattern: /^(.+)\/providers\/Microsoft\.Authorization\/policyAssignments\/([^/]+)\/?$/i,
      handle: (ctx) => patchAssignment(state, ctx),
    },
    {
      name: 'policyAssignments.delete',
      method: 'DELETE',
      pattern: /^(.+)\/providers\/Microsoft\.Authorization\/policyAssignments\/([^/]+)\/?$/i,
      handle: (ctx) => {
        const { id } = assignmentPath(ctx);
        const index = state.fleet.policyAssignments.findIndex((a) => sameId(a.id, id));
        if (index < 0) return { status: 204 };
        const [removed] = state.fleet.policyAssignments.splice(index, 1);
        return { status: 200, body: removed };
      },
    },
    {
      name: 'policyExemptions.list',
      method: 'GET',
      pattern: /^(.*)\/providers\/Microsoft\.Authorization\/policyExemptions\/?$/i,
      handle: (ctx) => listExemptions(state, ctx),
    },
    {
      name: 'policyExemptions.get',
      method: 'GET',
      pattern: /^(.+)\/providers\/Microsoft\.Authorization\/policyExemptions\/([^/]+)\/?$/i,
      handle: (ctx) => {
        const scope = ctx.params[0]!.startsWith('/') ? ctx.params[0]! : `/${ctx.params[0]!}`;
        const id = `${scope}/providers/Microsoft.Authorization/policyExemptions/${ctx.params[1]!}`;
        const found = state.findById(state.fleet.policyExemptions, id);
        return found ? { status: 200, body: found } : notFound(id);
      },
    },
  ];
}

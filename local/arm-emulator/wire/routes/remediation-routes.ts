/**
 * Microsoft.PolicyInsights remediations (2024-10-01): create (one deployment per NonCompliant resource
 * of the assignment under the scope, validated where the service's behaviour is known), get, list,
 * listDeployments and cancel. A remediation moves from Accepted to Succeeded once
 * `remediationDelayMs` has passed (computed on read).
 */
import { randomUUID } from 'node:crypto';
import type { ArmResource, PolicySetMember } from '../../fleet-model.js';
import { armError, isRecord, notFound, sameId, slicePage, subscriptionOf, type ArmRequestContext, type ArmResult, type ArmRoute } from '../arm-http.js';
import type { EmulatorState } from '../../server/emulator-state.js';
import { INSIGHTS, normaliseScope, underScope } from './policy-insights-routes.js';

function remediationId(scope: string, name: string): string {
  return `${scope}/providers/Microsoft.PolicyInsights/remediations/${name}`;
}

/** A remediation's status moves from Accepted to Succeeded once its delay has passed (computed on read). */
function remediationView(state: EmulatorState, resource: ArmResource): ArmResource {
  const props = isRecord(resource['properties']) ? resource['properties'] : {};
  if (props['provisioningState'] !== 'Accepted' || typeof props['createdOn'] !== 'string') return resource;
  if (Date.parse(props['createdOn']) + state.remediationDelayMs > state.now().getTime()) return resource;
  const deployments = state.remediationDeployments.get(String(resource['id']).toLowerCase()) ?? [];
  for (const d of deployments) d['status'] = 'Succeeded';
  const status = isRecord(props['deploymentStatus']) ? props['deploymentStatus'] : {};
  const done: ArmResource = {
    ...resource,
    properties: {
      ...props,
      provisioningState: 'Succeeded',
      lastUpdatedOn: state.now().toISOString(),
      deploymentStatus: { ...status, successfulDeployments: deployments.length, failedDeployments: 0 },
    },
  };
  const list = state.fleet.remediations;
  const i = list.findIndex((r) => sameId(r.id, String(resource['id'])));
  if (i >= 0) list[i] = done;
  return done;
}

/** Remediation filters: at most this many `resourceIds` (RemediationFilters in the 2024-10-01 spec). */
const MAX_FILTER_RESOURCE_IDS = 100;

const invalidRemediation = (name: string, why: string): ArmResult =>
  armError(400, 'InvalidCreateRemediationRequest', `The request to create remediation '${name}' is invalid. ${why}`);

const normaliseLocation = (location: string): string => location.replace(/\s+/g, '').toLowerCase();

/** The initiative an assignment of the fleet assigns, with its members; undefined for a definition assignment or an unknown one. */
function assignedSet(state: EmulatorState, assignmentId: string): { setId: string; members: readonly PolicySetMember[] } | undefined {
  const assignment = state.findById(state.fleet.policyAssignments, assignmentId);
  const props = assignment !== undefined && isRecord(assignment['properties']) ? assignment['properties'] : undefined;
  const setId = props?.['policyDefinitionId'];
  if (typeof setId !== 'string' || !/\/policySetDefinitions\/[^/]+$/i.test(setId)) return undefined;
  const members = state.fleet.policySets[setId.split('/').pop()!.toLowerCase()];
  return members === undefined ? undefined : { setId, members };
}

interface ParsedFilters {
  /** Lower-cased resource ids, or undefined for no filter. */
  readonly resourceIds: ReadonlySet<string> | undefined;
  /** Normalised locations, or undefined for no filter. */
  readonly locations: ReadonlySet<string> | undefined;
}

function parseFilters(name: string, props: Record<string, unknown>): ParsedFilters | ArmResult {
  const filters = props['filters'];
  if (filters === undefined || filters === null) return { resourceIds: undefined, locations: undefined };
  if (!isRecord(filters)) return armError(400, 'InvalidRequestContent', 'properties.filters must be an object.');
  const list = (key: string): string[] | undefined | ArmResult => {
    const value = filters[key];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) return armError(400, 'InvalidRequestContent', `properties.filters.${key} must be an array of strings.`);
    return value;
  };
  const resourceIds = list('resourceIds');
  if (resourceIds !== undefined && !Array.isArray(resourceIds)) return resourceIds;
  const locations = list('locations');
  if (locations !== undefined && !Array.isArray(locations)) return locations;
  if (resourceIds !== undefined) {
    if (resourceIds.length === 0) return invalidRemediation(name, 'The resource IDs filter cannot be empty if provided.');
    if (resourceIds.length > MAX_FILTER_RESOURCE_IDS) return invalidRemediation(name, `The resource IDs filter can specify at most ${MAX_FILTER_RESOURCE_IDS} IDs.`);
    if (String(props['resourceDiscoveryMode'] ?? '').toLowerCase() === 'reevaluatecompliance') {
      return invalidRemediation(name, "The resource IDs filter cannot be used when the resource discovery mode is 'ReEvaluateCompliance'.");
    }
  }
  return {
    resourceIds: resourceIds === undefined ? undefined : new Set(resourceIds.map((r) => r.toLowerCase())),
    locations: locations === undefined ? undefined : new Set(locations.map(normaliseLocation)),
  };
}

/**
 * PUT remediation. Validates the request as the service does where its behaviour is known: a
 * `policyDefinitionReferenceId` is required for an initiative assignment (the service's own error
 * text) and must name a member of that initiative; `filters.resourceIds` must be non-empty and hold
 * at most 100 ids. One deployment per resource that is NonCompliant for the assignment (and reference
 * id) under the scope and passes `filters` (resource ids case-insensitive, locations normalised).
 */
function createRemediation(state: EmulatorState, ctx: ArmRequestContext): ArmResult {
  const scope = normaliseScope(ctx.params[0]!);
  const name = ctx.params[1]!;
  const id = remediationId(scope, name);
  if (!isRecord(ctx.body) || !isRecord(ctx.body['properties']) || typeof ctx.body['properties']['policyAssignmentId'] !== 'string') {
    return armError(400, 'InvalidRequestContent', 'properties.policyAssignmentId is required.');
  }
  const props = ctx.body['properties'];
  const assignmentId = String(props['policyAssignmentId']);
  const referenceId = typeof props['policyDefinitionReferenceId'] === 'string' && props['policyDefinitionReferenceId'] !== '' ? props['policyDefinitionReferenceId'] : undefined;
  const set = assignedSet(state, assignmentId);
  if (set !== undefined && referenceId === undefined) {
    return invalidRemediation(
      name,
      `The policy assignment '${assignmentId}' assigns a policy set definition. Remediations must specify a single policy definition reference ID within the policy set definition.`,
    );
  }
  if (set !== undefined && referenceId !== undefined && !set.members.some((m) => sameId(m.policyDefinitionReferenceId, referenceId))) {
    return invalidRemediation(name, `The policy definition reference ID '${referenceId}' does not exist in the policy set definition '${set.setId}' assigned by '${assignmentId}'.`);
  }
  const filters = parseFilters(name, props);
  if ('status' in filters) return filters;
  const subscriptionId = subscriptionOf(scope);
  const now = state.now().toISOString();
  const targets = subscriptionId
    ? state
        .policyStates(subscriptionId)
        .filter(
          (r) =>
            underScope(r['resourceId'], scope) &&
            String(r['complianceState']).toLowerCase() === 'noncompliant' &&
            sameId(String(r['policyAssignmentId'] ?? ''), assignmentId) &&
            (referenceId === undefined || sameId(String(r['policyDefinitionReferenceId'] ?? ''), referenceId)) &&
            (filters.resourceIds === undefined || filters.resourceIds.has(String(r['resourceId']).toLowerCase())) &&
            (filters.locations === undefined || filters.locations.has(normaliseLocation(String(r['resourceLocation'] ?? '')))),
        )
    : [];
  const resources = [...new Map(targets.map((r) => [String(r['resourceId']).toLowerCase(), r])).values()];
  const deployments = resources.map((r) => ({
    remediatedResourceId: String(r['resourceId']),
    deploymentId: `/subscriptions/${subscriptionId}/resourcegroups/${String(r['resourceGroup'] ?? 'unknown')}/providers/microsoft.resources/deployments/${randomUUID()}`,
    status: 'Running',
    resourceLocation: String(r['resourceLocation'] ?? ''),
    createdOn: now,
    lastUpdatedOn: now,
  }));
  const existing = state.findById(state.fleet.remediations, id);
  const resource = {
    properties: {
      resourceDiscoveryMode: 'ExistingNonCompliant',
      ...props,
      provisioningState: 'Accepted',
      createdOn: now,
      lastUpdatedOn: now,
      deploymentStatus: { totalDeployments: deployments.length, successfulDeployments: 0, failedDeployments: 0 },
      correlationId: randomUUID(),
    },
    id,
    name,
    type: 'Microsoft.PolicyInsights/remediations',
    systemData: { createdBy: 'arc-compliance', createdByType: 'Application', createdAt: now, lastModifiedBy: 'arc-compliance', lastModifiedByType: 'Application', lastModifiedAt: now },
  };
  state.remediationDeployments.set(id.toLowerCase(), deployments);
  if (existing) state.fleet.remediations.splice(state.fleet.remediations.indexOf(existing), 1, resource);
  else state.fleet.remediations.push(resource);
  return { status: existing ? 200 : 201, body: resource };
}

export function remediationRoutes(state: EmulatorState): ArmRoute[] {
  return [
    {
      name: 'remediations.list',
      method: 'GET',
      pattern: new RegExp(`^(.*)${INSIGHTS}/remediations/?$`, 'i'),
      handle: (ctx) => {
        const scope = normaliseScope(ctx.params[0]!);
        const items = state.fleet.remediations.filter((r) => underScope(r.id, scope)).map((r) => remediationView(state, r));
        const page = slicePage(items, ctx, state.pageSizes.resources);
        return { status: 200, body: { value: page.items, ...(page.nextLink ? { nextLink: page.nextLink } : {}) } };
      },
    },
    {
      name: 'remediations.get',
      method: 'GET',
      pattern: new RegExp(`^(.*)${INSIGHTS}/remediations/([^/]+)/?$`, 'i'),
      handle: (ctx) => {
        const id = remediationId(normaliseScope(ctx.params[0]!), ctx.params[1]!);
        const found = state.findById(state.fleet.remediations, id);
        return found ? { status: 200, body: remediationView(state, found) } : notFound(id);
      },
    },
    {
      name: 'remediations.createOrUpdate',
      method: 'PUT',
      pattern: new RegExp(`^(.*)${INSIGHTS}/remediations/([^/]+)/?$`, 'i'),
      handle: (ctx) => createRemediation(state, ctx),
    },
    {
      name: 'remediations.listDeployments',
      // POST for the first page, GET for a nextLink.
      method: ['POST', 'GET'],
      pattern: new RegExp(`^(.*)${INSIGHTS}/remediations/([^/]+)/listDeployments/?$`, 'i'),
      handle: (ctx) => {
        const id = remediationId(normaliseScope(ctx.params[0]!), ctx.params[1]!);
        const found = state.findById(state.fleet.remediations, id);
        if (!found) return notFound(id);
        remediationView(state, found);
        const page = slicePage(state.remediationDeployments.get(id.toLowerCase()) ?? [], ctx, state.pageSizes.resources);
        return { status: 200, body: { value: page.items, ...(page.nextLink ? { nextLink: page.nextLink } : {}) } };
      },
    },
    {
      name: 'remediations.cancel',
      method: 'POST',
      pattern: new RegExp(`^(.*)${INSIGHTS}/remediations/([^/]+)/cancel/?$`, 'i'),
      handle: (ctx) => {
        const id = remediationId(normaliseScope(ctx.params[0]!), ctx.params[1]!);
        const found = state.findById(state.fleet.remediations, id);
        if (!found) return notFound(id);
        const props = isRecord(found['properties']) ? found['properties'] : {};
        const cancelled = { ...found, properties: { ...props, provisioningState: 'Cancelled', lastUpdatedOn: state.now().toISOString() } };
        state.fleet.remediations.splice(state.fleet.remediations.indexOf(found), 1, cancelled);
        return { status: 200, body: cancelled };
      },
    },
  ];
}

/**
 * Microsoft.PolicyInsights (2024-10-01): policyStates queryResults / summarize at any scope under a
 * subscription, policyEvents and componentPolicyStates queryResults derived from the same states
 * (policy-records.ts), triggerEvaluation (202 + Location, completes after a configurable delay) and
 * remediations (create / get / list / listDeployments / cancel).
 *
 * Policy states are never stored: each first page derives them from the fleet and the current
 * assignments (or, with a compliance lag, those of the last completed evaluation: `state.policyStates`);
 * the following pages read a snapshot named in the `$skiptoken`.
 */
import { randomUUID } from 'node:crypto';
import type { ArmResource, PolicySetMember } from '../../fleet-model.js';
import {
  armError,
  decodeSkipToken,
  isRecord,
  notFound,
  sameId,
  slicePage,
  subscriptionOf,
  type ArmRequestContext,
  type ArmResult,
  type ArmRoute,
} from '../arm-http.js';
import type { EmulatorState } from '../emulator-state.js';
import { ODataFilterError, parseODataFilter, type FilterPredicate } from '../odata-filter.js';
import { componentStatesFrom, policyEventsFrom } from './policy-records.js';

const INSIGHTS = '/providers/Microsoft\\.PolicyInsights';

function normaliseScope(raw: string): string {
  return (raw.startsWith('/') ? raw : `/${raw}`).replace(/\/+$/, '');
}

function underScope(resourceId: unknown, scope: string): boolean {
  if (typeof resourceId !== 'string') return false;
  const id = resourceId.toLowerCase();
  const s = scope.toLowerCase();
  return id === s || id.startsWith(`${s}/`);
}

interface Expand {
  readonly components: boolean;
  readonly componentFilter: FilterPredicate | undefined;
}

function parseExpand(raw: string | null): Expand {
  if (raw === null) return { components: false, componentFilter: undefined };
  const m = /components(?:\(\s*\$filter\s*=\s*(.*)\))?/i.exec(raw);
  if (!m) return { components: false, componentFilter: undefined };
  return { components: true, componentFilter: m[1] !== undefined ? parseODataFilter(m[1]) : undefined };
}

function project(record: Record<string, unknown>, select: readonly string[] | undefined, expand: Expand): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (key === 'components') continue;
    if (select && !key.startsWith('@odata') && !select.includes(key.toLowerCase())) continue;
    out[key] = value;
  }
  if (expand.components && Array.isArray(record['components'])) {
    const filter = expand.componentFilter;
    out['components'] = filter ? record['components'].filter((c) => isRecord(c) && filter(c)) : record['components'];
  }
  return out;
}

type DeriveRecords = (states: Record<string, unknown>[]) => Record<string, unknown>[];

/**
 * Filtered (not yet paged or projected) records of a query, or an ARM error. `derive` turns the
 * states under the scope into the queried records (events, component states) before `$filter` applies.
 */
function queryRecords(state: EmulatorState, ctx: ArmRequestContext, scope: string, derive: DeriveRecords = (states) => states): Record<string, unknown>[] | ArmResult {
  const subscriptionId = subscriptionOf(scope);
  if (subscriptionId === undefined) return armError(400, 'InvalidScope', `Policy states are served at subscription scope or below (got '${scope}').`);
  let predicate: FilterPredicate;
  try {
    predicate = parseODataFilter(ctx.url.searchParams.get('$filter') ?? '');
  } catch (e) {
    if (e instanceof ODataFilterError) return armError(400, 'InvalidFilterInQueryString', e.message);
    throw e;
  }
  const records = derive(state.policyStates(subscriptionId).filter((r) => underScope(r['resourceId'], scope))).filter(predicate);
  const topRaw = ctx.url.searchParams.get('$top');
  const top = topRaw === null ? undefined : Number(topRaw);
  if (top !== undefined && (!Number.isInteger(top) || top < 0)) return armError(400, 'InvalidQueryParameterValue', `Invalid $top '${topRaw}'.`);
  return top === undefined ? records : records.slice(0, top);
}

const metadataUrl = (ctx: ArmRequestContext, scope: string, resource: string, virtual: string): string =>
  `${ctx.baseUrl}${scope}/providers/Microsoft.PolicyInsights/${resource}/$metadata#${virtual}`;

/** A page of Policy Insights query results: `@odata.count` is the page's size, as the service reports it. */
function odataPage<T>(context: string, page: { readonly items: readonly T[]; readonly nextLink?: string | undefined }, item: (r: T) => unknown): ArmResult {
  return {
    status: 200,
    body: {
      '@odata.context': context,
      '@odata.count': page.items.length,
      ...(page.nextLink ? { '@odata.nextLink': page.nextLink } : {}),
      value: page.items.map(item),
    },
  };
}

function selectOf(ctx: ArmRequestContext): string[] | undefined {
  const raw = ctx.url.searchParams.get('$select');
  return raw === null ? undefined : raw.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
}

/** `policyEvents/default/queryResults`: one event per state, paged like policy states. */
function eventResults(state: EmulatorState, ctx: ArmRequestContext): ArmResult {
  const scope = normaliseScope(ctx.params[0]!);
  const context = metadataUrl(ctx, scope, 'policyEvents', 'default');
  const token = decodeSkipToken(ctx.url);
  let records = state.snapshot(token?.s);
  let snapshotId = token?.s;
  if (!records) {
    const fresh = queryRecords(state, ctx, scope, (states) => policyEventsFrom(states, state.fleet.tenantId, `${context}/$entity`));
    if (!Array.isArray(fresh)) return fresh;
    records = fresh;
    snapshotId = state.saveSnapshot(records);
  }
  const select = selectOf(ctx);
  const none: Expand = { components: false, componentFilter: undefined };
  return odataPage(context, slicePage(records, ctx, state.pageSizes.policyStates, snapshotId), (r) => project(r, select, none));
}

/**
 * `componentPolicyStates/latest/queryResults`: one record per component of the states under the scope.
 * One page (the 2024-10-01 operation has no next link); `$expand=PolicyEvaluationDetails` adds details.
 */
function componentResults(state: EmulatorState, ctx: ArmRequestContext): ArmResult {
  const scope = normaliseScope(ctx.params[0]!);
  const context = metadataUrl(ctx, scope, 'componentPolicyStates', 'latest');
  const details = /^\s*policyEvaluationDetails\s*$/i.test(ctx.url.searchParams.get('$expand') ?? '');
  const records = queryRecords(state, ctx, scope, (states) => componentStatesFrom(states, `${context}/$entity`, details));
  if (!Array.isArray(records)) return records;
  const select = selectOf(ctx);
  const none: Expand = { components: false, componentFilter: undefined };
  return { status: 200, body: { '@odata.context': context, '@odata.count': records.length, value: records.map((r) => project(r, select, none)) } };
}

function queryResults(state: EmulatorState, ctx: ArmRequestContext): ArmResult {
  const scope = normaliseScope(ctx.params[0]!);
  const token = decodeSkipToken(ctx.url);
  let records = state.snapshot(token?.s);
  let snapshotId = token?.s;
  if (!records) {
    const fresh = queryRecords(state, ctx, scope);
    if (!Array.isArray(fresh)) return fresh;
    records = fresh;
    snapshotId = state.saveSnapshot(records);
  }
  if (state.refuseSubscriptionScopeExpand && ctx.url.searchParams.has('$expand') && /^\/subscriptions\/[^/]+$/i.test(scope)) {
    return armError(400, 'InvalidQueryParameterValue', "The query parameter '$expand' is not supported at subscription scope.");
  }
  let expand: Expand;
  try {
    expand = parseExpand(ctx.url.searchParams.get('$expand'));
  } catch (e) {
    if (e instanceof ODataFilterError) return armError(400, 'InvalidQueryParameterValue', e.message);
    throw e;
  }
  const select = selectOf(ctx);
  const page = slicePage(records, ctx, state.pageSizes.policyStates, snapshotId);
  const context = `${ctx.baseUrl}${scope}/providers/Microsoft.PolicyInsights/policyStates/$metadata#latest`;
  return odataPage(context, page, (r) => project(r, select, expand));
}

interface Tally {
  readonly resources: Map<string, string>;
  readonly policies: Map<string, string>;
}

const worse = (a: string | undefined, b: string): string => (a === 'noncompliant' || b === 'noncompliant' ? 'noncompliant' : b);

function tallyResults(records: readonly Record<string, unknown>[], queryResultsUri: string): Record<string, unknown> {
  const t: Tally = { resources: new Map(), policies: new Map() };
  for (const r of records) {
    const state = String(r['complianceState'] ?? 'unknown').toLowerCase();
    const resource = String(r['resourceId'] ?? '').toLowerCase();
    const policy = `${String(r['policyAssignmentId'] ?? '')}|${String(r['policyDefinitionId'] ?? '')}|${String(r['policyDefinitionReferenceId'] ?? '')}`.toLowerCase();
    t.resources.set(resource, worse(t.resources.get(resource), state));
    t.policies.set(policy, worse(t.policies.get(policy), state));
  }
  const details = (m: Map<string, string>): { complianceState: string; count: number }[] => {
    const counts = new Map<string, number>();
    for (const v of m.values()) counts.set(v, (counts.get(v) ?? 0) + 1);
    return [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([complianceState, count]) => ({ complianceState, count }));
  };
  const nonCompliant = (m: Map<string, string>): number => [...m.values()].filter((v) => v === 'noncompliant').length;
  return {
    queryResultsUri,
    nonCompliantResources: nonCompliant(t.resources),
    nonCompliantPolicies: nonCompliant(t.policies),
    resourceDetails: details(t.resources),
    policyDetails: details(t.policies),
    policyGroupDetails: [],
  };
}

function summarize(state: EmulatorState, ctx: ArmRequestContext): ArmResult {
  const scope = normaliseScope(ctx.params[0]!);
  // $top limits the number of assignments in a summary, not the records summarised.
  const top = ctx.url.searchParams.get('$top');
  const url = new URL(ctx.url.toString());
  url.searchParams.delete('$top');
  const records = queryRecords(state, { ...ctx, url }, scope);
  if (!Array.isArray(records)) return records;
  const queryUri = (extra: string): string =>
    `${ctx.baseUrl}${scope}/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults?api-version=${ctx.apiVersion ?? '2024-10-01'}${extra}`;
  const byAssignment = new Map<string, Record<string, unknown>[]>();
  for (const r of records) {
    const id = String(r['policyAssignmentId'] ?? '');
    byAssignment.set(id, [...(byAssignment.get(id) ?? []), r]);
  }
  let assignments = [...byAssignment.entries()].map(([assignmentId, rs]) => {
    const byDefinition = new Map<string, Record<string, unknown>[]>();
    for (const r of rs) {
      const key = `${String(r['policyDefinitionId'] ?? '')}|${String(r['policyDefinitionReferenceId'] ?? '')}`;
      byDefinition.set(key, [...(byDefinition.get(key) ?? []), r]);
    }
    const assignmentFilter = `&$filter=PolicyAssignmentId eq '${assignmentId}'`;
    return {
      policyAssignmentId: assignmentId,
      policySetDefinitionId: String(rs[0]?.['policySetDefinitionId'] ?? ''),
      results: tallyResults(rs, queryUri(`${assignmentFilter} and IsCompliant eq false`)),
      policyDefinitions: [...byDefinition.values()].map((ds) => ({
        policyDefinitionId: String(ds[0]?.['policyDefinitionId'] ?? ''),
        policyDefinitionReferenceId: String(ds[0]?.['policyDefinitionReferenceId'] ?? ''),
        policyDefinitionGroupNames: Array.isArray(ds[0]?.['policyDefinitionGroupNames']) ? ds[0]['policyDefinitionGroupNames'] : [],
        effect: String(ds[0]?.['policyDefinitionAction'] ?? ''),
        results: tallyResults(ds, queryUri(`${assignmentFilter} and PolicyDefinitionId eq '${String(ds[0]?.['policyDefinitionId'] ?? '')}'`)),
      })),
      policyGroups: [],
    };
  });
  assignments.sort((a, b) => Number(b.results['nonCompliantResources']) - Number(a.results['nonCompliantResources']) || a.policyAssignmentId.localeCompare(b.policyAssignmentId));
  if (top !== null && Number.isInteger(Number(top))) assignments = assignments.slice(0, Number(top));
  const context = `${ctx.baseUrl}${scope}/providers/Microsoft.PolicyInsights/policyStates/$metadata#summary`;
  return {
    status: 200,
    body: {
      '@odata.context': context,
      '@odata.count': 1,
      value: [
        {
          '@odata.id': null,
          '@odata.context': `${context}/$entity`,
          results: tallyResults(records, queryUri('&$filter=IsCompliant eq false')),
          policyAssignments: assignments,
        },
      ],
    },
  };
}

function operationLocation(ctx: ArmRequestContext, subscriptionId: string, operationId: string): string {
  return `${ctx.baseUrl}/subscriptions/${subscriptionId}/providers/Microsoft.PolicyInsights/asyncOperationResults/${operationId}?api-version=${ctx.apiVersion ?? '2024-10-01'}`;
}

function triggerEvaluation(state: EmulatorState, ctx: ArmRequestContext): ArmResult {
  const scope = normaliseScope(ctx.params[0]!);
  const subscriptionId = subscriptionOf(scope)!;
  const startedAt = Date.now();
  const op = { id: randomUUID(), scope, startedAt, completesAt: startedAt + state.evaluationDelayMs };
  state.evaluations.set(op.id, op);
  return { status: 202, headers: { Location: operationLocation(ctx, subscriptionId, op.id), 'Retry-After': String(Math.max(1, Math.ceil(state.evaluationDelayMs / 1000))) } };
}

function evaluationStatus(state: EmulatorState, ctx: ArmRequestContext): ArmResult {
  const [subscriptionId, operationId] = ctx.params as [string, string];
  const op = state.evaluations.get(operationId);
  if (!op) return notFound(ctx.url.pathname);
  const remaining = op.completesAt - Date.now();
  if (remaining > 0) {
    return { status: 202, headers: { Location: operationLocation(ctx, subscriptionId, operationId), 'Retry-After': String(Math.max(1, Math.ceil(remaining / 1000))) } };
  }
  return { status: 200 };
}

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

export function policyInsightsRoutes(state: EmulatorState): ArmRoute[] {
  return [
    {
      name: 'policyStates.queryResults',
      // POST starts a query; following an @odata.nextLink is a GET (that is what the SDK sends).
      method: ['POST', 'GET'],
      pattern: new RegExp(`^(.*)${INSIGHTS}/policyStates/(?:latest|default)/queryResults/?$`, 'i'),
      handle: (ctx) => queryResults(state, ctx),
    },
    {
      name: 'policyEvents.queryResults',
      // POST starts a query; an @odata.nextLink is followed with GET.
      method: ['POST', 'GET'],
      pattern: new RegExp(`^(.*)${INSIGHTS}/policyEvents/default/queryResults/?$`, 'i'),
      handle: (ctx) => eventResults(state, ctx),
    },
    {
      name: 'componentPolicyStates.queryResults',
      method: 'POST',
      pattern: new RegExp(`^(.*)${INSIGHTS}/componentPolicyStates/latest/queryResults/?$`, 'i'),
      handle: (ctx) => componentResults(state, ctx),
    },
    {
      name: 'policyStates.summarize',
      method: 'POST',
      pattern: new RegExp(`^(.*)${INSIGHTS}/policyStates/latest/summarize/?$`, 'i'),
      handle: (ctx) => summarize(state, ctx),
    },
    {
      name: 'policyStates.triggerEvaluation',
      method: 'POST',
      pattern: new RegExp(`^(/subscriptions/[^/]+(?:/resourceGroups/[^/]+)?)${INSIGHTS}/policyStates/latest/triggerEvaluation/?$`, 'i'),
      handle: (ctx) => triggerEvaluation(state, ctx),
    },
    {
      name: 'asyncOperationResults.get',
      method: 'GET',
      pattern: new RegExp(`^/subscriptions/([^/]+)${INSIGHTS}/asyncOperationResults/([^/]+)/?$`, 'i'),
      handle: (ctx) => evaluationStatus(state, ctx),
    },
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

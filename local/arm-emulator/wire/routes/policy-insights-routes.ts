/**
 * Microsoft.PolicyInsights (2024-10-01): policyStates queryResults / summarize at any scope under a
 * subscription, policyEvents and componentPolicyStates queryResults derived from the same states
 * (policy-records.ts), and triggerEvaluation (202 + Location, completes after a configurable delay).
 * Remediations are in remediation-routes.ts.
 *
 * Policy states are never stored: each first page derives them from the fleet and the current
 * assignments (or, with a compliance lag, those of the last completed evaluation: `state.policyStates`);
 * the following pages read a snapshot named in the `$skiptoken`.
 */
import { randomUUID } from 'node:crypto';
import {
  armError,
  decodeSkipToken,
  isRecord,
  notFound,
  slicePage,
  subscriptionOf,
  type ArmRequestContext,
  type ArmResult,
  type ArmRoute,
} from '../arm-http.js';
import type { EmulatorState } from '../../server/emulator-state.js';
import { ODataFilterError, parseODataFilter, type FilterPredicate } from '../odata-filter.js';
import { componentStatesFrom, policyEventsFrom } from './policy-records.js';

export const INSIGHTS = '/providers/Microsoft\\.PolicyInsights';

export function normaliseScope(raw: string): string {
  return (raw.startsWith('/') ? raw : `/${raw}`).replace(/\/+$/, '');
}

export function underScope(resourceId: unknown, scope: string): boolean {
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
  ];
}

/**
 * Write side of Azure Policy used by enforcement rollouts and remediation: read/modify/replace a policy
 * assignment, read initiatives (policy set definitions), trigger a policy evaluation, create and read
 * remediations. Real SDK clients, same connection rules as the inventory reader (SDK retry policy only;
 * failures become {@link DependencyError}).
 */
import { PolicyClient, type PolicyAssignment, type PolicyAssignmentUpdate, type PolicyDefinitionReference, type PolicySetDefinition } from '@azure/arm-policy';
import { PolicyInsightsClient, type Remediation } from '@azure/arm-policyinsights';
import { DependencyError, NotFoundError, UnprocessableError } from '../../domain/errors.js';
import { armFailure, statusOf } from './arm-errors.js';
import type { RemediationStarter, RemediationTaskState } from '../../application/ports.js';
import { sdkClientOptions, type ArmConnection, type SdkClientOptions } from './arm-client-options.js';
import { PerSubscriptionClients } from './per-subscription-clients.js';

export interface AssignmentRef {
  /** Scope without the leading slash, as the SDK expects it (`subscriptions/{id}[/resourceGroups/{rg}]`). */
  readonly scope: string;
  readonly name: string;
}

export function parseAssignmentId(assignmentId: string): AssignmentRef {
  const m = /^\/?(.*)\/providers\/Microsoft\.Authorization\/policyAssignments\/([^/]+)\/?$/i.exec(assignmentId);
  if (!m || m[1] === '') throw new DependencyError(`Not a policy assignment id: ${assignmentId}`, 'policyAssignmentId');
  return { scope: m[1]!, name: m[2]! };
}

/** Where a policy set definition lives: built-in (tenant), a subscription or a management group. */
export type PolicySetDefinitionRef =
  | { readonly kind: 'builtIn'; readonly name: string }
  | { readonly kind: 'subscription'; readonly subscriptionId: string; readonly name: string }
  | { readonly kind: 'managementGroup'; readonly managementGroupId: string; readonly name: string };

const BUILT_IN_SET = /^\/providers\/Microsoft\.Authorization\/policySetDefinitions\/([^/]+)\/?$/i;
const SUBSCRIPTION_SET = /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Authorization\/policySetDefinitions\/([^/]+)\/?$/i;
const MANAGEMENT_GROUP_SET = /^\/providers\/Microsoft\.Management\/managementGroups\/([^/]+)\/providers\/Microsoft\.Authorization\/policySetDefinitions\/([^/]+)\/?$/i;

/** Parses a policy set definition id; undefined when the id is not one (e.g. a policy definition id). */
export function parsePolicySetDefinitionId(id: string): PolicySetDefinitionRef | undefined {
  const builtIn = BUILT_IN_SET.exec(id);
  if (builtIn?.[1] !== undefined) return { kind: 'builtIn', name: builtIn[1] };
  const sub = SUBSCRIPTION_SET.exec(id);
  if (sub?.[1] !== undefined && sub[2] !== undefined) return { kind: 'subscription', subscriptionId: sub[1], name: sub[2] };
  const mg = MANAGEMENT_GROUP_SET.exec(id);
  if (mg?.[1] !== undefined && mg[2] !== undefined) return { kind: 'managementGroup', managementGroupId: mg[1], name: mg[2] };
  return undefined;
}

function failure(operation: string, target: string, e: unknown): Error {
  if (statusOf(e) === 404) return new NotFoundError(`${operation}: ${target} was not found`, target);
  return armFailure(operation, target, e);
}

export class ArmPolicyAdmin {
  private readonly options: SdkClientOptions;
  private readonly policy: PolicyClient;
  private readonly insights = new PerSubscriptionClients((subscriptionId) => new PolicyInsightsClient(this.connection.credential, subscriptionId, this.options));
  private readonly policyBySubscription = new PerSubscriptionClients((subscriptionId) => new PolicyClient(this.connection.credential, subscriptionId, this.options));

  constructor(private readonly connection: ArmConnection & { readonly pollIntervalMs?: number | undefined }) {
    this.options = sdkClientOptions(connection);
    this.policy = new PolicyClient(connection.credential, this.options);
  }

  async getAssignment(assignmentId: string): Promise<PolicyAssignment> {
    const { scope, name } = parseAssignmentId(assignmentId);
    try {
      return await this.policy.policyAssignments.get(scope, name);
    } catch (e) {
      throw failure('policyAssignments.get', assignmentId, e);
    }
  }

  /** PATCH: only the given properties change (e.g. `overrides`, `notScopes`). */
  async updateAssignment(assignmentId: string, patch: PolicyAssignmentUpdate): Promise<PolicyAssignment> {
    const { scope, name } = parseAssignmentId(assignmentId);
    try {
      return await this.policy.policyAssignments.update(scope, name, patch);
    } catch (e) {
      throw failure('policyAssignments.update', assignmentId, e);
    }
  }

  /** PUT: replaces the whole assignment (rollback to a snapshot restores it exactly). */
  async replaceAssignment(assignmentId: string, assignment: PolicyAssignment): Promise<PolicyAssignment> {
    const { scope, name } = parseAssignmentId(assignmentId);
    try {
      return await this.policy.policyAssignments.create(scope, name, assignment);
    } catch (e) {
      throw failure('policyAssignments.create', assignmentId, e);
    }
  }

  /** Starts a subscription-wide policy evaluation and waits for it (202 + Location polling). */
  async triggerSubscriptionEvaluation(subscriptionId: string): Promise<void> {
    try {
      const poller = await this.insightsClient(subscriptionId).policyStates.beginTriggerSubscriptionEvaluation(subscriptionId, {
        ...(this.connection.pollIntervalMs !== undefined ? { updateIntervalInMs: this.connection.pollIntervalMs } : {}),
      });
      await poller.pollUntilDone();
    } catch (e) {
      throw failure('policyStates.triggerEvaluation', subscriptionId, e);
    }
  }

  async createRemediation(
    subscriptionId: string,
    name: string,
    properties: { policyAssignmentId: string; policyDefinitionReferenceId?: string | undefined; resourceIds?: readonly string[] | undefined },
  ): Promise<Remediation> {
    try {
      return await this.insightsClient(subscriptionId).remediations.createOrUpdateAtSubscription(name, {
        policyAssignmentId: properties.policyAssignmentId,
        ...(properties.policyDefinitionReferenceId ? { policyDefinitionReferenceId: properties.policyDefinitionReferenceId } : {}),
        // Only resources Policy already reports non-compliant; `ReEvaluateCompliance` would re-scan first.
        ...(properties.resourceIds !== undefined ? { resourceDiscoveryMode: 'ExistingNonCompliant', filters: { resourceIds: [...properties.resourceIds] } } : {}),
      });
    } catch (e) {
      throw failure('remediations.createOrUpdate', name, e);
    }
  }

  async getRemediation(subscriptionId: string, name: string): Promise<Remediation> {
    try {
      return await this.insightsClient(subscriptionId).remediations.getAtSubscription(name);
    } catch (e) {
      throw failure('remediations.get', name, e);
    }
  }

  /** Assignments of one definition that apply to the subscription (`$filter=policyDefinitionId eq '…'`). */
  async listAssignmentsOfDefinition(subscriptionId: string, policyDefinitionId: string): Promise<PolicyAssignment[]> {
    const out: PolicyAssignment[] = [];
    try {
      // OData string literal: single quotes doubled, so the id cannot end the literal early.
      const filter = `policyDefinitionId eq '${policyDefinitionId.replace(/'/g, "''")}'`;
      for await (const a of this.subscriptionPolicyClient(subscriptionId).policyAssignments.list({ filter })) out.push(a);
    } catch (e) {
      throw failure('policyAssignments.list', subscriptionId, e);
    }
    return out;
  }

  /**
   * Every assignment that applies to the subscription or to something in it (no `$filter`): its own,
   * its resource groups' and resources', and those of the management groups above it.
   */
  async listAssignmentsForSubscription(subscriptionId: string): Promise<PolicyAssignment[]> {
    const out: PolicyAssignment[] = [];
    try {
      for await (const a of this.subscriptionPolicyClient(subscriptionId).policyAssignments.list()) out.push(a);
    } catch (e) {
      throw failure('policyAssignments.list', subscriptionId, e);
    }
    return out;
  }

  /**
   * An initiative by id (built-in, subscription or management group), or undefined when it cannot be
   * read: not found (deleted), or not readable by this identity (403), e.g. a custom initiative of a
   * management group the identity has no role on.
   */
  async findPolicySetDefinition(policySetDefinitionId: string): Promise<PolicySetDefinition | undefined> {
    const ref = parsePolicySetDefinitionId(policySetDefinitionId);
    if (ref === undefined) return undefined;
    try {
      switch (ref.kind) {
        case 'builtIn':
          return await this.policy.policySetDefinitions.getBuiltIn(ref.name);
        case 'subscription':
          return await this.subscriptionPolicyClient(ref.subscriptionId).policySetDefinitions.get(ref.name);
        case 'managementGroup':
          return await this.policy.policySetDefinitions.getAtManagementGroup(ref.managementGroupId, ref.name);
      }
    } catch (e) {
      if (statusOf(e) === 404 || statusOf(e) === 403) return undefined;
      throw failure('policySetDefinitions.get', policySetDefinitionId, e);
    }
  }

  private subscriptionPolicyClient(subscriptionId: string): PolicyClient {
    return this.policyBySubscription.get(subscriptionId);
  }

  private insightsClient(subscriptionId: string): PolicyInsightsClient {
    return this.insights.get(subscriptionId);
  }
}

const REMEDIATION_ID = /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.PolicyInsights\/remediations\/([^/]+)$/i;

function effectOf(a: PolicyAssignment): string | undefined {
  const value: unknown = a.parameters?.['effect']?.value;
  return typeof value === 'string' ? value.toLowerCase() : undefined;
}

const scopeOf = (a: PolicyAssignment): string => (a.scope ?? (a.id ?? '').replace(/\/providers\/Microsoft\.Authorization\/policyAssignments\/[^/]+$/i, '')).toLowerCase();
const covers = (scope: string, resourceId: string): boolean => {
  const r = resourceId.toLowerCase();
  // Management-group scopes cover every subscription the filter returned them for.
  return scope.startsWith('/providers/microsoft.management/') || r === scope || r.startsWith(`${scope}/`);
};

/** The assignment's scope covers every cluster and no `notScopes` entry excludes one. */
function coversAll(a: PolicyAssignment, resourceIds: readonly string[]): boolean {
  const scope = scopeOf(a);
  const notScopes = (a.notScopes ?? []).map((n) => n.toLowerCase());
  return resourceIds.every((id) => covers(scope, id) && !notScopes.some((n) => covers(n, id)));
}

const PARAMETER_REFERENCE = /^\[\s*parameters\(\s*'([^']+)'\s*\)\s*\]$/i;

/**
 * The effect an initiative assignment gives one member, lower-cased, as far as it can be told without
 * evaluating ARM template expressions: the first `policyEffect` override that selects the member by
 * reference id only, else the member's `effect` argument — a literal, or `[parameters('x')]` resolved
 * from the assignment's parameters, then the initiative's default. Overrides that also select on
 * location or type disable the member for part of the scope only, so they do not disqualify it.
 * Undefined when the member passes no effect (the definition's default applies) or uses an expression.
 */
export function memberEffect(a: PolicyAssignment, set: PolicySetDefinition, member: PolicyDefinitionReference): string | undefined {
  const referenceId = (member.policyDefinitionReferenceId ?? '').toLowerCase();
  for (const o of a.overrides ?? []) {
    if (o.kind?.toLowerCase() !== 'policyeffect' || o.value === undefined) continue;
    const selectors = o.selectors ?? [];
    const selects = selectors.every((sel) => {
      if (sel.kind?.toLowerCase() !== 'policydefinitionreferenceid') return false;
      if (sel.in !== undefined) return sel.in.some((v) => v.toLowerCase() === referenceId);
      if (sel.notIn !== undefined) return !sel.notIn.some((v) => v.toLowerCase() === referenceId);
      return false;
    });
    if (selects) return o.value.toLowerCase();
  }
  const raw: unknown = member.parameters?.['effect']?.value;
  if (typeof raw !== 'string') return undefined;
  const parameter = PARAMETER_REFERENCE.exec(raw)?.[1];
  if (parameter === undefined) return raw.startsWith('[') ? undefined : raw.toLowerCase();
  const value: unknown = a.parameters?.[parameter]?.value ?? set.parameters?.[parameter]?.defaultValue;
  return typeof value === 'string' ? value.toLowerCase() : undefined;
}

function taskState(subscriptionId: string, r: Remediation): RemediationTaskState {
  return {
    armId: r.id ?? '',
    subscriptionId,
    provisioningState: r.provisioningState ?? 'Unknown',
    totalDeployments: r.deploymentStatus?.totalDeployments ?? 0,
    successfulDeployments: r.deploymentStatus?.successfulDeployments ?? 0,
    failedDeployments: r.deploymentStatus?.failedDeployments ?? 0,
    ...(r.lastUpdatedOn !== undefined && !Number.isNaN(r.lastUpdatedOn.getTime()) ? { lastUpdatedOn: r.lastUpdatedOn.toISOString() } : {}),
  };
}

/** What {@link ArmRemediationStarter} needs from {@link ArmPolicyAdmin}. */
export type RemediationPolicyAccess = Pick<
  ArmPolicyAdmin,
  'listAssignmentsOfDefinition' | 'listAssignmentsForSubscription' | 'findPolicySetDefinition' | 'createRemediation' | 'getRemediation'
>;

/** The assignment a remediation runs under; `policyDefinitionReferenceId` is set for an initiative assignment. */
export interface RemediationTarget {
  readonly policyAssignmentId: string;
  readonly policyDefinitionReferenceId?: string | undefined;
}

/**
 * {@link RemediationStarter} over Azure Policy: finds an enabled assignment of the DeployIfNotExists
 * definition that covers every requested cluster and creates a subscription-level remediation limited
 * to those clusters. The assignment is a direct one when there is one, else an initiative assignment
 * whose initiative holds the definition (the remediation then names the member's reference id, which
 * ARM requires for a set assignment).
 */
export class ArmRemediationStarter implements RemediationStarter {
  constructor(private readonly admin: RemediationPolicyAccess) {}

  async start(request: { name: string; subscriptionId: string; policyDefinitionId: string; resourceIds: readonly string[] }): Promise<RemediationTaskState> {
    const target = await this.findTarget(request.subscriptionId, request.policyDefinitionId, request.resourceIds);
    if (target === undefined) {
      const guidance =
        `Assign the built-in DeployIfNotExists policy ${request.policyDefinitionId} at subscription ${request.subscriptionId} ` +
        '(or a scope that covers the clusters), directly or in an initiative, with a managed identity that has the roles the policy lists, then retry; ' +
        'or apply the control\'s manual remediation.';
      throw new UnprocessableError('NotRemediable', `No enabled assignment of ${request.policyDefinitionId} covers the clusters in subscription ${request.subscriptionId}.`, 'controlId', [
        { code: 'PolicyNotAssigned', message: guidance, target: request.subscriptionId },
      ]);
    }
    const created = await this.admin.createRemediation(request.subscriptionId, request.name, { ...target, resourceIds: request.resourceIds });
    return taskState(request.subscriptionId, created);
  }

  /**
   * Direct assignments first (one filtered list call, as before initiatives were searched). Only when
   * none is usable: every assignment of the subscription (one unfiltered list, since the
   * `policyDefinitionId eq` filter matches what an assignment assigns itself, never an initiative's
   * members), then the initiatives of those that cover the clusters, each read once per call and in
   * list order until one holds an enabled member of the definition.
   */
  async findTarget(subscriptionId: string, policyDefinitionId: string, resourceIds: readonly string[]): Promise<RemediationTarget | undefined> {
    const direct = (await this.admin.listAssignmentsOfDefinition(subscriptionId, policyDefinitionId)).find(
      (a) => a.id !== undefined && effectOf(a) !== 'disabled' && coversAll(a, resourceIds),
    );
    if (direct?.id !== undefined) return { policyAssignmentId: direct.id };

    const wanted = policyDefinitionId.toLowerCase();
    const sets = new Map<string, Promise<PolicySetDefinition | undefined>>();
    for (const a of await this.admin.listAssignmentsForSubscription(subscriptionId)) {
      const setId = a.policyDefinitionId;
      if (a.id === undefined || setId === undefined || parsePolicySetDefinitionId(setId) === undefined || !coversAll(a, resourceIds)) continue;
      const key = setId.toLowerCase();
      let pending = sets.get(key);
      if (pending === undefined) {
        pending = this.admin.findPolicySetDefinition(setId);
        sets.set(key, pending);
      }
      const set = await pending;
      if (set === undefined) continue;
      const member = (set.policyDefinitions ?? []).find(
        (m) => m.policyDefinitionId.toLowerCase() === wanted && m.policyDefinitionReferenceId !== undefined && memberEffect(a, set, m) !== 'disabled',
      );
      if (member?.policyDefinitionReferenceId !== undefined) return { policyAssignmentId: a.id, policyDefinitionReferenceId: member.policyDefinitionReferenceId };
    }
    return undefined;
  }

  async get(armId: string): Promise<RemediationTaskState | undefined> {
    const m = REMEDIATION_ID.exec(armId);
    if (m === null || m[1] === undefined || m[2] === undefined) return undefined;
    try {
      return taskState(m[1], await this.admin.getRemediation(m[1], m[2]));
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }
}

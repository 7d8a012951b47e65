/**
 * Write side of Azure Policy used by enforcement rollouts: read/modify/replace a policy assignment,
 * trigger a policy evaluation, create and read remediations. Real SDK clients, same connection
 * rules as the inventory reader (SDK retry policy only; failures become {@link DependencyError}).
 */
import { PolicyClient, type PolicyAssignment, type PolicyAssignmentUpdate } from '@azure/arm-policy';
import { PolicyInsightsClient, type Remediation } from '@azure/arm-policyinsights';
import { DependencyError, NotFoundError, UnprocessableError } from '../../domain/errors.js';
import type { RemediationStarter, RemediationTaskState } from '../../application/ports.js';
import { sdkClientOptions, type ArmConnection, type SdkClientOptions } from './arm-client-options.js';

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

const statusOf = (e: unknown): unknown => (typeof e === 'object' && e !== null && 'statusCode' in e ? (e as { statusCode?: unknown }).statusCode : undefined);

function failure(operation: string, target: string, e: unknown): Error {
  if (statusOf(e) === 404) return new NotFoundError(`${operation}: ${target} was not found`, target);
  return new DependencyError(`ARM ${operation} failed${statusOf(e) !== undefined ? ` (${String(statusOf(e))})` : ''}: ${e instanceof Error ? e.message : String(e)}`, target, { cause: e });
}

export class ArmPolicyAdmin {
  private readonly options: SdkClientOptions;
  private readonly policy: PolicyClient;
  private readonly insights = new Map<string, PolicyInsightsClient>();
  private readonly policyBySubscription = new Map<string, PolicyClient>();

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

  private subscriptionPolicyClient(subscriptionId: string): PolicyClient {
    let client = this.policyBySubscription.get(subscriptionId);
    if (!client) {
      client = new PolicyClient(this.connection.credential, subscriptionId, this.options);
      this.policyBySubscription.set(subscriptionId, client);
    }
    return client;
  }

  private insightsClient(subscriptionId: string): PolicyInsightsClient {
    let client = this.insights.get(subscriptionId);
    if (!client) {
      client = new PolicyInsightsClient(this.connection.credential, subscriptionId, this.options);
      this.insights.set(subscriptionId, client);
    }
    return client;
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

function taskState(subscriptionId: string, r: Remediation): RemediationTaskState {
  return {
    armId: r.id ?? '',
    subscriptionId,
    provisioningState: r.provisioningState ?? 'Unknown',
    totalDeployments: r.deploymentStatus?.totalDeployments ?? 0,
    successfulDeployments: r.deploymentStatus?.successfulDeployments ?? 0,
    failedDeployments: r.deploymentStatus?.failedDeployments ?? 0,
  };
}

/**
 * {@link RemediationStarter} over Azure Policy: finds an enabled assignment of the DeployIfNotExists
 * definition that covers every requested cluster (directly assigned; initiatives are not searched)
 * and creates a subscription-level remediation limited to those clusters.
 */
export class ArmRemediationStarter implements RemediationStarter {
  constructor(private readonly admin: ArmPolicyAdmin) {}

  async start(request: { name: string; subscriptionId: string; policyDefinitionId: string; resourceIds: readonly string[] }): Promise<RemediationTaskState> {
    const assignments = await this.admin.listAssignmentsOfDefinition(request.subscriptionId, request.policyDefinitionId);
    const usable = assignments.find((a) => {
      if (a.id === undefined || effectOf(a) === 'disabled') return false;
      const scope = scopeOf(a);
      const notScopes = (a.notScopes ?? []).map((n) => n.toLowerCase());
      return request.resourceIds.every((id) => covers(scope, id) && !notScopes.some((n) => covers(n, id)));
    });
    if (usable?.id === undefined) {
      const guidance =
        `Assign the built-in DeployIfNotExists policy ${request.policyDefinitionId} at subscription ${request.subscriptionId} ` +
        '(or a scope that covers the clusters) with a managed identity that has the roles the policy lists, then retry; ' +
        'or apply the control\'s manual remediation.';
      throw new UnprocessableError('NotRemediable', `No enabled assignment of ${request.policyDefinitionId} covers the clusters in subscription ${request.subscriptionId}.`, 'controlId', [
        { code: 'PolicyNotAssigned', message: guidance, target: request.subscriptionId },
      ]);
    }
    const created = await this.admin.createRemediation(request.subscriptionId, request.name, { policyAssignmentId: usable.id, resourceIds: request.resourceIds });
    return taskState(request.subscriptionId, created);
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

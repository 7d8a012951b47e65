/**
 * Write side of Azure Policy used by enforcement rollouts: read/modify/replace a policy assignment,
 * trigger a policy evaluation, create and read remediations. Real SDK clients, same connection
 * rules as the inventory reader (SDK retry policy only; failures become {@link DependencyError}).
 */
import { PolicyClient, type PolicyAssignment, type PolicyAssignmentUpdate } from '@azure/arm-policy';
import { PolicyInsightsClient, type Remediation } from '@azure/arm-policyinsights';
import { DependencyError, NotFoundError } from '../../domain/errors.js';
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

  async createRemediation(subscriptionId: string, name: string, properties: { policyAssignmentId: string; policyDefinitionReferenceId?: string | undefined }): Promise<Remediation> {
    try {
      return await this.insightsClient(subscriptionId).remediations.createOrUpdateAtSubscription(name, {
        policyAssignmentId: properties.policyAssignmentId,
        ...(properties.policyDefinitionReferenceId ? { policyDefinitionReferenceId: properties.policyDefinitionReferenceId } : {}),
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

  private insightsClient(subscriptionId: string): PolicyInsightsClient {
    let client = this.insights.get(subscriptionId);
    if (!client) {
      client = new PolicyInsightsClient(this.connection.credential, subscriptionId, this.options);
      this.insights.set(subscriptionId, client);
    }
    return client;
  }
}

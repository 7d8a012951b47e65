/**
 * {@link PolicyAssignmentGateway} over the real SDK clients: `@azure/arm-policy` `PolicyClient`
 * (policy assignments, api-version 2025-03-01 with `overrides`, `resourceSelectors`, `notScopes`) and
 * `@azure/arm-policyinsights` (`triggerSubscriptionEvaluation`, `listQueryResultsForSubscription`
 * filtered on `policyAssignmentId`). Throttling and transient failures are the SDK retry policy's;
 * what still fails becomes a classified `ArmRequestError` (a step retried by the queue, unless permanent).
 */
import { PolicyClient, type PolicyAssignment } from '@azure/arm-policy';
import { PolicyInsightsClient } from '@azure/arm-policyinsights';
import type { PolicyAssignmentGateway, RolloutStateRecord } from '../../application/ports.js';
import { DependencyError } from '../../domain/errors.js';
import type { AssignmentOverride, AssignmentResourceSelector, AssignmentSelector, PolicyAssignmentModel } from '../../domain/rollout-model.js';
import { sdkClientOptions, type ArmConnection, type SdkClientOptions } from './arm-client-options.js';
import { armFailure, statusOf } from './arm-errors.js';

// No `components`: the SDK drops `$expand` at subscription scope, so the rollout plan names offending
// in-cluster resources from the latest stored evaluation instead (domain/rollout-evidence.ts).
const SELECT = ['resourceId', 'policyAssignmentId', 'policyDefinitionName', 'policyDefinitionReferenceId', 'complianceState', 'policyDefinitionAction', 'timestamp'].join(',');

function split(assignmentId: string): { scope: string; name: string } {
  const m = /^(.*)\/providers\/Microsoft\.Authorization\/policyAssignments\/([^/]+)\/?$/i.exec(assignmentId);
  if (!m || !m[1] || !m[2]) throw new DependencyError(`Not a policy assignment id: ${assignmentId}`, 'policyAssignmentId');
  return { scope: m[1], name: m[2] };
}

/**
 * Scope and name as the SDK takes them: its URL template is `/{+scope}/providers/…`, so a scope with
 * its leading slash makes `//subscriptions/…`, which the URL parser reads as a host and the request
 * goes to the wrong path (a 404 for an assignment that exists).
 */
function sdkRef(assignmentId: string): { scope: string; name: string } {
  const { scope, name } = split(assignmentId);
  return { scope: scope.replace(/^\/+/, ''), name };
}

/** Classified (`ArmRequestError`): a refusal or a missing subscription fails the step at once, not after every retry. */
function failure(operation: string, target: string, e: unknown): DependencyError {
  return armFailure(operation, target, e);
}

function selectors(list: readonly { kind?: string; in?: string[]; notIn?: string[] }[] | undefined): AssignmentSelector[] {
  return (list ?? []).map((s) => ({ kind: s.kind ?? '', ...(s.in !== undefined ? { in: [...s.in] } : {}), ...(s.notIn !== undefined ? { notIn: [...s.notIn] } : {}) }));
}

/** SDK model → domain model (only what the rollout reads and writes back). */
export function toAssignmentModel(a: PolicyAssignment, fallbackId: string): PolicyAssignmentModel {
  const id = a.id ?? fallbackId;
  const overrides: AssignmentOverride[] | undefined = a.overrides?.map((o) => ({
    kind: o.kind ?? '',
    value: o.value ?? '',
    ...(o.selectors !== undefined ? { selectors: selectors(o.selectors) } : {}),
  }));
  const resourceSelectors: AssignmentResourceSelector[] | undefined = a.resourceSelectors?.map((r) => ({ name: r.name ?? '', selectors: selectors(r.selectors) }));
  const model: PolicyAssignmentModel = {
    id,
    name: a.name ?? split(id).name,
    scope: a.scope ?? split(id).scope,
    policyDefinitionId: a.policyDefinitionId ?? '',
    displayName: a.displayName,
    description: a.description,
    definitionVersion: a.definitionVersion,
    enforcementMode: a.enforcementMode,
    parameters: a.parameters,
    notScopes: a.notScopes,
    overrides,
    resourceSelectors,
    nonComplianceMessages: a.nonComplianceMessages?.map((m) => ({ message: m.message, ...(m.policyDefinitionReferenceId !== undefined ? { policyDefinitionReferenceId: m.policyDefinitionReferenceId } : {}) })),
    metadata: a.metadata as unknown,
    location: a.location,
    identity: a.identity,
  };
  // JSON round trip drops undefined members: the snapshot stores exactly what ARM had.
  return JSON.parse(JSON.stringify(model)) as PolicyAssignmentModel;
}

/** Domain model → SDK model for `policyAssignments.create` (PUT: replaces every writable property). */
export function toSdkAssignment(m: PolicyAssignmentModel): PolicyAssignment {
  const sdk: PolicyAssignment = {
    policyDefinitionId: m.policyDefinitionId,
    ...(m.displayName !== undefined ? { displayName: m.displayName } : {}),
    ...(m.description !== undefined ? { description: m.description } : {}),
    ...(m.definitionVersion !== undefined ? { definitionVersion: m.definitionVersion } : {}),
    ...(m.enforcementMode !== undefined ? { enforcementMode: m.enforcementMode } : {}),
    ...(m.parameters !== undefined ? { parameters: m.parameters } : {}),
    notScopes: [...(m.notScopes ?? [])],
    // Only what the model holds: PUT replaces the assignment, so an absent list is cleared anyway, and
    // restoring a snapshot must not add empty `overrides` / `resourceSelectors` it never had.
    ...(m.overrides !== undefined
      ? { overrides: m.overrides.map((o) => ({ kind: o.kind, value: o.value, ...(o.selectors !== undefined ? { selectors: o.selectors.map((s) => ({ ...s, in: s.in ? [...s.in] : undefined, notIn: s.notIn ? [...s.notIn] : undefined })) } : {}) })) }
      : {}),
    ...(m.resourceSelectors !== undefined
      ? { resourceSelectors: m.resourceSelectors.map((r) => ({ name: r.name, selectors: r.selectors.map((s) => ({ ...s, in: s.in ? [...s.in] : undefined, notIn: s.notIn ? [...s.notIn] : undefined })) })) }
      : {}),
    ...(m.nonComplianceMessages !== undefined ? { nonComplianceMessages: m.nonComplianceMessages.map((n) => ({ ...n })) } : {}),
    ...(m.metadata !== undefined ? { metadata: m.metadata } : {}),
    ...(m.location !== undefined ? { location: m.location } : {}),
    ...(m.identity !== undefined ? { identity: m.identity as PolicyAssignment['identity'] } : {}),
  };
  return JSON.parse(JSON.stringify(sdk)) as PolicyAssignment;
}

export class ArmPolicyAssignmentWriter implements PolicyAssignmentGateway {
  private readonly options: SdkClientOptions;
  private readonly policy: PolicyClient;
  private readonly insights: PolicyInsightsClient;

  constructor(connection: ArmConnection) {
    this.options = sdkClientOptions(connection);
    this.policy = new PolicyClient(connection.credential, this.options);
    this.insights = new PolicyInsightsClient(connection.credential, this.options);
  }

  async get(assignmentId: string): Promise<PolicyAssignmentModel | undefined> {
    const { scope, name } = sdkRef(assignmentId);
    try {
      return toAssignmentModel(await this.policy.policyAssignments.get(scope, name), assignmentId);
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw failure('policyAssignments.get', assignmentId, e);
    }
  }

  async put(assignment: PolicyAssignmentModel): Promise<PolicyAssignmentModel> {
    const { scope, name } = sdkRef(assignment.id);
    try {
      return toAssignmentModel(await this.policy.policyAssignments.create(scope, name, toSdkAssignment(assignment)), assignment.id);
    } catch (e) {
      throw failure('policyAssignments.create', assignment.id, e);
    }
  }

  async delete(assignmentId: string): Promise<void> {
    const { scope, name } = sdkRef(assignmentId);
    let status: number | undefined;
    try {
      await this.policy.policyAssignments.delete(scope, name, { onResponse: (response) => (status = response.status) });
    } catch (e) {
      // ARM answers a missing assignment with 204 and no body, which the SDK's deserializer cannot
      // read (a TypeError, not a RestError): the status of the raw response decides.
      if (status === 204 || statusOf(e) === 404 || statusOf(e) === 204) return;
      throw failure('policyAssignments.delete', assignmentId, e);
    }
  }

  async triggerEvaluation(subscriptionId: string): Promise<void> {
    try {
      // Sends the POST (202 + Location); the verify step polls results itself, with backoff.
      await this.insights.policyStates.beginTriggerSubscriptionEvaluation(subscriptionId);
    } catch (e) {
      throw failure('policyStates.triggerSubscriptionEvaluation', subscriptionId, e);
    }
  }

  async queryAssignmentStates(subscriptionId: string, assignmentIds: readonly string[]): Promise<RolloutStateRecord[]> {
    if (assignmentIds.length === 0) return [];
    // Ids are ARM ids we hold (never raw user text); quotes are doubled anyway.
    const filter = assignmentIds.map((id) => `policyAssignmentId eq '${id.toLowerCase().replace(/'/g, "''")}'`).join(' or ');
    const out: RolloutStateRecord[] = [];
    try {
      for await (const s of this.insights.policyStates.listQueryResultsForSubscription('latest', subscriptionId, { queryOptions: { filter: assignmentIds.length > 1 ? `(${filter})` : filter, select: SELECT } })) {
        if (!s.resourceId || !s.policyAssignmentId) continue;
        out.push({
          resourceId: s.resourceId.toLowerCase(),
          policyAssignmentId: s.policyAssignmentId.toLowerCase(),
          policyDefinitionName: (s.policyDefinitionName ?? '').toLowerCase(),
          ...(s.policyDefinitionReferenceId ? { policyDefinitionReferenceId: s.policyDefinitionReferenceId } : {}),
          complianceState: s.complianceState ?? 'Unknown',
          policyDefinitionAction: (s.policyDefinitionAction ?? '').toLowerCase(),
          ...(s.timestamp !== undefined ? { timestamp: new Date(s.timestamp).toISOString() } : {}),
        });
      }
    } catch (e) {
      throw failure('policyStates.queryResults', subscriptionId, e);
    }
    return out;
  }
}

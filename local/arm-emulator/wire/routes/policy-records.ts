/**
 * Policy events and component policy states, derived from the emulator's latest policy states in the
 * wire shape of the 2024-10-01 examples (`PolicyEvents_QuerySubscriptionScope.json`,
 * `ComponentPolicyStates_QuerySubscriptionScope.json`): the same fields, in the same order.
 *
 * - A policy event is the evaluation that produced a state: the state's resource and policy fields,
 *   plus `tenantId` (the fleet's tenant unless the state names one) and `principalOid` (null: a
 *   compliance scan has no initiating user, unless the state names one). Fields only states carry
 *   (`components`, group names, versions) are dropped.
 * - A component policy state is one per entry of a state's `components` (what `$expand=components`
 *   returns; the fleet knows only the offending components, so only those are listed): the parent's
 *   resource and policy fields with `componentId`/`componentType`/`componentName` and the component's
 *   own `timestamp` and `complianceState`. `policyEvaluationDetails` is added with
 *   `$expand=PolicyEvaluationDetails`, when the component carries details.
 *
 * A field a state lacks is sent as null, as the service does for unknown values, so every record has
 * the example's full key set.
 */
import { isRecord } from '../arm-http.js';

/** `PolicyEvent` fields after the two OData annotations, in the example's order. */
const EVENT_FIELDS = [
  'timestamp',
  'resourceId',
  'policyAssignmentId',
  'policyDefinitionId',
  'effectiveParameters',
  'isCompliant',
  'subscriptionId',
  'resourceType',
  'resourceLocation',
  'resourceGroup',
  'resourceTags',
  'policyAssignmentName',
  'policyAssignmentOwner',
  'policyAssignmentParameters',
  'policyAssignmentScope',
  'policyDefinitionName',
  'policyDefinitionAction',
  'policyDefinitionCategory',
  'policySetDefinitionId',
  'policySetDefinitionName',
  'policySetDefinitionOwner',
  'policySetDefinitionCategory',
  'policySetDefinitionParameters',
  'managementGroupIds',
  'policyDefinitionReferenceId',
  'tenantId',
  'principalOid',
  'complianceState',
] as const;

/** `ComponentPolicyState` fields taken from the parent state, between the component's own fields. */
const COMPONENT_PARENT_FIELDS = [
  'resourceId',
  'policyAssignmentId',
  'policyDefinitionId',
  'subscriptionId',
  'resourceType',
  'resourceLocation',
  'resourceGroup',
  'policyAssignmentName',
  'policyAssignmentOwner',
  'policyAssignmentParameters',
  'policyAssignmentScope',
  'policyDefinitionName',
  'policyDefinitionAction',
  'policyDefinitionCategory',
  'policySetDefinitionId',
  'policySetDefinitionName',
  'policySetDefinitionOwner',
  'policySetDefinitionCategory',
  'policySetDefinitionParameters',
  'policyDefinitionReferenceId',
] as const;

const COMPONENT_TRAILING_FIELDS = ['policyDefinitionGroupNames', 'policyDefinitionVersion', 'policySetDefinitionVersion', 'policyAssignmentVersion'] as const;

const valueOr = (record: Readonly<Record<string, unknown>>, key: string, fallback: unknown = null): unknown => record[key] ?? fallback;

/** One policy event per state (see the module comment). `entityContext` is the records' `@odata.context`. */
export function policyEventsFrom(states: readonly Readonly<Record<string, unknown>>[], tenantId: string, entityContext: string): Record<string, unknown>[] {
  return states.map((state) => {
    const event: Record<string, unknown> = { '@odata.id': null, '@odata.context': entityContext };
    for (const key of EVENT_FIELDS) event[key] = valueOr(state, key, key === 'tenantId' ? tenantId : null);
    return event;
  });
}

/** One component policy state per component of each state (see the module comment). */
export function componentStatesFrom(states: readonly Readonly<Record<string, unknown>>[], entityContext: string, expandEvaluationDetails: boolean): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const state of states) {
    const components = state['components'];
    if (!Array.isArray(components)) continue;
    for (const component of components) {
      if (!isRecord(component)) continue;
      const record: Record<string, unknown> = {
        '@odata.id': null,
        '@odata.context': entityContext,
        componentId: valueOr(component, 'id'),
        componentType: valueOr(component, 'type'),
        componentName: valueOr(component, 'name'),
        timestamp: valueOr(component, 'timestamp', valueOr(state, 'timestamp')),
      };
      for (const key of COMPONENT_PARENT_FIELDS) record[key] = valueOr(state, key);
      record['complianceState'] = valueOr(component, 'complianceState', valueOr(state, 'complianceState'));
      record['complianceReasonCode'] = valueOr(component, 'complianceReasonCode', valueOr(state, 'complianceReasonCode'));
      for (const key of COMPONENT_TRAILING_FIELDS) record[key] = valueOr(state, key);
      if (expandEvaluationDetails && component['policyEvaluationDetails'] !== undefined) record['policyEvaluationDetails'] = component['policyEvaluationDetails'];
      out.push(record);
    }
  }
  return out;
}

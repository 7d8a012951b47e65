/**
 * How ARM words a refusal: the action a route performs (`Microsoft.X/type/read|write|delete|…/action`),
 * the caller's object id from its token, and the `AuthorizationFailed` message built from both.
 */

/** The ARM action a route performs, as a refusal names it. */
export function armActionOf(route: string): string {
  const [resource = '', verb = ''] = route.split('.');
  const types: Record<string, string> = {
    subscriptions: 'Microsoft.Resources/subscriptions',
    connectedClusters: 'Microsoft.Kubernetes/connectedClusters',
    extensions: 'Microsoft.KubernetesConfiguration/extensions',
    fluxConfigurations: 'Microsoft.KubernetesConfiguration/fluxConfigurations',
    policyAssignments: 'Microsoft.Authorization/policyAssignments',
    policyExemptions: 'Microsoft.Authorization/policyExemptions',
    policySetDefinitions: 'Microsoft.Authorization/policySetDefinitions',
    policyStates: 'Microsoft.PolicyInsights/policyStates',
    policyEvents: 'Microsoft.PolicyInsights/policyEvents',
    componentPolicyStates: 'Microsoft.PolicyInsights/componentPolicyStates',
    asyncOperationResults: 'Microsoft.PolicyInsights/asyncOperationResults',
    remediations: 'Microsoft.PolicyInsights/remediations',
  };
  const type = types[resource] ?? resource;
  if (verb === 'queryResults' || verb === 'summarize' || verb === 'triggerEvaluation' || verb === 'cancel') return `${type}/${verb}/action`;
  if (verb === 'create' || verb === 'update' || verb === 'createOrUpdate') return `${type}/write`;
  if (verb === 'delete') return `${type}/delete`;
  return `${type}/read`;
}

/** The caller's object id from a (verified) bearer token, as a refusal names it. */
export function callerOf(bearer: string | undefined): string {
  try {
    const payload = JSON.parse(Buffer.from(bearer?.split('.')[1] ?? '', 'base64url').toString('utf8')) as { oid?: unknown; sub?: unknown };
    return typeof payload.oid === 'string' ? payload.oid : typeof payload.sub === 'string' ? payload.sub : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** ARM's wording of a refusal of `action` over `scope` (the requested path). */
export function refusalMessage(code: string, action: string, scope: string, caller: string): string {
  if (code === 'AuthorizationFailed' || code === 'LinkedAuthorizationFailed') {
    return `The client '${caller}' with object id '${caller}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`;
  }
  return `The request to perform action '${action}' over scope '${scope}' was refused (${code}).`;
}

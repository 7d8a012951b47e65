import { describe, expect, it } from 'vitest';
import { armFailureOf, classifyArmFailure, permanentArmFailureOf, roleForAction } from '../../../domain/arm-failure.js';

const REFUSAL = (action: string, scope: string): string =>
  `The client 'abc' with object id 'abc' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`;

describe('classifyArmFailure', () => {
  it('a refusal is permanent, keeps its code, and the hint names the role the action needs and where', () => {
    const read = classifyArmFailure({ status: 403, code: 'AuthorizationFailed', message: REFUSAL('Microsoft.Kubernetes/connectedClusters/read', '/subscriptions/s1') });
    expect(read).toMatchObject({ kind: 'authorization', permanent: true, code: 'AuthorizationFailed' });
    expect(read.hint).toMatch(/lacks Reader to perform Microsoft\.Kubernetes\/connectedClusters\/read: grant it at \/subscriptions\/s1/);
    expect(read.hint).toContain('docs/operations.md (section 2');
    const query = classifyArmFailure({ status: 403, code: 'AuthorizationFailed', message: REFUSAL('Microsoft.PolicyInsights/policyStates/queryResults/action', '/subscriptions/s1') });
    expect(query.hint).toMatch(/lacks the custom role "arc-compliance policy operator"/);
    expect(classifyArmFailure({ status: 403, code: 'LinkedAuthorizationFailed' }).hint).toMatch(/Reader and the custom role.*linked scope/);
    expect(classifyArmFailure({ status: 403, code: 'RequestDisallowedByPolicy' })).toMatchObject({ kind: 'authorization', permanent: true, hint: expect.stringMatching(/policy assignment/) });
    expect(classifyArmFailure({ status: 401, code: 'InvalidAuthenticationTokenTenant' })).toMatchObject({ kind: 'authorization', permanent: true });
  });

  it('a missing or disabled subscription is permanent', () => {
    expect(classifyArmFailure({ status: 404, code: 'SubscriptionNotFound' })).toMatchObject({ kind: 'not-found', permanent: true, code: 'SubscriptionNotFound', hint: expect.stringMatching(/AZURE_SUBSCRIPTION_IDS/) });
    expect(classifyArmFailure({ status: 404, code: 'ResourceNotFound' })).toMatchObject({ kind: 'not-found', permanent: true });
    expect(classifyArmFailure({ status: 409, code: 'ReadOnlyDisabledSubscription' })).toMatchObject({ kind: 'disabled', permanent: true, hint: expect.stringMatching(/disabled/) });
    expect(classifyArmFailure({ status: 409, code: 'MissingSubscriptionRegistration' })).toMatchObject({ kind: 'disabled', permanent: true, hint: expect.stringMatching(/az provider register/) });
  });

  it('throttling, timeouts, server errors, other conflicts and unknown failures keep the retry policy', () => {
    expect(classifyArmFailure({ status: 429, code: 'TooManyRequests' })).toMatchObject({ kind: 'throttled', permanent: false, hint: undefined });
    expect(classifyArmFailure({ timedOut: true })).toMatchObject({ kind: 'timeout', permanent: false, code: 'RequestTimeout' });
    expect(classifyArmFailure({ status: 504 })).toMatchObject({ kind: 'timeout', permanent: false, code: 'HTTP 504' });
    for (const status of [500, 502, 503]) expect(classifyArmFailure({ status, code: 'InternalServerError' })).toMatchObject({ kind: 'transient', permanent: false });
    expect(classifyArmFailure({ status: 409, code: 'Conflict' }).permanent).toBe(false);
    expect(classifyArmFailure({ status: 401, code: 'InvalidAuthenticationToken' }).permanent).toBe(false);
    expect(classifyArmFailure({})).toMatchObject({ kind: 'transient', permanent: false, code: 'NetworkError' });
  });
});

describe('armFailureOf', () => {
  it('finds the classification on the error or its causes', () => {
    const failure = classifyArmFailure({ status: 403, code: 'AuthorizationFailed' });
    const wrapped = new Error('step failed', { cause: Object.assign(new Error('ARM'), { armFailure: failure }) });
    expect(armFailureOf(wrapped)).toBe(failure);
    expect(permanentArmFailureOf(wrapped)).toBe(failure);
    expect(permanentArmFailureOf(Object.assign(new Error('x'), { armFailure: classifyArmFailure({ status: 500 }) }))).toBeUndefined();
    expect(armFailureOf(new Error('plain'))).toBeUndefined();
    expect(armFailureOf(undefined)).toBeUndefined();
  });

  it('maps actions to roles: reads to Reader, the POST actions and writes to the custom role', () => {
    expect(roleForAction('Microsoft.Authorization/policyAssignments/read')).toBe('Reader');
    expect(roleForAction('Microsoft.Authorization/policyAssignments/write')).toMatch(/custom role/);
    expect(roleForAction('Microsoft.PolicyInsights/remediations/write')).toMatch(/custom role/);
  });
});

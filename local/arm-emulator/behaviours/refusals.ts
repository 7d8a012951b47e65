/**
 * Permanent refusals in ARM's error format (`{"error":{"code","message"}}`): the identity lacks a role
 * (403 `AuthorizationFailed`), the subscription is gone (404 `SubscriptionNotFound`) or read-only
 * (409 `ReadOnlyDisabledSubscription`), or any other code a test names.
 */
import { matches, type Counted, type FaultMatch, type FaultOutcome, type RequestFacts } from './fault-rules.js';

export interface ArmErrorRule extends FaultMatch {
  /** Fail the next `count` matching requests (default: every matching request until `clear()`). */
  readonly count?: number | undefined;
  readonly status: number;
  readonly code: string;
  /** Default: ARM's own text for the code, built from the request (action, scope, caller). */
  readonly message?: string | undefined;
  /** Only requests with these HTTP methods (e.g. writes: PUT, PATCH, DELETE); default every method. */
  readonly methods?: readonly string[] | undefined;
}

/** 403 `AuthorizationFailed`, worded by the server from the request's action, scope and caller. */
export function accessDenied(rule: Omit<ArmErrorRule, 'status' | 'code' | 'message'>): ArmErrorRule {
  return { ...rule, status: 403, code: 'AuthorizationFailed' };
}

/** 404 `SubscriptionNotFound` for every call under the subscription (deleted, or another tenant's). */
export function subscriptionRemoved(subscriptionId: string): ArmErrorRule {
  return { subscriptionId, status: 404, code: 'SubscriptionNotFound', message: `The subscription '${subscriptionId}' could not be found.` };
}

/** A disabled (read-only) subscription: writes and write actions answer 409; reads (including POST queries) still answer. */
export function subscriptionDisabled(subscriptionId: string): ArmErrorRule {
  return {
    subscriptionId,
    methods: ['PUT', 'PATCH', 'DELETE', 'POST'],
    route: /^(?!.*\.(queryResults|summarize)$)/,
    status: 409,
    code: 'ReadOnlyDisabledSubscription',
    message: `The subscription '${subscriptionId}' is disabled and therefore marked as read only. You cannot perform any write actions on this subscription until it is re-enabled.`,
  };
}

export class Refusals {
  private rules: Counted<ArmErrorRule>[] = [];

  add(rule: ArmErrorRule): void {
    this.rules.push({ rule, remaining: rule.count ?? Infinity });
  }

  clear(): void {
    this.rules = [];
  }

  decide(facts: RequestFacts): FaultOutcome | undefined {
    for (const r of this.rules) {
      if (r.remaining <= 0 || !matches(r.rule, facts)) continue;
      if (r.rule.methods !== undefined && !r.rule.methods.some((m) => m.toUpperCase() === facts.method)) continue;
      r.remaining--;
      return { kind: 'refuse', status: r.rule.status, code: r.rule.code, message: r.rule.message };
    }
    return undefined;
  }
}

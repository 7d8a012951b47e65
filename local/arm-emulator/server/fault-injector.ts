/**
 * Runtime-configurable faults for tests and benchmarks. Every ARM request (never the identity
 * endpoint) passes through {@link FaultInjector.decide} after authentication; the first matching
 * rule wins. Rates draw from a seeded generator so a run with the same seed fails the same requests.
 */

/** Which requests a rule applies to. All given fields must match. */
export interface FaultMatch {
  /** Route name (see README: `connectedClusters.listBySubscription`, `policyStates.queryResults`, …) or a RegExp on it. */
  readonly route?: string | RegExp | undefined;
  /** Subscription id (case-insensitive). */
  readonly subscriptionId?: string | undefined;
}

export interface ThrottleRule extends FaultMatch {
  /** Fail the next `count` matching requests (default: unlimited when `rate` is given, else 1). */
  readonly count?: number | undefined;
  /** Probability 0..1 that a matching request is throttled. */
  readonly rate?: number | undefined;
  /** Value of the `Retry-After` header in seconds (default 1). */
  readonly retryAfterSeconds?: number | undefined;
}

export interface ServerErrorRule extends FaultMatch {
  readonly count?: number | undefined;
  readonly rate?: number | undefined;
  /** 500 (default), 502, 503 or 504. */
  readonly status?: number | undefined;
}

/**
 * A refusal in the official error format (`{"error":{"code","message"}}`): a permanent failure such as
 * 403 `AuthorizationFailed`, 404 `SubscriptionNotFound` or 409 `ReadOnlyDisabledSubscription`.
 */
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

export interface LatencyRule extends FaultMatch {
  readonly ms: number;
}

export interface FailPageOnceRule extends FaultMatch {
  /** Zero-based page index of a paged list (0 = the first page, 1 = the page behind the first nextLink). Default 1. */
  readonly page?: number | undefined;
  readonly status?: number | undefined;
}

export interface FaultOptions {
  readonly throttle?: ThrottleRule | readonly ThrottleRule[] | undefined;
  readonly serverError?: ServerErrorRule | readonly ServerErrorRule[] | undefined;
  readonly latency?: LatencyRule | readonly LatencyRule[] | undefined;
  readonly failPageOnce?: FailPageOnceRule | readonly FailPageOnceRule[] | undefined;
  readonly armError?: ArmErrorRule | readonly ArmErrorRule[] | undefined;
  /** Subscriptions whose every ARM call fails with 500 (`InternalServerError`). */
  readonly failingSubscriptions?: readonly string[] | undefined;
  /** Seed of the rate generator. */
  readonly seed?: number | undefined;
}

export interface RequestFacts {
  readonly route: string;
  readonly subscriptionId: string | undefined;
  readonly page: number;
  /** Identifies one page of one listing (path + skiptoken), so "fails once" means once per page. */
  readonly pageKey: string;
  /** HTTP method (upper case); rules limited to methods never match a request without one. */
  readonly method?: string | undefined;
}

export type FaultDecision =
  | { readonly kind: 'none'; readonly delayMs: number }
  | { readonly kind: 'throttle'; readonly delayMs: number; readonly retryAfterSeconds: number }
  | { readonly kind: 'error'; readonly delayMs: number; readonly status: number; readonly code: string; readonly message: string }
  /** An {@link ArmErrorRule} matched; `message` undefined = the server words it from the request. */
  | { readonly kind: 'refuse'; readonly delayMs: number; readonly status: number; readonly code: string; readonly message: string | undefined };

/** The ARM action (`Microsoft.X/type/read|write|delete|…/action`) a route performs, as a refusal names it. */
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

interface Counted<R> {
  rule: R;
  remaining: number; // Infinity when unlimited
}

const toArray = <T>(v: T | readonly T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? [...(v as readonly T[])] : [v as T]);

function matches(rule: FaultMatch, facts: RequestFacts): boolean {
  if (rule.route !== undefined) {
    if (typeof rule.route === 'string' ? rule.route !== facts.route : !rule.route.test(facts.route)) return false;
  }
  if (rule.subscriptionId !== undefined && rule.subscriptionId.toLowerCase() !== facts.subscriptionId?.toLowerCase()) return false;
  return true;
}

/** mulberry32: tiny, seeded, good enough for fault rates. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  private throttles: Counted<ThrottleRule>[] = [];
  private serverErrors: Counted<ServerErrorRule>[] = [];
  private latencies: LatencyRule[] = [];
  private pageFaults: { rule: FailPageOnceRule; failed: Set<string> }[] = [];
  private armErrors: Counted<ArmErrorRule>[] = [];
  private readonly failing = new Set<string>();
  private random: () => number;
  /** How many faults were injected, by kind. */
  readonly injected = { throttle: 0, error: 0, pageFailure: 0, subscriptionFailure: 0, refusal: 0 };

  constructor(options: FaultOptions = {}) {
    this.random = seededRandom(options.seed ?? 42);
    this.configure(options);
  }

  /** Adds the rules of `options` to the current ones. */
  configure(options: FaultOptions): this {
    for (const r of toArray(options.throttle)) this.throttle(r);
    for (const r of toArray(options.serverError)) this.serverError(r);
    for (const r of toArray(options.latency)) this.latency(r);
    for (const r of toArray(options.failPageOnce)) this.failPageOnce(r);
    for (const r of toArray(options.armError)) this.armError(r);
    for (const s of options.failingSubscriptions ?? []) this.failSubscription(s);
    if (options.seed !== undefined) this.random = seededRandom(options.seed);
    return this;
  }

  /** 429 + `Retry-After` for the next `count` matching requests, or at `rate`. */
  throttle(rule: ThrottleRule = {}): this {
    this.throttles.push({ rule, remaining: rule.count ?? (rule.rate !== undefined ? Infinity : 1) });
    return this;
  }

  serverError(rule: ServerErrorRule = {}): this {
    this.serverErrors.push({ rule, remaining: rule.count ?? (rule.rate !== undefined ? Infinity : 1) });
    return this;
  }

  latency(rule: LatencyRule): this {
    this.latencies.push(rule);
    return this;
  }

  /** The given page of every matching listing fails once (500), then succeeds on retry. */
  failPageOnce(rule: FailPageOnceRule = {}): this {
    this.pageFaults.push({ rule, failed: new Set() });
    return this;
  }

  /** An ARM error in the official format for matching requests (see {@link ArmErrorRule}). */
  armError(rule: ArmErrorRule): this {
    this.armErrors.push({ rule, remaining: rule.count ?? Infinity });
    return this;
  }

  /**
   * 403 `AuthorizationFailed` (the identity lacks the role), worded as ARM does from the request's
   * action, scope and caller. Limit it with `route`, `subscriptionId`, `methods` or `count`.
   */
  denyAccess(rule: Omit<ArmErrorRule, 'status' | 'code' | 'message'> = {}): this {
    return this.armError({ ...rule, status: 403, code: 'AuthorizationFailed' });
  }

  /** 404 `SubscriptionNotFound` for every call under the subscription (deleted, or another tenant's). */
  removeSubscription(subscriptionId: string): this {
    return this.armError({ subscriptionId, status: 404, code: 'SubscriptionNotFound', message: `The subscription '${subscriptionId}' could not be found.` });
  }

  /**
   * A disabled (read-only) subscription: writes and write actions under it answer 409
   * `ReadOnlyDisabledSubscription`; reads still answer.
   */
  disableSubscription(subscriptionId: string): this {
    return this.armError({
      subscriptionId,
      methods: ['PUT', 'PATCH', 'DELETE', 'POST'],
      route: /^(?!.*\.(queryResults|summarize)$)/,
      status: 409,
      code: 'ReadOnlyDisabledSubscription',
      message: `The subscription '${subscriptionId}' is disabled and therefore marked as read only. You cannot perform any write actions on this subscription until it is re-enabled.`,
    });
  }

  failSubscription(subscriptionId: string): this {
    this.failing.add(subscriptionId.toLowerCase());
    return this;
  }

  healSubscription(subscriptionId: string): this {
    this.failing.delete(subscriptionId.toLowerCase());
    return this;
  }

  clear(): this {
    this.throttles = [];
    this.serverErrors = [];
    this.latencies = [];
    this.pageFaults = [];
    this.armErrors = [];
    this.failing.clear();
    return this;
  }

  decide(facts: RequestFacts): FaultDecision {
    const delayMs = this.latencies.filter((l) => matches(l, facts)).reduce((sum, l) => sum + l.ms, 0);
    if (facts.subscriptionId !== undefined && this.failing.has(facts.subscriptionId.toLowerCase())) {
      this.injected.subscriptionFailure++;
      return { kind: 'error', delayMs, status: 500, code: 'InternalServerError', message: `Subscription ${facts.subscriptionId} is failing (emulator fault).` };
    }
    // A refusal is decided before throttling, as ARM authorizes a request before metering it.
    for (const r of this.armErrors) {
      if (r.remaining <= 0 || !matches(r.rule, facts)) continue;
      if (r.rule.methods !== undefined && !r.rule.methods.some((m) => m.toUpperCase() === facts.method)) continue;
      r.remaining--;
      this.injected.refusal++;
      return { kind: 'refuse', delayMs, status: r.rule.status, code: r.rule.code, message: r.rule.message };
    }
    for (const t of this.throttles) {
      if (t.remaining <= 0 || !matches(t.rule, facts)) continue;
      if (t.rule.rate !== undefined && this.random() >= t.rule.rate) continue;
      t.remaining--;
      this.injected.throttle++;
      return { kind: 'throttle', delayMs, retryAfterSeconds: t.rule.retryAfterSeconds ?? 1 };
    }
    for (const e of this.serverErrors) {
      if (e.remaining <= 0 || !matches(e.rule, facts)) continue;
      if (e.rule.rate !== undefined && this.random() >= e.rule.rate) continue;
      e.remaining--;
      this.injected.error++;
      const status = e.rule.status ?? 500;
      return { kind: 'error', delayMs, status, code: status === 503 ? 'ServiceUnavailable' : 'InternalServerError', message: 'Transient failure injected by the ARM emulator.' };
    }
    for (const p of this.pageFaults) {
      if (!matches(p.rule, facts) || facts.page !== (p.rule.page ?? 1) || p.failed.has(facts.pageKey)) continue;
      p.failed.add(facts.pageKey);
      this.injected.pageFailure++;
      return { kind: 'error', delayMs, status: p.rule.status ?? 500, code: 'InternalServerError', message: `Page ${facts.page} failed once (emulator fault).` };
    }
    return { kind: 'none', delayMs };
  }
}

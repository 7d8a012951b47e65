/**
 * Runtime-configurable faults for tests and benchmarks: one facade over the behaviour modules
 * (latency.ts, refusals.ts, throttling.ts, server-errors.ts). Every ARM request (never the identity
 * endpoint) passes through {@link FaultInjector.decide} after authentication. The order is ARM's: a
 * failing subscription first, then refusals (ARM authorizes a request before metering it), throttling,
 * transient server errors, page failures; within a kind the first matching rule wins. Latency adds up
 * over every matching rule, whatever is decided.
 */
import { seededRandom, type FaultDecision, type RequestFacts } from './fault-rules.js';
import { Latency, type LatencyRule } from './latency.js';
import { accessDenied, Refusals, subscriptionDisabled, subscriptionRemoved, type ArmErrorRule } from './refusals.js';
import { ServerErrors, type FailPageOnceRule, type ServerErrorRule } from './server-errors.js';
import { Throttling, type ThrottleRule } from './throttling.js';

export type { FaultMatch, RequestFacts, FaultDecision } from './fault-rules.js';
export type { ArmErrorRule, FailPageOnceRule, LatencyRule, ServerErrorRule, ThrottleRule };

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

const toArray = <T>(v: T | readonly T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? [...(v as readonly T[])] : [v as T]);

export class FaultInjector {
  private readonly latencies = new Latency();
  private readonly refusals = new Refusals();
  private readonly throttling = new Throttling();
  private readonly errors = new ServerErrors();
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
    this.throttling.add(rule);
    return this;
  }

  serverError(rule: ServerErrorRule = {}): this {
    this.errors.add(rule);
    return this;
  }

  latency(rule: LatencyRule): this {
    this.latencies.add(rule);
    return this;
  }

  /** The given page of every matching listing fails once (500), then succeeds on retry. */
  failPageOnce(rule: FailPageOnceRule = {}): this {
    this.errors.failPageOnce(rule);
    return this;
  }

  /** An ARM error in the official format for matching requests (see {@link ArmErrorRule}). */
  armError(rule: ArmErrorRule): this {
    this.refusals.add(rule);
    return this;
  }

  /**
   * 403 `AuthorizationFailed` (the identity lacks the role), worded as ARM does from the request's
   * action, scope and caller. Limit it with `route`, `subscriptionId`, `methods` or `count`.
   */
  denyAccess(rule: Omit<ArmErrorRule, 'status' | 'code' | 'message'> = {}): this {
    return this.armError(accessDenied(rule));
  }

  /** 404 `SubscriptionNotFound` for every call under the subscription (deleted, or another tenant's). */
  removeSubscription(subscriptionId: string): this {
    return this.armError(subscriptionRemoved(subscriptionId));
  }

  /**
   * A disabled (read-only) subscription: writes and write actions under it answer 409
   * `ReadOnlyDisabledSubscription`; reads still answer.
   */
  disableSubscription(subscriptionId: string): this {
    return this.armError(subscriptionDisabled(subscriptionId));
  }

  failSubscription(subscriptionId: string): this {
    this.errors.failSubscription(subscriptionId);
    return this;
  }

  healSubscription(subscriptionId: string): this {
    this.errors.healSubscription(subscriptionId);
    return this;
  }

  clear(): this {
    this.latencies.clear();
    this.refusals.clear();
    this.throttling.clear();
    this.errors.clear();
    return this;
  }

  decide(facts: RequestFacts): FaultDecision {
    const delayMs = this.latencies.delayMs(facts);
    const failing = this.errors.subscriptionFailure(facts);
    if (failing !== undefined) {
      this.injected.subscriptionFailure++;
      return { ...failing, delayMs };
    }
    const refusal = this.refusals.decide(facts);
    if (refusal !== undefined) {
      this.injected.refusal++;
      return { ...refusal, delayMs };
    }
    const throttled = this.throttling.decide(facts, this.random);
    if (throttled !== undefined) {
      this.injected.throttle++;
      return { ...throttled, delayMs };
    }
    const error = this.errors.serverError(facts, this.random);
    if (error !== undefined) {
      this.injected.error++;
      return { ...error, delayMs };
    }
    const pageFailure = this.errors.pageFailure(facts);
    if (pageFailure !== undefined) {
      this.injected.pageFailure++;
      return { ...pageFailure, delayMs };
    }
    return { kind: 'none', delayMs };
  }
}

/** ARM throttling: 429 `TooManyRequests` with `Retry-After`, for a number of requests or at a seeded rate. */
import { countOf, takeCounted, type Counted, type FaultMatch, type FaultOutcome, type RequestFacts } from './fault-rules.js';

export interface ThrottleRule extends FaultMatch {
  /** Fail the next `count` matching requests (default: unlimited when `rate` is given, else 1). */
  readonly count?: number | undefined;
  /** Probability 0..1 that a matching request is throttled. */
  readonly rate?: number | undefined;
  /** Value of the `Retry-After` header in seconds (default 1). */
  readonly retryAfterSeconds?: number | undefined;
}

export class Throttling {
  private rules: Counted<ThrottleRule>[] = [];

  add(rule: ThrottleRule): void {
    this.rules.push({ rule, remaining: countOf(rule) });
  }

  clear(): void {
    this.rules = [];
  }

  decide(facts: RequestFacts, random: () => number): FaultOutcome | undefined {
    const rule = takeCounted(this.rules, facts, random);
    return rule === undefined ? undefined : { kind: 'throttle', retryAfterSeconds: rule.retryAfterSeconds ?? 1 };
  }
}

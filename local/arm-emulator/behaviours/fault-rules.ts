/**
 * What every fault behaviour shares: which requests a rule applies to, the facts of a request it is
 * decided on, the decision the server acts on, and the seeded generator behind `rate` rules (a run
 * with the same seed fails the same requests).
 */

/** Which requests a rule applies to. All given fields must match. */
export interface FaultMatch {
  /** Route name (see README: `connectedClusters.listBySubscription`, `policyStates.queryResults`, …) or a RegExp on it. */
  readonly route?: string | RegExp | undefined;
  /** Subscription id (case-insensitive). */
  readonly subscriptionId?: string | undefined;
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

/** A decision without the latency every decision carries (added by the injector). */
export type FaultOutcome =
  | { readonly kind: 'throttle'; readonly retryAfterSeconds: number }
  | { readonly kind: 'error'; readonly status: number; readonly code: string; readonly message: string }
  /** A refusal rule matched; `message` undefined = the server words it from the request. */
  | { readonly kind: 'refuse'; readonly status: number; readonly code: string; readonly message: string | undefined };

export type FaultDecision = ({ readonly kind: 'none' } | FaultOutcome) & { readonly delayMs: number };

/** A rule with how many more requests it may fail (Infinity when unlimited). */
export interface Counted<R> {
  readonly rule: R;
  remaining: number;
}

export function matches(rule: FaultMatch, facts: RequestFacts): boolean {
  if (rule.route !== undefined) {
    if (typeof rule.route === 'string' ? rule.route !== facts.route : !rule.route.test(facts.route)) return false;
  }
  if (rule.subscriptionId !== undefined && rule.subscriptionId.toLowerCase() !== facts.subscriptionId?.toLowerCase()) return false;
  return true;
}

/** The first counted rule that matches, has requests left and (with a `rate`) draws a hit; consumes one. */
export function takeCounted<R extends FaultMatch & { readonly rate?: number | undefined }>(
  rules: readonly Counted<R>[],
  facts: RequestFacts,
  random: () => number,
): R | undefined {
  for (const r of rules) {
    if (r.remaining <= 0 || !matches(r.rule, facts)) continue;
    if (r.rule.rate !== undefined && random() >= r.rule.rate) continue;
    r.remaining--;
    return r.rule;
  }
  return undefined;
}

/** A rule given as `count` fails that many requests; with only a `rate`, every matching one may fail. */
export function countOf(rule: { readonly count?: number | undefined; readonly rate?: number | undefined }): number {
  return rule.count ?? (rule.rate !== undefined ? Infinity : 1);
}

/** mulberry32: tiny, seeded, good enough for fault rates. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the emulator received: per-route counters and a bounded log, for tests and benchmarks. */
export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  /** Route name, `identity.token`, `unknown` or `unauthenticated:<route>`. */
  readonly route: string;
  readonly apiVersion: string | undefined;
  readonly subscriptionId: string | undefined;
  readonly status: number;
  /** Set when the response was injected by a fault rule. */
  readonly fault?: 'throttle' | 'error' | undefined;
  /** When the request arrived (ms since the epoch): lets tests check that a retry honoured `Retry-After`. */
  readonly at: number;
}

export class RequestCounter {
  private readonly byRoute = new Map<string, number>();
  private readonly bySubscription = new Map<string, number>();
  private readonly records: RequestRecord[] = [];
  total = 0;

  constructor(private readonly maxLog = 100_000) {}

  record(r: RequestRecord): void {
    this.total++;
    this.byRoute.set(r.route, (this.byRoute.get(r.route) ?? 0) + 1);
    if (r.subscriptionId !== undefined && r.route !== 'identity.token') {
      const sub = r.subscriptionId.toLowerCase();
      this.bySubscription.set(sub, (this.bySubscription.get(sub) ?? 0) + 1);
    }
    if (this.records.length < this.maxLog) this.records.push(r);
  }

  /**
   * ARM requests per subscription (lower-cased id), counted for every request: the log is bounded,
   * so a run of more than `maxLog` requests (a 1,000-subscription benchmark) cannot be counted from it.
   */
  perSubscription(): Record<string, number> {
    return Object.fromEntries(this.bySubscription);
  }

  /** Requests received for a route (all ARM requests when omitted; excludes the identity endpoint). */
  count(route?: string | RegExp, subscriptionId?: string): number {
    if (route === undefined && subscriptionId === undefined) return this.total - (this.byRoute.get('identity.token') ?? 0);
    return this.records.filter(
      (r) =>
        (route === undefined ? r.route !== 'identity.token' : typeof route === 'string' ? r.route === route : route.test(r.route)) &&
        (subscriptionId === undefined || r.subscriptionId?.toLowerCase() === subscriptionId.toLowerCase()),
    ).length;
  }

  /** Counter per route name. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.byRoute);
  }

  get log(): readonly RequestRecord[] {
    return this.records;
  }

  /** api-versions seen per route (the emulator does not reject unknown versions; tests can assert them). */
  apiVersions(): Record<string, string[]> {
    const out: Record<string, Set<string>> = {};
    for (const r of this.records) if (r.apiVersion !== undefined) (out[r.route] ??= new Set()).add(r.apiVersion);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
  }

  reset(): void {
    this.byRoute.clear();
    this.bySubscription.clear();
    this.records.length = 0;
    this.total = 0;
  }
}

/**
 * Transient server-side failures: 5xx for some requests (by count or seeded rate), one failure per page
 * of a paged listing, and subscriptions whose every call fails until healed.
 */
import { countOf, matches, takeCounted, type Counted, type FaultMatch, type FaultOutcome, type RequestFacts } from './fault-rules.js';

export interface ServerErrorRule extends FaultMatch {
  readonly count?: number | undefined;
  readonly rate?: number | undefined;
  /** 500 (default), 502, 503 or 504. */
  readonly status?: number | undefined;
}

export interface FailPageOnceRule extends FaultMatch {
  /** Zero-based page index of a paged listing (0 = the first page, 1 = the page behind the first nextLink). Default 1. */
  readonly page?: number | undefined;
  readonly status?: number | undefined;
}

export class ServerErrors {
  private errors: Counted<ServerErrorRule>[] = [];
  private pageFaults: { rule: FailPageOnceRule; failed: Set<string> }[] = [];
  private readonly failing = new Set<string>();

  add(rule: ServerErrorRule): void {
    this.errors.push({ rule, remaining: countOf(rule) });
  }

  failPageOnce(rule: FailPageOnceRule): void {
    this.pageFaults.push({ rule, failed: new Set() });
  }

  failSubscription(subscriptionId: string): void {
    this.failing.add(subscriptionId.toLowerCase());
  }

  healSubscription(subscriptionId: string): void {
    this.failing.delete(subscriptionId.toLowerCase());
  }

  clear(): void {
    this.errors = [];
    this.pageFaults = [];
    this.failing.clear();
  }

  /** A failing subscription: decided before anything else (the whole subscription is down). */
  subscriptionFailure(facts: RequestFacts): FaultOutcome | undefined {
    if (facts.subscriptionId === undefined || !this.failing.has(facts.subscriptionId.toLowerCase())) return undefined;
    return { kind: 'error', status: 500, code: 'InternalServerError', message: `Subscription ${facts.subscriptionId} is failing (emulator fault).` };
  }

  serverError(facts: RequestFacts, random: () => number): FaultOutcome | undefined {
    const rule = takeCounted(this.errors, facts, random);
    if (rule === undefined) return undefined;
    const status = rule.status ?? 500;
    return { kind: 'error', status, code: status === 503 ? 'ServiceUnavailable' : 'InternalServerError', message: 'Transient failure injected by the ARM emulator.' };
  }

  pageFailure(facts: RequestFacts): FaultOutcome | undefined {
    for (const p of this.pageFaults) {
      if (!matches(p.rule, facts) || facts.page !== (p.rule.page ?? 1) || p.failed.has(facts.pageKey)) continue;
      p.failed.add(facts.pageKey);
      return { kind: 'error', status: p.rule.status ?? 500, code: 'InternalServerError', message: `Page ${facts.page} failed once (emulator fault).` };
    }
    return undefined;
  }
}

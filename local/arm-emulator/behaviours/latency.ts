/** Added latency: every matching rule adds its delay to the request (whatever else is decided). */
import { matches, type FaultMatch, type RequestFacts } from './fault-rules.js';

export interface LatencyRule extends FaultMatch {
  readonly ms: number;
}

export class Latency {
  private rules: LatencyRule[] = [];

  add(rule: LatencyRule): void {
    this.rules.push(rule);
  }

  clear(): void {
    this.rules = [];
  }

  delayMs(facts: RequestFacts): number {
    return this.rules.filter((l) => matches(l, facts)).reduce((sum, l) => sum + l.ms, 0);
  }
}

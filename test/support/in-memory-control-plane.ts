/** In-memory control-plane ports: {@link ControlPlaneEventRepository} with the Table adapter's semantics (keys, order, paging by offset) and an {@link ActivityLogReader}. */
import type { ActivityLogReader, ControlPlaneEventQuery, ControlPlaneEventRepository, ControlPlaneWatchState, Page } from '../../application/ports.js';
import { clustersOf, type ActivityLogEntry, type ControlPlaneEvent } from '../../domain/control-plane-events.js';

export class InMemoryControlPlaneEventRepository implements ControlPlaneEventRepository {
  readonly events = new Map<string, { event: ControlPlaneEvent; published: boolean }>();
  readonly states = new Map<string, ControlPlaneWatchState>();
  readonly types = new Map<string, Map<string, Map<string, string>>>();
  /** Fails the next `record` calls (fault injection). */
  failRecords = 0;

  async record(event: ControlPlaneEvent): Promise<{ readonly published: boolean }> {
    if (this.failRecords > 0) {
      this.failRecords -= 1;
      throw new Error('storage unavailable (test fault)');
    }
    const key = event.eventDataId.toLowerCase();
    const existing = this.events.get(key);
    if (existing !== undefined) return { published: existing.published };
    this.events.set(key, { event, published: false });
    return { published: false };
  }

  async markPublished(event: ControlPlaneEvent): Promise<void> {
    const existing = this.events.get(event.eventDataId.toLowerCase());
    if (existing !== undefined) existing.published = true;
  }

  private sorted(): ControlPlaneEvent[] {
    return [...this.events.values()].map((e) => e.event).sort((a, b) => Date.parse(b.eventTimestamp) - Date.parse(a.eventTimestamp) || a.eventDataId.localeCompare(b.eventDataId));
  }

  async list(query: ControlPlaneEventQuery): Promise<Page<ControlPlaneEvent>> {
    const matching = this.sorted().filter(
      (e) =>
        (query.since === undefined || Date.parse(e.eventTimestamp) >= Date.parse(query.since)) &&
        (query.operation === undefined || e.operation.toLowerCase() === query.operation.toLowerCase()) &&
        (query.subscriptionId === undefined || e.subscriptionId === query.subscriptionId.toLowerCase()) &&
        (query.clusterId === undefined || clustersOf(e).includes(query.clusterId.toLowerCase())),
    );
    const offset = query.continuationToken !== undefined ? Number(Buffer.from(query.continuationToken, 'base64url').toString()) : 0;
    const items = matching.slice(offset, offset + query.top);
    const next = offset + query.top < matching.length ? Buffer.from(String(offset + query.top)).toString('base64url') : undefined;
    return { items, continuationToken: next };
  }

  async listForCluster(clusterId: string, from: string, to: string): Promise<ControlPlaneEvent[]> {
    return this.sorted().filter((e) => clustersOf(e).includes(clusterId.toLowerCase()) && Date.parse(e.eventTimestamp) >= Date.parse(from) && Date.parse(e.eventTimestamp) <= Date.parse(to));
  }

  async getWatchState(subscriptionId: string): Promise<ControlPlaneWatchState | undefined> {
    return this.states.get(subscriptionId.toLowerCase());
  }

  async saveWatchState(state: ControlPlaneWatchState): Promise<void> {
    this.states.set(state.subscriptionId.toLowerCase(), state);
  }

  async listWatchStates(): Promise<ControlPlaneWatchState[]> {
    return [...this.states.values()];
  }

  async recordExtensionTypes(subscriptionId: string, types: ReadonlyMap<string, ReadonlyMap<string, string>>): Promise<void> {
    const bySub = this.types.get(subscriptionId.toLowerCase()) ?? new Map<string, Map<string, string>>();
    for (const [c, m] of types) bySub.set(c.toLowerCase(), new Map(m));
    this.types.set(subscriptionId.toLowerCase(), bySub);
  }

  async extensionTypes(subscriptionId: string): Promise<Map<string, Map<string, string>>> {
    return new Map(this.types.get(subscriptionId.toLowerCase()) ?? []);
  }

  async purgeOlderThan(cutoff: string): Promise<number> {
    let n = 0;
    for (const [k, v] of this.events) {
      if (Date.parse(v.event.eventTimestamp) < Date.parse(cutoff)) {
        this.events.delete(k);
        n += 1;
      }
    }
    return n;
  }
}

/** In-memory {@link ActivityLogReader}: the entries a test adds, filtered by subscription and `eventTimestamp` as the service filters. */
export class InMemoryActivityLogReader implements ActivityLogReader {
  readonly entries: ActivityLogEntry[] = [];
  /** Every read, in order (subscription lower-cased, window as ISO strings). */
  readonly reads: { subscriptionId: string; from: string; to: string }[] = [];
  /** Subscriptions whose reads fail (lower-cased). */
  readonly failing = new Set<string>();

  async list(subscriptionId: string, from: Date, to: Date): Promise<ActivityLogEntry[]> {
    const sub = subscriptionId.toLowerCase();
    this.reads.push({ subscriptionId: sub, from: from.toISOString(), to: to.toISOString() });
    if (this.failing.has(sub)) throw new Error(`Activity Log of ${sub} unavailable (test fault)`);
    return this.entries.filter((e) => e.subscriptionId.toLowerCase() === sub && Date.parse(e.eventTimestamp) >= from.getTime() && Date.parse(e.eventTimestamp) <= to.getTime());
  }
}

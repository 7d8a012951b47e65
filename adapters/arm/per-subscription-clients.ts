/**
 * SDK clients bound to one subscription (the Policy and Monitor clients take the subscription id at
 * construction), kept for reuse but bounded: each client carries its own pipeline and operation
 * groups (a `MonitorClient` holds ~23 KiB of heap before its first request), so keeping one per
 * subscription ever seen made the app's memory grow with the estate (1,000 subscriptions → 1,000
 * clients per kind, for the life of the instance). The evaluation works on a few subscriptions at a
 * time (one queue batch), so the most recently used ones are enough.
 */
export class PerSubscriptionClients<T> {
  private readonly clients = new Map<string, T>();

  constructor(
    private readonly create: (subscriptionId: string) => T,
    private readonly capacity = 32,
  ) {}

  get(subscriptionId: string): T {
    const key = subscriptionId.toLowerCase();
    let client = this.clients.get(key);
    if (client !== undefined) {
      // Most recently used last (Map keeps insertion order): the first entry is the one to drop.
      this.clients.delete(key);
    } else {
      client = this.create(subscriptionId);
      if (this.clients.size >= this.capacity) {
        const oldest = this.clients.keys().next();
        if (oldest.done !== true) this.clients.delete(oldest.value);
      }
    }
    this.clients.set(key, client);
    return client;
  }

  /** Clients currently kept (for tests). */
  get size(): number {
    return this.clients.size;
  }
}

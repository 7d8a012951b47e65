/** In-memory webhook repositories for tests that do not need Table Storage. */
import { ConflictError } from '../../../domain/errors.js';
import type { Page, WebhookDeliveryRepository, WebhookSubscriptionRepository } from '../../../application/ports.js';
import type { ServiceNowWatermarks, WatermarkKind } from '../../../application/servicenow-delivery.js';
import type { WebhookDelivery, WebhookSubscription } from '../../../domain/webhook-subscription.js';

export class MemorySubscriptions implements WebhookSubscriptionRepository {
  readonly items = new Map<string, WebhookSubscription>();
  async create(s: WebhookSubscription): Promise<void> {
    if (this.items.has(s.id)) throw new ConflictError('exists');
    this.items.set(s.id, s);
  }
  async get(id: string) { return this.items.get(id); }
  async listAll() { return [...this.items.values()]; }
  async list(top: number): Promise<Page<WebhookSubscription>> { return { items: [...this.items.values()].slice(0, top), continuationToken: undefined }; }
  async update(s: WebhookSubscription) { this.items.set(s.id, s); }
  async delete(id: string) { return this.items.delete(id); }
}

export class MemoryDeliveries implements WebhookDeliveryRepository {
  readonly items = new Map<string, WebhookDelivery>();
  async create(d: WebhookDelivery): Promise<void> {
    const key = `${d.webhookId}|${d.id}`;
    if (this.items.has(key)) throw new ConflictError('exists');
    this.items.set(key, d);
  }
  async get(webhookId: string, id: string) { return this.items.get(`${webhookId}|${id}`); }
  async update(d: WebhookDelivery) { this.items.set(`${d.webhookId}|${d.id}`, d); }
  async list(webhookId: string, top: number): Promise<Page<WebhookDelivery>> {
    const items = [...this.items.values()].filter((d) => d.webhookId === webhookId).sort((a, b) => a.id.localeCompare(b.id)).slice(0, top);
    return { items, continuationToken: undefined };
  }
  async deleteAll(webhookId: string) {
    let n = 0;
    for (const [k, d] of this.items) if (d.webhookId === webhookId) { this.items.delete(k); n += 1; }
    return n;
  }
  async deleteFinishedBefore(webhookId: string, cutoff: string) {
    let n = 0;
    for (const [k, d] of this.items) {
      if (d.webhookId === webhookId && FINISHED.has(d.status) && Date.parse(d.createdAt) <= Date.parse(cutoff)) { this.items.delete(k); n += 1; }
    }
    return n;
  }
}

const FINISHED: ReadonlySet<string> = new Set(['delivered', 'failed', 'dead-lettered', 'canceled']);

/** ServiceNow watermarks in a map (the Table adapter has its own test against Azurite). */
export class MemoryServiceNowWatermarks implements ServiceNowWatermarks {
  readonly items = new Map<string, string>();
  async get(kind: WatermarkKind, correlationId: string) { return this.items.get(`${kind}|${correlationId}`); }
  async advance(kind: WatermarkKind, correlationId: string, evaluatedAt: string) {
    const current = this.items.get(`${kind}|${correlationId}`);
    if (current === undefined || Date.parse(current) < Date.parse(evaluatedAt)) this.items.set(`${kind}|${correlationId}`, evaluatedAt);
  }
  async forgetOlderThan(cutoff: string) {
    let n = 0;
    for (const [k, at] of this.items) if (at < cutoff) { this.items.delete(k); n += 1; }
    return n;
  }
}

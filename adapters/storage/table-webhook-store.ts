/**
 * Webhook tables, kept apart from the evaluation tables of `table-store.ts`:
 * - `webhooks`: one partition (`webhook`), row = webhook id; secrets stored protected only;
 * - `webhookdeliveries`: partition = webhook id, row = delivery id (time-ordered ids, newest first),
 *   so retention deletes a row-key range of one partition;
 * - `webhookinbound`: partition = source, row = inbound message id (replay protection).
 */
import { odata, type TableClient } from '@azure/data-tables';
import { ConflictError } from '../../domain/errors.js';
import type { InboundMessageIdStore, Page, WebhookDeliveryRepository, WebhookSubscriptionRepository } from '../../application/ports.js';
import type { DeliveryAttempt, DeliveryStatus, WebhookDelivery, WebhookFormat, WebhookSubscription } from '../../domain/webhook-subscription.js';
import type { WebhookFilters } from '../../domain/webhook-events.js';
import { readChunks, writeChunks } from './chunked-property.js';
import { escapeKey, invertedTime, unescapeKey } from './table-keys.js';
import {
  bool,
  decodeContinuation,
  defined,
  deleteBatched,
  encodeContinuation,
  getEntityOrUndefined,
  isStatus,
  readAll,
  readPage,
  reqStr,
  str,
  tableClientFactory,
  type TableStorageConnection,
} from './table-store.js';

export const WEBHOOK_TABLES = Object.freeze({ webhooks: 'webhooks', deliveries: 'webhookdeliveries', inbound: 'webhookinbound' });

export class WebhookTables {
  private constructor(
    readonly webhooks: TableClient,
    readonly deliveries: TableClient,
    readonly inbound: TableClient,
  ) {}

  static async open(connection: TableStorageConnection, options: { tablePrefix?: string } = {}): Promise<WebhookTables> {
    const make = tableClientFactory(connection, options.tablePrefix);
    const tables = new WebhookTables(make(WEBHOOK_TABLES.webhooks), make(WEBHOOK_TABLES.deliveries), make(WEBHOOK_TABLES.inbound));
    await Promise.all([tables.webhooks.createTable(), tables.deliveries.createTable(), tables.inbound.createTable()]);
    return tables;
  }
}

function json<T>(e: Record<string, unknown>, name: string, fallback: T): T {
  const v = str(e, name);
  return v === undefined ? fallback : (JSON.parse(v) as T);
}

// ---------------------------------------------------------------------------------------------
// Subscriptions
// ---------------------------------------------------------------------------------------------

const WEBHOOK_PARTITION = 'webhook';

function webhookEntity(s: WebhookSubscription): Record<string, unknown> {
  return defined({
    partitionKey: WEBHOOK_PARTITION,
    rowKey: escapeKey(s.id),
    id: s.id,
    url: s.url,
    events: JSON.stringify(s.events),
    format: s.format,
    filters: JSON.stringify(s.filters),
    description: s.description,
    enabled: s.enabled,
    disabledReason: s.disabledReason,
    disabledAt: s.disabledAt,
    createdAt: s.createdAt,
    createdBy: s.createdBy,
    secretRotatedAt: s.secretRotatedAt,
    secretCurrent: s.secrets.current,
    secretPrevious: s.secrets.previous,
    secretPreviousExpiresAt: s.secrets.previousExpiresAt,
  });
}

function webhookFromEntity(e: Record<string, unknown>): WebhookSubscription {
  return {
    id: reqStr(e, 'id'),
    url: reqStr(e, 'url'),
    events: json<string[]>(e, 'events', []),
    format: reqStr(e, 'format') as WebhookFormat,
    filters: json<WebhookFilters>(e, 'filters', {}),
    description: str(e, 'description'),
    enabled: bool(e, 'enabled'),
    disabledReason: str(e, 'disabledReason'),
    disabledAt: str(e, 'disabledAt'),
    createdAt: reqStr(e, 'createdAt'),
    createdBy: reqStr(e, 'createdBy'),
    secretRotatedAt: str(e, 'secretRotatedAt'),
    secrets: { current: str(e, 'secretCurrent') ?? '', previous: str(e, 'secretPrevious'), previousExpiresAt: str(e, 'secretPreviousExpiresAt') },
  };
}

export class TableWebhookSubscriptionRepository implements WebhookSubscriptionRepository {
  constructor(private readonly tables: WebhookTables) {}

  async create(subscription: WebhookSubscription): Promise<void> {
    try {
      await this.tables.webhooks.createEntity(webhookEntity(subscription) as { partitionKey: string; rowKey: string });
    } catch (error) {
      if (isStatus(error, 409)) throw new ConflictError(`Webhook ${subscription.id} already exists.`, subscription.id);
      throw error;
    }
  }

  async get(id: string): Promise<WebhookSubscription | undefined> {
    const e = await getEntityOrUndefined(this.tables.webhooks, WEBHOOK_PARTITION, escapeKey(id));
    return e === undefined ? undefined : webhookFromEntity(e);
  }

  async listAll(): Promise<WebhookSubscription[]> {
    return (await readAll(this.tables.webhooks, odata`PartitionKey eq ${WEBHOOK_PARTITION}`)).map(webhookFromEntity);
  }

  async list(top: number, continuationToken?: string): Promise<Page<WebhookSubscription>> {
    const page = await readPage(this.tables.webhooks, odata`PartitionKey eq ${WEBHOOK_PARTITION}`, top, decodeContinuation(continuationToken));
    return { items: page.entities.map(webhookFromEntity), continuationToken: encodeContinuation(page.continuationToken) };
  }

  async update(subscription: WebhookSubscription): Promise<void> {
    await this.tables.webhooks.upsertEntity(webhookEntity(subscription) as { partitionKey: string; rowKey: string }, 'Replace');
  }

  async delete(id: string): Promise<boolean> {
    try {
      await this.tables.webhooks.deleteEntity(WEBHOOK_PARTITION, escapeKey(id));
      return true;
    } catch (error) {
      if (isStatus(error, 404)) return false;
      throw error;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Deliveries
// ---------------------------------------------------------------------------------------------

function deliveryEntity(d: WebhookDelivery): Record<string, unknown> {
  return defined({
    partitionKey: escapeKey(d.webhookId),
    rowKey: escapeKey(d.id),
    webhookId: d.webhookId,
    eventId: d.eventId,
    eventType: d.eventType,
    createdAt: d.createdAt,
    status: d.status,
    attempts: JSON.stringify(d.attempts),
    nextAttemptAt: d.nextAttemptAt,
    reason: d.reason,
    redeliveryOf: d.redeliveryOf,
    ...writeChunks('event', d.event),
  });
}

function deliveryFromEntity(e: Record<string, unknown>): WebhookDelivery {
  return {
    id: unescapeKey(reqStr(e, 'rowKey')),
    webhookId: reqStr(e, 'webhookId'),
    eventId: reqStr(e, 'eventId'),
    eventType: reqStr(e, 'eventType'),
    createdAt: reqStr(e, 'createdAt'),
    status: reqStr(e, 'status') as DeliveryStatus,
    attempts: json<DeliveryAttempt[]>(e, 'attempts', []),
    nextAttemptAt: str(e, 'nextAttemptAt'),
    reason: str(e, 'reason'),
    redeliveryOf: str(e, 'redeliveryOf'),
    event: readChunks(e, 'event') ?? '{}',
  };
}

export class TableWebhookDeliveryRepository implements WebhookDeliveryRepository {
  constructor(private readonly tables: WebhookTables) {}

  async create(delivery: WebhookDelivery): Promise<void> {
    try {
      await this.tables.deliveries.createEntity(deliveryEntity(delivery) as { partitionKey: string; rowKey: string });
    } catch (error) {
      if (isStatus(error, 409)) throw new ConflictError(`Delivery ${delivery.id} already exists.`, delivery.id);
      throw error;
    }
  }

  async get(webhookId: string, deliveryId: string): Promise<WebhookDelivery | undefined> {
    const e = await getEntityOrUndefined(this.tables.deliveries, escapeKey(webhookId), escapeKey(deliveryId));
    return e === undefined ? undefined : deliveryFromEntity(e);
  }

  async update(delivery: WebhookDelivery): Promise<void> {
    await this.tables.deliveries.upsertEntity(deliveryEntity(delivery) as { partitionKey: string; rowKey: string }, 'Replace');
  }

  async list(webhookId: string, top: number, continuationToken?: string): Promise<Page<WebhookDelivery>> {
    const page = await readPage(this.tables.deliveries, odata`PartitionKey eq ${escapeKey(webhookId)}`, top, decodeContinuation(continuationToken));
    return { items: page.entities.map(deliveryFromEntity), continuationToken: encodeContinuation(page.continuationToken) };
  }

  async deleteAll(webhookId: string): Promise<number> {
    const keys = await readAll(this.tables.deliveries, odata`PartitionKey eq ${escapeKey(webhookId)}`, ['PartitionKey', 'RowKey']);
    return deleteBatched(
      this.tables.deliveries,
      keys.map((k) => ({ partitionKey: reqStr(k, 'partitionKey'), rowKey: reqStr(k, 'rowKey') })),
    );
  }

  async deleteFinishedBefore(webhookId: string, cutoff: string): Promise<number> {
    // Ids start with the inverted time, so everything at or before the cutoff sorts at or after its key.
    const from = invertedTime(cutoff);
    const rows = await readAll(
      this.tables.deliveries,
      odata`PartitionKey eq ${escapeKey(webhookId)} and RowKey ge ${from}`,
      ['PartitionKey', 'RowKey', 'status'],
    );
    // An unfinished delivery may still have a queue message on its way: it keeps its record.
    const finished = rows.filter((r) => FINISHED.has(str(r, 'status') ?? ''));
    return deleteBatched(
      this.tables.deliveries,
      finished.map((k) => ({ partitionKey: reqStr(k, 'partitionKey'), rowKey: reqStr(k, 'rowKey') })),
    );
  }
}

const FINISHED: ReadonlySet<string> = new Set<DeliveryStatus>(['delivered', 'failed', 'dead-lettered', 'canceled']);

// ---------------------------------------------------------------------------------------------
// Inbound message ids
// ---------------------------------------------------------------------------------------------

export class TableInboundMessageIdStore implements InboundMessageIdStore {
  constructor(private readonly tables: WebhookTables) {}

  async claim(source: string, id: string, at: string): Promise<boolean> {
    try {
      // Insert-only: two concurrent deliveries of one id cannot both succeed.
      await this.tables.inbound.createEntity({ partitionKey: escapeKey(source), rowKey: escapeKey(id), at });
      return true;
    } catch (error) {
      if (isStatus(error, 409)) return false;
      throw error;
    }
  }

  async release(source: string, id: string): Promise<void> {
    try {
      await this.tables.inbound.deleteEntity(escapeKey(source), escapeKey(id));
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
  }
}

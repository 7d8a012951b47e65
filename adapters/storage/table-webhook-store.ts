/**
 * Webhook tables, kept apart from the evaluation tables of `table-store.ts`:
 * - `webhooks`: one partition (`webhook`), row = webhook id; secrets stored protected only;
 * - `webhookdeliveries`: partition = webhook id, row = delivery id (time-ordered ids, newest first),
 *   so retention deletes a row-key range of one partition;
 * - `webhookinbound`: partition = source (`servicenow-change`, `webhook-attempt`); per claim two rows
 *   written in one transaction: row = the claimed id (the once-only check) and row =
 *   `~|<UTC day of the claim>|<id>` (its expiry entry), so retention is a row-key range of one partition.
 */
import { odata, type TableClient } from '@azure/data-tables';
import { ConflictError } from '../../domain/errors.js';
import type { InboundMessageIdStore, Page, WebhookDeliveryRepository, WebhookSubscriptionRepository } from '../../application/ports.js';
import type { DeliveryStatus, WebhookDelivery, WebhookSubscription } from '../../domain/webhook-subscription.js';
import { deliveryCodec, webhookCodec } from './records/webhook-records.js';
import { inboundClaimCodec, inboundExpiryCodec } from './records/inbound-claim-records.js';
import { storedRecordReader, type StoredRecordReader } from './records/stored-record-reader.js';
import { escapeKey, invertedTime } from './table-keys.js';
import {
  decodeContinuation,
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
    /** Reads the records through their codecs and reports invalid ones. */
    readonly records: StoredRecordReader,
  ) {}

  static async open(connection: TableStorageConnection, options: { tablePrefix?: string; records?: StoredRecordReader } = {}): Promise<WebhookTables> {
    const make = tableClientFactory(connection, options.tablePrefix);
    const tables = new WebhookTables(make(WEBHOOK_TABLES.webhooks), make(WEBHOOK_TABLES.deliveries), make(WEBHOOK_TABLES.inbound), options.records ?? storedRecordReader);
    await Promise.all([tables.webhooks.createTable(), tables.deliveries.createTable(), tables.inbound.createTable()]);
    return tables;
  }
}


// ---------------------------------------------------------------------------------------------
// Subscriptions
// ---------------------------------------------------------------------------------------------

const WEBHOOK_PARTITION = 'webhook';

function webhookEntity(s: WebhookSubscription): { partitionKey: string; rowKey: string } & Record<string, unknown> {
  return { partitionKey: WEBHOOK_PARTITION, rowKey: escapeKey(s.id), ...webhookCodec.encode(s) };
}

export class TableWebhookSubscriptionRepository implements WebhookSubscriptionRepository {
  constructor(private readonly tables: WebhookTables) {}

  async create(subscription: WebhookSubscription): Promise<void> {
    try {
      await this.tables.webhooks.createEntity(webhookEntity(subscription));
    } catch (error) {
      if (isStatus(error, 409)) throw new ConflictError(`Webhook ${subscription.id} already exists.`, subscription.id);
      throw error;
    }
  }

  async get(id: string): Promise<WebhookSubscription | undefined> {
    const e = await getEntityOrUndefined(this.tables.webhooks, WEBHOOK_PARTITION, escapeKey(id));
    return e === undefined ? undefined : this.tables.records.one(webhookCodec, e);
  }

  async listAll(): Promise<WebhookSubscription[]> {
    // An unreadable subscription (reported) gets no events until it is repaired or re-created.
    return this.tables.records.many(webhookCodec, await readAll(this.tables.webhooks, odata`PartitionKey eq ${WEBHOOK_PARTITION}`));
  }

  async list(top: number, continuationToken?: string): Promise<Page<WebhookSubscription>> {
    const page = await readPage(this.tables.webhooks, odata`PartitionKey eq ${WEBHOOK_PARTITION}`, top, decodeContinuation(continuationToken));
    return { items: this.tables.records.many(webhookCodec, page.entities), continuationToken: encodeContinuation(page.continuationToken) };
  }

  async update(subscription: WebhookSubscription): Promise<void> {
    await this.tables.webhooks.upsertEntity(webhookEntity(subscription), 'Replace');
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

function deliveryEntity(d: WebhookDelivery): { partitionKey: string; rowKey: string } & Record<string, unknown> {
  return { partitionKey: escapeKey(d.webhookId), rowKey: escapeKey(d.id), ...deliveryCodec.encode(d) };
}

export class TableWebhookDeliveryRepository implements WebhookDeliveryRepository {
  constructor(private readonly tables: WebhookTables) {}

  async create(delivery: WebhookDelivery): Promise<void> {
    try {
      await this.tables.deliveries.createEntity(deliveryEntity(delivery));
    } catch (error) {
      if (isStatus(error, 409)) throw new ConflictError(`Delivery ${delivery.id} already exists.`, delivery.id);
      throw error;
    }
  }

  async get(webhookId: string, deliveryId: string): Promise<WebhookDelivery | undefined> {
    const e = await getEntityOrUndefined(this.tables.deliveries, escapeKey(webhookId), escapeKey(deliveryId));
    return e === undefined ? undefined : this.tables.records.one(deliveryCodec, e);
  }

  async update(delivery: WebhookDelivery): Promise<void> {
    await this.tables.deliveries.upsertEntity(deliveryEntity(delivery), 'Replace');
  }

  async list(webhookId: string, top: number, continuationToken?: string): Promise<Page<WebhookDelivery>> {
    const page = await readPage(this.tables.deliveries, odata`PartitionKey eq ${escapeKey(webhookId)}`, top, decodeContinuation(continuationToken));
    return { items: this.tables.records.many(deliveryCodec, page.entities), continuationToken: encodeContinuation(page.continuationToken) };
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
// Inbound message ids and delivery-attempt claims
// ---------------------------------------------------------------------------------------------

/**
 * Expiry entries sort after every claim row and apart from them: escaped ids never hold a raw `|`, so no
 * claim row key starts with `~|`, and the range `~|` … `~|<day>` holds expiry entries only.
 */
const EXPIRY_PREFIX = '~|';

/** UTC day (`yyyy-mm-dd`) of an ISO time; throws `RangeError` on an invalid one. */
function utcDay(at: string): string {
  return new Date(at).toISOString().slice(0, 10);
}

function expiryKey(day: string, claimKey: string): string {
  return `${EXPIRY_PREFIX}${day}|${claimKey}`;
}

/** The claim row key an expiry entry points at (`~|yyyy-mm-dd|<claim key>`). */
function claimKeyOf(expiry: string): string {
  return expiry.slice(EXPIRY_PREFIX.length + 'yyyy-mm-dd|'.length);
}

/** Expiry entries and their claims per transaction (2 operations each, under the limit of 100). */
const PAIRS_PER_TRANSACTION = 50;

export class TableInboundMessageIdStore implements InboundMessageIdStore {
  constructor(private readonly tables: WebhookTables) {}

  /**
   * Why the once-only check does not depend on time: the claim row's key is the id alone, so a
   * duplicate conflicts with it whatever day it arrives (a duplicate just after midnight meets the
   * row claimed just before). Only the expiry entry carries the day, and it merely decides when
   * {@link forgetClaimedBefore} may delete the claim. Both rows are written in one transaction: a
   * conflicting claim writes neither, and no claim exists without its expiry entry. The entry is an
   * upsert so that a leftover entry can never make a fresh claim look like a duplicate.
   */
  async claim(source: string, id: string, at: string, owner?: string): Promise<boolean> {
    const partitionKey = escapeKey(source);
    const rowKey = escapeKey(id);
    try {
      await this.tables.inbound.submitTransaction([
        ['create', { partitionKey, rowKey, ...inboundClaimCodec.encode({ at, owner }) }],
        ['upsert', { partitionKey, rowKey: expiryKey(utcDay(at), rowKey), ...inboundExpiryCodec.encode({}) }, 'Replace'],
      ]);
      return true;
    } catch (error) {
      if (isStatus(error, 409)) return false;
      throw error;
    }
  }

  async ownerOf(source: string, id: string): Promise<string | undefined> {
    const claim = await getEntityOrUndefined(this.tables.inbound, escapeKey(source), escapeKey(id));
    // An unreadable claim is reported and names no owner: its attempt is not taken over.
    return claim === undefined ? undefined : this.tables.records.check(inboundClaimCodec, claim)?.owner;
  }

  async release(source: string, id: string): Promise<void> {
    const partitionKey = escapeKey(source);
    const rowKey = escapeKey(id);
    const claim = await getEntityOrUndefined(this.tables.inbound, partitionKey, rowKey);
    if (claim === undefined) return;
    // A claim that fails validation is reported and still dropped; without a readable time its expiry
    // entry cannot be found, like that of a claim written before expiry entries existed (it has none).
    const at = this.tables.records.check(inboundClaimCodec, claim)?.at;
    const day = at !== undefined && Number.isFinite(Date.parse(at)) ? utcDay(at) : undefined;
    await this.deletePairs(partitionKey, [{ expiry: day !== undefined ? expiryKey(day, rowKey) : undefined, claim: rowKey }]);
  }

  /**
   * Deletes the claims of `source` made on UTC days before the cutoff's day, so nothing younger than
   * the cutoff is ever deleted. One row-key range read of the source's partition (expiry entries
   * only, keys only), then transactions of entry + claim. Returns how many claims were deleted.
   */
  async forgetClaimedBefore(source: string, cutoff: string): Promise<number> {
    const partitionKey = escapeKey(source);
    const rows = await readAll(
      this.tables.inbound,
      odata`PartitionKey eq ${partitionKey} and RowKey ge ${EXPIRY_PREFIX} and RowKey lt ${`${EXPIRY_PREFIX}${utcDay(cutoff)}`}`,
      ['PartitionKey', 'RowKey'],
    );
    const pairs = rows.map((r) => {
      const expiry = reqStr(r, 'rowKey');
      return { expiry, claim: claimKeyOf(expiry) };
    });
    await this.deletePairs(partitionKey, pairs);
    return pairs.length;
  }

  /**
   * Why the order matters: an expiry entry must never outlive its claim. If it did, the id could be
   * claimed again (a newer claim under the same row key) and the old entry would delete that newer
   * claim early. So pairs go in one transaction, and when one fails because a row is already gone
   * (404), the entry is deleted before the claim; at worst a claim is left without an entry (kept).
   */
  private async deletePairs(partitionKey: string, pairs: readonly { expiry: string | undefined; claim: string }[]): Promise<void> {
    const del = async (rowKey: string): Promise<void> => {
      try {
        await this.tables.inbound.deleteEntity(partitionKey, rowKey);
      } catch (error) {
        if (!isStatus(error, 404)) throw error;
      }
    };
    for (let i = 0; i < pairs.length; i += PAIRS_PER_TRANSACTION) {
      const chunk = pairs.slice(i, i + PAIRS_PER_TRANSACTION);
      const keys = chunk.flatMap((p) => (p.expiry !== undefined ? [p.expiry, p.claim] : [p.claim]));
      try {
        await this.tables.inbound.submitTransaction(keys.map((rowKey): ['delete', { partitionKey: string; rowKey: string }] => ['delete', { partitionKey, rowKey }]));
      } catch (error) {
        if (!isStatus(error, 404)) throw error;
        for (const p of chunk) {
          if (p.expiry !== undefined) await del(p.expiry);
          await del(p.claim);
        }
      }
    }
  }
}

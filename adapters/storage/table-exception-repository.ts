/**
 * Control exceptions in the `exceptions` table, all in one partition (`exception`), two rows each,
 * written and deleted together in one transaction:
 *
 * - the record, row = `<id>` (escaped): `get` and `delete` are point reads;
 * - its expiry row, row = `exp|<inverted expiresAt>|<id>`, a copy of the record: ascending row keys
 *   are latest expiry first, so the exceptions active at a time `t` are the range `exp|` …
 *   `exp|<inverted t>` and the expired ones the range after it. Listing (API paging, the evaluator's
 *   active set) reads only the range it needs, never the expired exceptions that are kept forever.
 *
 * Escaped ids never hold a raw `|`, so no record key falls in the `exp|` range or equals the marker.
 * Records written before expiry rows existed get theirs once per deployment (`backfill`, on the
 * first listing of each instance; a marker row records that it is done).
 */
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import { ConflictError } from '../../domain/errors.js';
import type { ControlException } from '../../domain/model.js';
import type { ExceptionPageQuery, ExceptionRepository, Page } from '../../application/ports.js';
import { escapeKey, invertedTime } from './table-keys.js';
import { decodeContinuation, encodeContinuation, getEntityOrUndefined, isStatus, readAll, readPage, reqStr, type TableStore } from './table-store.js';
import { exceptionCodec } from './records/exception-records.js';
import type { StoredRecordReader } from './records/stored-record-reader.js';

const PARTITION = 'exception';
const EXPIRY_PREFIX = 'exp|';
/** The first key after every `exp|…` key (`}` follows `|`). */
const EXPIRY_END = 'exp}';
const BACKFILL_MARKER = 'meta|expiry-rows';

const expiryRow = (e: Pick<ControlException, 'id' | 'expiresAt'>): string => `${EXPIRY_PREFIX}${invertedTime(e.expiresAt)}|${escapeKey(e.id)}`;
/** First expiry key of the exceptions expired at `at` (expiresAt <= at): later keys are earlier expiries. */
const expiredFrom = (at: string): string => `${EXPIRY_PREFIX}${invertedTime(at)}`;

export class TableExceptionRepository implements ExceptionRepository {
  private readonly table: TableClient;
  private readonly records: StoredRecordReader;
  private backfilled: Promise<void> | undefined;

  constructor(store: TableStore) {
    this.table = store.client('exceptions');
    this.records = store.records;
  }

  async create(exception: ControlException): Promise<void> {
    const record = exceptionCodec.encode(exception);
    try {
      await this.table.submitTransaction([
        ['create', { partitionKey: PARTITION, rowKey: escapeKey(exception.id), ...record }],
        ['create', { partitionKey: PARTITION, rowKey: expiryRow(exception), ...record }],
      ]);
    } catch (error) {
      if (isStatus(error, 409)) throw new ConflictError(`Exception ${exception.id} already exists.`, exception.id);
      throw error;
    }
  }

  async get(id: string): Promise<ControlException | undefined> {
    const e = await getEntityOrUndefined(this.table, PARTITION, escapeKey(id));
    return e === undefined ? undefined : this.records.one(exceptionCodec, e);
  }

  /** Every exception, expired ones included: grows without bound, prefer {@link listActive}. */
  async list(): Promise<ControlException[]> {
    await this.backfill();
    return this.records.many(exceptionCodec, await readAll(this.table, odata`PartitionKey eq ${PARTITION} and RowKey ge ${EXPIRY_PREFIX} and RowKey lt ${EXPIRY_END}`));
  }

  async listActive(at: string): Promise<ControlException[]> {
    await this.backfill();
    return this.records.many(exceptionCodec, await readAll(this.table, odata`PartitionKey eq ${PARTITION} and RowKey ge ${EXPIRY_PREFIX} and RowKey lt ${expiredFrom(at)}`));
  }

  async listPage(query: ExceptionPageQuery): Promise<Page<ControlException>> {
    const cursor = decodeContinuation(query.continuationToken);
    await this.backfill();
    const from = query.status === 'expired' ? expiredFrom(query.at) : EXPIRY_PREFIX;
    const to = query.status === 'active' ? expiredFrom(query.at) : EXPIRY_END;
    const page = await readPage(this.table, odata`PartitionKey eq ${PARTITION} and RowKey ge ${from} and RowKey lt ${to}`, query.top, cursor);
    return { items: this.records.many(exceptionCodec, page.entities), continuationToken: encodeContinuation(page.continuationToken) };
  }

  async delete(id: string): Promise<boolean> {
    const entity = await getEntityOrUndefined(this.table, PARTITION, escapeKey(id));
    if (entity === undefined) return false;
    const record = this.records.check(exceptionCodec, entity);
    if (record === undefined) return this.deleteUnreadable(id);
    try {
      await this.table.submitTransaction([
        ['delete', { partitionKey: PARTITION, rowKey: escapeKey(id) }],
        ['delete', { partitionKey: PARTITION, rowKey: expiryRow(record) }],
      ]);
      return true;
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
    // One of the two is gone already (a concurrent delete, a record awaiting its backfill): the
    // expiry row first, so an active exception never outlives its record in listings.
    const deleteExpiryRow = (): Promise<void> =>
      this.table.deleteEntity(PARTITION, expiryRow(record)).then(
        () => undefined,
        (e: unknown) => {
          if (!isStatus(e, 404)) throw e;
        },
      );
    await deleteExpiryRow();
    let deleted: boolean;
    try {
      await this.table.deleteEntity(PARTITION, escapeKey(id));
      deleted = true;
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
      deleted = false;
    }
    // A backfill may have written the expiry row between the two deletes (the record was still
    // there, unchanged): without this, the deleted exception stayed listed and applied as active.
    await deleteExpiryRow();
    return deleted;
  }

  /**
   * Deletes a record no reader accepts (reported), so an operator can remove it through the API: its
   * expiry time is unknown, so its expiry rows are found by key in the expiry range (keys only).
   */
  private async deleteUnreadable(id: string): Promise<boolean> {
    const suffix = `|${escapeKey(id)}`;
    const rows = await readAll(this.table, odata`PartitionKey eq ${PARTITION} and RowKey ge ${EXPIRY_PREFIX} and RowKey lt ${EXPIRY_END}`, ['PartitionKey', 'RowKey']);
    const keys = [escapeKey(id), ...rows.map((r) => reqStr(r, 'rowKey')).filter((k) => k.endsWith(suffix))];
    for (const rowKey of keys.reverse()) {
      try {
        await this.table.deleteEntity(PARTITION, rowKey);
      } catch (error) {
        if (!isStatus(error, 404)) throw error;
      }
    }
    return true;
  }

  /**
   * Writes the expiry rows of records stored before they existed: once per instance a point read of
   * the marker, and once per deployment a read of the partition. Each row is written in a
   * transaction with an ETag-checked no-op update of its record, so a record deleted meanwhile gets
   * no expiry row (the transaction fails and is skipped).
   */
  private backfill(): Promise<void> {
    this.backfilled ??= this.runBackfill().catch((error: unknown) => {
      this.backfilled = undefined;
      throw error;
    });
    return this.backfilled;
  }

  private async runBackfill(): Promise<void> {
    if ((await getEntityOrUndefined(this.table, PARTITION, BACKFILL_MARKER)) !== undefined) return;
    const rows = await readAll(this.table, odata`PartitionKey eq ${PARTITION}`);
    const expiryKeys = new Set(rows.map((e) => reqStr(e, 'rowKey')).filter((k) => k.startsWith(EXPIRY_PREFIX)));
    for (const e of rows) {
      const rowKey = reqStr(e, 'rowKey');
      if (rowKey.includes('|')) continue;
      // A record no reader accepts (reported) gets no expiry row: it could not be listed anyway.
      const record = this.records.check(exceptionCodec, e);
      if (record === undefined || expiryKeys.has(expiryRow(record))) continue;
      const etag = (e as { etag?: unknown }).etag;
      const actions: TransactionAction[] = [
        ['update', { partitionKey: PARTITION, rowKey }, 'Merge', typeof etag === 'string' ? { etag } : undefined],
        ['upsert', { partitionKey: PARTITION, rowKey: expiryRow(record), ...exceptionCodec.encode(record) }, 'Replace'],
      ];
      try {
        await this.table.submitTransaction(actions);
      } catch (error) {
        if (!isStatus(error, 404) && !isStatus(error, 412)) throw error;
      }
    }
    await this.table.upsertEntity({ partitionKey: PARTITION, rowKey: BACKFILL_MARKER }, 'Replace');
  }
}

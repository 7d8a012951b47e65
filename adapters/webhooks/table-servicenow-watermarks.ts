/**
 * `servicenowwatermarks`: per ServiceNow correlation id, the evaluation time of the newest compliance
 * change applied (partition = `incident` | `event`, row = the escaped correlation id). Advanced with
 * ETag-conditional writes, so two deliveries racing on one id leave the later time. One small row per
 * (cluster, control) that changed within the retention window.
 *
 * Retention ({@link TableServiceNowWatermarks.forgetOlderThan}): the keys are correlation ids, not
 * times, so there is no range to delete; a row whose `evaluatedAt` is before the cutoff is found by a
 * filtered scan of the table (keys and `evaluatedAt` only) and deleted ETag-conditionally, so a row
 * advanced meanwhile is kept. The scan runs once per nightly evaluation (`WebhookService.publish`),
 * over at most one row per (cluster, control, kind): ~320,000 small rows for 10,000 clusters that all
 * drifted on every control, far fewer in practice; acceptable once a night for a table of this size.
 *
 * Rows are read through their codec (`records/servicenow-watermark-records.ts`). A row that fails
 * validation is reported and read as no watermark: the change is applied again (ServiceNow updates the
 * same record by correlation id, so at worst an older state is written once more) and `advance`
 * replaces the damaged row, which repairs it.
 */
import type { TableClient } from '@azure/data-tables';
import { ConflictError } from '../../domain/errors.js';
import type { ServiceNowWatermarks, WatermarkKind } from '../../application/servicenow-delivery.js';
import { forEachLimited } from '../../application/worker-pool.js';
import { escapeKey } from '../storage/table-keys.js';
import { odata } from '@azure/data-tables';
import { serviceNowWatermarkCodec } from '../storage/records/servicenow-watermark-records.js';
import { storedRecordReader, type StoredRecordReader } from '../storage/records/stored-record-reader.js';
import { getEntityOrUndefined, isStatus, readAll, reqStr, tableClientFactory, type TableStorageConnection } from '../storage/table-store.js';

export const SERVICENOW_WATERMARK_TABLE = 'servicenowwatermarks';

/** Concurrent writers on one id are rare (two deliveries of one cluster at once); a few re-reads settle them. */
const MAX_RACES = 5;
/** Deletes in flight at once while pruning. */
const DELETE_CONCURRENCY = 8;

export class TableServiceNowWatermarks implements ServiceNowWatermarks {
  private constructor(
    private readonly table: TableClient,
    private readonly records: StoredRecordReader,
  ) {}

  static async open(connection: TableStorageConnection, options: { tablePrefix?: string | undefined; records?: StoredRecordReader } = {}): Promise<TableServiceNowWatermarks> {
    const table = tableClientFactory(connection, options.tablePrefix)(SERVICENOW_WATERMARK_TABLE);
    await table.createTable();
    return new TableServiceNowWatermarks(table, options.records ?? storedRecordReader);
  }

  async get(kind: WatermarkKind, correlationId: string): Promise<string | undefined> {
    const e = await getEntityOrUndefined(this.table, kind, escapeKey(correlationId));
    return e === undefined ? undefined : this.records.check(serviceNowWatermarkCodec, e)?.evaluatedAt;
  }

  async advance(kind: WatermarkKind, correlationId: string, evaluatedAt: string): Promise<void> {
    const rowKey = escapeKey(correlationId);
    const entity = { partitionKey: kind, rowKey, ...serviceNowWatermarkCodec.encode({ evaluatedAt }) };
    for (let race = 0; race < MAX_RACES; race += 1) {
      const stored = await getEntityOrUndefined(this.table, kind, rowKey);
      try {
        if (stored === undefined) {
          await this.table.createEntity(entity);
          return;
        }
        const applied = this.records.check(serviceNowWatermarkCodec, stored)?.evaluatedAt;
        if (applied !== undefined && Date.parse(applied) >= Date.parse(evaluatedAt)) return;
        await this.table.updateEntity(entity, 'Replace', { etag: String(stored['etag']) });
        return;
      } catch (error) {
        if (isStatus(error, 409) || isStatus(error, 412)) continue; // another writer: re-read and re-decide
        throw error;
      }
    }
    throw new ConflictError(`The ServiceNow watermark of ${correlationId} kept changing concurrently.`, correlationId);
  }

  async forgetOlderThan(cutoff: string): Promise<number> {
    // ISO times of one format compare as strings, so the filter runs in the service.
    const rows = await readAll(this.table, odata`evaluatedAt lt ${cutoff}`, ['PartitionKey', 'RowKey', 'evaluatedAt']);
    let deleted = 0;
    await forEachLimited(rows, DELETE_CONCURRENCY, async (row) => {
      try {
        // Conditional: a delivery that advanced this id since the scan keeps its newer watermark.
        await this.table.deleteEntity(reqStr(row, 'partitionKey'), reqStr(row, 'rowKey'), { etag: String(row['etag']) });
        deleted += 1;
      } catch (error) {
        if (!isStatus(error, 404) && !isStatus(error, 412)) throw error;
      }
    });
    return deleted;
  }
}

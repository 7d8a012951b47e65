/**
 * `servicenowwatermarks`: per ServiceNow correlation id, the evaluation time of the newest compliance
 * change applied (partition = `incident` | `event`, row = the escaped correlation id). Advanced with
 * ETag-conditional writes, so two deliveries racing on one id leave the later time. One small row per
 * (cluster, control) that ever changed; rows are not pruned (their number is bounded by the fleet).
 */
import type { TableClient } from '@azure/data-tables';
import { ConflictError } from '../../domain/errors.js';
import type { ServiceNowWatermarks, WatermarkKind } from '../../application/servicenow-delivery.js';
import { escapeKey } from '../storage/table-keys.js';
import { getEntityOrUndefined, isStatus, str, tableClientFactory, type TableStorageConnection } from '../storage/table-store.js';

export const SERVICENOW_WATERMARK_TABLE = 'servicenowwatermarks';

/** Concurrent writers on one id are rare (two deliveries of one cluster at once); a few re-reads settle them. */
const MAX_RACES = 5;

export class TableServiceNowWatermarks implements ServiceNowWatermarks {
  private constructor(private readonly table: TableClient) {}

  static async open(connection: TableStorageConnection, options: { tablePrefix?: string | undefined } = {}): Promise<TableServiceNowWatermarks> {
    const table = tableClientFactory(connection, options.tablePrefix)(SERVICENOW_WATERMARK_TABLE);
    await table.createTable();
    return new TableServiceNowWatermarks(table);
  }

  async get(kind: WatermarkKind, correlationId: string): Promise<string | undefined> {
    const e = await getEntityOrUndefined(this.table, kind, escapeKey(correlationId));
    return e === undefined ? undefined : str(e, 'evaluatedAt');
  }

  async advance(kind: WatermarkKind, correlationId: string, evaluatedAt: string): Promise<void> {
    const rowKey = escapeKey(correlationId);
    const entity = { partitionKey: kind, rowKey, evaluatedAt };
    for (let race = 0; race < MAX_RACES; race += 1) {
      const stored = await getEntityOrUndefined(this.table, kind, rowKey);
      try {
        if (stored === undefined) {
          await this.table.createEntity(entity);
          return;
        }
        const applied = str(stored, 'evaluatedAt');
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
}

/**
 * Remediation requests made through the API, in the `remediations` table: partition = row = the
 * escaped request id, so every read is a point read. Cluster ids and tasks are JSON in chunked
 * properties (a request may name up to 1000 clusters, more than one 64 KiB property holds). A task
 * stores its clusters as a range of the cluster ids (`clusters: { offset, count }`), not the ids again;
 * tasks stored before requests were split have no range (one task per subscription).
 * ARM progress is never stored: it is read from Azure Policy when the request is shown. When the
 * background completion checks give up, `pollingStoppedAt` / `pollingStoppedReason` are merged in.
 */
import type { TableClient } from '@azure/data-tables';
import { ConflictError, NotFoundError, UnprocessableError } from '../../domain/errors.js';
import type { RemediationPollingStop, RemediationRecord, RemediationRepository } from '../../application/ports.js';
import { MAX_CHUNKED_CHARS } from './chunked-property.js';
import { remediationCodec } from './records/remediation-records.js';
import type { StoredRecordReader } from './records/stored-record-reader.js';
import { escapeKey } from './table-keys.js';
import { getEntityOrUndefined, isStatus, str, type TableStore } from './table-store.js';

export class TableRemediationRepository implements RemediationRepository {
  private readonly table: TableClient;
  private readonly records: StoredRecordReader;

  constructor(store: TableStore) {
    this.table = store.client('remediations');
    this.records = store.records;
  }

  async create(record: RemediationRecord): Promise<void> {
    const tooLarge = (): UnprocessableError =>
      new UnprocessableError('LimitExceeded', 'Too many clusters for one remediation request; pass fewer clusterIds per request.', 'clusterIds');
    let props: Record<string, unknown>;
    try {
      props = remediationCodec.encode(record);
    } catch (error) {
      if (error instanceof RangeError) throw tooLarge();
      throw error;
    }
    const chunked = Object.entries(props).reduce((n, [k, v]) => n + (/_\d+$/.test(k) && typeof v === 'string' ? v.length : 0), 0);
    if (chunked > MAX_CHUNKED_CHARS) throw tooLarge();
    const key = escapeKey(record.id);
    try {
      await this.table.createEntity({ partitionKey: key, rowKey: key, ...props });
    } catch (error) {
      if (isStatus(error, 409)) throw new ConflictError(`Remediation ${record.id} already exists.`, record.id);
      throw error;
    }
  }

  async get(id: string): Promise<RemediationRecord | undefined> {
    const key = escapeKey(id);
    const e = await getEntityOrUndefined(this.table, key, key);
    return e === undefined ? undefined : this.records.one(remediationCodec, e);
  }

  async recordPollingStopped(id: string, stop: RemediationPollingStop): Promise<void> {
    const key = escapeKey(id);
    // Conditional on the read, so two checks giving up at once (a redelivered message) keep the first.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const e = await getEntityOrUndefined(this.table, key, key);
      if (e === undefined) throw new NotFoundError(`Remediation ${id} does not exist.`, 'remediationId');
      if (str(e, 'pollingStoppedAt') !== undefined) return;
      try {
        await this.table.updateEntity({ partitionKey: key, rowKey: key, pollingStoppedAt: stop.at, pollingStoppedReason: stop.reason }, 'Merge', { etag: String(e['etag']) });
        return;
      } catch (error) {
        if (!isStatus(error, 412)) throw error;
      }
    }
    throw new Error(`remediation ${id}: polling stop not recorded (changed concurrently three times)`);
  }
}

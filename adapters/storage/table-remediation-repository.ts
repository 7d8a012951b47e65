/**
 * Remediation requests made through the API, in the `remediations` table: partition = row = the
 * escaped request id, so every read is a point read. Cluster ids and tasks are JSON in chunked
 * properties (a request may name up to 1000 clusters, more than one 64 KiB property holds). A task
 * stores its clusters as a range of the cluster ids (`clusters: { offset, count }`), not the ids again;
 * tasks stored before requests were split have no range (one task per subscription).
 * ARM progress is never stored: it is read from Azure Policy when the request is shown. When the
 * background completion checks give up, `pollingStoppedAt` / `pollingStoppedReason` are merged in.
 *
 * The listing reads an index partition, `index`, whose rows (`<inverted createdAt>|<escaped id>`,
 * holding the id) sort newest first; each listed request is then one point read. The index row is
 * written before the record, so a record is never stored unlisted; an index row whose record was not
 * stored (the create failed after it) is skipped by `list`. Requests stored before the index existed
 * are not listed (they are still read by id).
 */
import type { TableClient } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import { ConflictError, NotFoundError, UnprocessableError } from '../../domain/errors.js';
import type { Page, RemediationPollingStop, RemediationRecord, RemediationRepository } from '../../application/ports.js';
import { MAX_CHUNKED_CHARS } from './chunked-property.js';
import { remediationCodec, remediationIndexCodec } from './records/remediation-records.js';
import type { StoredRecordReader } from './records/stored-record-reader.js';
import { escapeKey, invertedTime } from './table-keys.js';
import { decodeContinuation, encodeContinuation, getEntityOrUndefined, isStatus, readPage, str, type TableStore } from './table-store.js';

/** Partition of the newest-first index (request ids are UUIDs, so no record has this key). */
const INDEX = 'index';
const indexRow = (record: Pick<RemediationRecord, 'id' | 'createdAt'>): string => `${invertedTime(record.createdAt)}|${escapeKey(record.id)}`;

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
    await this.table.upsertEntity({ partitionKey: INDEX, rowKey: indexRow(record), ...remediationIndexCodec.encode({ remediationId: record.id }) }, 'Replace');
    try {
      await this.table.createEntity({ partitionKey: key, rowKey: key, ...props });
    } catch (error) {
      if (isStatus(error, 409)) {
        // The stored request keeps its own index row; one for this refused request would list it twice.
        const stored = await this.get(record.id);
        if (stored?.createdAt !== record.createdAt) await this.table.deleteEntity(INDEX, indexRow(record)).catch(() => undefined);
        throw new ConflictError(`Remediation ${record.id} already exists.`, record.id);
      }
      throw error;
    }
  }

  async list(top: number, continuationToken?: string): Promise<Page<RemediationRecord>> {
    const page = await readPage(this.table, odata`PartitionKey eq ${INDEX}`, top, decodeContinuation(continuationToken));
    const records = await Promise.all(this.records.many(remediationIndexCodec, page.entities).map(async (row) => {
      // Listings leave unreadable records out (the reader reports them) rather than fail the page.
      const e = await getEntityOrUndefined(this.table, escapeKey(row.remediationId), escapeKey(row.remediationId));
      return e === undefined ? undefined : this.records.many(remediationCodec, [e])[0];
    }));
    return { items: records.filter((r): r is RemediationRecord => r !== undefined), continuationToken: encodeContinuation(page.continuationToken) };
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

/**
 * The audit log in the `audit` table: partition = inverted UTC day (`99999999 - yyyymmdd`), row =
 * `<inverted time>|<record id>`. Both sort newest first, so `list` is a plain paged read of the
 * table, newest day and newest record first, and a day is one partition (retention by partition).
 */
import type { TableClient } from '@azure/data-tables';
import type { AuditLog, AuditRecord, Page } from '../../application/ports.js';
import { escapeKey, invertedTime } from './table-keys.js';
import { decodeContinuation, encodeContinuation, readPage, type TableStore } from './table-store.js';
import { auditCodec } from './records/audit-records.js';
import type { StoredRecordReader } from './records/stored-record-reader.js';

export function auditPartition(at: string): string {
  const day = Number(new Date(at).toISOString().slice(0, 10).replaceAll('-', ''));
  return String(99_999_999 - day).padStart(8, '0');
}

export class TableAuditLog implements AuditLog {
  private readonly table: TableClient;
  private readonly records: StoredRecordReader;

  constructor(store: TableStore) {
    this.table = store.client('audit');
    this.records = store.records;
  }

  async append(record: AuditRecord): Promise<void> {
    await this.table.upsertEntity(
      { partitionKey: auditPartition(record.at), rowKey: `${invertedTime(record.at)}|${escapeKey(record.id)}`, ...auditCodec.encode(record) },
      'Replace',
    );
  }

  async list(top: number, continuationToken?: string): Promise<Page<AuditRecord>> {
    const page = await readPage(this.table, undefined, top, decodeContinuation(continuationToken));
    return { items: this.records.many(auditCodec, page.entities), continuationToken: encodeContinuation(page.continuationToken) };
  }
}

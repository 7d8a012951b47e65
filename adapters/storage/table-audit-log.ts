/**
 * The audit log in the `audit` table: partition = inverted UTC day (`99999999 - yyyymmdd`), row =
 * `<inverted time>|<record id>`. Both sort newest first, so `list` is a plain paged read of the
 * table, newest day and newest record first, and a day is one partition (retention by partition).
 */
import type { TableClient } from '@azure/data-tables';
import type { AuditLog, AuditRecord, Page } from '../../application/ports.js';
import { escapeKey, invertedTime } from './table-keys.js';
import { decodeContinuation, defined, encodeContinuation, readPage, reqStr, str, type TableStore } from './table-store.js';

export function auditPartition(at: string): string {
  const day = Number(new Date(at).toISOString().slice(0, 10).replaceAll('-', ''));
  return String(99_999_999 - day).padStart(8, '0');
}

const OUTCOMES: readonly AuditRecord['outcome'][] = ['succeeded', 'failed', 'denied'];

function fromEntity(e: Record<string, unknown>): AuditRecord {
  const outcome = reqStr(e, 'outcome');
  return {
    id: reqStr(e, 'id'),
    at: reqStr(e, 'at'),
    requestId: reqStr(e, 'requestId'),
    callerObjectId: str(e, 'callerObjectId'),
    callerAppId: str(e, 'callerAppId'),
    roles: JSON.parse(str(e, 'roles') ?? '[]') as string[],
    operation: reqStr(e, 'operation'),
    target: reqStr(e, 'target'),
    outcome: OUTCOMES.find((o) => o === outcome) ?? 'failed',
    detail: str(e, 'detail'),
  };
}

/** Audit detail is free text from the caller's side: bounded so a record always fits. */
const MAX_TEXT = 8_000;

export class TableAuditLog implements AuditLog {
  private readonly table: TableClient;

  constructor(store: TableStore) {
    this.table = store.client('audit');
  }

  async append(record: AuditRecord): Promise<void> {
    await this.table.upsertEntity(
      {
        partitionKey: auditPartition(record.at),
        rowKey: `${invertedTime(record.at)}|${escapeKey(record.id)}`,
        ...defined({
          id: record.id,
          at: record.at,
          requestId: record.requestId.slice(0, MAX_TEXT),
          callerObjectId: record.callerObjectId,
          callerAppId: record.callerAppId,
          roles: JSON.stringify(record.roles.slice(0, 50).map((r) => r.slice(0, 200))),
          operation: record.operation.slice(0, MAX_TEXT),
          target: record.target.slice(0, MAX_TEXT),
          outcome: record.outcome,
          detail: record.detail?.slice(0, MAX_TEXT),
        }),
      },
      'Replace',
    );
  }

  async list(top: number, continuationToken?: string): Promise<Page<AuditRecord>> {
    const page = await readPage(this.table, undefined, top, decodeContinuation(continuationToken));
    return { items: page.entities.map(fromEntity), continuationToken: encodeContinuation(page.continuationToken) };
  }
}

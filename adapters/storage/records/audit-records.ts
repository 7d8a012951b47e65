/** Stored shape of an audit record (`audit` table). Caller-side text is bounded so a record always fits. */
import type { AuditRecord } from '../../../application/stored-records.js';
import { defined } from '../table-store.js';
import { defineRecordCodec, jsonProp, type StoredEntity } from './record-codec.js';

/** Audit detail is free text from the caller's side: bounded so a record always fits. */
const MAX_TEXT = 8_000;
const text = { type: 'string' } as const;

export const auditCodec = defineRecordCodec<AuditRecord>({
  kind: 'audit-record',
  version: 1,
  schema: {
    type: 'object',
    required: ['id', 'at', 'requestId', 'roles', 'operation', 'target', 'outcome'],
    properties: {
      id: text,
      at: text,
      requestId: text,
      callerObjectId: text,
      callerAppId: text,
      roles: { type: 'array', items: text },
      operation: text,
      target: text,
      outcome: { enum: ['succeeded', 'failed', 'denied'] },
      detail: text,
    },
  },
  encode: (record) =>
    defined({
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
  readers: {
    1: (e: StoredEntity) => ({
      id: e['id'],
      at: e['at'],
      requestId: e['requestId'],
      callerObjectId: e['callerObjectId'],
      callerAppId: e['callerAppId'],
      roles: jsonProp(e, 'roles') ?? [],
      operation: e['operation'],
      target: e['target'],
      outcome: e['outcome'],
      detail: e['detail'],
    }),
  },
});

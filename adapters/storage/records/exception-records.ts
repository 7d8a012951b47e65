/** Stored shape of a control exception (`exceptions` table: the record row and its expiry row hold the same). */
import type { ControlException } from '../../../domain/model.js';
import { defineRecordCodec, type StoredEntity } from './record-codec.js';

const text = { type: 'string' } as const;
const FIELDS = ['id', 'controlId', 'scope', 'justification', 'ticket', 'createdBy', 'createdAt', 'expiresAt'] as const;

export const exceptionCodec = defineRecordCodec<ControlException>({
  kind: 'exception',
  version: 1,
  schema: { type: 'object', required: [...FIELDS], properties: Object.fromEntries(FIELDS.map((f) => [f, text])) },
  encode: (e) => ({
    id: e.id,
    controlId: e.controlId,
    scope: e.scope,
    justification: e.justification,
    ticket: e.ticket,
    createdBy: e.createdBy,
    createdAt: e.createdAt,
    expiresAt: e.expiresAt,
  }),
  readers: {
    1: (e: StoredEntity) => Object.fromEntries(FIELDS.map((f) => [f, e[f]])),
  },
});

/**
 * Stored shape of a ServiceNow watermark (`servicenowwatermarks`): the evaluation time of the newest
 * compliance change applied to one ServiceNow correlation id (the keys say which).
 */
import { defineRecordCodec, type StoredEntity } from './record-codec.js';

export interface ServiceNowWatermarkRecord {
  /** ISO time of the evaluation whose change was applied last. */
  readonly evaluatedAt: string;
}

export const serviceNowWatermarkCodec = defineRecordCodec<ServiceNowWatermarkRecord>({
  kind: 'servicenow-watermark',
  version: 1,
  schema: { type: 'object', required: ['evaluatedAt'], properties: { evaluatedAt: { type: 'string', minLength: 1 } } },
  encode: (w) => ({ evaluatedAt: w.evaluatedAt }),
  readers: { 1: (e: StoredEntity) => ({ evaluatedAt: e['evaluatedAt'] }) },
});

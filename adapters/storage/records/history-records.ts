/** Stored shape of a history entry (`history<yyyymm>` tables): statuses and drift of one cluster in one run. */
import type { ClusterHistoryEntry } from '../../../application/stored-records.js';
import { defineRecordCodec, jsonProp, numberProp, type StoredEntity } from './record-codec.js';

const text = { type: 'string' } as const;
const controlStatus = { enum: ['pass', 'fail', 'unknown', 'not_applicable', 'exempt'] } as const;

export const historyCodec = defineRecordCodec<ClusterHistoryEntry>({
  kind: 'history-entry',
  version: 1,
  schema: {
    type: 'object',
    required: ['clusterId', 'runId', 'evaluatedAt', 'score', 'statuses', 'drift'],
    properties: {
      clusterId: text,
      runId: text,
      evaluatedAt: text,
      score: { type: 'number' },
      statuses: { type: 'object', additionalProperties: controlStatus },
      drift: { type: 'array', items: { type: 'object', required: ['controlId', 'from', 'to'], properties: { controlId: text, from: controlStatus, to: controlStatus } } },
    },
  },
  encode: (entry) => ({
    clusterId: entry.clusterId,
    runId: entry.runId,
    evaluatedAt: entry.evaluatedAt,
    score: entry.score,
    statuses: JSON.stringify(entry.statuses),
    drift: JSON.stringify(entry.drift),
  }),
  readers: {
    1: (e: StoredEntity) => ({
      clusterId: e['clusterId'],
      runId: e['runId'],
      evaluatedAt: e['evaluatedAt'],
      score: numberProp(e, 'score'),
      statuses: jsonProp(e, 'statuses'),
      drift: jsonProp(e, 'drift'),
    }),
  },
});

/**
 * Stored shape of a remediation request (`remediations` table). Cluster ids and tasks are chunked JSON
 * (up to 1000 clusters); a task stores its clusters as a range of `clusterIds`. `pollingStoppedAt` /
 * `pollingStoppedReason` are merged in when the completion checks give up.
 */
import type { RemediationRecord } from '../../../application/stored-records.js';
import { writeChunks } from '../chunked-property.js';
import { chunkedJsonProp, defineRecordCodec, type StoredEntity } from './record-codec.js';

const text = { type: 'string' } as const;
const count = { type: 'integer', minimum: 0 } as const;

/**
 * Version 2 writes the same record as version 1; it came with the `index` rows (below), which a
 * release that never wrote them must not be mistaken for having written.
 */
export const remediationCodec = defineRecordCodec<RemediationRecord>({
  kind: 'remediation',
  version: 2,
  schema: {
    type: 'object',
    required: ['id', 'controlId', 'requestedBy', 'createdAt', 'clusterIds', 'tasks'],
    properties: {
      id: text,
      controlId: text,
      requestedBy: text,
      createdAt: text,
      clusterIds: { type: 'array', items: text },
      tasks: {
        type: 'array',
        items: {
          type: 'object',
          required: ['subscriptionId'],
          properties: {
            subscriptionId: text,
            armId: text,
            error: text,
            clusters: { type: 'object', required: ['offset', 'count'], properties: { offset: count, count } },
          },
        },
      },
      pollingStopped: { type: 'object', required: ['at', 'reason'], properties: { at: text, reason: text } },
    },
  },
  /** Sizes are checked by the repository before it writes (a request too large is refused, not cut). */
  encode: (record) => ({
    id: record.id,
    controlId: record.controlId,
    requestedBy: record.requestedBy,
    createdAt: record.createdAt,
    ...writeChunks('clusterIds', JSON.stringify(record.clusterIds)),
    ...writeChunks(
      'tasks',
      JSON.stringify(
        record.tasks.map((t) => ({
          subscriptionId: t.subscriptionId,
          armId: t.armId ?? null,
          ...(t.error !== undefined ? { error: t.error } : {}),
          ...(t.clusters !== undefined ? { clusters: { offset: t.clusters.offset, count: t.clusters.count } } : {}),
        })),
      ),
    ),
  }),
  readers: {
    1: readRecord,
    2: readRecord,
  },
});

/** A newest-first index row (`index` partition, `<inverted createdAt>|<escaped id>`): the request's id. */
export const remediationIndexCodec = defineRecordCodec<{ readonly remediationId: string }>({
  kind: 'remediation-index',
  version: 1,
  schema: { type: 'object', required: ['remediationId'], properties: { remediationId: text } },
  encode: (row) => ({ remediationId: row.remediationId }),
  readers: { 1: (e: StoredEntity) => ({ remediationId: e['remediationId'] }) },
});

/** Versions 1 and 2 store the record alike. */
function readRecord(e: StoredEntity): unknown {
  const tasks = chunkedJsonProp(e, 'tasks');
  const stoppedAt = e['pollingStoppedAt'];
  return {
    id: e['id'],
    controlId: e['controlId'],
    requestedBy: e['requestedBy'],
    createdAt: e['createdAt'],
    clusterIds: chunkedJsonProp(e, 'clusterIds'),
    // A task that could not be started is stored with `armId: null`.
    tasks: Array.isArray(tasks)
      ? tasks.map((t: unknown) => {
          if (typeof t !== 'object' || t === null) return t;
          const r = t as Record<string, unknown>;
          return {
            subscriptionId: r['subscriptionId'],
            armId: r['armId'] === null ? undefined : r['armId'],
            ...(r['error'] !== undefined ? { error: r['error'] } : {}),
            ...(r['clusters'] !== undefined && r['clusters'] !== null ? { clusters: r['clusters'] } : {}),
          };
        })
      : tasks,
    ...(stoppedAt !== undefined ? { pollingStopped: { at: stoppedAt, reason: e['pollingStoppedReason'] ?? '' } } : {}),
  };
}

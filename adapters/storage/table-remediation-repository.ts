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
import type { RemediationPollingStop, RemediationRecord, RemediationRepository, RemediationTaskRecord } from '../../application/ports.js';
import { MAX_CHUNKED_CHARS, readChunks, writeChunks } from './chunked-property.js';
import { escapeKey } from './table-keys.js';
import { getEntityOrUndefined, isStatus, reqStr, str, type TableStore } from './table-store.js';

type Task = RemediationTaskRecord;

function parseJson(entity: Readonly<Record<string, unknown>>, name: string): unknown {
  const text = readChunks(entity, name);
  if (text === undefined) throw new Error(`remediation entity lacks ${name}`);
  return JSON.parse(text) as unknown;
}

function isString(v: unknown): v is string {
  return typeof v === 'string';
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function parseClusters(value: unknown): Task['clusters'] {
  if (value === undefined || value === null) return undefined;
  const r = (typeof value === 'object' ? value : {}) as Record<string, unknown>;
  if (!isCount(r['offset']) || !isCount(r['count'])) throw new Error('remediation task clusters are not an offset and a count');
  return { offset: r['offset'], count: r['count'] };
}

function parseTasks(value: unknown): Task[] {
  if (!Array.isArray(value)) throw new Error('remediation tasks are not an array');
  return value.map((t: unknown): Task => {
    const r = (typeof t === 'object' && t !== null ? t : {}) as Record<string, unknown>;
    if (!isString(r['subscriptionId'])) throw new Error('remediation task lacks subscriptionId');
    const clusters = parseClusters(r['clusters']);
    return {
      subscriptionId: r['subscriptionId'],
      armId: isString(r['armId']) ? r['armId'] : undefined,
      ...(isString(r['error']) ? { error: r['error'] } : {}),
      ...(clusters !== undefined ? { clusters } : {}),
    };
  });
}

function fromEntity(e: Record<string, unknown>): RemediationRecord {
  const clusterIds = parseJson(e, 'clusterIds');
  if (!Array.isArray(clusterIds) || !clusterIds.every(isString)) throw new Error('remediation clusterIds are not strings');
  const stoppedAt = str(e, 'pollingStoppedAt');
  return {
    id: reqStr(e, 'id'),
    controlId: reqStr(e, 'controlId'),
    requestedBy: reqStr(e, 'requestedBy'),
    createdAt: reqStr(e, 'createdAt'),
    clusterIds,
    tasks: parseTasks(parseJson(e, 'tasks')),
    ...(stoppedAt !== undefined ? { pollingStopped: { at: stoppedAt, reason: str(e, 'pollingStoppedReason') ?? '' } } : {}),
  };
}

export class TableRemediationRepository implements RemediationRepository {
  private readonly table: TableClient;

  constructor(store: TableStore) {
    this.table = store.client('remediations');
  }

  async create(record: RemediationRecord): Promise<void> {
    const clusterIds = JSON.stringify(record.clusterIds);
    const tasks = JSON.stringify(
      record.tasks.map((t) => ({
        subscriptionId: t.subscriptionId,
        armId: t.armId ?? null,
        ...(t.error !== undefined ? { error: t.error } : {}),
        ...(t.clusters !== undefined ? { clusters: { offset: t.clusters.offset, count: t.clusters.count } } : {}),
      })),
    );
    if (clusterIds.length + tasks.length > MAX_CHUNKED_CHARS) {
      throw new UnprocessableError('LimitExceeded', 'Too many clusters for one remediation request; pass fewer clusterIds per request.', 'clusterIds');
    }
    const key = escapeKey(record.id);
    try {
      await this.table.createEntity({
        partitionKey: key,
        rowKey: key,
        id: record.id,
        controlId: record.controlId,
        requestedBy: record.requestedBy,
        createdAt: record.createdAt,
        ...writeChunks('clusterIds', clusterIds),
        ...writeChunks('tasks', tasks),
      });
    } catch (error) {
      if (isStatus(error, 409)) throw new ConflictError(`Remediation ${record.id} already exists.`, record.id);
      throw error;
    }
  }

  async get(id: string): Promise<RemediationRecord | undefined> {
    const key = escapeKey(id);
    const e = await getEntityOrUndefined(this.table, key, key);
    return e === undefined ? undefined : fromEntity(e);
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

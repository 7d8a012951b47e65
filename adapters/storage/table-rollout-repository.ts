/**
 * Rollouts in Table Storage, one table (`rollouts`):
 * - the record: PK = rollout id, RK = `rollout`, the JSON body in chunked properties;
 * - its event log: same PK, RK = `event-<seq, 10 digits>`, append-only (`create`, never replaced);
 * - the active-rollout lock of an assignment: PK = `lock`, RK = the lower-cased assignment id, with
 *   the holder's id and `claimedAt`. The lock is claimed BEFORE the holder's record is created, so a
 *   holder without a record is a create in progress: it keeps the lock for `claimGraceSeconds`, and
 *   only after that counts as a create that died (the lock may be taken over).
 *
 * A transition is ONE entity-group transaction (record replaced with its ETag + events created), so
 * the events exist exactly when the record that counts them does, and a concurrent writer's
 * transition fails whole (`PreconditionFailedError`) — it reloads and re-decides.
 * Rollout ids sort newest first (see `newRolloutId`), so listing follows partition order.
 *
 * Every entity is read through its codec (`records/rollout-records.ts`). A record that fails
 * validation is reported and: left out of listings and of the active rollouts; a typed
 * `StoredRecordInvalidError` where one rollout is read or its assignment is claimed (an unreadable
 * holder could still be active, so its lock is never taken over); an event that fails is left out of
 * the log (the record, which counts the events, stays authoritative).
 */
import { TableClient, type TableEntity, type TransactionAction } from '@azure/data-tables';
import type { Page, RolloutRepository, StoredRollout } from '../../application/ports.js';
import { ConflictError, PreconditionFailedError } from '../../domain/errors.js';
import { ACTIVE_ROLLOUT_STATES, type Rollout, type RolloutEvent } from '../../domain/rollout-model.js';
import { rolloutCodec, rolloutEventCodec, rolloutLockCodec } from './records/rollout-records.js';
import { storedRecordReader, type StoredRecordReader } from './records/stored-record-reader.js';
import { escapeKey, invertedTime, joinKey } from './table-keys.js';
import { decodeContinuation, encodeContinuation, getEntityOrUndefined, isStatus, readAll, readPage, type TableStorageConnection } from './table-store.js';

export const ROLLOUTS_TABLE = 'rollouts';
const RECORD_ROW = 'rollout';
const LOCK_PARTITION = 'lock';
/** How long a lock whose holder has no record yet (a create in progress) is respected. */
export const DEFAULT_CLAIM_GRACE_SECONDS = 300;

/** Sortable, URL-safe rollout id: newest first in partition order, unique by its random suffix. */
export function newRolloutId(now: Date, random: string): string {
  return `ro-${invertedTime(now)}-${random.replace(/[^A-Za-z0-9]/g, '').slice(0, 12).toLowerCase()}`;
}

const eventRow = (seq: number): string => `event-${String(seq).padStart(10, '0')}`;

function isTransactionStatus(error: unknown, status: number): boolean {
  if (isStatus(error, status)) return true;
  // Azurite and the service report a failed batch operation's status in the error details.
  const e = error as { statusCode?: unknown; response?: { status?: unknown }; code?: unknown } | null;
  if (e?.response?.status === status) return true;
  const code = typeof e?.code === 'string' ? e.code : '';
  return (status === 412 && /UpdateConditionNotSatisfied|ConditionNotMet/i.test(code)) || (status === 409 && /EntityAlreadyExists/i.test(code));
}

export class TableRolloutRepository implements RolloutRepository {
  private constructor(
    private readonly table: TableClient,
    private readonly claimGraceMs: number,
    private readonly records: StoredRecordReader,
    private readonly now: () => Date,
  ) {}

  /** Opens (and creates) the table with the same connection and prefix as the other repositories. */
  static async open(connection: TableStorageConnection, options: {
      readonly tablePrefix?: string;
      readonly claimGraceSeconds?: number;
      readonly records?: StoredRecordReader;
      /** When a lock is claimed and how old it is (tests pass a fixed time); default the system clock. */
      readonly now?: () => Date;
    } = {},): Promise<TableRolloutRepository> {
    const prefix = options.tablePrefix ?? '';
    if (!/^[A-Za-z0-9]*$/.test(prefix)) throw new Error('tablePrefix must be alphanumeric');
    const name = `${prefix}${ROLLOUTS_TABLE}`;
    const insecure =
      'connectionString' in connection
        ? /UseDevelopmentStorage=true|DefaultEndpointsProtocol=http(?!s)|TableEndpoint=http:/i.test(connection.connectionString)
        : connection.tableServiceUri.startsWith('http:');
    const client =
      'connectionString' in connection
        ? TableClient.fromConnectionString(connection.connectionString, name, { allowInsecureConnection: insecure })
        : new TableClient(connection.tableServiceUri.replace(/\/+$/, ''), name, connection.credential, { allowInsecureConnection: insecure });
    await client.createTable();
    return new TableRolloutRepository(client, (options.claimGraceSeconds ?? DEFAULT_CLAIM_GRACE_SECONDS) * 1000, options.records ?? storedRecordReader, options.now ?? (() => new Date()));
  }

  private recordEntity(rollout: Rollout): TableEntity {
    return { partitionKey: escapeKey(rollout.id), rowKey: RECORD_ROW, ...rolloutCodec.encode(rollout) };
  }

  private eventEntities(rollout: Rollout, events: readonly RolloutEvent[]): TransactionAction[] {
    return events.map((e): TransactionAction => ['create', { partitionKey: escapeKey(rollout.id), rowKey: eventRow(e.seq), ...rolloutEventCodec.encode(e) }]);
  }

  async claimAssignment(policyAssignmentId: string, rolloutId: string, isActive: (rolloutId: string) => Promise<boolean>): Promise<void> {
    const rowKey = joinKey(policyAssignmentId.toLowerCase());
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const lock = await getEntityOrUndefined(this.table, LOCK_PARTITION, rowKey);
      const claim = { partitionKey: LOCK_PARTITION, rowKey, ...rolloutLockCodec.encode({ rolloutId, policyAssignmentId, claimedAt: this.now().toISOString() }) };
      if (lock === undefined) {
        try {
          await this.table.createEntity(claim);
          return;
        } catch (error) {
          if (isStatus(error, 409)) continue;
          throw error;
        }
      }
      const held = this.records.one(rolloutLockCodec, lock);
      const holder = held.rolloutId;
      if (holder === rolloutId) return;
      if ((await this.get(holder)) === undefined) {
        // No record yet: the holder's create is between claiming and storing. Older locks without
        // `claimedAt` predate this rule and count as abandoned.
        const claimedAt = held.claimedAt !== undefined ? Date.parse(held.claimedAt) : Number.NaN;
        if (Number.isFinite(claimedAt) && this.now().getTime() - claimedAt < this.claimGraceMs) {
          throw new ConflictError(`Rollout ${holder} of this policy assignment is being created.`, policyAssignmentId);
        }
      } else if (await isActive(holder)) {
        throw new ConflictError(`Rollout ${holder} of this policy assignment is still active.`, policyAssignmentId);
      }
      try {
        await this.table.updateEntity(claim, 'Replace', { etag: String(lock['etag']) });
        return;
      } catch (error) {
        if (isStatus(error, 412)) continue;
        throw error;
      }
    }
    throw new ConflictError('Another rollout of this policy assignment is being created.', policyAssignmentId);
  }

  async create(rollout: Rollout, events: readonly RolloutEvent[]): Promise<string> {
    try {
      await this.table.submitTransaction([['create', this.recordEntity(rollout)], ...this.eventEntities(rollout, events)]);
    } catch (error) {
      if (isTransactionStatus(error, 409)) throw new ConflictError(`Rollout ${rollout.id} already exists.`, rollout.id);
      throw error;
    }
    const stored = await this.get(rollout.id);
    return stored?.etag ?? '';
  }

  async get(rolloutId: string): Promise<StoredRollout | undefined> {
    const entity = await getEntityOrUndefined(this.table, escapeKey(rolloutId), RECORD_ROW);
    if (entity === undefined) return undefined;
    return { rollout: this.records.one(rolloutCodec, entity), etag: String(entity['etag']) };
  }

  async save(rollout: Rollout, events: readonly RolloutEvent[], etag: string): Promise<string> {
    try {
      await this.table.submitTransaction([['update', this.recordEntity(rollout), 'Replace', { etag }], ...this.eventEntities(rollout, events)]);
    } catch (error) {
      // A stale ETag, or events another writer already appended: either way the record moved on.
      if (isTransactionStatus(error, 412) || isTransactionStatus(error, 409)) {
        throw new PreconditionFailedError(`Rollout ${rollout.id} was changed concurrently.`, rollout.id);
      }
      throw error;
    }
    const stored = await this.get(rollout.id);
    return stored?.etag ?? '';
  }

  async list(top: number, continuationToken?: string): Promise<Page<Rollout>> {
    const page = await readPage(this.table, `RowKey eq '${RECORD_ROW}'`, top, decodeContinuation(continuationToken));
    const items = this.records.many(rolloutCodec, page.entities);
    return { items, continuationToken: encodeContinuation(page.continuationToken) };
  }

  /** Active rollouts: the holders of the assignment locks (one small partition), filtered to active states. */
  async listActive(): Promise<StoredRollout[]> {
    const locks = this.records.many(rolloutLockCodec, await readAll(this.table, `PartitionKey eq '${LOCK_PARTITION}'`));
    const holders = [...new Set(locks.map((l) => l.rolloutId))];
    const out: StoredRollout[] = [];
    for (const holder of holders) {
      const entity = await getEntityOrUndefined(this.table, escapeKey(holder), RECORD_ROW);
      // An unreadable holder is reported and left out: the sweep cannot step a record it cannot read.
      const rollout = entity === undefined ? undefined : this.records.check(rolloutCodec, entity);
      if (rollout !== undefined && entity !== undefined && (ACTIVE_ROLLOUT_STATES as readonly string[]).includes(rollout.state)) out.push({ rollout, etag: String(entity['etag']) });
    }
    return out;
  }

  async events(rolloutId: string): Promise<RolloutEvent[]> {
    const pk = escapeKey(rolloutId).replace(/'/g, "''");
    const entities = await readAll(this.table, `PartitionKey eq '${pk}' and RowKey ge 'event-' and RowKey lt 'event.'`);
    return this.records.many(rolloutEventCodec, entities).sort((a, b) => a.seq - b.seq);
  }
}

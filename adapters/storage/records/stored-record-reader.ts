/**
 * Reads entities through their codecs and reports the ones that fail: each is logged with its kind,
 * partition and row keys and the validation messages (never the stored values), counted, and shown by
 * `GET /api/health` (`stored-records`, `degraded`) while it stays unreadable. Listings leave such a
 * record out ({@link StoredRecordReader.many}); where one record was asked for, the caller gets a
 * typed `StoredRecordInvalidError` ({@link StoredRecordReader.one}).
 *
 * State is per process (per instance of the app), like the instance's logs: one instance reports
 * what it read. {@link storedRecordReader} is the instance the app uses; tests make their own.
 */
import { StoredRecordInvalidError } from '../../../domain/errors.js';
import type { RecordCodec, StoredEntity } from './record-codec.js';
import { consoleLogger, type Logger } from '../../../application/logger.js';

export interface StoredRecordHealth {
  /** Distinct records that failed within the window and were not read successfully since. */
  readonly invalidRecords: number;
  /** The same, per record kind. */
  readonly byKind: Readonly<Record<string, number>>;
  /** Every failed read since the process started (a record read often counts often). */
  readonly failedReads: number;
}

export interface StoredRecordReaderOptions {
  readonly log?: Logger;
  /** Milliseconds since the epoch; tests pass a fake clock. */
  readonly now?: () => number;
  /** How long a failed record keeps `GET /api/health` degraded after it was last read (default 24 h). */
  readonly windowMs?: number;
}

/** A failed record that keeps being read is logged again at most this often. */
const LOG_INTERVAL_MS = 3_600_000;
/** Distinct failed records remembered (the oldest is forgotten first); the count says "at least" beyond. */
const MAX_TRACKED = 1000;
export const DEFAULT_STORED_RECORD_WINDOW_MS = 24 * 3_600_000;

interface Tracked {
  readonly kind: string;
  lastSeen: number;
  loggedAt: number;
}

function keysOf(entity: StoredEntity): { partitionKey: string; rowKey: string } {
  const pk = entity['partitionKey'];
  const rk = entity['rowKey'];
  return { partitionKey: typeof pk === 'string' ? pk : '?', rowKey: typeof rk === 'string' ? rk : '?' };
}

export class StoredRecordReader {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly invalid = new Map<string, Tracked>();
  private failedReads = 0;

  constructor(options: StoredRecordReaderOptions = {}) {
    this.log = options.log ?? consoleLogger;
    this.now = options.now ?? Date.now;
    this.windowMs = options.windowMs ?? DEFAULT_STORED_RECORD_WINDOW_MS;
  }

  /** The record; a `StoredRecordInvalidError` (reported) when the entity is not one. */
  one<T>(codec: RecordCodec<T>, entity: StoredEntity): T {
    const result = codec.decode(entity);
    if (result.ok) {
      this.readable(codec, entity);
      return result.value;
    }
    this.report(codec.kind, entity, result.version, result.reasons);
    throw new StoredRecordInvalidError(codec.kind, keysOf(entity), result.reasons);
  }

  /** The record, or undefined (reported) when the entity is not one. */
  check<T>(codec: RecordCodec<T>, entity: StoredEntity): T | undefined {
    const result = codec.decode(entity);
    if (result.ok) {
      this.readable(codec, entity);
      return result.value;
    }
    this.report(codec.kind, entity, result.version, result.reasons);
    return undefined;
  }

  /** The records of a listing, in order; entities that are not records are reported and left out. */
  many<T>(codec: RecordCodec<T>, entities: readonly StoredEntity[]): T[] {
    const out: T[] = [];
    for (const entity of entities) {
      const value = this.check(codec, entity);
      if (value !== undefined) out.push(value);
    }
    return out;
  }

  health(): StoredRecordHealth {
    const since = this.now() - this.windowMs;
    const byKind: Record<string, number> = {};
    let invalidRecords = 0;
    for (const [key, t] of this.invalid) {
      if (t.lastSeen < since) {
        this.invalid.delete(key);
        continue;
      }
      invalidRecords += 1;
      byKind[t.kind] = (byKind[t.kind] ?? 0) + 1;
    }
    return { invalidRecords, byKind, failedReads: this.failedReads };
  }

  private report(kind: string, entity: StoredEntity, version: unknown, reasons: readonly string[]): void {
    const keys = keysOf(entity);
    const id = `${kind}\u0000${keys.partitionKey}\u0000${keys.rowKey}`;
    const now = this.now();
    this.failedReads += 1;
    const tracked = this.invalid.get(id);
    if (tracked !== undefined) {
      tracked.lastSeen = now;
      if (now - tracked.loggedAt < LOG_INTERVAL_MS) return;
      tracked.loggedAt = now;
    } else {
      if (this.invalid.size >= MAX_TRACKED) {
        const oldest = this.invalid.keys().next();
        if (oldest.done !== true) this.invalid.delete(oldest.value);
      }
      this.invalid.set(id, { kind, lastSeen: now, loggedAt: now });
    }
    this.log.warn('stored record failed validation and was not used', { kind, ...keys, schemaVersion: version ?? null, reasons });
  }

  /** A record read successfully again (repaired or rewritten) no longer degrades health. */
  private readable(codec: { readonly kind: string; readonly projection: boolean }, entity: StoredEntity): void {
    // Some columns read fine say nothing about the others (a damaged evaluation next to good list columns).
    if (this.invalid.size === 0 || codec.projection) return;
    const kind = codec.kind;
    const keys = keysOf(entity);
    this.invalid.delete(`${kind}\u0000${keys.partitionKey}\u0000${keys.rowKey}`);
  }
}

/** The app's reader (one per process): the Table adapters use it unless given another. */
export const storedRecordReader = new StoredRecordReader();

/**
 * The `stored-records` check of `GET /api/health` (shaped like the HTTP adapter's `HealthCheck`):
 * `degraded`, with the count, while records that failed validation are being read.
 */
export function storedRecordsHealthCheck(reader: StoredRecordReader): {
  readonly name: string;
  check(): Promise<{ readonly status?: 'degraded'; readonly count?: number; readonly detail: string }>;
} {
  return {
    name: 'stored-records',
    check: async () => {
      const health = reader.health();
      if (health.invalidRecords === 0) return { detail: 'no invalid stored record read in the last 24 h' };
      const kinds = Object.entries(health.byKind)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([kind, n]) => `${kind}: ${n}`)
        .join(', ');
      return {
        status: 'degraded',
        count: health.invalidRecords,
        // Kinds and counts only: this endpoint is anonymous, the keys are in the logs.
        detail: `${health.invalidRecords} stored record(s) failed validation in the last 24 h (${kinds}); they are left out of listings. Their keys are in the logs.`,
      };
    },
  };
}

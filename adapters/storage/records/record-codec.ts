/**
 * Stored record codecs: the one place per stored entity kind that says how a record is written and how
 * it is read back. Every entity the app writes carries `schemaVersion`; a codec reads each version it
 * knows into the current shape and validates the result with ajv against the kind's JSON Schema before
 * any caller sees it, so a damaged record, or one written by a newer release in a shape this release
 * cannot read, is refused here instead of breaking a caller later.
 *
 * Entities written before versions existed have no `schemaVersion`: they are version 1.
 *
 * How a shape changes (docs/data-model.md, "Stored record versions"): an encoder change that a reader
 * of the current version cannot read bumps `version`, and the previous version keeps a reader that
 * returns the new shape (a migration on read). The frozen fixtures under `test/fixtures/stored-records/`
 * prove every version ever written is still read.
 */
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { readChunks } from '../chunked-property.js';
import { recordValidator } from './record-validator.js';

/** Entity property holding the version of the shape the entity was written in. */
export const SCHEMA_VERSION = 'schemaVersion';

/** The version of entities written before versions existed. */
export const UNVERSIONED = 1;

/** An entity as the Table SDK returns it: unknown-valued properties, keys included. */
export type StoredEntity = Readonly<Record<string, unknown>>;

/** Thrown by a reader when a property cannot even be turned into a value (not JSON, chunks missing). */
export class UnreadablePropertyError extends Error {}

export type DecodeResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly version: unknown; readonly reasons: readonly string[] };

export interface RecordCodec<T> {
  /** Stable name of the kind (logs, `GET /api/health`, the fixture folder). */
  readonly kind: string;
  /** The version `encode` writes. */
  readonly version: number;
  /** True for a codec of some columns of an entity (a `$select` read): reading it says nothing about the rest. */
  readonly projection: boolean;
  /** The entity properties of a record (keys excluded), `schemaVersion` included. */
  encode(record: T): Record<string, unknown>;
  /** The record, or why the entity is not one (no exception). */
  decode(entity: StoredEntity): DecodeResult<T>;
}

export interface RecordCodecSpec<T> {
  readonly kind: string;
  readonly version: number;
  /** A codec of some columns only (see {@link RecordCodec.projection}); such a codec never writes (`encode` unused). */
  readonly projection?: boolean;
  /** JSON Schema (2020-12) of the record in its current shape, as the application sees it. */
  readonly schema: Readonly<Record<string, unknown>>;
  /** Properties of the current version, without `schemaVersion` (the codec adds it). */
  encode(record: T): Record<string, unknown>;
  /**
   * One reader per version ever written, each returning the CURRENT shape (validated afterwards).
   * A reader may throw {@link UnreadablePropertyError}; anything else it returns is checked by the schema.
   */
  readonly readers: Readonly<Record<number, (entity: StoredEntity) => unknown>>;
}

// Stored shapes are checked for structure (types, required fields, enumerations), never for formats:
// refusing a record the app itself wrote would hide real data, so a schema says no more than the
// writers guarantee, and the frozen fixtures hold every shape ever written against it.
// Each validator is made on the first decode (`record-validator.ts`: compiled by ajv, or taken from the
// code the deployment bundle generated at build time): an instance that never reads a kind makes none.

const defined: Readonly<Record<string, unknown>>[] = [];

/** The schema of every codec defined in this process so far (the build compiles them ahead of time). */
export function definedRecordSchemas(): readonly Readonly<Record<string, unknown>>[] {
  return defined;
}

function describe(errors: readonly ErrorObject[] | null | undefined): string[] {
  // Paths and messages only: a stored value may be a secret (protected webhook secrets) or personal data.
  return (errors ?? []).slice(0, 10).map((e) => `${e.instancePath === '' ? '(record)' : e.instancePath} ${e.message ?? e.keyword}`);
}

/** Builds the codec of one kind; compiles its schema once. */
export function defineRecordCodec<T>(spec: RecordCodecSpec<T>): RecordCodec<T> {
  if (spec.readers[spec.version] === undefined) throw new Error(`${spec.kind}: no reader for the version it writes (${spec.version})`);
  if (spec.readers[UNVERSIONED] === undefined) throw new Error(`${spec.kind}: no reader for version 1 (entities without ${SCHEMA_VERSION})`);
  defined.push(spec.schema);
  let compiled: ValidateFunction<T> | undefined;
  const validate = (value: unknown): value is T => {
    compiled ??= recordValidator<T>(spec.schema);
    return compiled(value);
  };
  return {
    kind: spec.kind,
    version: spec.version,
    projection: spec.projection === true,
    encode: (record) => ({ ...spec.encode(record), [SCHEMA_VERSION]: spec.version }),
    decode: (entity) => {
      const raw = entity[SCHEMA_VERSION];
      const version = raw === undefined || raw === null ? UNVERSIONED : raw;
      const reader = typeof version === 'number' && Number.isInteger(version) ? spec.readers[version] : undefined;
      if (reader === undefined) {
        const known = Object.keys(spec.readers).join(', ');
        return { ok: false, version, reasons: [`${SCHEMA_VERSION} ${String(version)} is not one this release reads (${known})`] };
      }
      let candidate: unknown;
      try {
        candidate = reader(entity);
      } catch (error) {
        if (!(error instanceof UnreadablePropertyError)) throw error;
        return { ok: false, version, reasons: [error.message] };
      }
      return validate(candidate) ? { ok: true, value: candidate } : { ok: false, version, reasons: describe(compiled?.errors) };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// What readers use to turn properties into values; whatever they return is validated afterwards.
// ---------------------------------------------------------------------------------------------

/** A number property as a number (Int64 comes back as a string or `{ value }`); anything else as it is. */
export function numberProp(entity: StoredEntity, name: string): unknown {
  const v = entity[name];
  if (typeof v === 'string' && v !== '' && Number.isFinite(Number(v))) return Number(v);
  if (typeof v === 'object' && v !== null && 'value' in v) {
    const n = Number((v).value);
    return Number.isFinite(n) ? n : v;
  }
  return v;
}

/** A JSON text property, parsed; undefined when absent. */
export function jsonProp(entity: StoredEntity, name: string): unknown {
  const v = entity[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new UnreadablePropertyError(`/${name} is not a JSON text`);
  return parseJson(v, name);
}

export function parseJson(text: string, name: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UnreadablePropertyError(`/${name} is not valid JSON`);
  }
}

/** A JSON value chunked over `<name>_0..n` (see `chunked-property.ts`), parsed; undefined when absent. */
export function chunkedJsonProp(entity: StoredEntity, name: string): unknown {
  if (entity[`${name}_n`] === undefined) return undefined;
  const text = readChunks(entity, name);
  if (text === undefined) throw new UnreadablePropertyError(`/${name}_0..n are not complete chunks`);
  return parseJson(text, name);
}

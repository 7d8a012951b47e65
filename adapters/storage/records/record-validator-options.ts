/**
 * What the run-time compiler of stored-record validators (`record-validator.ts`) and the build-time
 * one (`infra/scripts/validators-aot.ts`) share: the ajv options, and the key a schema's build-time
 * validator is found by.
 */
import { createHash } from 'node:crypto';

/** Structure only (types, required fields, enumerations): see `record-codec.ts`. */
export const RECORD_AJV_OPTIONS = Object.freeze({ strict: true, allErrors: true, allowUnionTypes: true });

/**
 * A hash of the schema's JSON. Kinds are not unique (a kind's projections have schemas of their own),
 * and a changed schema gets a new key, so a validator compiled from another schema is never used.
 */
export function recordSchemaKey(schema: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(JSON.stringify(schema)).digest('base64url').slice(0, 22);
}

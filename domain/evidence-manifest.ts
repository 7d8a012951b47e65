/**
 * Evidence bundles: blob names, the run manifest and the hash chain that makes past runs
 * tamper-evident. Pure: the evidence service reads and writes blobs, this module decides names,
 * serialized bytes and what counts as a problem.
 *
 * Layout in the evidence container (an auditor needs nothing but read access to it):
 * - `runs/<runId>/subscriptions/<subscriptionId>.ndjson.gz`: what one subscription's clusters were
 *   judged on, one JSON record per line, gzipped;
 * - `manifests/<sequence>-<runId>.manifest.json`: written once per run when it finalizes; lists every
 *   blob of the run with its size and SHA-256, names the subscriptions whose evidence was not
 *   collected, and carries the SHA-256 of the previous manifest (sequence − 1). The sequence is
 *   zero-padded, so a plain listing of `manifests/` is in chain order.
 *
 * Changing a subscription blob changes its SHA-256 (its manifest no longer matches); changing,
 * removing or reordering a manifest breaks the link the next manifest holds.
 */
import { createHash } from 'node:crypto';

/** The `schema` of every manifest this module writes. */
export const MANIFEST_SCHEMA = 'arc-compliance/evidence-manifest@1';
/** Width of the zero-padded sequence in manifest names (ten digits: decades of runs). */
const SEQUENCE_WIDTH = 10;
/** Run ids as the service mints them (UUIDs) and as they appear in blob names. */
const RUN_ID = /^[0-9A-Za-z][0-9A-Za-z-]{0,63}$/;
const SUBSCRIPTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MANIFEST_NAME = /^manifests\/(\d{10})-([0-9A-Za-z][0-9A-Za-z-]{0,63})\.manifest\.json$/;
const SUBSCRIPTION_BLOB = /^runs\/([0-9A-Za-z][0-9A-Za-z-]{0,63})\/subscriptions\/([0-9a-f-]{36})\.ndjson\.gz$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** One subscription's evidence blob as the manifest lists it. */
export interface EvidenceBlobEntry {
  readonly name: string;
  readonly subscriptionId: string;
  /** Cluster records in the blob. */
  readonly clusters: number;
  /** Size of the stored (gzipped) bytes. */
  readonly bytes: number;
  /** Lower-case hex SHA-256 of the stored (gzipped) bytes. */
  readonly sha256: string;
}

/** A subscription of the run without an evidence blob, and why. */
export interface NotCollectedEntry {
  readonly subscriptionId: string;
  readonly reason: string;
}

export interface ManifestLink {
  readonly name: string;
  /** SHA-256 of the previous manifest's stored bytes. */
  readonly sha256: string;
}

export interface EvidenceManifest {
  readonly schema: typeof MANIFEST_SCHEMA;
  /** Position in the chain, from 1. */
  readonly sequence: number;
  readonly runId: string;
  readonly trigger: string;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly appVersion: string;
  readonly catalogVersion: string;
  readonly hashAlgorithm: 'sha256';
  /** Every evidence blob of the run, by subscription id. */
  readonly blobs: readonly EvidenceBlobEntry[];
  /** Subscriptions of the run whose evidence is not in a blob (collection failed, poisoned, overdue). */
  readonly notCollected: readonly NotCollectedEntry[];
  /** Subscriptions with stored clusters the run did not discover (their clusters were marked stale). */
  readonly subscriptionsNotDiscovered: readonly { readonly subscriptionId: string; readonly clusters: number }[];
  /** Null only on the first manifest of the chain. */
  readonly previousManifest: ManifestLink | null;
}

export type EvidenceProblemKind = 'hash_mismatch' | 'missing' | 'chain_broken';

export interface EvidenceProblem {
  readonly runId: string;
  readonly blob?: string | undefined;
  readonly kind: EvidenceProblemKind;
  readonly detail: string;
}

/** True for a run id usable in blob names (what the service mints: UUIDs). */
export function isEvidenceRunId(runId: string): boolean {
  return RUN_ID.test(runId);
}

/** Name of one subscription's evidence blob in one run. */
export function subscriptionBlobName(runId: string, subscriptionId: string): string {
  const sub = subscriptionId.toLowerCase();
  if (!RUN_ID.test(runId)) throw new Error(`run id not usable in a blob name: ${runId}`);
  if (!SUBSCRIPTION_ID.test(sub)) throw new Error(`not a subscription id: ${subscriptionId}`);
  return `runs/${runId}/subscriptions/${sub}.ndjson.gz`;
}

/** Prefix of every subscription blob of a run. */
export function runBlobPrefix(runId: string): string {
  return `runs/${runId}/`;
}

/** The run and subscription of a subscription blob name, or undefined for any other name. */
export function parseSubscriptionBlobName(name: string): { runId: string; subscriptionId: string } | undefined {
  const m = SUBSCRIPTION_BLOB.exec(name);
  return m === null ? undefined : { runId: m[1] as string, subscriptionId: m[2] as string };
}

export const MANIFEST_PREFIX = 'manifests/';

/** Name of a run's manifest: sortable by sequence, holding the run id and the word `manifest`. */
export function manifestBlobName(sequence: number, runId: string): string {
  if (!Number.isInteger(sequence) || sequence < 1 || sequence >= 10 ** SEQUENCE_WIDTH) throw new Error(`bad manifest sequence ${sequence}`);
  if (!RUN_ID.test(runId)) throw new Error(`run id not usable in a blob name: ${runId}`);
  return `${MANIFEST_PREFIX}${String(sequence).padStart(SEQUENCE_WIDTH, '0')}-${runId}.manifest.json`;
}

/** Sequence and run id of a manifest name, or undefined for any other name. */
export function parseManifestBlobName(name: string): { sequence: number; runId: string } | undefined {
  const m = MANIFEST_NAME.exec(name);
  return m === null ? undefined : { sequence: Number(m[1]), runId: m[2] as string };
}

/** Lower-case hex SHA-256. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface ManifestInput {
  readonly sequence: number;
  readonly run: { readonly id: string; readonly trigger: string; readonly startedAt: string; readonly endedAt: string };
  readonly appVersion: string;
  readonly catalogVersion: string;
  readonly blobs: readonly EvidenceBlobEntry[];
  readonly notCollected: readonly NotCollectedEntry[];
  readonly subscriptionsNotDiscovered: readonly { readonly subscriptionId: string; readonly clusters: number }[];
  readonly previous: ManifestLink | null;
}

/** A manifest with blobs and subscriptions in a stable order (by subscription id). */
export function buildManifest(input: ManifestInput): EvidenceManifest {
  if ((input.sequence === 1) !== (input.previous === null)) throw new Error('only the first manifest of the chain has no previous manifest');
  const bySub = <T extends { subscriptionId: string }>(a: T, b: T): number => (a.subscriptionId < b.subscriptionId ? -1 : a.subscriptionId > b.subscriptionId ? 1 : 0);
  return {
    schema: MANIFEST_SCHEMA,
    sequence: input.sequence,
    runId: input.run.id,
    trigger: input.run.trigger,
    startedAt: input.run.startedAt,
    endedAt: input.run.endedAt,
    appVersion: input.appVersion,
    catalogVersion: input.catalogVersion,
    hashAlgorithm: 'sha256',
    blobs: [...input.blobs].sort(bySub),
    notCollected: [...input.notCollected].sort(bySub),
    subscriptionsNotDiscovered: [...input.subscriptionsNotDiscovered].sort(bySub),
    previousManifest: input.previous,
  };
}

/** The exact bytes stored (and hashed): pretty JSON, so an auditor can read it, ending in a newline. */
export function serializeManifest(manifest: EvidenceManifest): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/**
 * Reads stored manifest bytes back; `undefined` when they are not a manifest this module wrote (not
 * JSON, wrong schema, a field missing or of the wrong type). Verification treats that as tampering.
 */
export function parseManifest(bytes: Uint8Array | string): EvidenceManifest | undefined {
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  if (!isObject(value) || value['schema'] !== MANIFEST_SCHEMA || value['hashAlgorithm'] !== 'sha256') return undefined;
  const v = value;
  if (!isCount(v['sequence']) || (v['sequence']) < 1) return undefined;
  for (const key of ['runId', 'trigger', 'startedAt', 'endedAt', 'appVersion', 'catalogVersion']) if (!isString(v[key])) return undefined;
  const blobs = v['blobs'];
  const notCollected = v['notCollected'];
  const undiscovered = v['subscriptionsNotDiscovered'];
  if (!Array.isArray(blobs) || !Array.isArray(notCollected) || !Array.isArray(undiscovered)) return undefined;
  for (const b of blobs as unknown[]) {
    if (!isObject(b) || !isString(b['name']) || !isString(b['subscriptionId']) || !isCount(b['clusters']) || !isCount(b['bytes']) || !isString(b['sha256']) || !SHA256_HEX.test(b['sha256'])) return undefined;
  }
  for (const n of notCollected as unknown[]) if (!isObject(n) || !isString(n['subscriptionId']) || !isString(n['reason'])) return undefined;
  for (const n of undiscovered as unknown[]) if (!isObject(n) || !isString(n['subscriptionId']) || !isCount(n['clusters'])) return undefined;
  const previous = v['previousManifest'];
  if (previous !== null && (!isObject(previous) || !isString(previous['name']) || !isString(previous['sha256']) || !SHA256_HEX.test(previous['sha256']))) return undefined;
  return value as unknown as EvidenceManifest;
}

/** What verification observed of one stored blob the manifest lists. */
export type StoredBlobObservation = { readonly found: false } | { readonly found: true; readonly bytes: number; readonly sha256: string };

/** Problems of one listed blob: `missing` when absent, `hash_mismatch` when its size or hash differ. */
export function checkBlob(runId: string, entry: EvidenceBlobEntry, observed: StoredBlobObservation): EvidenceProblem[] {
  if (!observed.found) return [{ runId, blob: entry.name, kind: 'missing', detail: `listed in the manifest (sha256 ${entry.sha256}) but not in storage` }];
  if (observed.sha256 !== entry.sha256 || observed.bytes !== entry.bytes) {
    return [{ runId, blob: entry.name, kind: 'hash_mismatch', detail: `manifest: ${entry.bytes} bytes, sha256 ${entry.sha256}; stored: ${observed.bytes} bytes, sha256 ${observed.sha256}` }];
  }
  return [];
}

/** What verification observed of the manifest a link points to. */
export type PreviousManifestObservation =
  | { readonly found: false }
  | { readonly found: true; readonly name: string; readonly sha256: string; readonly manifest: EvidenceManifest | undefined };

/**
 * Problems of the link from `current` (stored under `currentName`) to the previous manifest: a first
 * manifest must be sequence 1; otherwise the previous one must exist under the name the link holds,
 * hash to the SHA-256 it holds, be the run's predecessor in sequence and be readable.
 */
export function checkLink(current: EvidenceManifest, currentName: string, previous: PreviousManifestObservation): EvidenceProblem[] {
  const runId = current.runId;
  const link = current.previousManifest;
  if (link === null) {
    return current.sequence === 1 ? [] : [{ runId, blob: currentName, kind: 'chain_broken', detail: `manifest ${current.sequence} names no previous manifest; only the first (1) may` }];
  }
  if (!previous.found) return [{ runId, blob: link.name, kind: 'chain_broken', detail: `previous manifest ${link.name} (named by ${currentName}) is not in storage` }];
  if (previous.sha256 !== link.sha256) {
    return [{ runId, blob: link.name, kind: 'chain_broken', detail: `previous manifest ${link.name} has sha256 ${previous.sha256}; ${currentName} recorded ${link.sha256}` }];
  }
  if (previous.manifest === undefined) return [{ runId, blob: link.name, kind: 'chain_broken', detail: `previous manifest ${link.name} is not a readable manifest` }];
  if (previous.manifest.sequence !== current.sequence - 1) {
    return [{ runId, blob: link.name, kind: 'chain_broken', detail: `previous manifest ${link.name} has sequence ${previous.manifest.sequence}, expected ${current.sequence - 1}` }];
  }
  return [];
}

/**
 * Problems of a manifest against its own name: the name must carry its sequence and run id (a renamed
 * or reordered manifest is caught here even when its bytes are intact).
 */
export function checkManifestName(manifest: EvidenceManifest, name: string): EvidenceProblem[] {
  const parsed = parseManifestBlobName(name);
  if (parsed === undefined || parsed.sequence !== manifest.sequence || parsed.runId !== manifest.runId) {
    return [{ runId: manifest.runId, blob: name, kind: 'chain_broken', detail: `manifest stored as ${name} holds run ${manifest.runId} at sequence ${manifest.sequence}` }];
  }
  return [];
}

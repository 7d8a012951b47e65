/**
 * Reads and verifies evidence for the API (role `Audit.Read`): a run's manifest with a link per blob,
 * one blob streamed as stored, and verification of the run's blobs and of the manifest chain behind it.
 *
 * Verification streams: each blob is hashed as it arrives, so memory does not grow with the size of a
 * run. Only manifests (small) are held whole.
 */
import { createHash } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { ConflictError, InvalidRequestError, NotFoundError } from '../domain/errors.js';
import {
  checkBlob,
  checkLink,
  checkManifestName,
  isEvidenceRunId,
  MANIFEST_PREFIX,
  parseManifest,
  parseManifestBlobName,
  parseSubscriptionBlobName,
  runBlobPrefix,
  sha256Hex,
  type EvidenceManifest,
  type EvidenceProblem,
  type PreviousManifestObservation,
} from '../domain/evidence-manifest.js';
import type { EvidenceStore } from './evidence-ports.js';
import type { EvaluationRun, RunRepository } from './ports.js';

/** Largest manifest read whole (a real one is a few KB per subscription); anything bigger is not ours. */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
/** The API names a run's blobs by their last path segment: `<subscriptionId>.ndjson.gz` or `manifest.json`. */
export const MANIFEST_FILE_NAME = 'manifest.json';

/** SHA-256 and size of a stream, and optionally the number of lines of its gunzipped content. */
export async function hashStream(stream: AsyncIterable<Uint8Array>, options: { countGzipLines?: boolean } = {}): Promise<{ sha256: string; bytes: number; lines: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  let lines = 0;
  const gunzip = options.countGzipLines === true ? createGunzip() : undefined;
  let failure: unknown;
  const counted =
    gunzip === undefined
      ? Promise.resolve()
      : (async () => {
          for await (const chunk of gunzip as AsyncIterable<Buffer>) for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
        })().catch((error: unknown) => {
          failure = error;
        });
  for await (const chunk of stream) {
    hash.update(chunk);
    bytes += chunk.byteLength;
    if (gunzip !== undefined && failure === undefined && !gunzip.write(chunk)) {
      await new Promise((resolve) => {
        gunzip.once('drain', resolve);
        gunzip.once('close', resolve);
      });
    }
  }
  gunzip?.end();
  await counted;
  if (failure !== undefined) throw new Error('evidence blob is not valid gzip', { cause: failure });
  return { sha256: hash.digest('hex'), bytes, lines };
}

async function readLimited(stream: AsyncIterable<Uint8Array>, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.byteLength;
    if (size > limit) return undefined;
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

export interface EvidenceBlobView {
  readonly name: string;
  readonly subscriptionId: string;
  readonly clusters: number;
  readonly bytes: number;
  readonly sha256: string;
  /** API path of the blob (`GET` streams it). */
  readonly href: string;
}

export interface EvidenceView {
  readonly runId: string;
  readonly manifest: { readonly name: string; readonly sha256: string; readonly href: string };
  readonly sequence: number;
  readonly startedAt: string;
  readonly endedAt: string;
  /** End of the run plus the retention period: until then the blobs are immutable (WORM in Azure). */
  readonly retainedUntil: string;
  readonly appVersion: string;
  readonly catalogVersion: string;
  readonly blobs: readonly EvidenceBlobView[];
  readonly notCollected: EvidenceManifest['notCollected'];
  readonly subscriptionsNotDiscovered: EvidenceManifest['subscriptionsNotDiscovered'];
  readonly previousManifest: EvidenceManifest['previousManifest'];
}

export interface VerifyReport {
  readonly valid: boolean;
  readonly checkedRuns: number;
  readonly problems: readonly EvidenceProblem[];
}

export interface StoredManifest {
  readonly name: string;
  readonly sha256: string;
  readonly manifest: EvidenceManifest | undefined;
}

const fileNameOf = (blobName: string): string => blobName.slice(blobName.lastIndexOf('/') + 1);

export class EvidenceReader {
  constructor(private readonly deps: { readonly store: EvidenceStore; readonly runs: Pick<RunRepository, 'get'>; readonly retentionDays: number }) {}

  /** The run, refusing ids that cannot name evidence and runs not sealed yet. */
  private async sealedRun(runId: string): Promise<EvaluationRun> {
    if (!isEvidenceRunId(runId)) throw new NotFoundError(`No evaluation ${runId}.`, 'evaluationId');
    const run = await this.deps.runs.get(runId);
    if (run === undefined) throw new NotFoundError(`No evaluation ${runId}.`, 'evaluationId');
    if (run.completedAt === undefined) throw new ConflictError(`Evaluation ${runId} is ${run.status}: its evidence is sealed when the run completes.`, 'evaluationId');
    return run;
  }

  /** Every manifest name in the store, in chain order (by sequence). */
  async listManifests(): Promise<{ name: string; sequence: number; runId: string }[]> {
    const out: { name: string; sequence: number; runId: string }[] = [];
    for await (const blob of this.deps.store.list(MANIFEST_PREFIX)) {
      const parsed = parseManifestBlobName(blob.name);
      if (parsed !== undefined) out.push({ name: blob.name, ...parsed });
    }
    return out.sort((a, b) => a.sequence - b.sequence || (a.name < b.name ? -1 : 1));
  }

  /** A stored manifest: its exact bytes' hash and its parsed content (undefined when unreadable). */
  async readManifest(name: string): Promise<StoredManifest | undefined> {
    const opened = await this.deps.store.openRead(name);
    if (opened === undefined) return undefined;
    const bytes = await readLimited(opened.stream, MAX_MANIFEST_BYTES);
    if (bytes === undefined) return { name, sha256: 'over-size', manifest: undefined };
    return { name, sha256: sha256Hex(bytes), manifest: parseManifest(bytes) };
  }

  /** The run's manifest with a link per blob. */
  async getEvidence(runId: string, basePath: string): Promise<EvidenceView> {
    await this.sealedRun(runId);
    const entry = (await this.listManifests()).find((m) => m.runId === runId);
    const stored = entry === undefined ? undefined : await this.readManifest(entry.name);
    if (stored === undefined) throw new NotFoundError(`Evaluation ${runId} has no evidence manifest.`, 'evaluationId');
    const m = stored.manifest;
    if (m === undefined) throw new ConflictError(`The evidence manifest ${stored.name} is not readable; run verify.`, 'evaluationId');
    const href = (file: string): string => `${basePath}/${encodeURIComponent(file)}`;
    return {
      runId,
      manifest: { name: stored.name, sha256: stored.sha256, href: href(MANIFEST_FILE_NAME) },
      sequence: m.sequence,
      startedAt: m.startedAt,
      endedAt: m.endedAt,
      retainedUntil: new Date(Date.parse(m.endedAt) + this.deps.retentionDays * 86_400_000).toISOString(),
      appVersion: m.appVersion,
      catalogVersion: m.catalogVersion,
      blobs: m.blobs.map((b) => ({ ...b, href: href(fileNameOf(b.name)) })),
      notCollected: m.notCollected,
      subscriptionsNotDiscovered: m.subscriptionsNotDiscovered,
      previousManifest: m.previousManifest,
    };
  }

  /** One of the run's blobs (by file name) or its manifest (`manifest.json`), as stored. */
  async openBlob(runId: string, fileName: string): Promise<{ name: string; contentType: string; bytes: number; stream: AsyncIterable<Uint8Array> }> {
    await this.sealedRun(runId);
    let name: string | undefined;
    if (fileName === MANIFEST_FILE_NAME) name = (await this.listManifests()).find((m) => m.runId === runId)?.name;
    else if (/^[0-9a-f-]{36}\.ndjson\.gz$/.test(fileName)) name = `${runBlobPrefix(runId)}subscriptions/${fileName}`;
    else throw new InvalidRequestError(`${fileName} is not an evidence blob name (<subscriptionId>.ndjson.gz or ${MANIFEST_FILE_NAME}).`, 'blobName');
    const opened = name === undefined ? undefined : await this.deps.store.openRead(name);
    if (opened === undefined || name === undefined) throw new NotFoundError(`Evaluation ${runId} has no evidence blob ${fileName}.`, 'blobName');
    return { name, contentType: name.endsWith('.gz') ? 'application/gzip' : 'application/json', bytes: opened.blob.bytes, stream: opened.stream };
  }

  /**
   * Walks the manifest chain back `depth` runs from this one (default: to the first run). For each run
   * walked it recomputes the SHA-256 of every blob its manifest lists (and looks for blobs added to its
   * folder), and checks the link to the previous manifest: hash, name and sequence. `checkedRuns` is the
   * number of runs whose blobs were re-hashed. A broken link does not stop the walk: it resumes at the
   * manifest with the preceding sequence, when there is one, so every break is reported. Blobs are
   * hashed one at a time as they stream, so memory does not grow with the run or the depth.
   */
  async verify(runId: string, depth: number | undefined): Promise<VerifyReport> {
    const run = await this.sealedRun(runId);
    const problems: EvidenceProblem[] = [];
    const all = await this.listManifests();
    const entry = all.find((m) => m.runId === runId);
    if (entry === undefined) {
      return { valid: false, checkedRuns: 1, problems: [{ runId, kind: 'missing', detail: `no manifest for run ${runId} (completed ${run.completedAt ?? ''}) in storage` }] };
    }
    let current = await this.readManifest(entry.name);
    if (current?.manifest === undefined) {
      return { valid: false, checkedRuns: 1, problems: [{ runId, blob: entry.name, kind: 'hash_mismatch', detail: `manifest ${entry.name} is not a readable manifest (sha256 ${current?.sha256 ?? 'n/a'})` }] };
    }
    problems.push(...checkManifestName(current.manifest, current.name));
    if (current.manifest.runId !== runId) problems.push({ runId, blob: current.name, kind: 'hash_mismatch', detail: `manifest ${current.name} names run ${current.manifest.runId}` });
    problems.push(...(await this.verifyBlobs(current.manifest)));

    const bySequence = new Map(all.map((m) => [m.sequence, m]));
    let checkedRuns = 0;
    const limit = depth ?? Number.POSITIVE_INFINITY;
    while (current?.manifest !== undefined && checkedRuns < limit) {
      const manifest: EvidenceManifest = current.manifest;
      checkedRuns += 1;
      if (manifest.previousManifest === null) {
        problems.push(...checkLink(manifest, current.name, { found: false }));
        break;
      }
      const previous = await this.readManifest(manifest.previousManifest.name);
      const observed: PreviousManifestObservation = previous === undefined ? { found: false } : { found: true, name: previous.name, sha256: previous.sha256, manifest: previous.manifest };
      const linkProblems = checkLink(manifest, current.name, observed);
      problems.push(...linkProblems);
      if (manifest.sequence <= 1) break;
      let next = linkProblems.length === 0 ? previous : undefined;
      if (next === undefined) {
        // Resume at the manifest stored with the preceding sequence, so later breaks are found too.
        const fallback = bySequence.get(manifest.sequence - 1);
        next = fallback === undefined ? undefined : await this.readManifest(fallback.name);
      }
      if (next !== undefined && next.manifest !== undefined) {
        problems.push(...checkManifestName(next.manifest, next.name));
        // A past run inside `depth` gets its blobs re-hashed too: a sound link only proves its manifest is unchanged.
        if (checkedRuns < limit) problems.push(...(await this.verifyBlobs(next.manifest)));
      } else if (next !== undefined) problems.push({ runId: manifest.runId, blob: next.name, kind: 'chain_broken', detail: `manifest ${next.name} is not a readable manifest` });
      current = next;
    }
    return { valid: problems.length === 0, checkedRuns: Math.max(1, checkedRuns), problems };
  }

  private async verifyBlobs(manifest: EvidenceManifest): Promise<EvidenceProblem[]> {
    const problems: EvidenceProblem[] = [];
    const listed = new Set<string>();
    for (const entry of manifest.blobs) {
      listed.add(entry.name);
      const opened = await this.deps.store.openRead(entry.name);
      if (opened === undefined) {
        problems.push(...checkBlob(manifest.runId, entry, { found: false }));
        continue;
      }
      const { sha256, bytes } = await hashStream(opened.stream);
      problems.push(...checkBlob(manifest.runId, entry, { found: true, sha256, bytes }));
    }
    for await (const stored of this.deps.store.list(runBlobPrefix(manifest.runId))) {
      if (listed.has(stored.name)) continue;
      const kind = parseSubscriptionBlobName(stored.name) !== undefined ? 'subscription blob' : 'blob';
      problems.push({ runId: manifest.runId, blob: stored.name, kind: 'hash_mismatch', detail: `${kind} in the run's folder is not listed in its manifest (added after sealing)` });
    }
    return problems;
  }
}

/** A stream as a Node readable (for piping through gunzip). */
export function toReadable(stream: AsyncIterable<Uint8Array>): Readable {
  return stream instanceof Readable ? stream : Readable.from(stream);
}

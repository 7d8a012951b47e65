/**
 * Writes evidence bundles while a run is collected and seals them with a manifest when it finalizes
 * (layout and chain rules: `domain/evidence-manifest.ts`). The evaluation pipeline calls two methods:
 * {@link EvidenceRecorder.recordSubscription} after a subscription's results are stored, and
 * {@link EvidenceRecorder.sealRun} once the run's status is final.
 *
 * Redelivery: blob names are fixed per run and subscription (and per run for the manifest) and every
 * write is create-only, so a redelivered collect or a repeated finalize never adds a second, different
 * blob; the first one written stays (and a difference is logged). Gzip of the same records gives the
 * same bytes, so an identical redelivery is indistinguishable from the first delivery.
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import {
  buildManifest,
  manifestBlobName,
  MANIFEST_PREFIX,
  parseManifestBlobName,
  parseSubscriptionBlobName,
  runBlobPrefix,
  serializeManifest,
  sha256Hex,
  subscriptionBlobName,
  type EvidenceBlobEntry,
  type NotCollectedEntry,
} from '../domain/evidence-manifest.js';
import type { ClusterEvidenceRecord } from '../domain/evidence-record.js';
import type { EvidenceStore, StoredEvidenceBlob } from './evidence-ports.js';
import type { EvaluationRun, EvaluationRunRepository } from './ports.js';
import { hashStream } from './evidence-reader.js';
import { silentLogger, type Logger } from './logger.js';

const gzipAsync = promisify(gzip);

export const NDJSON_GZIP_CONTENT_TYPE = 'application/x-ndjson';
export const MANIFEST_CONTENT_TYPE = 'application/json';

export interface EvidenceRecorderDeps {
  readonly store: EvidenceStore;
  readonly runs: Pick<EvaluationRunRepository, 'subscriptionsWithOutcome' | 'getSubscriptionOutcome'>;
  readonly appVersion: string;
  readonly catalogVersion: string;
  readonly log?: Logger | undefined;
}

/** One NDJSON line per record, gzipped (the bytes that are stored and hashed). */
export async function encodeEvidence(records: readonly ClusterEvidenceRecord[]): Promise<Uint8Array> {
  const text = records.map((r) => `${JSON.stringify(r)}\n`).join('');
  return new Uint8Array(await gzipAsync(Buffer.from(text, 'utf8'), { level: 6 }));
}

export interface SealedRun {
  readonly name: string;
  readonly sequence: number;
  /** False when an earlier finalize already sealed the run (the stored manifest is kept). */
  readonly created: boolean;
}

export class EvidenceRecorder {
  private readonly log: Logger;

  constructor(private readonly deps: EvidenceRecorderDeps) {
    this.log = deps.log ?? silentLogger;
  }

  /**
   * Writes one subscription's evidence blob for a run. Throws when it cannot be stored, so the collect
   * is retried like any storage failure (a subscription whose evidence is lost is not `collected`).
   */
  async recordSubscription(runId: string, subscriptionId: string, records: readonly ClusterEvidenceRecord[]): Promise<{ name: string; created: boolean }> {
    const name = subscriptionBlobName(runId, subscriptionId);
    const bytes = await encodeEvidence(records);
    const sha256 = sha256Hex(bytes);
    const result = await this.deps.store.createIfAbsent(name, bytes, { contentType: NDJSON_GZIP_CONTENT_TYPE, sha256 });
    if (result.outcome === 'exists' && result.stored.recordedSha256 !== sha256) {
      // A redelivery that saw different ARM data: the blob is immutable, the first delivery's evidence stays.
      this.log.warn(`run ${runId}: evidence of subscription ${subscriptionId} was already written by an earlier delivery (sha256 ${result.stored.recordedSha256 ?? 'unknown'}); kept, this delivery's (sha256 ${sha256}) not stored`);
    }
    return { name, created: result.outcome === 'created' };
  }

  /**
   * Writes the run's manifest (once; `run.completedAt` is its end): its blobs with size and SHA-256, the subscriptions without
   * evidence and why, and the link to the previous manifest. Appends under the store's chain lock.
   */
  async sealRun(run: EvaluationRun): Promise<SealedRun> {
    const { store } = this.deps;
    return store.withChainLock(async () => {
      let last: { name: string; sequence: number } | undefined;
      for await (const blob of store.list(MANIFEST_PREFIX)) {
        const parsed = parseManifestBlobName(blob.name);
        if (parsed === undefined) continue;
        if (parsed.runId === run.id) return { name: blob.name, sequence: parsed.sequence, created: false };
        if (last === undefined || parsed.sequence > last.sequence) last = { name: blob.name, sequence: parsed.sequence };
      }
      let previous: { name: string; sha256: string } | null = null;
      if (last !== undefined) {
        const opened = await store.openRead(last.name);
        if (opened === undefined) throw new Error(`manifest ${last.name} vanished while sealing run ${run.id}`);
        previous = { name: last.name, sha256: (await hashStream(opened.stream)).sha256 };
      }
      const { blobs, notCollected } = await this.inventory(run);
      const sequence = (last?.sequence ?? 0) + 1;
      const manifest = buildManifest({
        sequence,
        run: { id: run.id, trigger: run.trigger, startedAt: run.startedAt ?? run.createdAt, endedAt: run.completedAt ?? run.createdAt },
        appVersion: this.deps.appVersion,
        catalogVersion: this.deps.catalogVersion,
        blobs,
        notCollected,
        subscriptionsNotDiscovered: run.subscriptionsNotDiscovered ?? [],
        previous,
      });
      const name = manifestBlobName(sequence, run.id);
      const bytes = serializeManifest(manifest);
      await store.createIfAbsent(name, bytes, { contentType: MANIFEST_CONTENT_TYPE, sha256: sha256Hex(bytes) });
      this.log.info(`run ${run.id}: evidence sealed as ${name} (${blobs.length} blob(s), ${notCollected.length} subscription(s) not collected)`);
      return { name, sequence, created: true };
    });
  }

  /** The run's evidence blobs, and every subscription with an outcome but no blob. */
  private async inventory(run: EvaluationRun): Promise<{ blobs: EvidenceBlobEntry[]; notCollected: NotCollectedEntry[] }> {
    const { store, runs } = this.deps;
    const blobs: EvidenceBlobEntry[] = [];
    for await (const stored of store.list(runBlobPrefix(run.id))) {
      const parsed = parseSubscriptionBlobName(stored.name);
      if (parsed === undefined || parsed.runId !== run.id) continue;
      blobs.push({ name: stored.name, subscriptionId: parsed.subscriptionId, ...(await this.measure(stored)) });
    }
    const withBlob = new Set(blobs.map((b) => b.subscriptionId));
    const notCollected: NotCollectedEntry[] = [];
    for (const subscriptionId of await runs.subscriptionsWithOutcome(run.id)) {
      const sub = subscriptionId.toLowerCase();
      if (withBlob.has(sub)) continue;
      const outcome = await runs.getSubscriptionOutcome(run.id, sub);
      notCollected.push({ subscriptionId: sub, reason: outcome === undefined ? 'no outcome recorded' : outcome.ok ? 'results stored but no evidence blob written' : outcome.error });
    }
    // Subscriptions that never got an outcome (a run failed before or while fanning out) are counted on the run.
    const missing = run.subscriptionsTotal - blobs.length - notCollected.length;
    if (missing > 0) notCollected.push({ subscriptionId: '*', reason: `${missing} subscription(s) of the run without an outcome: ${run.failures.find((f) => f.subscriptionId === '*')?.error ?? 'run ended early'}` });
    return { blobs, notCollected };
  }

  /** Size, SHA-256 and cluster count of a stored blob, read once from the blob itself. */
  private async measure(stored: StoredEvidenceBlob): Promise<{ clusters: number; bytes: number; sha256: string }> {
    const opened = await this.deps.store.openRead(stored.name);
    if (opened === undefined) throw new Error(`evidence blob ${stored.name} vanished while sealing`);
    const { sha256, bytes, lines } = await hashStream(opened.stream, { countGzipLines: true });
    return { clusters: lines, bytes, sha256 };
  }
}

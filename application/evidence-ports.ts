/**
 * Ports of the evidence and findings services: an append-only blob store for evidence bundles and the
 * run/outcome reads the manifest needs. Kept apart from `ports.ts` because only these services use them.
 */

/** A stored blob as a listing or a point read reports it. */
export interface StoredEvidenceBlob {
  readonly name: string;
  readonly bytes: number;
  /** The SHA-256 the writer recorded in the blob's metadata (absent on blobs written without it). */
  readonly recordedSha256: string | undefined;
}

/**
 * Create-only blob storage for evidence (Blob Storage with a time-based immutability policy in Azure,
 * Azurite locally). Nothing here overwrites or deletes.
 */
export interface EvidenceStore {
  /**
   * Creates the blob unless one with that name exists (then nothing is written): `created`, or
   * `exists` with what is stored.
   */
  createIfAbsent(name: string, bytes: Uint8Array, options: { readonly contentType: string; readonly sha256: string }): Promise<{ readonly outcome: 'created' } | { readonly outcome: 'exists'; readonly stored: StoredEvidenceBlob }>;
  /** The blob's bytes as a stream, or undefined when there is no such blob. */
  openRead(name: string): Promise<{ readonly blob: StoredEvidenceBlob; readonly contentType: string; readonly stream: AsyncIterable<Uint8Array> } | undefined>;
  /** Every blob whose name starts with `prefix`, in name order. */
  list(prefix: string): AsyncIterable<StoredEvidenceBlob>;
  /**
   * Runs `work` while holding the store's chain lock (one finalizer appends to the manifest chain at a
   * time, across instances); throws when the lock cannot be had within a bounded wait.
   */
  withChainLock<T>(work: () => Promise<T>): Promise<T>;
}

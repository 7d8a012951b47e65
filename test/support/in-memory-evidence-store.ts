/** An {@link EvidenceStore} in memory: create-only like the blob adapter, plus test-only tampering. */
import type { EvidenceStore, StoredEvidenceBlob } from '../../application/evidence-ports.js';

export class InMemoryEvidenceStore implements EvidenceStore {
  readonly blobs = new Map<string, { bytes: Uint8Array; contentType: string; sha256: string }>();
  private lock: Promise<unknown> = Promise.resolve();

  async createIfAbsent(name: string, bytes: Uint8Array, options: { contentType: string; sha256: string }): Promise<{ outcome: 'created' } | { outcome: 'exists'; stored: StoredEvidenceBlob }> {
    const existing = this.blobs.get(name);
    if (existing !== undefined) return { outcome: 'exists', stored: { name, bytes: existing.bytes.byteLength, recordedSha256: existing.sha256 } };
    this.blobs.set(name, { bytes: new Uint8Array(bytes), contentType: options.contentType, sha256: options.sha256 });
    return { outcome: 'created' };
  }

  async openRead(name: string): Promise<{ blob: StoredEvidenceBlob; contentType: string; stream: AsyncIterable<Uint8Array> } | undefined> {
    const b = this.blobs.get(name);
    if (b === undefined) return undefined;
    const bytes = b.bytes;
    return {
      blob: { name, bytes: bytes.byteLength, recordedSha256: b.sha256 },
      contentType: b.contentType,
      stream: (async function* () {
        for (let i = 0; i < bytes.byteLength; i += 4096) yield bytes.subarray(i, i + 4096);
      })(),
    };
  }

  async *list(prefix: string): AsyncIterable<StoredEvidenceBlob> {
    for (const name of [...this.blobs.keys()].filter((n) => n.startsWith(prefix)).sort()) {
      const b = this.blobs.get(name);
      if (b !== undefined) yield { name, bytes: b.bytes.byteLength, recordedSha256: b.sha256 };
    }
  }

  async withChainLock<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work, work);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

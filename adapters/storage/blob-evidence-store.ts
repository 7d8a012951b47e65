/**
 * {@link EvidenceStore} over one Blob Storage container (`evidence`), with `@azure/storage-blob`.
 *
 * Create-only: every write is `If-None-Match: *`, so a blob is written once and a second writer (a
 * redelivered collect, a repeated finalize) learns that it exists instead of replacing it. In Azure the
 * container also has a time-based immutability policy, so even a caller with more rights cannot change
 * or delete a blob within the retention period.
 *
 * The chain lock is a lease on one empty blob (`chain.lock`): a manifest names its predecessor, so two
 * runs finalizing at the same moment must append one after the other.
 */
import { BlobServiceClient, RestError, type ContainerClient } from '@azure/storage-blob';
import type { TokenCredential } from '@azure/core-auth';
import type { EvidenceStore, StoredEvidenceBlob } from '../../application/evidence-ports.js';

export type BlobConnection =
  | { readonly connectionString: string }
  | { readonly blobServiceUri: string; readonly credential: TokenCredential };

export const EVIDENCE_CONTAINER = 'evidence';
const LOCK_BLOB = 'chain.lock';
/** Lease length (the service allows 15..60 s); the work under it is a listing and two small writes. */
const LEASE_SECONDS = 60;
/** How long a finalizer waits for the chain lock before failing (its queue message is retried). */
const LOCK_WAIT_MS = 90_000;
const SHA256_METADATA = 'sha256';

const statusOf = (error: unknown): number | undefined => (error instanceof RestError ? error.statusCode : undefined);
const codeOf = (error: unknown): string | undefined => (error instanceof RestError ? error.code : undefined);

export class BlobEvidenceStore implements EvidenceStore {
  private readonly container: ContainerClient;
  private ready: Promise<unknown> | undefined;

  constructor(connection: BlobConnection, containerName: string = EVIDENCE_CONTAINER) {
    const service =
      'connectionString' in connection
        ? BlobServiceClient.fromConnectionString(connection.connectionString)
        : new BlobServiceClient(connection.blobServiceUri.replace(/\/+$/, ''), connection.credential);
    this.container = service.getContainerClient(containerName);
  }

  /**
   * Creates the container when missing (Azurite, tests). In Azure infra creates it, with its
   * immutability policy, and the app's identity may not create containers: a refusal is not an error.
   */
  private ensure(): Promise<unknown> {
    this.ready ??= this.container.createIfNotExists().catch((error: unknown) => {
      if (statusOf(error) === 403) return undefined;
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  async createIfAbsent(name: string, bytes: Uint8Array, options: { contentType: string; sha256: string }): Promise<{ outcome: 'created' } | { outcome: 'exists'; stored: StoredEvidenceBlob }> {
    await this.ensure();
    const blob = this.container.getBlockBlobClient(name);
    try {
      await blob.uploadData(bytes, {
        conditions: { ifNoneMatch: '*' },
        blobHTTPHeaders: { blobContentType: options.contentType },
        metadata: { [SHA256_METADATA]: options.sha256 },
      });
      return { outcome: 'created' };
    } catch (error) {
      // 409 BlobAlreadyExists (or 412 on some paths): written before; immutable storage answers 409 too.
      if (statusOf(error) !== 409 && statusOf(error) !== 412) throw error;
      const props = await blob.getProperties();
      return { outcome: 'exists', stored: { name, bytes: props.contentLength ?? 0, recordedSha256: props.metadata?.[SHA256_METADATA] } };
    }
  }

  async openRead(name: string): Promise<{ blob: StoredEvidenceBlob; contentType: string; stream: AsyncIterable<Uint8Array> } | undefined> {
    await this.ensure();
    try {
      const response = await this.container.getBlobClient(name).download(0);
      const body = response.readableStreamBody;
      if (body === undefined) throw new Error(`blob ${name} has no body stream`);
      return {
        blob: { name, bytes: response.contentLength ?? 0, recordedSha256: response.metadata?.[SHA256_METADATA] },
        contentType: response.contentType ?? 'application/octet-stream',
        stream: body as AsyncIterable<Uint8Array>,
      };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<StoredEvidenceBlob> {
    await this.ensure();
    for await (const item of this.container.listBlobsFlat({ prefix, includeMetadata: true })) {
      yield { name: item.name, bytes: item.properties.contentLength ?? 0, recordedSha256: item.metadata?.[SHA256_METADATA] };
    }
  }

  async withChainLock<T>(work: () => Promise<T>): Promise<T> {
    await this.ensure();
    const lockBlob = this.container.getBlockBlobClient(LOCK_BLOB);
    await lockBlob.uploadData(new Uint8Array(0), { conditions: { ifNoneMatch: '*' } }).catch((error: unknown) => {
      if (statusOf(error) !== 409 && statusOf(error) !== 412) throw error;
    });
    const lease = lockBlob.getBlobLeaseClient();
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let delay = 200; ; delay = Math.min(delay * 2, 5_000)) {
      try {
        await lease.acquireLease(LEASE_SECONDS);
        break;
      } catch (error) {
        if (codeOf(error) !== 'LeaseAlreadyPresent' && statusOf(error) !== 409) throw error;
        if (Date.now() + delay > deadline) throw new Error(`evidence chain lock not acquired within ${LOCK_WAIT_MS / 1000} s`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    try {
      return await work();
    } finally {
      // An unreleased lease expires by itself after LEASE_SECONDS.
      await lease.releaseLease().catch(() => undefined);
    }
  }
}

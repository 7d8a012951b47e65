/**
 * The process-wide cache of cluster list pages (`TableClusterStateRepository.listSummaries`) and of
 * single cluster reads for the API's detail (`getShared`, {@link SharedReadCache}).
 *
 * Pages are kept in memory (frozen, shared) for `ttlMs` (default 1 s), keyed by the whole query, and
 * concurrent requests for the same page share one read: the emulator (Azurite) answers every Table
 * query by scanning and sorting the whole table, so at 10,000 clusters each read costs ~20 ms of its
 * CPU. Every cluster write in this process (any repository instance) bumps the generation before and
 * after it, so a process reads its own writes at once; another instance's writes show within `ttlMs`.
 */
import type { ClusterQuery, ClusterSummaryView, Page } from '../../application/ports.js';
import { deepFreeze } from '../../domain/deep-freeze.js';

/** Default staleness bound across instances. */
export const DEFAULT_LIST_CACHE_MS = 1000;
const LIST_CACHE_ENTRIES = 256;

let listGeneration = 0;

/** Called before and after every cluster write: a page cached from an older generation is never served. */
export function invalidateListPages(): void {
  listGeneration += 1;
}

interface CachedPage {
  readonly generation: number;
  readonly expiresAt: number;
  readonly page: Promise<Page<ClusterSummaryView>>;
}

function freezePage(page: Page<ClusterSummaryView>): Page<ClusterSummaryView> {
  for (const item of page.items) {
    Object.freeze(item.failedControls);
    Object.freeze(item);
  }
  Object.freeze(page.items);
  return Object.freeze(page);
}

export class ListPageCache {
  private readonly pages = new Map<string, CachedPage>();

  constructor(
    /** How long a page is served from memory; 0 turns the cache off. */
    private readonly ttlMs: number,
    /** Milliseconds (monotonic); tests pass a fake clock. */
    private readonly now: () => number,
  ) {}

  /** The cached page of `query`, or `read()`'s (shared by concurrent callers, then cached). */
  get(query: ClusterQuery, read: () => Promise<Page<ClusterSummaryView>>): Promise<Page<ClusterSummaryView>> {
    if (this.ttlMs <= 0) return read();
    const key = JSON.stringify([query.subscriptionId, query.status, query.failingControlId, query.environment, query.location, query.stale, query.top, query.continuationToken]);
    const now = this.now();
    const hit = this.pages.get(key);
    if (hit !== undefined && hit.generation === listGeneration && now < hit.expiresAt) return hit.page;
    if (hit !== undefined) this.pages.delete(key);
    const generation = listGeneration;
    const page = read().then(freezePage);
    const entry: CachedPage = { generation, expiresAt: now + this.ttlMs, page };
    if (this.pages.size >= LIST_CACHE_ENTRIES) {
      const oldest = this.pages.keys().next();
      if (oldest.done !== true) this.pages.delete(oldest.value);
    }
    this.pages.set(key, entry);
    page.catch(() => {
      if (this.pages.get(key) === entry) this.pages.delete(key);
    });
    return page;
  }
}

interface CachedRead<T> {
  readonly generation: number;
  readonly expiresAt: number;
  readonly value: Promise<T>;
}

/**
 * Single reads (a cluster's state, for the API's detail) kept like the list pages: deep-frozen and
 * shared for `ttlMs`, dropped by every cluster write in this process, concurrent readers share one
 * read, a failed read is not kept. The most recently filled `maxEntries` are kept.
 */
export class SharedReadCache<T> {
  private readonly entries = new Map<string, CachedRead<T>>();

  constructor(
    /** How long a value is served from memory; 0 turns the cache off. */
    private readonly ttlMs: number,
    /** Milliseconds (monotonic); tests pass a fake clock. */
    private readonly now: () => number,
    private readonly maxEntries = LIST_CACHE_ENTRIES,
  ) {}

  get(key: string, read: () => Promise<T>): Promise<T> {
    if (this.ttlMs <= 0) return read().then(deepFreeze);
    const now = this.now();
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.generation === listGeneration && now < hit.expiresAt) return hit.value;
    if (hit !== undefined) this.entries.delete(key);
    const value = read().then(deepFreeze);
    const entry: CachedRead<T> = { generation: listGeneration, expiresAt: now + this.ttlMs, value };
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(key, entry);
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return value;
  }
}

/**
 * The one bounded worker pool: a few workers take items from a shared cursor, so at most `limit` calls
 * run at once and a slow item never holds up the rest of the batch. Storage fan-outs, ARM collection and
 * event publishing all use it; a second hand-written pool is a place where a limit of 0 hangs or an
 * off-by-one skips an item.
 */

/** `fn` over `items`, at most `limit` (at least 1) at a time; results in input order. The first rejection rejects the call (running calls finish). */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next;
      next += 1;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** {@link mapLimited} for calls that return nothing. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  await mapLimited(items, limit, fn);
}

/** Tries `fn` on every item, at most `limit` at a time, and then rethrows the first failure (if any). */
export async function forEachSettled<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let failure: { error: unknown } | undefined;
  await forEachLimited(items, limit, async (item) => {
    try {
      await fn(item);
    } catch (error) {
      failure ??= { error };
    }
  });
  if (failure !== undefined) throw failure.error;
}

/**
 * Lets pending I/O callbacks run (a macrotask turn, not a microtask): a CPU-bound loop over a batch
 * (evaluating a subscription's clusters) that awaits this between items no longer holds the event loop
 * for the whole batch, so HTTP requests served by the same instance are answered in between.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

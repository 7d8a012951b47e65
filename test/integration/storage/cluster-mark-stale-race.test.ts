/**
 * `markStale` reads a subscription's clusters, then flags them. A write landing in between (a newer
 * run storing fresh results, or deleting a cluster ARM no longer lists) must win: the flag is written
 * only to the state that was read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TableClient } from '@azure/data-tables';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableStore } from '../../../adapters/storage/table-store.js';
import { TableClusterStateRepository } from '../../../adapters/storage/table-cluster-state-repository.js';
import { SUB_A, clusterState, uniquePrefix } from './fixtures.js';

let azurite: RunningAzurite;
const open = (): Promise<TableStore> => TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: uniquePrefix() });

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

/** Runs `action` once, right after the first partition read that selects `lastSeenAt` (markStale's read) has ended. */
function afterMarkStaleRead(client: TableClient, action: () => Promise<void>): () => void {
  const original = client.listEntities.bind(client);
  let fired = false;
  client.listEntities = ((options) => {
    const iterator = original(options);
    if (fired || !(options?.queryOptions?.select ?? []).includes('lastSeenAt')) return iterator;
    return Object.assign(Object.create(iterator) as typeof iterator, {
      byPage: (settings?: Parameters<typeof iterator.byPage>[0]) => {
        const pages = iterator.byPage(settings);
        const wrapped = {
          next: async () => {
            const result = await pages.next();
            if (result.done === true && !fired) {
              fired = true;
              await action();
            }
            return result;
          },
          [Symbol.asyncIterator]: () => wrapped,
        };
        return wrapped;
      },
    });
  }) as typeof client.listEntities;
  return () => {
    client.listEntities = original;
  };
}

describe('TableClusterStateRepository.markStale under concurrent writes', () => {
  const cutoff = '2026-05-01T02:00:00.000Z';

  it('leaves a state a newer run stored after the read fresh, in the table and the index', async () => {
    const store = await open();
    const repo = new TableClusterStateRepository(store);
    const old = clusterState(SUB_A, 'rg', 'one', { env: 'prod', failing: ['ARC-AC-01'], runId: 'run-1' });
    await repo.upsertMany([old]);
    const fresh = {
      ...clusterState(SUB_A, 'rg', 'one', { env: 'prod', failing: [], runId: 'run-2' }),
      lastSeenAt: '2026-05-02T02:00:00.000Z',
    };
    const restore = afterMarkStaleRead(store.client('clusters'), () => new TableClusterStateRepository(store).upsertMany([fresh], [old]));
    try {
      await repo.markStale(SUB_A, { lastSeenNoLaterThan: cutoff });
    } finally {
      restore();
    }
    expect(await repo.get(SUB_A, 'rg', 'one')).toEqual(fresh);
    expect((await repo.list({ stale: true, top: 10 })).items).toEqual([]);
    expect((await repo.list({ environment: 'prod', stale: false, top: 10 })).items).toEqual([fresh]);
    expect((await repo.list({ status: 'compliant', top: 10 })).items).toEqual([fresh]);
  });

  it('does not bring back a cluster deleted after the read as a row without an evaluation', async () => {
    const store = await open();
    const repo = new TableClusterStateRepository(store);
    const gone = clusterState(SUB_A, 'rg', 'gone', { env: 'prod', runId: 'run-1' });
    const kept = clusterState(SUB_A, 'rg', 'kept', { env: 'prod', runId: 'run-1' });
    await repo.upsertMany([gone, kept]);
    const restore = afterMarkStaleRead(store.client('clusters'), async () => {
      await new TableClusterStateRepository(store).deleteMany([gone]);
    });
    let marked: number;
    try {
      marked = await repo.markStale(SUB_A, { lastSeenNoLaterThan: cutoff });
    } finally {
      restore();
    }
    expect(marked).toBe(1);
    expect(await repo.get(SUB_A, 'rg', 'gone')).toBeUndefined();
    // Reads of the partition must not meet a half entity (every later collection reads it).
    expect(await repo.listBySubscription(SUB_A)).toEqual([{ ...kept, stale: true }]);
    expect((await repo.list({ stale: true, top: 10 })).items).toEqual([{ ...kept, stale: true }]);
  });
});

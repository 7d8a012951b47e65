import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableStore } from '../../../adapters/storage/table-store.js';
import { TableRemediationRepository } from '../../../adapters/storage/table-remediation-repository.js';
import type { RemediationRecord } from '../../../application/ports.js';
import { ConflictError, NotFoundError, UnprocessableError } from '../../../domain/errors.js';
import { SUB_A, SUB_B, uniquePrefix } from './fixtures.js';

let azurite: RunningAzurite;
let repo: TableRemediationRepository;

beforeAll(async () => {
  azurite = await startAzurite();
  repo = new TableRemediationRepository(await TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: uniquePrefix() }));
});
afterAll(async () => {
  await azurite?.stop();
});

const cluster = (sub: string, i: number): string => `/subscriptions/${sub}/resourceGroups/rg-edge/providers/Microsoft.Kubernetes/connectedClusters/store-${String(i).padStart(4, '0')}`;

function record(id: string, clusterIds: string[]): RemediationRecord {
  return {
    id,
    controlId: 'ARC-PL-01',
    requestedBy: 'caller-oid',
    createdAt: '2030-01-02T03:04:05.000Z',
    clusterIds,
    tasks: [
      { subscriptionId: SUB_A, armId: `/subscriptions/${SUB_A}/providers/Microsoft.PolicyInsights/remediations/arc-compliance-${id}` },
      { subscriptionId: SUB_B, armId: undefined, error: 'No enabled assignment covers the clusters.' },
    ],
  };
}

describe('TableRemediationRepository', () => {
  it('round-trips a record, including a task that never started', async () => {
    const r = record('r-1', [cluster(SUB_A, 1), cluster(SUB_B, 2)]);
    await repo.create(r);
    expect(await repo.get('r-1')).toEqual(r);
    expect(await repo.get('r-2')).toBeUndefined();
  });

  it('keys hostile ids safely and refuses a duplicate id', async () => {
    const r = record('a/b#c?d', [cluster(SUB_A, 1)]);
    await repo.create(r);
    expect(await repo.get('a/b#c?d')).toEqual(r);
    expect(await repo.get('a')).toBeUndefined();
    await expect(repo.create(r)).rejects.toBeInstanceOf(ConflictError);
  });

  it('stores a thousand cluster ids (more than one property holds)', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => cluster(SUB_A, i));
    expect(JSON.stringify(ids).length).toBeGreaterThan(32_000);
    await repo.create(record('big', ids));
    expect((await repo.get('big'))?.clusterIds).toEqual(ids);
  });

  it('round-trips several tasks of one subscription with their cluster ranges', async () => {
    const ids = Array.from({ length: 250 }, (_, i) => cluster(SUB_A, i));
    const armId = (name: string): string => `/subscriptions/${SUB_A}/providers/Microsoft.PolicyInsights/remediations/${name}`;
    const r: RemediationRecord = {
      ...record('split', ids),
      tasks: [
        { subscriptionId: SUB_A, armId: armId('arc-compliance-split'), clusters: { offset: 0, count: 100 } },
        { subscriptionId: SUB_A, armId: undefined, error: 'throttled', clusters: { offset: 100, count: 100 } },
        { subscriptionId: SUB_A, armId: armId('arc-compliance-split-3'), clusters: { offset: 200, count: 50 } },
      ],
    };
    await repo.create(r);
    expect(await repo.get('split')).toEqual(r);
  });

  it('reads a task stored without a cluster range (one task per subscription) without inventing one', async () => {
    const r = record('legacy', [cluster(SUB_A, 1), cluster(SUB_B, 2)]);
    await repo.create(r);
    const got = await repo.get('legacy');
    expect(got?.tasks).toEqual(r.tasks);
    expect(got?.tasks.every((t) => !('clusters' in t))).toBe(true);
  });

  it('refuses a record too large for one entity with LimitExceeded', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `${cluster(SUB_A, i)}${'x'.repeat(400)}`);
    await expect(repo.create(record('huge', ids))).rejects.toBeInstanceOf(UnprocessableError);
    expect(await repo.get('huge')).toBeUndefined();
  });

  it('records that polling stopped once: the first stop stands, the rest of the record is untouched', async () => {
    const r = record('stopped', [cluster(SUB_A, 1)]);
    await repo.create(r);
    expect((await repo.get('stopped'))?.pollingStopped).toBeUndefined();
    await repo.recordPollingStopped('stopped', { at: '2030-01-04T03:04:05.000Z', reason: 'not finished 48 h after it started' });
    // A redelivered check or the poison handler giving up later does not overwrite it.
    await repo.recordPollingStopped('stopped', { at: '2030-01-05T00:00:00.000Z', reason: 'check 7 failed on every delivery' });
    expect(await repo.get('stopped')).toEqual({ ...r, pollingStopped: { at: '2030-01-04T03:04:05.000Z', reason: 'not finished 48 h after it started' } });
    await expect(repo.recordPollingStopped('nope', { at: '2030-01-04T00:00:00.000Z', reason: 'x' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists newest first in pages, once per request: a refused duplicate id adds nothing, an index row without its record is skipped', async () => {
    const store = await TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: uniquePrefix() });
    const listing = new TableRemediationRepository(store);
    const at = (i: number): string => new Date(Date.UTC(2030, 0, 1) + i * 60_000).toISOString();
    for (const i of [2, 0, 3, 1]) await listing.create({ ...record(`l-${i}`, [cluster(SUB_A, i)]), createdAt: at(i) });
    await expect(listing.create({ ...record('l-1', [cluster(SUB_A, 9)]), createdAt: at(7) })).rejects.toBeInstanceOf(ConflictError);
    // What a create that failed after writing its index row leaves behind.
    await store.client('remediations').createEntity({ partitionKey: 'index', rowKey: `0000000000000000|orphan`, remediationId: 'orphan' });
    const ids: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await listing.list(2, token);
      ids.push(...page.items.map((r) => r.id));
      token = page.continuationToken;
      pages += 1;
    } while (token !== undefined && pages < 10);
    expect(ids).toEqual(['l-3', 'l-2', 'l-1', 'l-0']);
    expect((await listing.list(10)).items[1]).toEqual({ ...record('l-2', [cluster(SUB_A, 2)]), createdAt: at(2) });
    await expect(listing.list(2, 'not-a-token')).rejects.toThrow(/continuation token/);
  });
});

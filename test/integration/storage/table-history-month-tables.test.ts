/**
 * History in one table per UTC month: where rows land, reads across months, and retention by whole
 * month tables.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableStore } from '../../../adapters/storage/table-store.js';
import { TableHistoryRepository, historyPartition, historyTable } from '../../../adapters/storage/table-history-repository.js';
import type { ClusterHistoryEntry } from '../../../application/ports.js';
import { uniquePrefix } from './fixtures.js';

let azurite: RunningAzurite;
const open = (): Promise<TableStore> => TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: uniquePrefix() });

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

const id = '/subscriptions/s/resourcegroups/rg/providers/microsoft.kubernetes/connectedclusters/a#b';
const entry = (evaluatedAt: string, runId: string, score = 50): ClusterHistoryEntry => ({
  clusterId: id,
  runId,
  evaluatedAt,
  score,
  statuses: { 'ARC-AC-01': 'pass' },
  drift: [],
});

async function tableNames(store: TableStore): Promise<string[]> {
  const names: string[] = [];
  for await (const t of store.service.listTables()) if (t.name?.startsWith(store.tablePrefix)) names.push(t.name.slice(store.tablePrefix.length));
  return names.sort();
}

async function rowKeys(store: TableStore, table: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const e of store.dynamicTable(table).listEntities()) keys.push(`${e.partitionKey ?? ''}/${(e.rowKey ?? '').slice(0, 24)}`);
  return keys.sort();
}

describe('TableHistoryRepository month tables', () => {
  it('names the table after the UTC month of the evaluation time', () => {
    expect(historyTable('2026-11-30T23:59:59.999Z')).toBe('history202611');
    expect(historyTable('2026-12-01T00:30:00+01:00')).toBe('history202611');
    expect(historyTable('2026-12-01T00:00:00Z')).toBe('history202612');
  });

  it('writes each row to its month table, creating it on first write, and reads a range across months in order', async () => {
    const store = await open();
    const repo = new TableHistoryRepository(store);
    expect(await tableNames(store)).not.toContain('history202611');
    await repo.appendMany([entry('2026-12-01T00:00:00.000Z', 'r3'), entry('2026-11-30T23:00:00.000Z', 'r2'), entry('2026-11-02T02:00:00.000Z', 'r1')]);
    // A second writer (another instance, empty cache) and a redelivery: same rows, no error.
    await new TableHistoryRepository(store).appendMany([entry('2026-11-30T23:00:00.000Z', 'r2', 70)]);

    expect((await tableNames(store)).filter((t) => t.startsWith('history'))).toEqual(['history202611', 'history202612']);
    const p = historyPartition(id);
    expect(await rowKeys(store, 'history202611')).toEqual([`${p}/2026-11-02T02:00:00.000Z`, `${p}/2026-11-30T23:00:00.000Z`]);
    expect(await rowKeys(store, 'history202612')).toEqual([`${p}/2026-12-01T00:00:00.000Z`]);

    expect((await repo.list(id, '2026-11-01T00:00:00Z', '2026-12-31T00:00:00Z')).map((e) => [e.runId, e.score])).toEqual([['r1', 50], ['r2', 70], ['r3', 50]]);
    expect((await repo.list(id, '2026-11-30T23:00:00.000Z', '2026-12-01T00:00:00.000Z')).map((e) => e.runId)).toEqual(['r2', 'r3']);
    expect((await repo.list(id, '2026-11-03T00:00:00Z', '2026-11-30T22:59:59.999Z')).map((e) => e.runId)).toEqual([]);
  });

  it('lists months never written (no table) as empty', async () => {
    const store = await open();
    const repo = new TableHistoryRepository(store);
    expect(await repo.list(id, '2025-01-01T00:00:00Z', '2026-12-31T00:00:00Z')).toEqual([]);
    await repo.appendMany([entry('2026-03-15T00:00:00.000Z', 'r1')]);
    expect((await repo.list(id, '2025-01-01T00:00:00Z', '2026-12-31T00:00:00Z')).map((e) => e.runId)).toEqual(['r1']);
    // Drift reads everything since 1970: from the oldest month table on, same result.
    expect((await new TableHistoryRepository(store).list(id, new Date(0).toISOString(), '2026-12-31T00:00:00Z')).map((e) => e.runId)).toEqual(['r1']);
    expect(await tableNames(store)).not.toContain('history202602');
  });

  it('purges whole months before the cutoff month only, and no other table', async () => {
    const store = await open();
    const other = await open();
    const repo = new TableHistoryRepository(store);
    const otherRepo = new TableHistoryRepository(other);
    await repo.appendMany([entry('2026-08-31T23:59:59.999Z', 'r1'), entry('2026-09-01T00:00:00.000Z', 'r2'), entry('2026-09-20T00:00:00.000Z', 'r3'), entry('2026-10-05T00:00:00.000Z', 'r4')]);
    await otherRepo.appendMany([entry('2026-08-01T00:00:00.000Z', 'o1')]);
    const before = await tableNames(store);

    // The cutoff's month (September) stays whole, even its entries older than the cutoff.
    expect(await repo.purgeOlderThan('2026-09-15T00:00:00Z')).toBe(1);
    expect(await tableNames(store)).toEqual(before.filter((t) => t !== 'history202608'));
    expect((await repo.list(id, '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z')).map((e) => e.runId)).toEqual(['r2', 'r3', 'r4']);
    expect(await repo.purgeOlderThan('2026-09-15T00:00:00Z')).toBe(0);
    // Another store's tables (another prefix) are untouched.
    expect((await otherRepo.list(id, '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z')).map((e) => e.runId)).toEqual(['o1']);

    expect(await repo.purgeOlderThan('2026-10-01T00:00:00Z')).toBe(1);
    expect((await repo.list(id, '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z')).map((e) => e.runId)).toEqual(['r4']);
    expect((await tableNames(store)).filter((t) => !t.startsWith('history'))).toEqual(before.filter((t) => !t.startsWith('history')));
  });
});

/**
 * TableExceptionRepository against Azurite: expiry rows make active and expired exceptions row-key
 * ranges (listing reads only the range it needs, never every expired exception kept forever),
 * record and expiry row are written and deleted together, and records stored before expiry rows
 * existed are backfilled once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableStore } from '../../../adapters/storage/table-store.js';
import { TableExceptionRepository } from '../../../adapters/storage/table-exception-repository.js';
import { escapeKey } from '../../../adapters/storage/table-keys.js';
import type { ExceptionPageQuery } from '../../../application/ports.js';
import { ConflictError } from '../../../domain/errors.js';
import type { ControlException } from '../../../domain/model.js';
import { countRowsRead } from '../../support/table-read-counter.js';
import { uniquePrefix } from './fixtures.js';

let azurite: RunningAzurite;
const open = (): Promise<TableStore> => TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: uniquePrefix() });

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

const AT = '2026-05-01T12:00:00.000Z';

function exception(id: string, expiresAt: string): ControlException {
  return { id, controlId: 'ARC-AC-01', scope: '/subscriptions/s/resourcegroups/rg', justification: 'j', ticket: 'T-1', createdBy: 'me', createdAt: '2026-01-01T00:00:00.000Z', expiresAt };
}

async function allPages(repo: TableExceptionRepository, query: Omit<ExceptionPageQuery, 'continuationToken'>): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await repo.listPage({ ...query, continuationToken: token });
    expect(page.items.length).toBeLessThanOrEqual(query.top);
    ids.push(...page.items.map((e) => e.id));
    token = page.continuationToken;
    pages += 1;
  } while (token !== undefined);
  return { ids, pages };
}

describe('TableExceptionRepository', () => {
  const set = [
    exception('expired-long-ago', '2025-01-01T00:00:00.000Z'),
    exception('active-soon', '2026-05-01T12:00:00.001Z'),
    exception('expires-now', AT),
    exception('active-later', '2027-01-01T00:00:00.000Z'),
    exception('expired-recently', '2026-05-01T11:59:59.999Z'),
    exception('b/also#later?', '2027-01-01T00:00:00.000Z'),
  ];

  it('lists latest expiry first, active and expired as ranges, across pages', async () => {
    const repo = new TableExceptionRepository(await open());
    for (const e of set) await repo.create(e);
    const active = ['active-later', 'b/also#later?', 'active-soon'];
    const expired = ['expires-now', 'expired-recently', 'expired-long-ago'];
    expect((await allPages(repo, { at: AT, top: 100 })).ids).toEqual([...active, ...expired]);
    expect(await allPages(repo, { at: AT, top: 2 })).toEqual({ ids: [...active, ...expired], pages: 3 });
    expect((await allPages(repo, { status: 'active', at: AT, top: 1 })).ids).toEqual(active);
    expect((await allPages(repo, { status: 'expired', at: AT, top: 2 })).ids).toEqual(expired);
    expect((await repo.listActive(AT)).map((e) => e.id)).toEqual(active);
    expect((await repo.list()).map((e) => e.id).sort()).toEqual(set.map((e) => e.id).sort());
    expect((await repo.listPage({ status: 'active', at: AT, top: 5 })).items[2]).toEqual(set[1]);
  });

  it('reads only the range asked for, however many expired exceptions are kept', async () => {
    const store = await open();
    const repo = new TableExceptionRepository(store);
    for (let i = 0; i < 40; i += 1) await repo.create(exception(`old-${i}`, new Date(Date.parse('2025-01-01T00:00:00.000Z') + i * 3_600_000).toISOString()));
    await repo.create(exception('live-1', '2026-06-01T00:00:00.000Z'));
    await repo.create(exception('live-2', '2026-07-01T00:00:00.000Z'));
    await repo.listActive(AT); // the once-per-instance backfill check happens first
    const reads = countRowsRead(store.client('exceptions'));
    try {
      expect((await repo.listActive(AT)).map((e) => e.id)).toEqual(['live-2', 'live-1']);
      expect((await repo.listPage({ status: 'active', at: AT, top: 100 })).items.map((e) => e.id)).toEqual(['live-2', 'live-1']);
      expect(reads.rows).toBe(4);
      reads.reset();
      const firstExpired = await repo.listPage({ status: 'expired', at: AT, top: 5 });
      expect(firstExpired.items.map((e) => e.id)).toEqual(['old-39', 'old-38', 'old-37', 'old-36', 'old-35']);
      expect(reads.rows).toBe(5);
    } finally {
      reads.restore();
    }
  });

  it('creates record and expiry row together, refuses a duplicate, deletes both', async () => {
    const repo = new TableExceptionRepository(await open());
    const ex = exception('ex/1#?', '2026-06-01T00:00:00.000Z');
    await repo.create(ex);
    await expect(repo.create({ ...ex, expiresAt: '2026-09-01T00:00:00.000Z' })).rejects.toBeInstanceOf(ConflictError);
    expect(await repo.get('ex/1#?')).toEqual(ex);
    expect((await repo.listPage({ at: AT, top: 10 })).items).toEqual([ex]);
    expect(await repo.delete('ex/1#?')).toBe(true);
    expect(await repo.delete('ex/1#?')).toBe(false);
    expect(await repo.get('ex/1#?')).toBeUndefined();
    expect((await repo.listPage({ at: AT, top: 10 })).items).toEqual([]);
    expect(await repo.listActive(AT)).toEqual([]);
  });

  it('leaves no expiry row behind when a backfill runs while a record awaiting one is deleted', async () => {
    const store = await open();
    const table = store.client('exceptions');
    const legacy = exception('legacy-active', '2026-08-01T00:00:00.000Z');
    await table.createEntity({ partitionKey: 'exception', rowKey: escapeKey(legacy.id), ...legacy });
    // Another instance's first listing backfills right after this delete removed the (missing) expiry row.
    const deleteEntity = table.deleteEntity.bind(table);
    let interleaved = false;
    table.deleteEntity = (async (...args: Parameters<typeof deleteEntity>) => {
      try {
        return await deleteEntity(...args); // 404 here: the record has no expiry row yet
      } finally {
        if (!interleaved && args[1].startsWith('exp|')) {
          interleaved = true;
          await new TableExceptionRepository(store).listActive(AT);
        }
      }
    });
    try {
      expect(await new TableExceptionRepository(store).delete(legacy.id)).toBe(true);
    } finally {
      table.deleteEntity = deleteEntity;
    }
    expect(interleaved).toBe(true);
    expect(await new TableExceptionRepository(store).listActive(AT)).toEqual([]);
    expect((await new TableExceptionRepository(store).listPage({ at: AT, top: 10 })).items).toEqual([]);
  });

  it('backfills expiry rows for records stored before they existed, once', async () => {
    const store = await open();
    const table = store.client('exceptions');
    const legacy = [exception('legacy-active', '2026-08-01T00:00:00.000Z'), exception('legacy/expired', '2026-02-01T00:00:00.000Z')];
    for (const e of legacy) await table.createEntity({ partitionKey: 'exception', rowKey: escapeKey(e.id), ...e });

    const repo = new TableExceptionRepository(store);
    await repo.create(exception('new', '2026-07-01T00:00:00.000Z'));
    expect((await repo.listPage({ at: AT, top: 10 })).items.map((e) => e.id)).toEqual(['legacy-active', 'new', 'legacy/expired']);
    expect((await repo.listActive(AT)).map((e) => e.id)).toEqual(['legacy-active', 'new']);
    expect(await repo.delete('legacy-active')).toBe(true);
    expect((await repo.listPage({ status: 'active', at: AT, top: 10 })).items.map((e) => e.id)).toEqual(['new']);

    // Done for the deployment: a later instance does not read the partition again.
    await table.createEntity({ partitionKey: 'exception', rowKey: 'late-legacy', ...exception('late-legacy', '2026-09-01T00:00:00.000Z') });
    const reads = countRowsRead(table);
    try {
      expect((await new TableExceptionRepository(store).listPage({ status: 'active', at: AT, top: 10 })).items.map((e) => e.id)).toEqual(['new']);
      expect(reads.rows).toBe(1);
    } finally {
      reads.restore();
    }
  });
});

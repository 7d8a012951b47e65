/**
 * Paging against Azurite: continuation tokens are checked strictly (an altered token is
 * InvalidRequest on every paged repository read, never an SDK failure), and one read examines a
 * bounded number of rows, returning a short or empty page with a continuation instead of scanning a
 * whole table or partition; following continuations visits every match exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestError, TableClient, type TableEntity, type TransactionAction } from '@azure/data-tables';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import {
  MAX_QUERIES_PER_PAGE,
  MAX_ROWS_EXAMINED_PER_PAGE,
  TableStore,
  decodeContinuation,
  encodeContinuation,
  readPage,
  type PageCursor,
} from '../../../adapters/storage/table-store.js';
import { TableClusterStateRepository } from '../../../adapters/storage/table-cluster-state-repository.js';
import { TableAuditLog } from '../../../adapters/storage/table-audit-log.js';
import { TableRunRepository } from '../../../adapters/storage/table-run-repository.js';
import { TableExceptionRepository } from '../../../adapters/storage/table-exception-repository.js';
import { TableRolloutRepository } from '../../../adapters/storage/table-rollout-repository.js';
import { TableWebhookDeliveryRepository, TableWebhookSubscriptionRepository, WebhookTables } from '../../../adapters/storage/table-webhook-store.js';
import type { ClusterQuery, ClusterState } from '../../../application/ports.js';
import { InvalidRequestError } from '../../../domain/errors.js';
import { ALTERED_TABLE_TOKENS } from '../../support/altered-continuation-tokens.js';
import { countRowsRead } from '../../support/table-read-counter.js';
import { SUB_A, SUB_B, clusterState, uniquePrefix } from './fixtures.js';

let azurite: RunningAzurite;
const connection = (): { connectionString: string } => ({ connectionString: azurite.connectionString });
const open = (): Promise<TableStore> => TableStore.open(connection(), { tablePrefix: uniquePrefix() });

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

/** A table of `count` tiny rows over a few partitions, `hit` set on the rows `isHit` picks. */
async function tinyTable(count: number, isHit: (i: number) => boolean): Promise<TableClient> {
  const client = TableClient.fromConnectionString(azurite.connectionString, `${uniquePrefix()}tiny`, { allowInsecureConnection: true });
  await client.createTable();
  const byPartition = new Map<string, TransactionAction[]>();
  for (let i = 0; i < count; i += 1) {
    const entity: TableEntity = { partitionKey: `p${i % 3}`, rowKey: `r${String(i).padStart(6, '0')}`, i, hit: isHit(i) };
    const list = byPartition.get(entity.partitionKey) ?? [];
    list.push(['create', entity]);
    byPartition.set(entity.partitionKey, list);
  }
  for (const list of byPartition.values()) for (let i = 0; i < list.length; i += 100) await client.submitTransaction(list.slice(i, i + 100));
  return client;
}

/** Follows cursors to the end; records every page and how many rows each call examined. */
async function followAll(
  client: TableClient,
  top: number,
  match: (e: Readonly<Record<string, unknown>>) => boolean,
): Promise<{ ids: number[]; pages: { size: number; examined: number; more: boolean }[] }> {
  const ids: number[] = [];
  const pages: { size: number; examined: number; more: boolean }[] = [];
  let cursor: PageCursor | undefined;
  do {
    let examined = 0;
    // Through the token, as a client would: encode, then decode the next request's token.
    const page = await readPage(client, undefined, top, cursor, ['PartitionKey', 'RowKey', 'i', 'hit'], {
      match: (e) => {
        examined += 1;
        return match(e);
      },
    });
    ids.push(...page.entities.map((e) => Number(e['i'])));
    pages.push({ size: page.entities.length, examined, more: page.continuationToken !== undefined });
    cursor = decodeContinuation(encodeContinuation(page.continuationToken));
    expect(pages.length).toBeLessThan(100);
  } while (cursor !== undefined);
  return { ids, pages };
}

const partitionOrder = (count: number, isHit: (i: number) => boolean): number[] =>
  Array.from({ length: count }, (_, i) => i)
    .filter(isHit)
    .sort((a, b) => a % 3 - (b % 3) || a - b);

describe('continuation tokens', () => {
  it('round-trips a cursor with a skip, and a bare SDK continuation', () => {
    const sdk = Buffer.from(JSON.stringify({ nextPartitionKey: '1!8!cDA-', nextRowKey: '1!8!cjE-' })).toString('base64');
    expect(decodeContinuation(encodeContinuation({ sdk, skip: 17 }))).toEqual({ sdk, skip: 17 });
    expect(decodeContinuation(encodeContinuation({ sdk: undefined, skip: 999 }))).toEqual({ sdk: undefined, skip: 999 });
    expect(decodeContinuation(encodeContinuation(sdk))).toEqual({ sdk, skip: 0 });
    expect(encodeContinuation({ sdk: undefined, skip: 0 })).toBeUndefined();
  });

  it.each(Object.entries(ALTERED_TABLE_TOKENS))('refuses an altered token: %s', (_name, token) => {
    expect(() => decodeContinuation(token)).toThrow(InvalidRequestError);
  });

  it('refuses a token longer than the API allows', () => {
    const sdk = Buffer.from(JSON.stringify({ nextPartitionKey: 'a'.repeat(2048), nextRowKey: 'b'.repeat(2048) })).toString('base64');
    expect(() => decodeContinuation(encodeContinuation({ sdk, skip: 0 }))).toThrow(InvalidRequestError);
  });

  it('refuses altered tokens on every paged repository read', async () => {
    const store = await open();
    const clusters = new TableClusterStateRepository(store, { listCacheMs: 0 });
    await clusters.upsertMany([clusterState(SUB_A, 'rg', 'c1', { env: 'prod', failing: ['ARC-AC-01'] })]);
    const audit = new TableAuditLog(store);
    const runs = new TableRunRepository(store);
    const exceptions = new TableExceptionRepository(store);
    const rollouts = await TableRolloutRepository.open(connection(), { tablePrefix: uniquePrefix() });
    const webhookTables = await WebhookTables.open(connection(), { tablePrefix: uniquePrefix() });
    const webhooks = new TableWebhookSubscriptionRepository(webhookTables);
    const deliveries = new TableWebhookDeliveryRepository(webhookTables);
    const queries: Omit<ClusterQuery, 'top' | 'continuationToken'>[] = [{}, { subscriptionId: SUB_A }, { failingControlId: 'ARC-AC-01' }, { environment: 'prod' }, { stale: false }];
    const reads: [string, (token: string) => Promise<unknown>][] = [
      ...queries.flatMap((q): [string, (token: string) => Promise<unknown>][] => [
        [`clusters.list ${JSON.stringify(q)}`, (t) => clusters.list({ ...q, top: 5, continuationToken: t })],
        [`clusters.listSummaries ${JSON.stringify(q)}`, (t) => clusters.listSummaries({ ...q, top: 5, continuationToken: t })],
      ]),
      ['clusters.listSummaryInputs', (t) => clusters.listSummaryInputs(5, t)],
      ['audit.list', (t) => audit.list(5, t)],
      ['runs.list', (t) => runs.list(5, t)],
      ['exceptions.listPage', (t) => exceptions.listPage({ at: '2026-05-01T00:00:00.000Z', top: 5, continuationToken: t })],
      ['exceptions.listPage active', (t) => exceptions.listPage({ status: 'active', at: '2026-05-01T00:00:00.000Z', top: 5, continuationToken: t })],
      ['rollouts.list', (t) => rollouts.list(5, t)],
      ['webhooks.list', (t) => webhooks.list(5, t)],
      ['webhook deliveries.list', (t) => deliveries.list('hook-1', 5, t)],
    ];
    for (const [read, call] of reads) {
      for (const [name, token] of Object.entries(ALTERED_TABLE_TOKENS)) {
        const outcome = await call(token).then(
          () => 'resolved',
          (e: unknown) => (e instanceof InvalidRequestError && e.target === 'continuationToken' ? 'InvalidRequest' : String(e)),
        );
        expect(outcome, `${read} with ${name}`).toBe('InvalidRequest');
      }
    }
  });
});

describe('readPage bounds', () => {
  it('returns empty pages with a continuation, not a whole-table read, when a filter matches nothing', async () => {
    const count = 2 * MAX_ROWS_EXAMINED_PER_PAGE + 500;
    const client = await tinyTable(count, () => false);
    const { ids, pages } = await followAll(client, 100, (e) => e['hit'] === true);
    expect(ids).toEqual([]);
    expect(pages).toEqual([
      { size: 0, examined: MAX_ROWS_EXAMINED_PER_PAGE, more: true },
      { size: 0, examined: MAX_ROWS_EXAMINED_PER_PAGE, more: true },
      { size: 0, examined: 500, more: false },
    ]);
  });

  it('visits every sparse match exactly once, in key order, examining a bounded number of rows per call', async () => {
    const count = 2500;
    const isHit = (i: number): boolean => i % 97 === 5;
    const client = await tinyTable(count, (i) => isHit(i));
    const { ids, pages } = await followAll(client, 3, (e) => e['hit'] === true);
    expect(ids).toEqual(partitionOrder(count, isHit));
    for (const p of pages) {
      expect(p.size).toBeLessThanOrEqual(3);
      expect(p.examined).toBeLessThanOrEqual(MAX_ROWS_EXAMINED_PER_PAGE);
    }
    expect(pages.at(-1)?.more).toBe(false);
    // Pages that filled up inside a chunk the service returned resume there (a cursor with a skip).
    expect(pages.filter((p) => p.more && p.size === 3).length).toBeGreaterThan(0);
  });

  it('pages dense matches without a predicate exactly', async () => {
    const client = await tinyTable(50, () => true);
    const { ids, pages } = await followAll(client, 7, () => true);
    expect(ids).toEqual(partitionOrder(50, () => true));
    expect(pages.map((p) => p.size)).toEqual([7, 7, 7, 7, 7, 7, 7, 1]);
  });

  it('sends at most MAX_QUERIES_PER_PAGE queries when the service keeps answering empty pages', async () => {
    let queries = 0;
    const emptyPages = {
      listEntities: () => ({
        byPage: () => ({
          next: async () => {
            queries += 1;
            // Ends after 50 pages, so a reader without the bound fails here instead of hanging.
            if (queries > 50) return { done: true, value: undefined };
            const token = Buffer.from(JSON.stringify({ nextPartitionKey: `p${queries}` })).toString('base64');
            return { done: false, value: Object.assign([], { continuationToken: token }) };
          },
        }),
      }),
    } as unknown as TableClient;
    const page = await readPage(emptyPages, "hit eq true", 10, undefined);
    expect(queries).toBe(MAX_QUERIES_PER_PAGE);
    expect(page.entities).toEqual([]);
    expect(page.continuationToken?.sdk).toBe(Buffer.from(JSON.stringify({ nextPartitionKey: `p${MAX_QUERIES_PER_PAGE}` })).toString('base64'));
  });

  it('reports a continuation the service refuses (400) as InvalidRequest, other failures as they are', async () => {
    const failing = (status: number): TableClient =>
      ({
        listEntities: () => ({ byPage: () => ({ next: async () => Promise.reject(new RestError('refused', { statusCode: status })) }) }),
      }) as unknown as TableClient;
    const cursor = decodeContinuation(encodeContinuation(Buffer.from(JSON.stringify({ nextPartitionKey: 'p' })).toString('base64')));
    await expect(readPage(failing(400), undefined, 10, cursor)).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(readPage(failing(400), undefined, 10, undefined)).rejects.toBeInstanceOf(RestError);
    await expect(readPage(failing(503), undefined, 10, cursor)).rejects.toBeInstanceOf(RestError);
  });
});

describe('TableClusterStateRepository listing bounds', () => {
  async function pagesOf(
    repo: TableClusterStateRepository,
    query: Omit<ClusterQuery, 'top' | 'continuationToken'>,
    top: number,
    view: 'list' | 'summaries',
  ): Promise<{ names: string[]; sizes: number[] }> {
    const names: string[] = [];
    const sizes: number[] = [];
    let token: string | undefined;
    do {
      const page = view === 'list' ? await repo.list({ ...query, top, continuationToken: token }) : await repo.listSummaries({ ...query, top, continuationToken: token });
      names.push(...page.items.map((s) => s.name));
      sizes.push(page.items.length);
      token = page.continuationToken;
      expect(sizes.length).toBeLessThan(200);
    } while (token !== undefined);
    return { names, sizes };
  }

  const SUB_C = `${SUB_A}x`;
  let store: TableStore;
  let repo: TableClusterStateRepository;
  let states: ClusterState[];
  const expected = (pred: (s: ClusterState) => boolean): string[] => states.filter(pred).map((s) => s.name).sort();

  beforeAll(async () => {
    // 8 rows examined per request: the bound the app applies at 1,000, small enough to see here.
    store = await open();
    repo = new TableClusterStateRepository(store, { listCacheMs: 0, maxRowsExamined: 8 });
    states = [];
    for (let i = 0; i < 40; i += 1) {
      const sub = [SUB_A, SUB_B, SUB_C][i % 3] as string;
      states.push(
        clusterState(sub, `rg${i % 4}`, `c${String(i).padStart(2, '0')}`, {
          env: i % 5 === 0 ? 'prod' : 'dev',
          location: i % 2 === 0 ? 'eastus' : 'westeurope',
          failing: i % 3 === 0 || i % 7 === 0 ? ['ARC-AC-01'] : [],
          stale: i !== 9 && i !== 26 && i !== 31,
        }),
      );
    }
    await repo.upsertMany(states);
  });

  it('answers ?stale=false over a mostly stale fleet in bounded pages, each match once', async () => {
    for (const view of ['list', 'summaries'] as const) {
      const { names, sizes } = await pagesOf(repo, { stale: false }, 100, view);
      expect(names.sort()).toEqual(['c09', 'c26', 'c31']);
      // 40 rows at 8 per request: 5 requests, most of them short or empty but with a continuation.
      expect(sizes).toHaveLength(5);
      expect(sizes.filter((s) => s === 0).length).toBeGreaterThan(0);
    }
  });

  it('returns an empty page with a continuation when nothing matches yet', async () => {
    // SUB_B's partition in key order: rg0 (c04, c16, c28), rg1 (c01, c13, c25, c37), rg2 …, rg3 (… c31):
    // its only live cluster, c31, comes after the first 8 rows.
    const first = await repo.list({ subscriptionId: SUB_B, stale: false, top: 10 });
    expect(first.items).toEqual([]);
    expect(first.continuationToken).toBeDefined();
    expect((await pagesOf(repo, { subscriptionId: SUB_B, stale: false }, 10, 'list')).names).toEqual(['c31']);
    // A filter the whole partition fails ends with an empty page without a continuation.
    expect((await pagesOf(repo, { environment: 'prod', stale: false }, 10, 'summaries')).sizes).toEqual([0]);
  });

  it('keeps every filter exact across bounded pages (main table and index partitions)', async () => {
    const cases: [Omit<ClusterQuery, 'top' | 'continuationToken'>, (s: ClusterState) => boolean][] = [
      [{ status: 'compliant', location: 'eastus' }, (s) => s.evaluation.failedControls.length === 0 && s.location === 'eastus'],
      [{ environment: 'DEV', stale: true }, (s) => s.environment === 'dev' && s.stale],
      [{ subscriptionId: SUB_B, status: 'noncompliant' }, (s) => s.subscriptionId === SUB_B && s.evaluation.failedControls.length > 0],
      [{ failingControlId: 'ARC-AC-01', location: 'westeurope' }, (s) => s.evaluation.failedControls.includes('ARC-AC-01') && s.location === 'westeurope'],
      [{ status: 'noncompliant' }, (s) => s.evaluation.failedControls.length > 0],
    ];
    for (const [query, pred] of cases) {
      for (const view of ['list', 'summaries'] as const) {
        for (const top of [1, 3, 50]) {
          const { names, sizes } = await pagesOf(repo, query, top, view);
          expect(names.sort(), `${JSON.stringify(query)} top=${top} ${view}`).toEqual(expected(pred));
          expect(Math.max(...sizes)).toBeLessThanOrEqual(top);
        }
      }
    }
  });

  it('reads a subscription as a row-key range of a failing-control index partition', async () => {
    // Count the index rows the service returns: a range read returns only the subscription's.
    const indexReads = countRowsRead(store.client('clusterIndex'));
    try {
      for (const sub of [SUB_A, SUB_B, SUB_C]) {
        indexReads.reset();
        const want = expected((s) => s.subscriptionId === sub && s.evaluation.failedControls.includes('ARC-AC-01'));
        const { names } = await pagesOf(repo, { subscriptionId: sub, failingControlId: 'ARC-AC-01' }, 2, 'list');
        expect(names.sort()).toEqual(want);
        expect(indexReads.rows).toBe(want.length);
      }
    } finally {
      indexReads.restore();
    }
  });
});

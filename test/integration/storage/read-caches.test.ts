/**
 * The in-process read caches of the API's hot reads: the latest summary (ETag-revalidated), the
 * cluster list view (`listSummaries`) and verified bearer tokens. Each must never serve what a fresh
 * read would not: a write in this process shows at once, another writer within the bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { createTokenIssuer } from '../../../local/token-issuer.js';
import { createJwtAuthenticator } from '../../../adapters/http/auth.js';
import { TableStore } from '../../../adapters/storage/table-store.js';
import { TableClusterStateRepository } from '../../../adapters/storage/table-cluster-state-repository.js';
import { TableSummaryRepository } from '../../../adapters/storage/table-summary-repository.js';
import { toClusterSummary } from '../../../application/stored-records.js';
import type { FleetSummary } from '../../../domain/model.js';
import { SUB_A, SUB_B, clusterState, uniquePrefix } from './fixtures.js';

let azurite: RunningAzurite;
const open = (prefix = uniquePrefix()): Promise<TableStore> => TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: prefix });

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

const summary = (runId: string, generatedAt: string): FleetSummary => ({
  runId,
  generatedAt,
  totals: { clusters: 1, compliant: 1, noncompliant: 0, stale: 0, averageScore: 100 },
  perControl: {},
  perSubscription: {},
});

describe('TableSummaryRepository latest-summary cache', () => {
  it('serves its own writes at once and another writer after the bound, via the ETag', async () => {
    const prefix = uniquePrefix();
    let now = 0;
    const reader = new TableSummaryRepository(await open(prefix), { now: () => now, latestCacheMs: 1000 });
    const otherInstanceWriter = new TableSummaryRepository(await open(prefix));
    await reader.put(summary('r1', '2026-05-01T00:00:00.000Z'));
    const first = await reader.getLatest();
    expect(first?.runId).toBe('r1');
    expect(Object.isFrozen(first)).toBe(true);
    expect(await reader.getLatest()).toBe(first); // same shared object while fresh

    await otherInstanceWriter.put(summary('r2', '2026-05-02T00:00:00.000Z'));
    // Same process: every instance drops its cache on any put, so even this one sees r2.
    expect((await reader.getLatest())?.runId).toBe('r2');

    const r2 = await reader.getLatest();
    now += 1500; // past the bound, entity unchanged: revalidated by ETag, same object kept
    expect(await reader.getLatest()).toBe(r2);
  });

  it('revalidates after the bound when another process replaced the summary', async () => {
    const prefix = uniquePrefix();
    let now = 0;
    const reader = new TableSummaryRepository(await open(prefix), { now: () => now, latestCacheMs: 1000 });
    await reader.put(summary('r1', '2026-05-01T00:00:00.000Z'));
    expect((await reader.getLatest())?.runId).toBe('r1');
    // Another process: write the entity directly (no in-process invalidation).
    const store = await open(prefix);
    const latest = await store.client('summaries').getEntity<Record<string, unknown>>('summary', 'latest');
    const text = JSON.stringify(summary('r9', '2026-05-09T00:00:00.000Z'));
    await store.client('summaries').updateEntity({ partitionKey: 'summary', rowKey: 'latest', generatedAt: '2026-05-09T00:00:00.000Z', runId: 'r9', summary_0: text, summary_n: 1 }, 'Replace', { etag: String(latest['etag']) });
    now += 500;
    expect((await reader.getLatest())?.runId).toBe('r1'); // within the documented bound
    now += 600;
    expect((await reader.getLatest())?.runId).toBe('r9');
  });
});

describe('TableClusterStateRepository.listSummaries', () => {
  it('equals list mapped to the view, for every filter and page', async () => {
    const repo = new TableClusterStateRepository(await open(), { listCacheMs: 0 });
    await repo.upsertMany([
      clusterState(SUB_A, 'rg1', 'a1', { env: 'prod', failing: ['ARC-AC-01', 'ARC-TD-01'] }),
      clusterState(SUB_A, 'rg1', 'a2', { env: 'dev' }),
      clusterState(SUB_B, 'rg2', 'b1', { env: 'prod', failing: ['ARC-AC-01'], location: 'northeurope' }),
    ]);
    for (const query of [{}, { subscriptionId: SUB_A }, { failingControlId: 'ARC-AC-01' }, { environment: 'prod' }, { status: 'compliant' as const }, { location: 'northeurope' }]) {
      let token: string | undefined;
      do {
        const full = await repo.list({ ...query, top: 2, continuationToken: token });
        const view = await repo.listSummaries({ ...query, top: 2, continuationToken: token });
        expect(view.items, JSON.stringify(query)).toEqual(full.items.map(toClusterSummary));
        expect(view.continuationToken).toBe(full.continuationToken);
        token = full.continuationToken;
      } while (token !== undefined);
    }
  });

  it('reads rows written before the list columns existed in full', async () => {
    const store = await open();
    const repo = new TableClusterStateRepository(store, { listCacheMs: 0 });
    const state = clusterState(SUB_A, 'rg1', 'old', { failing: ['ARC-AC-01'] });
    await repo.upsertMany([state]);
    const table = store.client('clusters');
    const [entity] = await (async () => {
      const out: Record<string, unknown>[] = [];
      for await (const e of table.listEntities<Record<string, unknown>>()) out.push(e);
      return out;
    })();
    const { evaluatedAt: _e, failedControls: _f, etag: _t, timestamp: _ts, ...legacy } = entity as Record<string, unknown>;
    await table.upsertEntity(legacy as { partitionKey: string; rowKey: string }, 'Replace');
    expect((await repo.listSummaries({ top: 10 })).items).toEqual([toClusterSummary(state)]);
  });

  it('caches pages within the bound and drops them on a write in this process', async () => {
    const prefix = uniquePrefix();
    let now = 0;
    const reader = new TableClusterStateRepository(await open(prefix), { now: () => now, listCacheMs: 1000 });
    const writer = new TableClusterStateRepository(await open(prefix));
    await writer.upsertMany([clusterState(SUB_A, 'rg1', 'a1')]);
    const first = await reader.listSummaries({ top: 10 });
    expect(first.items.map((c) => c.name)).toEqual(['a1']);
    expect(await reader.listSummaries({ top: 10 })).toBe(first);
    await writer.upsertMany([clusterState(SUB_A, 'rg1', 'a2')]);
    expect((await reader.listSummaries({ top: 10 })).items.map((c) => c.name)).toEqual(['a1', 'a2']);
    const second = await reader.listSummaries({ top: 10 });
    now += 1001;
    const third = await reader.listSummaries({ top: 10 });
    expect(third).not.toBe(second);
    expect(third).toEqual(second);
  });

  it('shares a frozen cluster state for the detail within the bound and drops it on a write in this process', async () => {
    const prefix = uniquePrefix();
    let now = 0;
    const reader = new TableClusterStateRepository(await open(prefix), { now: () => now, listCacheMs: 1000 });
    const writer = new TableClusterStateRepository(await open(prefix));
    const stored = clusterState(SUB_A, 'rg1', 'a1');
    await writer.upsertMany([stored]);
    const first = await reader.getShared(SUB_A, 'RG1', 'a1');
    expect(first).toEqual(await reader.get(SUB_A, 'rg1', 'a1'));
    expect(Object.isFrozen(first?.evaluation.controls[0])).toBe(true);
    expect(await reader.getShared(SUB_A, 'rg1', 'a1')).toBe(first);
    await writer.upsertMany([{ ...stored, lastSeenAt: '2030-01-01T00:00:00.000Z' }]);
    const second = await reader.getShared(SUB_A, 'rg1', 'a1');
    expect(second?.lastSeenAt).toBe('2030-01-01T00:00:00.000Z');
    now += 1001;
    const third = await reader.getShared(SUB_A, 'rg1', 'a1');
    expect(third).not.toBe(second);
    expect(third).toEqual(second);
    expect(await reader.getShared(SUB_A, 'rg1', 'missing')).toBeUndefined();
  });
});

describe('verified token cache', () => {
  let server: Server;
  let jwksHits = 0;
  beforeAll(() => undefined);
  afterAll(() => server?.close());

  it('skips re-verification of a known token, but never past its exp', async () => {
    server = createServer((req, res) => {
      jwksHits += 1;
      if (!issuer.handle(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const issuer = await createTokenIssuer({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    let now = Date.now();
    const auth = createJwtAuthenticator({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, now: () => now });
    const token = await issuer.mintToken({ roles: ['Compliance.Read'], expiresIn: 120 });
    const principal = await auth.authenticate(`Bearer ${token}`);
    expect(await auth.authenticate(`Bearer ${token}`)).toBe(principal); // from the cache
    expect(jwksHits).toBe(1);
    // A tampered signature is a different key: verified (and refused), never served from the cache.
    const tampered = `${token.slice(0, -4)}${token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    await expect(auth.authenticate(`Bearer ${tampered}`)).rejects.toThrow();
    // Past exp the entry is dropped: the token is verified again (jose, real clock: still valid).
    now += 121_000;
    const again = await auth.authenticate(`Bearer ${token}`);
    expect(again).not.toBe(principal);
    expect(again).toEqual(principal);
  });
});

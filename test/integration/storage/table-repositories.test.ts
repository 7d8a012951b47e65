import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableStore } from '../../../adapters/storage/table-store.js';
import { TableClusterStateRepository } from '../../../adapters/storage/table-cluster-state-repository.js';
import { TableRunRepository } from '../../../adapters/storage/table-run-repository.js';
import { TableHistoryRepository } from '../../../adapters/storage/table-history-repository.js';
import { TableSummaryRepository } from '../../../adapters/storage/table-summary-repository.js';
import { TableExceptionRepository } from '../../../adapters/storage/table-exception-repository.js';
import { TableAuditLog } from '../../../adapters/storage/table-audit-log.js';
import type { ClusterQuery, ClusterState, EvaluationRun } from '../../../application/ports.js';
import type { FleetSummary } from '../../../domain/model.js';
import { ConflictError, InvalidRequestError } from '../../../domain/errors.js';
import { SUB_A, SUB_B, clusterState, uniquePrefix } from './fixtures.js';

let azurite: RunningAzurite;
const open = (): Promise<TableStore> => TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: uniquePrefix() });

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

async function listAll(repo: TableClusterStateRepository, query: Omit<ClusterQuery, 'top' | 'continuationToken'>, top: number): Promise<{ names: string[]; pages: number }> {
  const names: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await repo.list({ ...query, top, continuationToken: token });
    expect(page.items.length).toBeLessThanOrEqual(top);
    names.push(...page.items.map((s) => s.name));
    token = page.continuationToken;
    pages += 1;
  } while (token !== undefined);
  return { names, pages };
}

describe('TableClusterStateRepository', () => {
  it('round-trips a state and reads it back by hostile names', async () => {
    const repo = new TableClusterStateRepository(await open());
    const hostile = clusterState(SUB_A, 'rg/x#y', 'a/b#c?d\\e%f|g\u0001', { env: 'prod', failing: ['ARC-AC-01'] });
    const plain = clusterState(SUB_A, 'rg', 'a', { env: 'dev' });
    await repo.upsertMany([hostile, plain]);
    expect(await repo.get(SUB_A, 'RG/X#Y', 'A/B#C?D\\E%F|G\u0001')).toEqual(hostile);
    expect(await repo.get(SUB_A, 'rg', 'a')).toEqual(plain);
    expect(await repo.get(SUB_A, 'rg', 'a/b#c?d\\e%f|g\u0001')).toBeUndefined();
    expect(await repo.get(SUB_B, 'rg', 'a')).toBeUndefined();
    expect((await repo.listBySubscription(SUB_A)).map((s) => s.name).sort()).toEqual(['a', 'a/b#c?d\\e%f|g\u0001']);
  });

  it('pages with top and continuation, and filters through the index', async () => {
    const repo = new TableClusterStateRepository(await open());
    const states: ClusterState[] = [];
    for (let i = 0; i < 25; i += 1) {
      const sub = i % 2 === 0 ? SUB_A : SUB_B;
      states.push(
        clusterState(sub, `rg${i % 3}`, `c${String(i).padStart(2, '0')}`, {
          env: i % 5 === 0 ? 'prod' : 'dev',
          location: i % 4 === 0 ? 'eastus' : 'westeurope',
          failing: i % 3 === 0 ? ['ARC-AC-01'] : [],
        }),
      );
    }
    await repo.upsertMany(states);
    const expectNames = (pred: (s: ClusterState) => boolean): string[] => states.filter(pred).map((s) => s.name).sort();

    const all = await listAll(repo, {}, 4);
    expect(all.names.sort()).toEqual(expectNames(() => true));
    expect(all.pages).toBeGreaterThanOrEqual(7);

    expect((await listAll(repo, { subscriptionId: SUB_A }, 5)).names.sort()).toEqual(expectNames((s) => s.subscriptionId === SUB_A));
    expect((await listAll(repo, { environment: 'PROD' }, 2)).names.sort()).toEqual(expectNames((s) => s.environment === 'prod'));
    expect((await listAll(repo, { failingControlId: 'ARC-AC-01' }, 3)).names.sort()).toEqual(expectNames((s) => s.evaluation.failedControls.includes('ARC-AC-01')));
    expect((await listAll(repo, { status: 'compliant', location: 'eastus' }, 3)).names.sort()).toEqual(
      expectNames((s) => s.evaluation.failedControls.length === 0 && s.location === 'eastus'),
    );
    expect((await listAll(repo, { subscriptionId: SUB_B, status: 'noncompliant' }, 10)).names.sort()).toEqual(
      expectNames((s) => s.subscriptionId === SUB_B && s.evaluation.failedControls.length > 0),
    );
    expect((await listAll(repo, { failingControlId: 'ARC-AC-01', subscriptionId: SUB_A, environment: 'prod' }, 10)).names.sort()).toEqual(
      expectNames((s) => s.subscriptionId === SUB_A && s.environment === 'prod' && s.evaluation.failedControls.includes('ARC-AC-01')),
    );
    // Hostile filter values are data, not OData.
    expect((await repo.list({ environment: "prod' or true or 'x", top: 10 })).items).toEqual([]);
    await expect(repo.list({ top: 5, continuationToken: 'not a token!' })).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it('moves index rows when a state changes and marks a subscription stale keeping results', async () => {
    const repo = new TableClusterStateRepository(await open());
    const before = clusterState(SUB_A, 'rg', 'one', { env: 'prod', failing: ['ARC-AC-01'], runId: 'run-1' });
    const other = clusterState(SUB_B, 'rg', 'two', { env: 'prod', runId: 'run-1' });
    await repo.upsertMany([before, other]);
    const after = clusterState(SUB_A, 'rg', 'one', { env: 'test', failing: [], runId: 'run-2' });
    await repo.upsertMany([after]);
    expect((await repo.list({ failingControlId: 'ARC-AC-01', top: 10 })).items).toEqual([]);
    expect((await repo.list({ environment: 'prod', top: 10 })).items.map((s) => s.name)).toEqual(['two']);
    expect((await repo.list({ environment: 'test', top: 10 })).items).toEqual([after]);

    expect(await repo.markStale(SUB_A)).toBe(1);
    expect(await repo.markStale(SUB_A)).toBe(0);
    const stale = await repo.get(SUB_A, 'rg', 'one');
    expect(stale).toEqual({ ...after, stale: true });
    expect((await repo.list({ stale: true, top: 10 })).items.map((s) => s.name)).toEqual(['one']);
    expect((await repo.list({ environment: 'test', stale: true, top: 10 })).items.map((s) => s.name)).toEqual(['one']);
    expect((await repo.list({ stale: false, top: 10 })).items.map((s) => s.name)).toEqual(['two']);

    // A fresh collection clears the flag and the stale index row.
    await repo.upsertMany([{ ...after, stale: false }]);
    expect((await repo.list({ stale: true, top: 10 })).items).toEqual([]);
  });

  it('diffs index rows against the stored states the caller passes exactly as against its own read', async () => {
    const indexRows = async (store: TableStore): Promise<string[]> => {
      const rows: string[] = [];
      for await (const e of store.client('clusterIndex').listEntities<Record<string, unknown>>()) {
        const { etag: _etag, timestamp: _timestamp, ...rest } = e;
        rows.push(JSON.stringify(rest));
      }
      return rows.sort();
    };
    const scenario = async (passStored: boolean): Promise<string[]> => {
      const store = await open();
      const repo = new TableClusterStateRepository(store);
      await repo.upsertMany([
        clusterState(SUB_A, 'rg', 'one', { env: 'prod', failing: ['ARC-AC-01'], runId: 'run-1' }),
        clusterState(SUB_A, 'rg', 'two', { env: 'dev', runId: 'run-1' }),
      ]);
      await repo.markStale(SUB_A);
      const stored = await repo.listBySubscription(SUB_A);
      // `one` leaves prod, ARC-AC-01 and stale; `two` starts failing ARC-AC-02 and is fresh again.
      const next = [
        clusterState(SUB_A, 'rg', 'one', { env: 'test', failing: [], runId: 'run-2' }),
        clusterState(SUB_A, 'rg', 'two', { env: 'dev', failing: ['ARC-AC-02'], runId: 'run-2' }),
      ];
      await repo.upsertMany(next, passStored ? stored : undefined);
      expect((await repo.list({ environment: 'test', top: 10 })).items).toEqual([next[0]]);
      return indexRows(store);
    };
    const viaOwnRead = await scenario(false);
    const viaStored = await scenario(true);
    expect(viaStored).toEqual(viaOwnRead);
    // Nothing left behind from run-1: no prod, ARC-AC-01 or stale rows.
    expect(viaStored.filter((r) => /env\|prod|ARC-AC-01|"stale":true/.test(r))).toEqual([]);
    expect(viaStored.some((r) => r.includes('ARC-AC-02'))).toBe(true);
  });

  it('stores a cluster with 500 non-compliant components and cuts pathological evidence instead of failing', async () => {
    const repo = new TableClusterStateRepository(await open());
    const base = clusterState(SUB_A, 'rg', 'big', { failing: ['ARC-PL-02'] });
    const components = Array.from({ length: 500 }, (_, i) => `/namespaces/team-${i}/pods/workload-${i}-${'x'.repeat(150)}`);
    const controls = base.evaluation.controls.map((c) =>
      c.controlId === 'ARC-PL-02' ? { ...c, evidence: `500 resources non-compliant: ${components.join(', ')}`, offenders: { items: components, total: 500 } } : c,
    );
    const big: ClusterState = { ...base, evaluation: { ...base.evaluation, controls } };
    await repo.upsertMany([big]);
    expect(await repo.get(SUB_A, 'rg', 'big')).toEqual(big);

    const huge: ClusterState = {
      ...base,
      name: 'huge',
      evaluation: { ...base.evaluation, controls: controls.map((c) => ({ ...c, evidence: 'e'.repeat(200_000) })) },
    };
    await repo.upsertMany([huge]);
    const stored = await repo.get(SUB_A, 'rg', 'huge');
    const pl02 = stored?.evaluation.controls.find((c) => c.controlId === 'ARC-PL-02');
    expect(pl02?.status).toBe('fail');
    expect(pl02?.offenders?.total).toBe(500);
    expect(pl02?.evidence).toMatch(/200000 characters, truncated/);
    expect(stored?.evaluation.failedControls).toEqual(['ARC-PL-02']);
  });

  it('rewrites the same rows on an idempotent re-write', async () => {
    const store = await open();
    const repo = new TableClusterStateRepository(store);
    const states = Array.from({ length: 120 }, (_, i) => clusterState(SUB_A, 'rg', `n${i}`, { env: 'prod', failing: ['ARC-OP-01'] }));
    await repo.upsertMany(states);
    await repo.upsertMany(states);
    expect((await repo.listBySubscription(SUB_A)).length).toBe(120);
    expect((await listAll(repo, { failingControlId: 'ARC-OP-01' }, 50)).names.length).toBe(120);
    let indexRows = 0;
    for await (const _ of store.client('clusterIndex').listEntities()) indexRows += 1;
    // env + location + status + one failing control per cluster.
    expect(indexRows).toBe(120 * 4);
  });
});

describe('TableRunRepository', () => {
  const run = (id: string, createdAt: string, total = 2): EvaluationRun => ({
    id,
    trigger: 'timer',
    status: 'running',
    requestedBy: undefined,
    createdAt,
    startedAt: createdAt,
    completedAt: undefined,
    subscriptionsTotal: total,
    subscriptionsSucceeded: 0,
    subscriptionsFailed: 0,
    failures: [],
    clustersEvaluated: 0,
  });

  it('lists newest first with continuation, rejects duplicates', async () => {
    const repo = new TableRunRepository(await open());
    for (let d = 1; d <= 5; d += 1) await repo.create(run(`r${d}`, `2026-05-0${d}T02:00:00.000Z`));
    await expect(repo.create(run('r1', '2026-05-01T02:00:00.000Z'))).rejects.toBeInstanceOf(ConflictError);
    const first = await repo.list(2);
    expect(first.items.map((r) => r.id)).toEqual(['r5', 'r4']);
    const second = await repo.list(2, first.continuationToken);
    expect(second.items.map((r) => r.id)).toEqual(['r3', 'r2']);
    const third = await repo.list(2, second.continuationToken);
    expect(third.items.map((r) => r.id)).toEqual(['r1']);
    expect(third.continuationToken).toBeUndefined();
    expect(await repo.get('r3')).toEqual(run('r3', '2026-05-03T02:00:00.000Z'));
    expect(await repo.get('nope')).toBeUndefined();
  });

  it('records outcomes idempotently and finalises only when asked and complete', async () => {
    const repo = new TableRunRepository(await open());
    await repo.create(run('a/b#c', '2026-05-01T02:00:00.000Z', 2));
    await repo.recordSubscriptionOutcome('a/b#c', SUB_A, { ok: true, clusters: 3 }, '2026-05-01T02:01:00.000Z');
    await repo.recordSubscriptionOutcome('a/b#c', SUB_A, { ok: true, clusters: 3 }, '2026-05-01T02:01:30.000Z');
    let r = await repo.refresh('a/b#c', '2026-05-01T02:02:00.000Z', { final: true });
    expect(r).toMatchObject({ status: 'running', subscriptionsSucceeded: 1, subscriptionsFailed: 0, clustersEvaluated: 3, completedAt: undefined });
    await repo.recordSubscriptionOutcome('a/b#c', SUB_B, { ok: false, error: 'boom' }, '2026-05-01T02:03:00.000Z');
    r = await repo.refresh('a/b#c', '2026-05-01T02:04:00.000Z');
    expect(r?.status).toBe('running');
    r = await repo.refresh('a/b#c', '2026-05-01T02:05:00.000Z', { final: true });
    expect(r).toMatchObject({ status: 'partial', subscriptionsSucceeded: 1, subscriptionsFailed: 1, completedAt: '2026-05-01T02:05:00.000Z' });
    expect(r?.failures).toEqual([{ subscriptionId: SUB_B, error: 'boom', at: '2026-05-01T02:03:00.000Z' }]);
    // Later refreshes keep the terminal status and completion time.
    r = await repo.refresh('a/b#c', '2026-05-01T03:00:00.000Z');
    expect(r).toMatchObject({ status: 'partial', completedAt: '2026-05-01T02:05:00.000Z' });
    expect((await repo.list(10)).items).toEqual([r]);
    expect(await repo.get('a/b#c')).toEqual(r);
  });

  it('completes a run with more failed and undiscovered subscriptions than one entity holds in full', async () => {
    const repo = new TableRunRepository(await open());
    const total = 400;
    await repo.create(run('big', '2026-05-01T02:00:00.000Z', total));
    const subs = Array.from({ length: total }, (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`);
    const error = `ARM connectedClusters.list failed (503): ${'x'.repeat(1200)}`;
    for (let i = 0; i < subs.length; i += 50) {
      await Promise.all(subs.slice(i, i + 50).map((s) => repo.recordSubscriptionOutcome('big', s, { ok: false, error }, '2026-05-01T02:10:00.000Z')));
    }
    const notDiscovered = Array.from({ length: 3000 }, (_, i) => ({ subscriptionId: `10000000-0000-0000-0000-${String(i).padStart(12, '0')}`, clusters: 50 }));
    const r = await repo.refresh('big', '2026-05-01T03:00:00.000Z', { final: true, subscriptionsNotDiscovered: notDiscovered });
    expect(r).toMatchObject({ status: 'failed', subscriptionsFailed: total, subscriptionsSucceeded: 0, completedAt: '2026-05-01T03:00:00.000Z' });
    const stored = await repo.get('big');
    expect(stored).toMatchObject({ status: 'failed', subscriptionsFailed: total });
    // Listed as far as they fit (the count stays exact): every one listed is a real failure.
    expect(stored?.failures.length).toBeGreaterThan(100);
    expect(stored?.failures.every((f) => subs.includes(f.subscriptionId) && error.startsWith(f.error))).toBe(true);
    expect(stored?.subscriptionsNotDiscovered?.length).toBeGreaterThan(1000);
    // Later refreshes still work.
    expect(await repo.refresh('big', '2026-05-01T04:00:00.000Z')).toMatchObject({ status: 'failed' });
  });
});

describe('TableHistoryRepository', () => {
  it('range-reads one cluster, overwrites a redelivered run, purges by age', async () => {
    const repo = new TableHistoryRepository(await open());
    const id = '/subscriptions/s/resourcegroups/rg/providers/microsoft.kubernetes/connectedclusters/a#b';
    const entry = (day: number, runId: string, score = 50) => ({
      clusterId: id,
      runId,
      evaluatedAt: `2026-05-${String(day).padStart(2, '0')}T02:00:00.000Z`,
      score,
      statuses: { 'ARC-AC-01': 'fail' as const },
      drift: day === 1 ? [] : [{ controlId: 'ARC-AC-01', from: 'pass' as const, to: 'fail' as const }],
    });
    await repo.appendMany([entry(1, 'r1'), entry(2, 'r2'), entry(3, 'r3'), { ...entry(1, 'r1'), clusterId: `${id}x` }]);
    await repo.appendMany([entry(2, 'r2', 70)]);
    expect(await repo.list(id, '2026-05-02T00:00:00Z', '2026-05-03T02:00:00.000Z')).toEqual([entry(2, 'r2', 70), entry(3, 'r3')]);
    expect((await repo.list(id, '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z')).length).toBe(3);
    // Retention drops whole month tables before the cutoff's month (one May table for both clusters).
    expect(await repo.purgeOlderThan('2026-05-02T12:00:00Z')).toBe(0);
    expect((await repo.list(id, '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z')).length).toBe(3);
    expect(await repo.purgeOlderThan('2026-06-02T12:00:00Z')).toBe(1);
    expect(await repo.list(id, '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z')).toEqual([]);
    expect(await repo.purgeOlderThan('2026-06-02T12:00:00Z')).toBe(0);
  });
});

describe('TableSummaryRepository', () => {
  const summary = (runId: string, generatedAt: string, big = false): FleetSummary => ({
    runId,
    generatedAt,
    totals: { clusters: 2, compliant: 1, noncompliant: 1, stale: 0, averageScore: 75.5 },
    perControl: { 'ARC-AC-01': { pass: 1, fail: 1, unknown: 0, not_applicable: 0, exempt: 0 } },
    perSubscription: Object.fromEntries(
      Array.from({ length: big ? 2000 : 1 }, (_, i) => [`sub-${i}`, { clusters: 2, compliant: 1, noncompliant: 1, stale: 0, averageScore: 75.5 }]),
    ),
  });

  it('keeps the latest, never rolls back, stores trends, chunks large summaries', async () => {
    const repo = new TableSummaryRepository(await open());
    expect(await repo.getLatest()).toBeUndefined();
    await repo.put(summary('r1', '2026-05-01T02:10:00.000Z'));
    const s2 = summary('r2', '2026-05-02T02:10:00.000Z', true);
    await repo.put(s2);
    await repo.put(summary('r1', '2026-05-01T02:10:00.000Z')); // late redelivery of an older run
    expect(await repo.getLatest()).toEqual(s2);
    const trends = await repo.listTrends('2026-05-01T00:00:00Z');
    expect(trends.map((t) => t.runId)).toEqual(['r1', 'r2']);
    expect(trends[1]).toEqual({ runId: 'r2', generatedAt: '2026-05-02T02:10:00.000Z', averageScore: 75.5, clusters: 2, noncompliant: 1, failingByControl: { 'ARC-AC-01': 1 } });
    expect((await repo.listTrends('2026-05-02T00:00:00Z')).map((t) => t.runId)).toEqual(['r2']);
  });
});

describe('TableExceptionRepository and TableAuditLog', () => {
  it('creates, conflicts, lists and deletes exceptions', async () => {
    const repo = new TableExceptionRepository(await open());
    const ex = { id: 'ex/1#?', controlId: 'ARC-AC-01', scope: '/subscriptions/s/resourcegroups/rg', justification: 'j', ticket: 'T-1', createdBy: 'me', createdAt: '2026-05-01T00:00:00.000Z', expiresAt: '2026-06-01T00:00:00.000Z' };
    await repo.create(ex);
    await expect(repo.create(ex)).rejects.toBeInstanceOf(ConflictError);
    expect(await repo.get('ex/1#?')).toEqual(ex);
    expect(await repo.list()).toEqual([ex]);
    expect(await repo.delete('ex/1#?')).toBe(true);
    expect(await repo.delete('ex/1#?')).toBe(false);
    expect(await repo.list()).toEqual([]);
  });

  it('lists audit records newest first across days', async () => {
    const log = new TableAuditLog(await open());
    const rec = (id: string, at: string) => ({ id, at, requestId: `req-${id}`, callerObjectId: 'oid', callerAppId: undefined, roles: ['Compliance.Reader'], operation: 'op', target: 't', outcome: 'succeeded' as const, detail: undefined });
    await log.append(rec('a', '2026-05-01T10:00:00.000Z'));
    await log.append(rec('b', '2026-05-02T09:00:00.000Z'));
    await log.append(rec('c', '2026-05-02T11:00:00.000Z'));
    const first = await log.list(2);
    expect(first.items.map((r) => r.id)).toEqual(['c', 'b']);
    const second = await log.list(2, first.continuationToken);
    expect(second.items).toEqual([rec('a', '2026-05-01T10:00:00.000Z')]);
    expect(second.continuationToken).toBeUndefined();
  });
});

/**
 * Damaged stored records, against Azurite: a listing leaves the record out and reports it (logged
 * with its keys, counted, `stored-records` degraded), a point read answers a typed
 * `StoredRecordInvalidError`, and a record written by a newer release in an unknown version is refused
 * the same way. Nothing throws an untyped error out of a list.
 */
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableStore, tableClientFactory } from '../../../adapters/storage/table-store.js';
import { TableRunRepository } from '../../../adapters/storage/table-run-repository.js';
import { TableAuditLog } from '../../../adapters/storage/table-audit-log.js';
import { TableExceptionRepository } from '../../../adapters/storage/table-exception-repository.js';
import { TableClusterStateRepository, clusterPartition, clusterRow } from '../../../adapters/storage/table-cluster-state-repository.js';
import { StoredRecordReader, storedRecordsHealthCheck } from '../../../adapters/storage/records/stored-record-reader.js';
import { queuedRun } from '../../../application/evaluation-run.js';
import { StoredRecordInvalidError } from '../../../domain/errors.js';
import { SUB_A, clusterState, uniquePrefix } from './fixtures.js';

let azurite: RunningAzurite;

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

interface Opened {
  readonly store: TableStore;
  readonly reader: StoredRecordReader;
  readonly warnings: { message: string; properties: Readonly<Record<string, unknown>> }[];
  readonly clock: { now: number };
  readonly table: (name: string) => TableClient;
}

async function open(): Promise<Opened> {
  const warnings: Opened['warnings'] = [];
  const clock = { now: Date.parse('2026-05-01T00:00:00.000Z') };
  const reader = new StoredRecordReader({ log: { warn: (message, properties) => warnings.push({ message, properties }) }, now: () => clock.now });
  const prefix = uniquePrefix();
  const store = await TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: prefix, records: reader });
  return { store, reader, warnings, clock, table: tableClientFactory({ connectionString: azurite.connectionString }, prefix) };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Merges raw properties into a stored entity, as a hand edit or a damaged write would. */
async function damage(table: TableClient, partitionKey: string, rowKey: string, props: Record<string, unknown>): Promise<void> {
  await table.updateEntity({ partitionKey, rowKey, ...props }, 'Merge');
}

describe('runs', () => {
  it('a listing skips a damaged run and reports it; a point read of it is a typed error', async () => {
    const o = await open();
    const runs = new TableRunRepository(o.store);
    for (const [i, at] of ['2026-04-28T02:00:00.000Z', '2026-04-29T02:00:00.000Z', '2026-04-30T02:00:00.000Z'].entries()) await runs.create(queuedRun(`run-${i}`, 'timer', undefined, at));
    const timeRow = (await o.table('runs').listEntities<Record<string, unknown>>({ queryOptions: { filter: "RowKey ge 't|' and RowKey lt 't}'" } }).next()).value as { rowKey: string };
    // The newest run's rows: one a status this release does not know, the other not a count.
    await damage(o.table('runs'), 'runs', 'id|run-2', { status: 'exploded' });
    await damage(o.table('runs'), 'runs', timeRow.rowKey, { subscriptionsTotal: 'many' });

    const page = await runs.list(10);
    expect(page.items.map((r) => r.id)).toEqual(['run-1', 'run-0']);
    await expect(runs.get('run-2')).rejects.toBeInstanceOf(StoredRecordInvalidError);
    await expect(runs.get('run-2')).rejects.toMatchObject({ code: 'StoredRecordInvalid', kind: 'run', keys: { partitionKey: 'runs', rowKey: 'id|run-2' } });
    expect(await runs.get('run-1')).toMatchObject({ id: 'run-1', status: 'queued' });

    // Logged once per record with its keys and what failed (never the values), counted per record.
    expect(o.warnings.map((w) => [w.properties['kind'], w.properties['rowKey']])).toEqual([
      ['run', timeRow.rowKey],
      ['run', 'id|run-2'],
    ]);
    expect(o.warnings[0]?.properties['reasons']).toEqual(['/subscriptionsTotal must be integer']);
    expect(JSON.stringify(o.warnings)).not.toContain('exploded');
    expect(o.reader.health()).toEqual({ invalidRecords: 2, byKind: { run: 2 }, failedReads: 3 });
    expect(await storedRecordsHealthCheck(o.reader).check()).toMatchObject({ status: 'degraded', count: 2 });

    // Repaired (rewritten whole): read again, no longer counted.
    const repaired = queuedRun('run-2', 'timer', undefined, '2026-04-30T02:00:00.000Z');
    await runs.update(repaired);
    expect((await runs.list(10)).items.map((r) => r.id)).toEqual(['run-2', 'run-1', 'run-0']);
    expect(await runs.get('run-2')).toEqual(repaired);
    expect(o.reader.health().invalidRecords).toBe(0);
    expect(await storedRecordsHealthCheck(o.reader).check()).not.toHaveProperty('status');
  });

  it('refuses a record of a newer version, and a record with a broken JSON chunk', async () => {
    const o = await open();
    const runs = new TableRunRepository(o.store);
    await runs.create(queuedRun('run-new', 'timer', undefined, '2026-04-28T02:00:00.000Z'));
    await runs.create(queuedRun('run-cut', 'timer', undefined, '2026-04-29T02:00:00.000Z'));
    await damage(o.table('runs'), 'runs', 'id|run-new', { schemaVersion: 99 });
    await damage(o.table('runs'), 'runs', 'id|run-cut', { failures_0: '[{"subscriptionId":' });
    await expect(runs.get('run-new')).rejects.toMatchObject({ reasons: ['schemaVersion 99 is not one this release reads (1)'] });
    await expect(runs.get('run-cut')).rejects.toMatchObject({ reasons: ['/failures is not valid JSON'] });
  });

  it('an unreadable outcome row counts as a failed subscription, so the run still finishes', async () => {
    const o = await open();
    const runs = new TableRunRepository(o.store);
    await runs.create({ ...queuedRun('run-o', 'timer', undefined, '2026-04-28T02:00:00.000Z'), status: 'running', subscriptionsTotal: 2 });
    await runs.recordSubscriptionOutcome('run-o', 'sub-a', { ok: true, clusters: 3 }, '2026-04-28T02:01:00.000Z');
    await runs.recordSubscriptionOutcome('run-o', 'sub-b', { ok: true, clusters: 4 }, '2026-04-28T02:02:00.000Z');
    await damage(o.table('runs'), 'outcomes|run-o', 'sub-b', { ok: 'yes' });
    const run = await runs.refresh('run-o', '2026-04-28T02:03:00.000Z', { final: true });
    expect(run).toMatchObject({ status: 'partial', subscriptionsSucceeded: 1, subscriptionsFailed: 1, clustersEvaluated: 3 });
    expect(run?.failures).toEqual([{ subscriptionId: 'sub-b', error: 'stored outcome unreadable (reported; see GET /api/health)', at: '2026-04-28T02:03:00.000Z' }]);
    expect(await runs.subscriptionsWithOutcome('run-o')).toEqual(['sub-a', 'sub-b']);
    expect(o.reader.health().byKind).toEqual({ 'run-outcome': 1 });
  });
});

describe('audit log and exceptions', () => {
  it('skip damaged records in their listings; a damaged exception can still be deleted', async () => {
    const o = await open();
    const audit = new TableAuditLog(o.store);
    for (const [i, at] of ['2026-04-29T10:00:00.000Z', '2026-04-30T10:00:00.000Z'].entries()) {
      await audit.append({ id: `a${i}`, at, requestId: `r${i}`, callerObjectId: 'o', callerAppId: undefined, roles: [], operation: 'op', target: 't', outcome: 'succeeded', detail: undefined });
    }
    const [row] = await collect(o.table('audit').listEntities<Record<string, unknown>>({ queryOptions: { filter: "id eq 'a1'" } }));
    await damage(o.table('audit'), String(row?.partitionKey), String(row?.rowKey), { roles: 'not json' });
    expect((await audit.list(10)).items.map((r) => r.id)).toEqual(['a0']);

    const exceptions = new TableExceptionRepository(o.store);
    const base = { controlId: 'ARC-AC-01', scope: '/subscriptions/s', justification: 'j', ticket: 't', createdBy: 'me', createdAt: '2026-01-01T00:00:00.000Z' };
    await exceptions.create({ id: 'x1', ...base, expiresAt: '2027-01-01T00:00:00.000Z' });
    await exceptions.create({ id: 'x2', ...base, expiresAt: '2027-02-01T00:00:00.000Z' });
    const expiryRows = await collect(o.table('exceptions').listEntities<Record<string, unknown>>({ queryOptions: { filter: "id eq 'x2'" } }));
    for (const r of expiryRows) await damage(o.table('exceptions'), String(r.partitionKey), String(r.rowKey), { controlId: 42 });
    expect((await exceptions.listActive('2026-06-01T00:00:00.000Z')).map((e) => e.id)).toEqual(['x1']);
    expect((await exceptions.listPage({ at: '2026-06-01T00:00:00.000Z', top: 10 })).items.map((e) => e.id)).toEqual(['x1']);
    await expect(exceptions.get('x2')).rejects.toBeInstanceOf(StoredRecordInvalidError);
    expect(await exceptions.delete('x2')).toBe(true);
    expect(await exceptions.get('x2')).toBeUndefined();
    expect(await collect(o.table('exceptions').listEntities({ queryOptions: { filter: "id eq 'x2'" } }))).toEqual([]);
    expect(o.reader.health().byKind).toEqual({ 'audit-record': 1, exception: 2 });
  });
});

describe('health window', () => {
  it('stays degraded for 24 h after a failed record was last read', async () => {
    const o = await open();
    const runs = new TableRunRepository(o.store);
    await runs.create(queuedRun('run-w', 'timer', undefined, '2026-04-28T02:00:00.000Z'));
    await damage(o.table('runs'), 'runs', 'id|run-w', { trigger: 'manual' });
    await expect(runs.get('run-w')).rejects.toBeInstanceOf(StoredRecordInvalidError);
    o.clock.now += 23 * 3_600_000;
    expect(o.reader.health().invalidRecords).toBe(1);
    o.clock.now += 2 * 3_600_000;
    expect(o.reader.health()).toEqual({ invalidRecords: 0, byKind: {}, failedReads: 1 });
  });
});

describe('cluster states', () => {
  it('a damaged evaluation leaves the cluster out of every listing and the fleet summary; its point read is a typed error', async () => {
    const o = await open();
    const clusters = new TableClusterStateRepository(o.store, { listCacheMs: 0 });
    await clusters.upsertMany([clusterState(SUB_A, 'rg', 'good', { env: 'prod', failing: ['ARC-AC-01'] }), clusterState(SUB_A, 'rg', 'bad', { env: 'prod', failing: ['ARC-AC-01'] })]);
    await damage(o.table('clusters'), clusterPartition(SUB_A), clusterRow('rg', 'bad'), { evaluation_0: '{"clusterId":', controlStatuses: '[["ARC-AC-01","broken","high"]]' });
    expect((await clusters.list({ top: 10 })).items.map((s) => s.name)).toEqual(['good']);
    expect((await clusters.listBySubscription(SUB_A)).map((s) => s.name)).toEqual(['good']);
    expect((await clusters.listSummaryInputs(10, undefined)).items).toHaveLength(1);
    await expect(clusters.get(SUB_A, 'rg', 'bad')).rejects.toMatchObject({ code: 'StoredRecordInvalid', kind: 'cluster-state' });
    // The list columns are intact, so the list view still shows it (it does not parse the evaluation).
    expect((await clusters.listSummaries({ environment: 'prod', top: 10 })).items.map((s) => s.name).sort()).toEqual(['bad', 'good']);
    // Index fields damaged: left out of filtered listings too.
    await damage(o.table('clusters'), clusterPartition(SUB_A), clusterRow('rg', 'bad'), { status: 'unsure' });
    expect((await clusters.listSummaries({ environment: 'prod', top: 10 })).items.map((s) => s.name)).toEqual(['good']);
    expect(o.reader.health().byKind).toEqual({ 'cluster-state': 1 });
    // The next evaluation rewrites it: readable again, no longer counted.
    await clusters.upsertMany([clusterState(SUB_A, 'rg', 'bad', { env: 'prod' })]);
    expect((await clusters.get(SUB_A, 'rg', 'bad'))?.name).toBe('bad');
    expect(o.reader.health().invalidRecords).toBe(0);
  });
});

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
import { TableRolloutRepository } from '../../../adapters/storage/table-rollout-repository.js';
import { TableInboundMessageIdStore, WebhookTables } from '../../../adapters/storage/table-webhook-store.js';
import { TableServiceNowWatermarks } from '../../../adapters/webhooks/table-servicenow-watermarks.js';
import { escapeKey, joinKey } from '../../../adapters/storage/table-keys.js';
import type { Rollout } from '../../../domain/rollout-model.js';
import { readFileSync } from 'node:fs';
import { SUB_A, clusterState, uniquePrefix } from './fixtures.js';
import { silentLogger } from '../../../application/logger.js';

let azurite: RunningAzurite;

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

interface Opened {
  readonly prefix: string;
  readonly store: TableStore;
  readonly reader: StoredRecordReader;
  readonly warnings: { message: string; properties: Readonly<Record<string, unknown>> }[];
  readonly clock: { now: number };
  readonly table: (name: string) => TableClient;
}

async function open(): Promise<Opened> {
  const warnings: Opened['warnings'] = [];
  const clock = { now: Date.parse('2026-05-01T00:00:00.000Z') };
  const reader = new StoredRecordReader({ log: { ...silentLogger, warn: (message, properties) => warnings.push({ message, properties: properties ?? {} }) }, now: () => clock.now });
  const prefix = uniquePrefix();
  const store = await TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: prefix, records: reader });
  return { prefix, store, reader, warnings, clock, table: tableClientFactory({ connectionString: azurite.connectionString }, prefix) };
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
    expect((await clusters.listControlStatuses({ top: 10 })).items).toHaveLength(1);
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

describe('rollouts', () => {
  const frozen = JSON.parse(readFileSync(new URL('../../fixtures/stored-records/rollout/v1.json', import.meta.url), 'utf8')) as { read: { get: Rollout } };
  const template = frozen.read.get;
  const assignmentOf = (n: number): string => `/subscriptions/00000000-0000-0000-0000-00000000000${n}/providers/Microsoft.Authorization/policyAssignments/k8s-baseline`;
  const rolloutOf = (n: number): Rollout => ({ ...template, id: `ro-${n}`, policyAssignmentId: assignmentOf(n), state: 'running' });
  const events = [
    { seq: 1, at: '2026-05-02T08:00:00.000Z', type: 'created', actor: 'oid-1', message: 'Rollout created with 1 wave.' },
    { seq: 2, at: '2026-05-02T08:30:00.000Z', type: 'gate-passed', wave: 0, message: 'Wave canary passed its gate.' },
  ] as const;

  it('a listing and the active rollouts skip a damaged record, its log skips a damaged event, and its assignment is never taken over', async () => {
    const o = await open();
    const repo = await TableRolloutRepository.open({ connectionString: azurite.connectionString }, { tablePrefix: o.prefix, records: o.reader, claimGraceSeconds: 0 });
    for (const n of [1, 2, 3]) {
      await repo.claimAssignment(assignmentOf(n), `ro-${n}`, async () => false);
      await repo.create(rolloutOf(n), events);
    }
    const rollouts = o.table('rollouts');
    // ro-2: a state this release does not know, inside the body the record is read from.
    await damage(rollouts, escapeKey('ro-2'), 'rollout', { body_0: JSON.stringify({ ...rolloutOf(2), state: 'exploded' }), body_n: 1 });
    // ro-1: its second event is not JSON; ro-3's lock lost its holder.
    await damage(rollouts, escapeKey('ro-1'), 'event-0000000002', { body: '{"seq":2,' });
    await damage(rollouts, 'lock', joinKey(assignmentOf(3).toLowerCase()), { rolloutId: 7 });

    expect((await repo.list(10)).items.map((r) => r.id).sort()).toEqual(['ro-1', 'ro-3']);
    expect((await repo.listActive()).map((s) => s.rollout.id)).toEqual(['ro-1']);
    await expect(repo.get('ro-2')).rejects.toMatchObject({ code: 'StoredRecordInvalid', kind: 'rollout', keys: { partitionKey: 'ro-2', rowKey: 'rollout' } });
    expect((await repo.events('ro-1')).map((e) => e.seq)).toEqual([1]);
    expect((await repo.events('ro-3')).map((e) => e.seq)).toEqual([1, 2]);

    // An unreadable holder might still be active, an unreadable lock names none: neither is taken over.
    await expect(repo.claimAssignment(assignmentOf(2), 'ro-new', async () => false)).rejects.toBeInstanceOf(StoredRecordInvalidError);
    await expect(repo.claimAssignment(assignmentOf(3), 'ro-new', async () => false)).rejects.toMatchObject({ kind: 'rollout-lock' });
    // A readable, finished holder is (the check says inactive): the lock moves to the new rollout.
    await repo.claimAssignment(assignmentOf(1), 'ro-new', async () => false);

    expect(o.reader.health().byKind).toEqual({ rollout: 1, 'rollout-event': 1, 'rollout-lock': 1 });
    expect(o.warnings.map((w) => w.properties['kind']).sort()).toEqual(['rollout', 'rollout-event', 'rollout-lock']);
    expect(JSON.stringify(o.warnings)).not.toContain('exploded');
  });
});

describe('webhook inbound claims and ServiceNow watermarks', () => {
  it('a damaged claim is reported and still released; the duplicate check does not depend on reading it', async () => {
    const o = await open();
    const tables = await WebhookTables.open({ connectionString: azurite.connectionString }, { tablePrefix: o.prefix, records: o.reader });
    const ids = new TableInboundMessageIdStore(tables);
    expect(await ids.claim('servicenow-change', 'msg-1', '2026-05-01T11:00:00.000Z')).toBe(true);
    await damage(o.table('webhookinbound'), 'servicenow-change', 'msg-1', { at: 20260501 });
    expect(await ids.claim('servicenow-change', 'msg-1', '2026-05-01T12:00:00.000Z')).toBe(false);
    await ids.release('servicenow-change', 'msg-1');
    expect(await collect(o.table('webhookinbound').listEntities({ queryOptions: { filter: "RowKey eq 'msg-1'" } }))).toEqual([]);
    expect(await ids.claim('servicenow-change', 'msg-1', '2026-05-01T13:00:00.000Z')).toBe(true);
    expect(o.reader.health().byKind).toEqual({ 'inbound-claim': 1 });
    expect(o.warnings[0]?.properties).toMatchObject({ kind: 'inbound-claim', partitionKey: 'servicenow-change', rowKey: 'msg-1', reasons: ['/at must be string'] });
  });

  it('a damaged watermark reads as none, and the next advance repairs it', async () => {
    const o = await open();
    const watermarks = await TableServiceNowWatermarks.open({ connectionString: azurite.connectionString }, { tablePrefix: o.prefix, records: o.reader });
    await watermarks.advance('incident', 'cluster#ARC-AC-01', '2026-05-01T02:00:00.000Z');
    await damage(o.table('servicenowwatermarks'), 'incident', escapeKey('cluster#ARC-AC-01'), { schemaVersion: 99 });
    expect(await watermarks.get('incident', 'cluster#ARC-AC-01')).toBeUndefined();
    expect(o.reader.health().byKind).toEqual({ 'servicenow-watermark': 1 });
    // An older change than the damaged row held is applied (at least once), and rewrites the row.
    await watermarks.advance('incident', 'cluster#ARC-AC-01', '2026-04-30T02:00:00.000Z');
    expect(await watermarks.get('incident', 'cluster#ARC-AC-01')).toBe('2026-04-30T02:00:00.000Z');
    expect(o.reader.health().invalidRecords).toBe(0);
  });
});

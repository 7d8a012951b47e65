/**
 * Storage layout chosen for the evaluation's write and finalize paths: history row keys distinct per
 * cluster (legacy rows still read once per run), and the evidence-free summary listing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableStore } from '../../../adapters/storage/table-store.js';
import { TableClusterStateRepository, clusterPartition, clusterRow } from '../../../adapters/storage/table-cluster-state-repository.js';
import { TableHistoryRepository, historyPartition, historyRow, historyTable } from '../../../adapters/storage/table-history-repository.js';
import type { ClusterHistoryEntry, ClusterState } from '../../../application/ports.js';
import type { SummaryInput } from '../../../domain/fleet-summary.js';
import { SUB_A, SUB_B, clusterState, uniquePrefix } from './fixtures.js';

let azurite: RunningAzurite;
const open = (): Promise<TableStore> => TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: uniquePrefix() });

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

/** What finalize built from `list` before `listSummaryInputs` existed. */
const expectedInput = (s: ClusterState): SummaryInput => ({
  subscriptionId: s.subscriptionId,
  stale: s.stale,
  evaluation: { score: s.evaluation.score, controls: s.evaluation.controls.map((c) => ({ controlId: c.controlId, status: c.status, severity: c.severity, evidence: '' })) },
});

describe('TableClusterStateRepository.listSummaryInputs', () => {
  it('lists every cluster as list() orders them, without evidence, across pages, stale flags and rows without the summary column', async () => {
    const store = await open();
    const repo = new TableClusterStateRepository(store);
    const states: ClusterState[] = [];
    for (let i = 0; i < 23; i += 1) {
      states.push(clusterState(i % 2 === 0 ? SUB_A : SUB_B, `rg${i % 3}`, `c${String(i).padStart(2, '0')}`, { failing: i % 4 === 0 ? ['ARC-AC-01', 'ARC-PL-01'] : [] }));
    }
    await repo.upsertMany(states);
    await repo.markStale(SUB_B);
    // A row written before `controlStatuses` existed: read in full instead.
    const legacy = states[4] as ClusterState;
    const legacyEntity = await store.client('clusters').getEntity<Record<string, unknown>>(clusterPartition(legacy.subscriptionId), clusterRow(legacy.resourceGroup, legacy.name));
    expect(legacyEntity['controlStatuses']).toEqual(expect.any(String));
    const withoutColumn = Object.fromEntries(Object.entries(legacyEntity).filter(([k]) => !['controlStatuses', 'etag', 'timestamp', 'odata.metadata'].includes(k)));
    await store.client('clusters').upsertEntity({ ...withoutColumn, partitionKey: clusterPartition(legacy.subscriptionId), rowKey: clusterRow(legacy.resourceGroup, legacy.name) }, 'Replace');

    const expected: SummaryInput[] = [];
    let token: string | undefined;
    do {
      const page = await repo.list({ top: 1000, continuationToken: token });
      expected.push(...page.items.map(expectedInput));
      token = page.continuationToken;
    } while (token !== undefined);
    expect(expected.filter((i) => i.stale)).toHaveLength(11);

    const actual: SummaryInput[] = [];
    let pages = 0;
    do {
      const page = await repo.listSummaryInputs(5, token);
      expect(page.items.length).toBeLessThanOrEqual(5);
      actual.push(...page.items);
      token = page.continuationToken;
      pages += 1;
    } while (token !== undefined);
    expect(pages).toBe(5);
    expect(actual).toEqual(expected);
    await expect(repo.listSummaryInputs(5, 'not-a-token')).rejects.toThrow(/continuation token/);
  });
});

describe('TableHistoryRepository row keys', () => {
  const entry = (clusterId: string, runId: string, score: number): ClusterHistoryEntry => ({
    clusterId,
    runId,
    evaluatedAt: '2026-05-02T02:00:00.000Z',
    score,
    statuses: { 'ARC-AC-01': 'pass' },
    drift: [],
  });
  const a = '/subscriptions/s/resourcegroups/rg/providers/microsoft.kubernetes/connectedclusters/a';
  const b = '/subscriptions/s/resourcegroups/rg/providers/microsoft.kubernetes/connectedclusters/b';

  it('gives every cluster of a run its own row key, keeps order and ranges, and reads a legacy row of the same run once', async () => {
    const store = await open();
    const repo = new TableHistoryRepository(store);
    expect(historyRow('2026-05-02T02:00:00Z', 'r2', a)).not.toBe(historyRow('2026-05-02T02:00:00Z', 'r2', b));
    expect(historyRow('2026-05-02T02:00:00Z', 'r2', a)).toBe(historyRow('2026-05-02T02:00:00.000Z', 'r2', a.toUpperCase()));

    // A row as written before the cluster tag (`<time>|<runId>`), then the same run redelivered.
    await store.dynamicTable(historyTable('2026-05-02T02:00:00Z')).createTable();
    await store.dynamicTable(historyTable('2026-05-02T02:00:00Z')).upsertEntity({ partitionKey: historyPartition(a), rowKey: '2026-05-02T02:00:00.000Z|r2', ...serialise(entry(a, 'r2', 10)) }, 'Replace');
    await repo.appendMany([entry(a, 'r2', 20), entry(b, 'r2', 30), { ...entry(a, 'r3', 40), evaluatedAt: '2026-05-03T02:00:00.000Z' }]);
    await repo.appendMany([entry(a, 'r2', 20)]);

    expect((await repo.list(a, '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z')).map((e) => [e.runId, e.score])).toEqual([['r2', 20], ['r3', 40]]);
    expect((await repo.list(a, '2026-05-02T02:00:00.000Z', '2026-05-02T02:00:00.000Z')).map((e) => e.runId)).toEqual(['r2']);
    expect((await repo.list(b, '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z')).map((e) => e.score)).toEqual([30]);
    // Retention drops whole months before the cutoff's month: May goes with a June cutoff.
    expect(await repo.purgeOlderThan('2026-05-31T12:00:00Z')).toBe(0);
    expect(await repo.list(a, '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z')).toHaveLength(2);
    expect(await repo.purgeOlderThan('2026-06-01T00:00:00Z')).toBe(1);
    expect(await repo.list(a, '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z')).toEqual([]);
  });
});

function serialise(e: ClusterHistoryEntry): Record<string, unknown> {
  return { clusterId: e.clusterId, runId: e.runId, evaluatedAt: e.evaluatedAt, score: e.score, statuses: JSON.stringify(e.statuses), drift: JSON.stringify(e.drift) };
}

/**
 * `listControlStatuses` (what framework reports and the control matrix read) against Azurite: the same
 * clusters, order and paging as `list` under every filter a report takes, each with its subscription,
 * environment and the statuses of its evaluation; and the matrix built from it, byte for byte the one
 * built from whole states.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableStore } from '../../../adapters/storage/table-store.js';
import { TableClusterStateRepository, clusterPartition, clusterRow } from '../../../adapters/storage/table-cluster-state-repository.js';
import type { ClusterQuery, ClusterState } from '../../../application/ports.js';
import { ControlMatrixService, type ControlMatrixView } from '../../../application/control-matrix-service.js';
import { controlMatrix } from '../../../domain/control-matrix.js';
import { InMemorySummaryRepository } from '../../support/in-memory-ports.js';
import { SUB_A, SUB_B, clusterState, uniquePrefix } from './fixtures.js';

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

async function all<T>(read: (q: ClusterQuery) => Promise<{ readonly items: readonly T[]; readonly continuationToken: string | undefined }>, query: Omit<ClusterQuery, 'top' | 'continuationToken'>, top: number): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const page = await read({ ...query, top, continuationToken: token });
    out.push(...page.items);
    token = page.continuationToken;
  } while (token !== undefined);
  return out;
}

describe('TableClusterStateRepository.listControlStatuses', () => {
  it('lists the statuses of exactly the clusters list returns, for every report filter', async () => {
    const repo = new TableClusterStateRepository(await TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: uniquePrefix() }));
    const states: ClusterState[] = [];
    for (let i = 0; i < 23; i += 1) {
      states.push(
        clusterState(i % 2 === 0 ? SUB_A : SUB_B, `rg${i % 3}`, `c${String(i).padStart(2, '0')}`, {
          env: i % 5 === 0 ? 'prod' : 'dev',
          location: i % 4 === 0 ? 'eastus' : 'westeurope',
          failing: i % 3 === 0 ? ['ARC-AC-01'] : [],
        }),
      );
    }
    await repo.upsertMany(states);
    const statusesOf = (s: ClusterState) => ({ subscriptionId: s.subscriptionId, environment: s.environment, controls: s.evaluation.controls.map((c) => ({ controlId: c.controlId, status: c.status })) });
    for (const query of [{}, { environment: 'PROD' }, { subscriptionId: SUB_B }, { location: 'eastus' }, { subscriptionId: SUB_A, environment: 'dev', location: 'westeurope' }]) {
      const expected = (await all((q) => repo.list(q), query, 1000)).map(statusesOf);
      expect(expected.length, JSON.stringify(query)).toBeGreaterThan(0);
      expect(await all((q) => repo.listControlStatuses(q), query, 4), JSON.stringify(query)).toEqual(expected);
    }
    const failing = (await all((q) => repo.listControlStatuses(q), {}, 100)).filter((c) => c.controls.some((r) => r.status === 'fail'));
    expect(failing).toHaveLength(states.filter((s) => s.evaluation.failedControls.length > 0).length);
  });
});

/** How the matrix was built before it read statuses only: every whole state through `list`. */
async function matrixFromWholeStates(repo: TableClusterStateRepository, runId: string, generatedAt: string): Promise<ControlMatrixView> {
  const states = await all((q) => repo.list(q), {}, 1000);
  const inputs = states.map((c) => ({ subscriptionId: c.subscriptionId, environment: c.environment, controls: c.evaluation.controls.map((r) => ({ controlId: r.controlId, status: r.status })) }));
  return { runId, generatedAt, clusters: inputs.length, ...controlMatrix(inputs) };
}

describe('ControlMatrixService over listControlStatuses', () => {
  it('builds the same matrix as whole states do, legacy rows and stale clusters included, without reading a whole state otherwise', async () => {
    const store = await TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: uniquePrefix() });
    const repo = new TableClusterStateRepository(store, { listCacheMs: 0 });
    const envs = ['prod', 'Production', 'dev', 'DEV', 'test', undefined, 'edge'];
    const states: ClusterState[] = [];
    for (let i = 0; i < 29; i += 1) {
      const s = clusterState(i % 3 === 0 ? SUB_A : SUB_B.toUpperCase(), `rg${i % 4}`, `m${String(i).padStart(2, '0')}`, {
        env: envs[i % envs.length],
        failing: i % 4 === 0 ? ['ARC-AC-01'] : i % 5 === 0 ? ['ARC-AC-04', 'ARC-PL-02'] : [],
      });
      // Controls outside the catalog are listed after the catalog's, in the order clusters are read (key order).
      states.push(i === 7 ? { ...s, evaluation: { ...s.evaluation, controls: [...s.evaluation.controls, { controlId: 'CUSTOM-02', status: 'exempt', severity: 'low', evidence: 'x' }] } } : s);
    }
    await repo.upsertMany(states);
    await repo.markStale(SUB_A);
    // A row written before `controlStatuses` existed, in a group of its own: left out, the totals differ.
    const legacy = clusterState(SUB_B, 'rg-legacy', 'old', { env: 'Staging', failing: ['ARC-OP-01'] });
    await repo.upsertMany([{ ...legacy, evaluation: { ...legacy.evaluation, controls: [...legacy.evaluation.controls, { controlId: 'CUSTOM-01', status: 'fail', severity: 'high', evidence: 'y' }] } }]);
    const key = { partitionKey: clusterPartition(SUB_B), rowKey: clusterRow('rg-legacy', 'old') };
    const entity = await store.client('clusters').getEntity<Record<string, unknown>>(key.partitionKey, key.rowKey);
    expect(entity['controlStatuses']).toEqual(expect.any(String));
    const withoutColumn = Object.fromEntries(Object.entries(entity).filter(([k]) => !['controlStatuses', 'etag', 'timestamp', 'odata.metadata'].includes(k)));
    await store.client('clusters').upsertEntity({ ...withoutColumn, ...key }, 'Replace');

    const summaries = new InMemorySummaryRepository();
    await summaries.put({ runId: 'run-9', generatedAt: '2026-05-01T03:00:00.000Z', totals: { clusters: 30, compliant: 0, noncompliant: 0, stale: 0, averageScore: 0 }, perControl: {}, perSubscription: {} });
    let wholeStateReads = 0;
    const clusters = {
      list: (q: ClusterQuery) => {
        wholeStateReads += 1;
        return repo.list(q);
      },
      listControlStatuses: (q: ClusterQuery) => repo.listControlStatuses(q),
    };
    const view = await new ControlMatrixService({ clusters, summaries }).getMatrix();
    const expected = await matrixFromWholeStates(repo, 'run-9', '2026-05-01T03:00:00.000Z');

    expect(wholeStateReads).toBe(0);
    expect(JSON.stringify(view)).toBe(JSON.stringify(expected));
    expect(view.clusters).toBe(30);
    expect(view.controls.slice(-2)).toEqual(['CUSTOM-01', 'CUSTOM-02']);
    expect(view.groups.find((g) => g.environment === 'staging')?.cells['CUSTOM-01']?.fail).toBe(1);
    expect(view.groups.map((g) => [g.subscriptionId, g.environment])).toContainEqual([SUB_B, null]);
  });
});

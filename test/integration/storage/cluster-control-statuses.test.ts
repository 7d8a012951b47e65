/**
 * `listControlStatuses` (what framework reports read) against Azurite: the same clusters, order and
 * paging as `list` under every filter a report takes, each with the statuses of its evaluation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableStore } from '../../../adapters/storage/table-store.js';
import { TableClusterStateRepository } from '../../../adapters/storage/table-cluster-state-repository.js';
import type { ClusterQuery, ClusterState } from '../../../application/ports.js';
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
    const statusesOf = (s: ClusterState) => ({ controls: s.evaluation.controls.map((c) => ({ controlId: c.controlId, status: c.status })) });
    for (const query of [{}, { environment: 'PROD' }, { subscriptionId: SUB_B }, { location: 'eastus' }, { subscriptionId: SUB_A, environment: 'dev', location: 'westeurope' }]) {
      const expected = (await all((q) => repo.list(q), query, 1000)).map(statusesOf);
      expect(expected.length, JSON.stringify(query)).toBeGreaterThan(0);
      expect(await all((q) => repo.listControlStatuses(q), query, 4), JSON.stringify(query)).toEqual(expected);
    }
    const failing = (await all((q) => repo.listControlStatuses(q), {}, 100)).filter((c) => c.controls.some((r) => r.status === 'fail'));
    expect(failing).toHaveLength(states.filter((s) => s.evaluation.failedControls.length > 0).length);
  });
});

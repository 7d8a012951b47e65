import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableStore } from '../../../adapters/storage/table-store.js';
import { TableSummaryRepository } from '../../../adapters/storage/table-summary-repository.js';
import type { TrendGroup, TrendSlices } from '../../../domain/trend-slices.js';
import { uniquePrefix } from './fixtures.js';

let azurite: RunningAzurite;
let repo: TableSummaryRepository;

beforeAll(async () => {
  azurite = await startAzurite();
  repo = new TableSummaryRepository(await TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: uniquePrefix() }));
});
afterAll(async () => {
  await azurite?.stop();
});

const group = (i: number): TrendGroup => ({
  subscriptionId: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
  environment: i % 3 === 0 ? null : 'prod',
  location: 'westeurope',
  tags: { team: `team-${i % 50}`, tier: 'edge' },
  clusters: 3,
  noncompliant: 1,
  scoreSum: 270.5,
  failingByControl: { 'ARC-AC-01': 1, 'ARC-PL-01': 1 },
});
const slices = (runId: string, generatedAt: string, n: number): TrendSlices => ({ runId, generatedAt, tagKeysLeftOut: ['site'], groups: Array.from({ length: n }, (_, i) => group(i)) });

describe('TableSummaryRepository trend slices', () => {
  it('splits a large run over several rows and reads it back whole, runs oldest first; a rewrite with fewer parts reads only the new ones', async () => {
    const big = slices('run-b', '2026-03-11T03:00:00.000Z', 4000);
    expect(JSON.stringify(big.groups).length).toBeGreaterThan(2 * 300_000);
    await repo.putTrendSlices(big);
    await repo.putTrendSlices(slices('run-a', '2026-03-10T03:00:00.000Z', 2));
    const read = await repo.listTrendSlices('2026-03-01T00:00:00.000Z');
    expect(read.map((s) => s.runId)).toEqual(['run-a', 'run-b']);
    expect(read[1]).toEqual(big);
    expect(await repo.listTrendSlices('2026-03-11T00:00:00.000Z')).toHaveLength(1);
    // A repeated finalize of the same run with other results: the leftover parts of the first write are not read.
    const smaller = slices('run-b', '2026-03-11T03:00:00.000Z', 5);
    await repo.putTrendSlices(smaller);
    expect((await repo.listTrendSlices('2026-03-11T00:00:00.000Z'))[0]).toEqual(smaller);
  });
});

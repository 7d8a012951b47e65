/**
 * Cluster states at the edges of Table Storage's limits (1 MiB entity, 64 KiB property), against
 * Azurite: oversized tags and pathological evidence are written and always read back as valid
 * data (a cut JSON text made the cluster unreadable and its subscription fail on every later run).
 */
import { listControls } from '../../../domain/control-catalog.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableStore } from '../../../adapters/storage/table-store.js';
import { MAX_TAG_CHUNKS, TableClusterStateRepository, clusterPartition, clusterRow, fitEvaluation, fitTags } from '../../../adapters/storage/table-cluster-state-repository.js';
import { CHUNK_CHARS, MAX_CHUNKED_CHARS } from '../../../adapters/storage/chunked-property.js';
import type { ClusterState } from '../../../application/ports.js';
import type { ClusterEvaluation, ControlResult } from '../../../domain/model.js';
import { SUB_A, clusterState, uniquePrefix } from './fixtures.js';

let azurite: RunningAzurite;
let store: TableStore;
let repo: TableClusterStateRepository;

beforeAll(async () => {
  azurite = await startAzurite();
  store = await TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: uniquePrefix() });
  repo = new TableClusterStateRepository(store, { listCacheMs: 0 });
});
afterAll(async () => {
  await azurite?.stop();
});

/** ARM's limits: at most 50 tags, names up to 512 characters, values up to 256. */
function armMaxTags(fill: (i: number) => string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (let i = 0; i < 50; i += 1) tags[`${String(i).padStart(3, '0')}${fill(i).repeat(509)}`.slice(0, 512)] = fill(i + 1).repeat(256);
  return tags;
}

/** As many controls as the catalog holds: an evaluation stores one result per control. */
const CATALOG_SIZE = listControls().length;

function control(i: number, status: ControlResult['status'], evidence: number, offenders: number): ControlResult {
  return {
    controlId: `X-${String(i).padStart(5, '0')}`,
    status,
    severity: 'high',
    evidence: 'e'.repeat(evidence),
    ...(offenders > 0 ? { offenders: { items: Array.from({ length: offenders }, (_, j) => `${j}:${'o'.repeat(300)}`), total: offenders * 10 } } : {}),
  };
}

function withControls(base: ClusterState, controls: ControlResult[]): ClusterState {
  const failedControls = controls.filter((c) => c.status === 'fail').map((c) => c.controlId);
  return { ...base, evaluation: { ...base.evaluation, controls, failedControls, score: 42 } };
}

async function roundTrip(state: ClusterState): Promise<ClusterState> {
  await repo.upsertMany([state]);
  const read = await repo.get(state.subscriptionId, state.resourceGroup, state.name);
  expect(read).toBeDefined();
  // The listings parse the same entity (the evaluation's own reads, and the API list view).
  expect((await repo.listBySubscription(state.subscriptionId)).some((s) => s.name === state.name)).toBe(true);
  expect((await repo.listSummaries({ subscriptionId: state.subscriptionId, top: 100 })).items.some((s) => s.name === state.name)).toBe(true);
  return read as ClusterState;
}

describe('tags', () => {
  it('round-trips 50 tags at ARM maximum sizes (38,700 characters of JSON)', async () => {
    const tags = armMaxTags((i) => String.fromCharCode(97 + (i % 26)));
    expect(JSON.stringify(tags).length).toBe(38_701);
    const state = { ...clusterState(SUB_A, 'rg', 'max-tags', { env: 'prod' }), tags };
    const read = await roundTrip(state);
    expect(read.tags).toEqual(tags);
    expect(read).toEqual(state);
  });

  it('round-trips tags whose every character needs a JSON escape, next to an evaluation that must be cut', async () => {
    const tags = armMaxTags((i) => String.fromCharCode(1 + (i % 30)));
    expect(JSON.stringify(tags).length).toBeGreaterThan(190_000);
    // ~290,000 characters: would fit the entity alone, not next to these tags.
    const controls = Array.from({ length: CATALOG_SIZE }, (_, i) => control(i, 'fail', 18_000, 0));
    const state = withControls({ ...clusterState(SUB_A, 'rg', 'escaped-tags'), tags }, controls);
    expect(JSON.stringify(state.evaluation).length).toBeGreaterThan(280_000);
    const read = await roundTrip(state);
    expect(read.tags).toEqual(tags);
    expect(read.evaluation.failedControls).toEqual(state.evaluation.failedControls);
    expect(read.evaluation.controls.map((c) => c.evidence)).toEqual(controls.map(() => `${'e'.repeat(256)}… (18000 characters, truncated for storage)`));
    // The evaluation shares the entity's chunk budget with the tags, so it was cut harder.
    expect(JSON.stringify(read.evaluation).length).toBeLessThanOrEqual(MAX_CHUNKED_CHARS - MAX_TAG_CHUNKS * (CHUNK_CHARS - 1));
  });

  it('drops whole tags, longest first, beyond what ARM allows, and counts them', async () => {
    const tags: Record<string, string> = { environment: 'prod' };
    for (let i = 0; i < 40; i += 1) tags[`t${i}`] = 'v'.repeat(8_000 + i);
    const fitted = fitTags(tags);
    expect(fitted.dropped).toBeGreaterThan(0);
    const kept = JSON.parse(fitted.json) as Record<string, string>;
    expect(Object.keys(kept)).toHaveLength(41 - fitted.dropped);
    expect(kept['environment']).toBe('prod');
    for (let i = 40 - fitted.dropped; i < 40; i += 1) expect(kept[`t${i}`]).toBeUndefined();
    const read = await roundTrip({ ...clusterState(SUB_A, 'rg', 'too-many-tags', { env: 'prod' }), tags });
    expect(read.tags).toEqual(kept);
  });

  it('reads a row whose tags were cut by the earlier 32,000-character slice as having no tags', async () => {
    const state = clusterState(SUB_A, 'rg', 'legacy-cut-tags', { env: 'dev', failing: ['ARC-AC-01'] });
    await repo.upsertMany([state]);
    const table = store.client('clusters');
    const entity = await table.getEntity<Record<string, unknown>>(clusterPartition(SUB_A), clusterRow('rg', 'legacy-cut-tags'));
    const legacy = Object.fromEntries(Object.entries(entity).filter(([k]) => !k.startsWith('tags_') && k !== 'etag' && k !== 'timestamp'));
    await table.upsertEntity({ ...legacy, partitionKey: clusterPartition(SUB_A), rowKey: clusterRow('rg', 'legacy-cut-tags'), tags: JSON.stringify(armMaxTags(() => 'x')).slice(0, 32_000) }, 'Replace');
    const read = await repo.get(SUB_A, 'rg', 'legacy-cut-tags');
    expect(read).toEqual({ ...state, tags: {} });
    // The next write stores the tags chunked again.
    await repo.upsertMany([state]);
    expect((await repo.get(SUB_A, 'rg', 'legacy-cut-tags'))?.tags).toEqual(state.tags);
  });
});

describe('fitEvaluation (pathological evidence)', () => {
  const base = clusterState(SUB_A, 'rg', 'evidence');

  it('keeps an evaluation that fits as it is', async () => {
    const state = withControls(base, Array.from({ length: CATALOG_SIZE }, (_, i) => control(i, i % 2 === 0 ? 'fail' : 'pass', 1_000, 20)));
    expect((await roundTrip(state)).evaluation).toEqual(state.evaluation);
  });

  it('cuts offenders to 5 and evidence to 256 characters first, keeping the totals', async () => {
    const controls = Array.from({ length: CATALOG_SIZE }, (_, i) => control(i, 'fail', 40_000, 20));
    const read = await roundTrip(withControls(base, controls));
    for (const [i, c] of read.evaluation.controls.entries()) {
      expect(c.offenders?.items).toHaveLength(5);
      expect(c.offenders?.items.every((item) => item.length === 256)).toBe(true);
      expect(c.offenders?.total).toBe(200);
      expect(c.evidence).toBe(`${'e'.repeat(256)}… (40000 characters, truncated for storage)`);
      expect(c.controlId).toBe(controls[i]?.controlId);
    }
    expect(read.evaluation.failedControls).toHaveLength(CATALOG_SIZE);
  });

  it('drops offenders and cuts evidence to 64, then to 0 characters, for thousands of controls', async () => {
    const second = withControls(base, Array.from({ length: 1_200 }, (_, i) => control(i, 'pass', 1_000, 20)));
    const secondRead = (await roundTrip(second)).evaluation.controls;
    expect(secondRead).toHaveLength(1_200);
    expect(secondRead.every((c) => c.offenders?.items.length === 0 && c.offenders.total === 200)).toBe(true);
    expect(secondRead[0]?.evidence).toBe(`${'e'.repeat(64)}… (1000 characters, truncated for storage)`);

    const third = withControls(base, Array.from({ length: 2_500 }, (_, i) => control(i, 'pass', 1_000, 0)));
    const thirdRead = (await roundTrip(third)).evaluation.controls;
    expect(thirdRead).toHaveLength(2_500);
    expect(thirdRead[0]?.evidence).toBe('… (1000 characters, truncated for storage)');
  });

  it('keeps identity and score without controls when even that does not fit, as valid JSON', async () => {
    const state = withControls(base, Array.from({ length: 8_000 }, (_, i) => control(i, 'pass', 0, 0)));
    const read = await roundTrip(state);
    expect(read.evaluation).toEqual({ ...state.evaluation, controls: [] });
  });

  it('cuts the failing control ids too rather than the JSON text', () => {
    const evaluation: ClusterEvaluation = { ...base.evaluation, controls: [], failedControls: Array.from({ length: 5_000 }, (_, i) => `X-${i}`) };
    const text = fitEvaluation(evaluation, 20_000);
    expect(text.length).toBeLessThanOrEqual(20_000);
    const parsed = JSON.parse(text) as ClusterEvaluation;
    expect(parsed.failedControls.length).toBeGreaterThan(0);
    expect(parsed.failedControls).toEqual(evaluation.failedControls.slice(0, parsed.failedControls.length));
    expect({ ...parsed, failedControls: [] }).toEqual({ ...evaluation, failedControls: [] });
  });
});

/**
 * `EvidenceReader.verify` walks the manifest chain and re-hashes the blobs of every run it walks, up to
 * `depth`: a byte changed in a past run's blob is that run's `hash_mismatch` when a later run is verified.
 * In memory (the Azurite path is covered end to end in test/e2e/evidence-bundles.test.ts).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { EvidenceReader } from '../../../application/evidence-reader.js';
import { EvidenceRecorder } from '../../../application/evidence-recorder.js';
import type { EvaluationRun } from '../../../application/ports.js';
import { evaluateCluster } from '../../../domain/evaluate-cluster.js';
import { buildClusterEvidence, CATALOG_VERSION } from '../../../domain/evidence-record.js';
import { InMemoryEvidenceStore } from '../../support/in-memory-evidence-store.js';
import { RUN_START, snapshot } from '../domain/builders.js';

const SUB = '00000000-0000-4000-8000-000000000001';
const runIds = ['run-1', 'run-2', 'run-3'];
const runOf = (id: string, i: number): EvaluationRun => ({
  id,
  trigger: 'timer',
  status: 'succeeded',
  requestedBy: undefined,
  createdAt: new Date(RUN_START.getTime() + i * 86_400_000).toISOString(),
  startedAt: new Date(RUN_START.getTime() + i * 86_400_000).toISOString(),
  completedAt: new Date(RUN_START.getTime() + i * 86_400_000 + 60_000).toISOString(),
  subscriptionsTotal: 1,
  subscriptionsSucceeded: 1,
  subscriptionsFailed: 0,
  failures: [],
  clustersEvaluated: 2,
});

let store: InMemoryEvidenceStore;
let reader: EvidenceReader;

beforeEach(async () => {
  store = new InMemoryEvidenceStore();
  const runs = new Map(runIds.map((id, i) => [id, runOf(id, i)]));
  const outcomes = {
    get: async (id: string) => runs.get(id),
    subscriptionsWithOutcome: async () => [SUB],
    getSubscriptionOutcome: async () => ({ ok: true as const, clusters: 2 }),
  };
  const recorder = new EvidenceRecorder({ store, runs: outcomes, appVersion: 'test', catalogVersion: CATALOG_VERSION });
  reader = new EvidenceReader({ store, runs: outcomes, retentionDays: 400 });
  for (const run of runs.values()) {
    const records = ['a', 'b'].map((name) => {
      const snap = snapshot({ name: `${run.id}-${name}`, subscriptionId: SUB });
      return buildClusterEvidence(snap, evaluateCluster(snap, { runId: run.id, runStartedAt: RUN_START, resourceGroupPeers: [snap], exceptions: [] }), []);
    });
    await recorder.recordSubscription(run.id, SUB, records);
    await recorder.sealRun(run);
  }
});

/** Flips one bit in the middle of a stored blob, as someone with write access to storage could. */
function tamper(name: string): void {
  const blob = store.blobs.get(name);
  if (blob === undefined) throw new Error(`no blob ${name}`);
  const at = Math.floor(blob.bytes.byteLength / 2);
  blob.bytes[at] = (blob.bytes[at] ?? 0) ^ 0x01;
}

const blobOf = (runId: string): string => {
  const name = [...store.blobs.keys()].find((n) => n.includes(runId) && n.endsWith('.ndjson.gz'));
  if (name === undefined) throw new Error(`no subscription blob for ${runId}`);
  return name;
};

describe('verify walks the chain and re-hashes past runs', () => {
  it('an intact chain of three runs is valid, every run checked', async () => {
    expect(await reader.verify('run-3', undefined)).toEqual({ valid: true, checkedRuns: 3, problems: [] });
  });

  it('a byte changed in the first run is its hash_mismatch when the last run is verified', async () => {
    const name = blobOf('run-1');
    tamper(name);
    const report = await reader.verify('run-3', undefined);
    expect(report.valid).toBe(false);
    expect(report.checkedRuns).toBe(3);
    expect(report.problems).toEqual([expect.objectContaining({ runId: 'run-1', blob: name, kind: 'hash_mismatch' })]);
  });

  it('depth bounds which runs are re-hashed: the tampered run outside it is not reported', async () => {
    tamper(blobOf('run-1'));
    expect(await reader.verify('run-3', 2)).toEqual({ valid: true, checkedRuns: 2, problems: [] });
    expect(await reader.verify('run-3', 1)).toEqual({ valid: true, checkedRuns: 1, problems: [] });
    tamper(blobOf('run-2'));
    expect((await reader.verify('run-3', 2)).problems).toEqual([expect.objectContaining({ runId: 'run-2', kind: 'hash_mismatch' })]);
  });

  it('a blob of a past run that was removed is reported missing for that run', async () => {
    const name = blobOf('run-2');
    store.blobs.delete(name);
    expect((await reader.verify('run-3', undefined)).problems).toEqual([expect.objectContaining({ runId: 'run-2', blob: name, kind: 'missing' })]);
  });
});

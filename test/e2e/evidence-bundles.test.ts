/**
 * Evidence end to end, through the local Functions runtime, Azurite's blob service and the ARM
 * emulator: two runs chain their manifests; a byte altered in a stored blob of the first run is a
 * `hash_mismatch` for that blob, also when the second run is verified (the walk re-hashes past runs);
 * a deleted manifest breaks the chain; a run with a refused subscription names it in its manifest;
 * the OCSF export of the demo fleet validates against the schema and its counts per status
 * match the run's summary.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluationView } from '../../application/compliance-query-service.js';
import type { EvidenceView, VerifyReport } from '../../application/evidence-reader.js';
import { EVIDENCE_CONTAINER } from '../../adapters/storage/blob-evidence-store.js';
import { CONTROL_IDS } from '../../domain/control-catalog.js';
import type { ControlStatus, FleetSummary } from '../../domain/model.js';
import { STATUS_MAPPING } from '../../domain/ocsf-finding.js';
import { DEMO_SUBSCRIPTIONS } from '../../local/arm-emulator/fleet/demo-fleet.js';
import { OcsfSchema } from '../support/ocsf-validator.js';
import { startE2eStack, type E2eStack } from '../support/e2e-stack.js';

const AUDIT = ['Audit.Read'];
let e: E2eStack;
let container: ContainerClient;
let first: EvaluationView;
let second: EvaluationView;

async function raw(path: string, roles: readonly string[] = AUDIT): Promise<Response> {
  const token = await e.stack.issuer!.mintToken({ roles });
  return fetch(`${e.stack.apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
}
const evidence = async (runId: string): Promise<EvidenceView> => {
  const res = await e.api<EvidenceView>(`/v1/evaluations/${runId}/evidence`, { roles: AUDIT });
  expect(res.status).toBe(200);
  return res.body;
};
const verify = async (runId: string, query = ''): Promise<VerifyReport> => {
  const res = await e.api<VerifyReport>(`/v1/evaluations/${runId}/evidence/verify${query}`, { roles: AUDIT });
  expect(res.status).toBe(200);
  return res.body;
};

beforeAll(async () => {
  e = await startE2eStack();
  container = BlobServiceClient.fromConnectionString(e.stack.storageConnectionString).getContainerClient(EVIDENCE_CONTAINER);
  // Generous bounds: under a loaded machine (the whole suite in parallel) a demo-fleet run can take a minute.
  first = await e.timerRun(90_000);
  second = await e.timerRun(90_000);
}, 240_000);
afterAll(async () => {
  await e?.stop();
});

describe('evidence of two runs', () => {
  it('seals each run with a manifest chained to the previous one, readable with storage access alone', async () => {
    expect([first.status, second.status]).toEqual(['succeeded', 'succeeded']);
    const a = await evidence(first.id);
    const b = await evidence(second.id);
    expect(a.sequence).toBe(1);
    expect(a.previousManifest).toBeNull();
    expect(b.sequence).toBe(2);
    expect(b.previousManifest?.name).toBe(a.manifest.name);
    expect(b.blobs.map((x) => x.subscriptionId).sort()).toEqual(Object.values(DEMO_SUBSCRIPTIONS).sort());
    expect(b.blobs.reduce((n, x) => n + x.clusters, 0)).toBe(second.clustersEvaluated);
    expect(b.notCollected).toEqual([]);
    // The auditor's path: list the container, hash the previous manifest's bytes, read a blob.
    const names: string[] = [];
    for await (const item of container.listBlobsFlat({ prefix: 'manifests/' })) names.push(item.name);
    expect(names).toEqual([a.manifest.name, b.manifest.name]);
    const previousBytes = await container.getBlobClient(a.manifest.name).downloadToBuffer();
    expect(createHash('sha256').update(previousBytes).digest('hex')).toBe(b.previousManifest?.sha256);
    const blob = b.blobs[0]!;
    const stored = await container.getBlobClient(blob.name).downloadToBuffer();
    expect(createHash('sha256').update(stored).digest('hex')).toBe(blob.sha256);
    const lines = gunzipSync(stored).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { schema: string; runId: string; controls: unknown[]; cluster: { subscriptionId: string } });
    expect(lines).toHaveLength(blob.clusters);
    for (const line of lines) {
      expect(line).toMatchObject({ schema: 'arc-compliance/cluster-evidence@1', runId: second.id, cluster: { subscriptionId: blob.subscriptionId } });
      expect(line.controls).toHaveLength(CONTROL_IDS.length);
    }
  });

  it('streams a blob through the API exactly as stored, and requires Audit.Read', async () => {
    const b = await evidence(second.id);
    const blob = b.blobs[0]!;
    const res = await raw(`/v1/evaluations/${second.id}/evidence/${blob.subscriptionId}.ndjson.gz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    // Through the runtime's HTTP stream proxy with the length the handler declared (not re-buffered).
    expect(res.headers.get('content-length')).toBe(String(blob.bytes));
    expect(res.headers.get('x-ms-invocation-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex')).toBe(blob.sha256);
    const manifest = await raw(`/v1/evaluations/${second.id}/evidence/manifest.json`);
    expect(createHash('sha256').update(Buffer.from(await manifest.arrayBuffer())).digest('hex')).toBe(b.manifest.sha256);
    expect((await raw(`/v1/evaluations/${second.id}/evidence`, ['Compliance.Read'])).status).toBe(403);
    expect((await raw(`/v1/evaluations/${second.id}/evidence/${'0'.repeat(8)}-0000-0000-0000-000000000000.ndjson.gz`)).status).toBe(404);
    expect((await raw(`/v1/evaluations/${second.id}/evidence/..%2Fchain.lock`)).status).toBe(400);
    expect((await raw(`/v1/evaluations/no-such-run/evidence`)).status).toBe(404);
  });

  it('exports the run as OCSF Compliance Findings that validate and match the run summary per status', async () => {
    const res = await raw(`/v1/evaluations/${second.id}/findings?format=ocsf`, ['Compliance.Read']);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(res.headers.get('x-subscriptions-not-collected')).toBe('0');
    // Streamed as produced (HTTP streaming): no length known up front, chunked transfer.
    expect(res.headers.get('content-length')).toBeNull();
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    const findings = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(findings).toHaveLength(second.clustersEvaluated * CONTROL_IDS.length);
    const schema = new OcsfSchema();
    const problems = findings.flatMap((f) => schema.validate(f, 'compliance_finding'));
    expect(problems).toEqual([]);
    expect(new Set(findings.map((f) => (f['finding_info'] as { uid: string }).uid)).size).toBe(findings.length);

    const captionToStatus = new Map(Object.entries(STATUS_MAPPING).map(([status, m]) => [m.compliance.caption, status as ControlStatus]));
    const counted: Record<string, Record<ControlStatus, number>> = {};
    for (const f of findings) {
      const c = f['compliance'] as { control: string; status: string };
      const status = captionToStatus.get(c.status)!;
      counted[c.control] ??= { pass: 0, fail: 0, unknown: 0, not_applicable: 0, exempt: 0 };
      counted[c.control]![status] += 1;
    }
    const summary = (await e.api<FleetSummary>('/v1/summary')).body;
    expect(summary.runId).toBe(second.id);
    expect(counted).toEqual(summary.perControl);
    expect((await raw(`/v1/evaluations/${second.id}/findings?format=csv`, ['Compliance.Read'])).status).toBe(400);
  });

  it('verifies both runs and the chain', async () => {
    expect(await verify(second.id)).toEqual({ valid: true, checkedRuns: 2, problems: [] });
    expect(await verify(first.id)).toEqual({ valid: true, checkedRuns: 1, problems: [] });
  });

  it('reports hash_mismatch for the one blob whose byte was altered in storage', async () => {
    const a = await evidence(first.id);
    const target = a.blobs[1]!;
    const client = container.getBlockBlobClient(target.name);
    const bytes = await client.downloadToBuffer();
    const at = Math.floor(bytes.length / 2);
    bytes.writeUInt8(bytes.readUInt8(at) ^ 0x01, at);
    await client.uploadData(bytes);
    const report = await verify(first.id);
    expect(report.valid).toBe(false);
    expect(report.problems).toEqual([expect.objectContaining({ runId: first.id, blob: target.name, kind: 'hash_mismatch' })]);
    // The later run's own evidence and its link are intact; walking back to the first run re-hashes its
    // blobs too, so the change is found from the later run as well.
    expect(await verify(second.id, '?depth=1')).toEqual({ valid: true, checkedRuns: 1, problems: [] });
    const chain = await verify(second.id);
    expect(chain.checkedRuns).toBe(2);
    expect(chain.problems).toEqual([expect.objectContaining({ runId: first.id, blob: target.name, kind: 'hash_mismatch' })]);
  });

  it('reports chain_broken once a manifest is deleted', async () => {
    const a = await evidence(first.id);
    await container.getBlobClient(a.manifest.name).delete();
    const report = await verify(second.id);
    expect(report.valid).toBe(false);
    expect(report.problems).toContainEqual(expect.objectContaining({ runId: second.id, blob: a.manifest.name, kind: 'chain_broken' }));
    const own = await verify(first.id);
    expect(own.problems).toEqual([expect.objectContaining({ runId: first.id, kind: 'missing' })]);
  });
});

describe('a run with a refused subscription', () => {
  it('names the subscription that was not collected in its manifest', async () => {
    const refused = DEMO_SUBSCRIPTIONS.factories;
    e.stack.emulator!.faults.denyAccess({ subscriptionId: refused });
    try {
      const third = await e.timerRun(90_000);
      expect(third.status).toBe('partial');
      const m = await evidence(third.id);
      expect(m.sequence).toBe(3);
      expect(m.blobs.map((b) => b.subscriptionId)).not.toContain(refused);
      expect(m.blobs).toHaveLength(2);
      expect(m.notCollected).toEqual([{ subscriptionId: refused, reason: expect.stringMatching(/AuthorizationFailed|403/) }]);
      const findings = await raw(`/v1/evaluations/${third.id}/findings?format=ocsf`, ['Compliance.Read']);
      expect(findings.headers.get('x-subscriptions-not-collected')).toBe('1');
      await findings.arrayBuffer();
      expect(await verify(third.id, '?depth=1')).toEqual({ valid: true, checkedRuns: 1, problems: [] });
    } finally {
      e.stack.emulator!.faults.clear();
    }
  }, 120_000);
});

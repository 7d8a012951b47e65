import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listControls } from '../../../domain/control-catalog.js';
import { FRAMEWORK_IDS, frameworkRequirements, type FrameworkId } from '../../../domain/frameworks.js';
import { documented } from '../../support/api-expect.js';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { FAILING_CONTROL, SUB_A, SUB_B, clusterId, seedFleet } from '../../support/api-fixtures.js';

let h: ApiHarness;
let all: string;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  h = await startApiHarness({
    maxRequestBodyBytes: 2048,
    policyMetadata: { listTitles: async () => new Map([['Azure_Security_Benchmark_v3.0_PA-7', 'Use least privilege principle (from metadata)']]) },
  });
  await seedFleet(h.ports);
  all = await h.token(['Compliance.Read', 'Compliance.Evaluate', 'Compliance.Exempt', 'Remediation.Run', 'Audit.Read'], { oid: 'caller-oid', appid: 'caller-app' });
  for (const r of ['Compliance.Read', 'Compliance.Exempt']) tokens[r] = await h.token([r]);
});
afterAll(async () => h?.stop());

type Json = Record<string, unknown> & { value?: Record<string, unknown>[]; nextLink?: string; error?: { code: string; target?: string; details?: { target?: string; message: string }[]; message: string } };
async function call(op: string, method: string, path: string, init: { body?: unknown; rawBody?: string; headers?: Record<string, string>; token?: string } = {}): Promise<{ res: Response; body: Json }> {
  const res = await h.request(method, path, { token: all, ...init });
  const body = (await documented(op, res)) as Json;
  return { res, body };
}

describe('controls', () => {
  it('lists the catalog in pages that follow nextLink', async () => {
    const first = await call('listControls', 'GET', '/api/v1/controls?top=10');
    expect(first.body.value).toHaveLength(10);
    expect(first.body.nextLink).toBeDefined();
    const next = new URL(first.body.nextLink ?? '');
    expect(next.searchParams.get('top')).toBe('10');
    const second = await call('listControls', 'GET', `${next.pathname}${next.search}`);
    expect(second.body.value?.length).toBe(listControls().length - 10);
    expect(second.body.nextLink).toBeUndefined();
  });
  it('gets one control with its definitions, its requirements per framework and its remediation', async () => {
    const { body } = await call('getControl', 'GET', '/api/v1/controls/ARC-TD-01');
    expect(body).toMatchObject({ id: 'ARC-TD-01', remediation: { automatic: true } });
    expect(body['policyDefinitionIds']).toEqual([
      '/providers/Microsoft.Authorization/policyDefinitions/708b60a6-d253-4fe0-9114-4be4c00f012c',
      '/providers/Microsoft.Authorization/policyDefinitions/8dfab9c4-fe7b-49ad-85e4-1e9be085358f',
    ]);
    expect(body['requirements']).toMatchObject({ mcsb: ['LT-1', 'LT-2'], nsa: ['Threat detection'] });
    expect(Object.keys(body['requirements'] as object)).toEqual([...FRAMEWORK_IDS]);
    const config = await call('getControl', 'GET', '/api/v1/controls/ARC-AC-04');
    expect(config.body['policyDefinitionIds']).toEqual([]);
  });
  it('404 for an unknown control', async () => {
    const { res, body } = await call('getControl', 'GET', '/api/v1/controls/ARC-XX-99');
    expect(res.status).toBe(404);
    expect(body.error?.code).toBe('NotFound');
  });
});

describe('clusters', () => {
  it('filters by subscription, status, failing control, environment and staleness', async () => {
    const bySub = await call('listClusters', 'GET', `/api/v1/clusters?subscriptionId=${SUB_A}`);
    expect(bySub.body.value?.map((c) => c['name'])).toEqual(['store-001', 'store-002']);
    const failing = await call('listClusters', 'GET', `/api/v1/clusters?controlId=${FAILING_CONTROL}&status=noncompliant`);
    expect(failing.body.value?.map((c) => c['name']).sort()).toEqual(['plant-001', 'store-001']);
    const stale = await call('listClusters', 'GET', '/api/v1/clusters?stale=true&environment=dev');
    expect(stale.body.value?.map((c) => c['name'])).toEqual(['plant-001']);
  });
  it('rejects bad query values and unknown parameters with details', async () => {
    for (const q of ['top=0', 'top=1001', 'top=abc', 'status=green', 'subscriptionId=x', 'stale=maybe', 'color=red', 'top=1&top=2']) {
      const { res, body } = await call('listClusters', 'GET', `/api/v1/clusters?${q}`);
      expect(res.status, q).toBe(400);
      expect(body.error?.code).toBe('InvalidRequest');
      expect(body.error?.details?.[0]?.target).toBe(q.split('=')[0]);
    }
  });
  it('gets a cluster with its controls, with ETag and 304', async () => {
    const path = `/api/v1/clusters/${SUB_A}/rg-edge/store-001`;
    const { res, body } = await call('getCluster', 'GET', path);
    expect(body['failedControls']).toEqual([FAILING_CONTROL]);
    expect((body['controls'] as { controlId: string; status: string }[]).find((c) => c.controlId === FAILING_CONTROL)?.status).toBe('fail');
    const etag = res.headers.get('etag') ?? '';
    expect(etag).toMatch(/^".+"$/);
    const again = await h.request('GET', path, { token: all, headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(await documented('getCluster', again)).toBe('');
    const other = await h.request('GET', path, { token: all, headers: { 'if-none-match': '"stale"' } });
    expect(other.status).toBe(200);
    await documented('getCluster', other);
  });
  it('404 for a cluster never evaluated; 400 for a malformed subscription id', async () => {
    expect((await call('getCluster', 'GET', `/api/v1/clusters/${SUB_A}/rg-edge/nope`)).res.status).toBe(404);
    expect((await call('getCluster', 'GET', '/api/v1/clusters/not-a-guid/rg-edge/store-001')).res.status).toBe(400);
  });
  it('returns per-run history with drift, and validates the range', async () => {
    const { body } = await call('getClusterHistory', 'GET', `/api/v1/clusters/${SUB_A}/rg-edge/store-001/history`);
    expect(body.value?.map((e) => e['runId'])).toEqual(['run-1', 'run-2']);
    expect(body.value?.[1]?.['drift']).toEqual([{ controlId: FAILING_CONTROL, from: 'pass', to: 'fail' }]);
    const bad = await call('getClusterHistory', 'GET', `/api/v1/clusters/${SUB_A}/rg-edge/store-001/history?from=yesterday`);
    expect(bad.res.status).toBe(400);
    const inverted = await call('getClusterHistory', 'GET', `/api/v1/clusters/${SUB_A}/rg-edge/store-001/history?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z`);
    expect(inverted.res.status).toBe(400);
  });
});

describe('posture', () => {
  it('serves the latest summary with an ETag that yields 304', async () => {
    const { res, body } = await call('getSummary', 'GET', '/api/v1/summary');
    expect(body['runId']).toBe('run-2');
    expect(body['totals']).toMatchObject({ clusters: 3, noncompliant: 2 });
    const again = await h.request('GET', '/api/v1/summary', { token: all, headers: { 'if-none-match': `W/"x", ${res.headers.get('etag') ?? ''}` } });
    expect(again.status).toBe(304);
    await documented('getSummary', again);
  });
  it('serves a summary stored before reports became requirement-level without its section rows', async () => {
    const latest = await h.ports.summaries.getLatest();
    if (latest === undefined) throw new Error('seeded summary missing');
    const older = { ...latest, runId: 'run-old-shape', generatedAt: new Date(Date.parse(latest.generatedAt) + 1000).toISOString(), perFrameworkSection: [{ framework: 'cis', section: '3.1' }] };
    await h.ports.summaries.put(older);
    try {
      const { body } = await call('getSummary', 'GET', '/api/v1/summary');
      expect(body['runId']).toBe('run-old-shape');
      expect(body).not.toHaveProperty('perFrameworkSection');
    } finally {
      const stored = h.ports.summaries.summaries;
      stored.splice(stored.findIndex((x) => x.runId === 'run-old-shape'), 1);
    }
  });
  it('lists the frameworks with their source and requirement counts', async () => {
    const { body } = await call('listFrameworks', 'GET', '/api/v1/frameworks');
    expect(body.value?.map((f) => f['id'])).toEqual([...FRAMEWORK_IDS]);
    for (const f of body.value ?? []) {
      expect(f['requirements'], String(f['id'])).toBe(frameworkRequirements(f['id'] as FrameworkId).length);
      expect(Number(f['automatedRequirements'])).toBeGreaterThan(0);
      expect(Number(f['automatedRequirements'])).toBeLessThanOrEqual(Number(f['requirements']));
    }
    expect(body.value?.[0]).toMatchObject({ id: 'mcsb', source: { kind: 'initiative', policySetDefinitionId: '/providers/Microsoft.Authorization/policySetDefinitions/1f3afdf9-d0c9-4c3d-847f-89da613e70a8' } });
  });
  it('reports every requirement of a framework as JSON, with titles from policy metadata where they could be read', async () => {
    const { body } = await call('getFrameworkReport', 'GET', '/api/v1/frameworks/mcsb/report');
    expect(body).toMatchObject({ framework: 'mcsb', runId: 'run-2' });
    const rows = body['requirements'] as { id: string; title: string | null; status: string; controls: string[]; clustersPassing: number; clustersFailing: number; clustersNotAssessed: number }[];
    expect(rows).toHaveLength(frameworkRequirements('mcsb').length);
    // ARC-AC-01 (mapped to PA-7 through the AKS RBAC twin) fails on store-001 and plant-001.
    expect(rows.find((r) => r.id === 'PA-7')).toEqual({
      id: 'PA-7',
      policyMetadataName: 'Azure_Security_Benchmark_v3.0_PA-7',
      title: 'Use least privilege principle (from metadata)',
      controls: ['ARC-AC-01'],
      status: 'failing',
      clustersPassing: 1,
      clustersFailing: 2,
      clustersNotAssessed: 0,
    });
    expect(rows.find((r) => r.id === 'LT-1')).toMatchObject({ title: null, status: 'passing', clustersPassing: 3 });
    expect(rows.find((r) => r.id === 'NS-1')).toMatchObject({ status: 'manual', controls: [], clustersNotAssessed: 3 });
  });
  it("the summary's posture per framework counts each framework's report by requirement status", async () => {
    const { body } = await call('getSummary', 'GET', '/api/v1/summary');
    const perFramework = body['perFramework'] as Record<string, Record<string, number>>;
    expect(Object.keys(perFramework)).toEqual([...FRAMEWORK_IDS]);
    for (const f of FRAMEWORK_IDS) {
      const rows = (await call('getFrameworkReport', 'GET', `/api/v1/frameworks/${f}/report`)).body['requirements'] as { status: string }[];
      const n = (s: string): number => rows.filter((r) => r.status === s).length;
      expect(perFramework[f], f).toEqual({ requirements: rows.length, passing: n('passing'), failing: n('failing'), notAssessed: n('not_assessed'), manual: n('manual') });
    }
    expect(perFramework['mcsb']?.['failing']).toBeGreaterThan(0);
  });
  it('filters trends by environment, subscription, location and tag from each run\'s slices, and refuses a bad tag', async () => {
    const fleet = (await call('getTrends', 'GET', '/api/v1/trends?days=30')).body.value ?? [];
    expect(fleet.map((p) => p['clusters'])).toEqual([3, 3]);
    const points = async (q: string) => ((await call('getTrends', 'GET', `/api/v1/trends?days=30&${q}`)).body.value ?? []).map((p) => [p['runId'], p['clusters'], p['noncompliant'], p['averageScore']]);
    // run-1: all three prod and passing; run-2: plant-001 moved to dev, store-001 and plant-001 fail.
    expect(await points('environment=PROD')).toEqual([['run-1', 3, 0, 100], ['run-2', 2, 1, 90]]);
    expect(await points('environment=dev')).toEqual([['run-1', 0, 0, 100], ['run-2', 1, 1, 80]]);
    expect(await points(`subscriptionId=${SUB_A}&location=WestEurope`)).toEqual([['run-1', 2, 0, 100], ['run-2', 2, 1, 90]]);
    expect(await points(`subscriptionId=${SUB_B}&environment=prod`)).toEqual([['run-1', 1, 0, 100], ['run-2', 0, 0, 100]]);
    // The fixture's plant-001 still carries the tag environment=prod: a tag filter reads the tags.
    expect(await points('tag=Environment=prod')).toEqual([['run-1', 3, 0, 100], ['run-2', 3, 2, 86.7]]);
    expect(await points('tag=environment')).toEqual(await points('tag=Environment=prod'));
    expect(await points('tag=environment=Prod')).toEqual([['run-1', 0, 0, 100], ['run-2', 0, 0, 100]]);
    expect(await points('location=eastus')).toEqual([['run-1', 0, 0, 100], ['run-2', 0, 0, 100]]);
    const filtered = await call('getTrends', 'GET', '/api/v1/trends?days=30&environment=dev');
    expect(filtered.body['filters']).toEqual({ environment: 'dev' });
    expect((filtered.body.value ?? [])[1]?.['failingByControl']).toEqual({ [FAILING_CONTROL]: 1 });
    expect((await call('getTrends', 'GET', '/api/v1/trends?tag==x')).res.status).toBe(400);
    expect((await call('getTrends', 'GET', '/api/v1/trends?subscriptionId=nope')).res.status).toBe(400);
  });
  it('narrows a report by environment, subscription and location', async () => {
    const pa7 = async (q: string) =>
      ((await call('getFrameworkReport', 'GET', `/api/v1/frameworks/mcsb/report?${q}`)).body['requirements'] as { id: string; clustersPassing: number; clustersFailing: number; clustersNotAssessed: number }[]).find((r) => r.id === 'PA-7');
    expect(await pa7('environment=prod')).toMatchObject({ clustersPassing: 1, clustersFailing: 1, clustersNotAssessed: 0 });
    expect(await pa7(`subscriptionId=${SUB_B}`)).toMatchObject({ clustersPassing: 0, clustersFailing: 1 });
    expect(await pa7('location=eastus')).toMatchObject({ clustersPassing: 0, clustersFailing: 0, clustersNotAssessed: 0 });
  });
  it('reports the same figures as CSV, by format=csv or by Accept: text/csv', async () => {
    const { body } = await call('getFrameworkReport', 'GET', '/api/v1/frameworks/pci-dss-4.0.1/report');
    const rows = body['requirements'] as { id: string; clustersFailing: number }[];
    for (const [path, headers] of [
      ['/api/v1/frameworks/pci-dss-4.0.1/report?format=csv', {}],
      ['/api/v1/frameworks/pci-dss-4.0.1/report', { accept: 'text/csv' }],
    ] as const) {
      const res = await h.request('GET', path, { token: all, headers });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      const lines = String(await documented('getFrameworkReport', res)).split('\r\n').filter((l) => l !== '');
      expect(lines[0]).toBe('framework,requirement,policyMetadataName,title,controls,status,clustersPassing,clustersFailing,clustersNotAssessed');
      expect(lines).toHaveLength(rows.length + 1);
      const row = lines.find((l) => l.startsWith('pci-dss-4.0.1,6.5.1,'))?.split(',');
      expect(Number(row?.[7])).toBe(rows.find((r) => r.id === '6.5.1')?.clustersFailing);
    }
    const json = await h.request('GET', '/api/v1/frameworks/pci-dss-4.0.1/report?format=json', { token: all, headers: { accept: 'text/csv' } });
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    await documented('getFrameworkReport', json);
  });
  it('400 for an unknown framework, format or filter value', async () => {
    expect((await call('getFrameworkReport', 'GET', '/api/v1/frameworks/iso/report')).res.status).toBe(400);
    expect((await call('getFrameworkReport', 'GET', '/api/v1/frameworks/cis/report?format=xlsx')).res.status).toBe(400);
    expect((await call('getFrameworkReport', 'GET', '/api/v1/frameworks/cis/report?subscriptionId=x')).res.status).toBe(400);
    expect((await call('getFrameworkReport', 'GET', '/api/v1/frameworks/cis/report?section=3.1')).res.status).toBe(400);
  });
  it('returns trends for the requested window', async () => {
    const { body } = await call('getTrends', 'GET', '/api/v1/trends?days=30');
    expect(body.value?.map((p) => p['runId'])).toEqual(['run-1', 'run-2']);
    expect(body.value?.[1]?.['failingByControl']).toMatchObject({ [FAILING_CONTROL]: 2 });
    expect((await call('getTrends', 'GET', '/api/v1/trends?days=0')).res.status).toBe(400);
  });
});

describe('evaluations', () => {
  it('starts a run: 202, Location, audit record; then get and list it', async () => {
    const { res, body } = await call('startEvaluation', 'POST', '/api/v1/evaluations');
    expect(res.status).toBe(202);
    expect(body).toMatchObject({ status: 'queued', trigger: 'on-demand', requestedBy: 'caller-oid' });
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.pathname).toBe(`/api/v1/evaluations/${String(body['id'])}`);
    expect(h.ports.auditLog.records.at(-1)).toMatchObject({ operation: 'startEvaluation', outcome: 'succeeded', callerObjectId: 'caller-oid', callerAppId: 'caller-app', requestId: res.headers.get('x-request-id') });
    const got = await call('getEvaluation', 'GET', location.pathname);
    expect(got.body['id']).toBe(body['id']);
    const list = await call('listEvaluations', 'GET', '/api/v1/evaluations?top=1');
    expect(list.body.value).toHaveLength(1);
    expect(list.body.nextLink).toBeDefined();
  });
  it('shows failed subscriptions with their errors', async () => {
    const { body } = await call('getEvaluation', 'GET', '/api/v1/evaluations/run-2');
    expect(body['failures']).toEqual([expect.objectContaining({ subscriptionId: SUB_B, error: 'AuthorizationFailed' })]);
  });
});

describe('exceptions', () => {
  const scope = clusterId(SUB_A, 'rg-edge', 'store-001');
  const valid = () => ({ controlId: FAILING_CONTROL, scope, justification: 'Store closes next month', ticket: 'CHG0012345', expiresAt: new Date(h.ports.clock.now().getTime() + 30 * 86_400_000).toISOString() });
  beforeEach(() => h.ports.exceptions.items.clear());

  it('creates, gets, lists and deletes an exception, auditing each mutation', async () => {
    const created = await call('createException', 'POST', '/api/v1/exceptions', { body: valid() });
    expect(created.res.status).toBe(201);
    expect(created.body).toMatchObject({ controlId: FAILING_CONTROL, scope: scope.toLowerCase(), status: 'active', createdBy: 'caller-oid' });
    expect(h.ports.auditLog.records.at(-1)).toMatchObject({ operation: 'createException', outcome: 'succeeded' });
    const id = String(created.body['id']);
    expect((await call('getException', 'GET', `/api/v1/exceptions/${id}`)).body['id']).toBe(id);
    expect((await call('listExceptions', 'GET', '/api/v1/exceptions?status=active')).body.value).toHaveLength(1);
    const del = await h.request('DELETE', `/api/v1/exceptions/${id}`, { token: tokens['Compliance.Exempt'] });
    expect(del.status).toBe(204);
    expect(await documented('deleteException', del)).toBe('');
    expect(h.ports.auditLog.records.at(-1)).toMatchObject({ operation: 'deleteException', outcome: 'succeeded', target: `exceptions/${id}` });
    const again = await call('deleteException', 'DELETE', `/api/v1/exceptions/${id}`);
    expect(again.res.status).toBe(404);
    expect(h.ports.auditLog.records.at(-1)).toMatchObject({ operation: 'deleteException', outcome: 'failed', detail: 'NotFound' });
  });
  it('lists expired exceptions as expired', async () => {
    await h.ports.exceptions.create({ id: 'old', controlId: FAILING_CONTROL, scope: scope.toLowerCase(), justification: 'x', ticket: 't', createdBy: 'me', createdAt: '2020-01-01T00:00:00.000Z', expiresAt: '2020-02-01T00:00:00.000Z' });
    const { body } = await call('listExceptions', 'GET', '/api/v1/exceptions');
    expect(body.value).toEqual([expect.objectContaining({ id: 'old', status: 'expired' })]);
    expect((await call('listExceptions', 'GET', '/api/v1/exceptions?status=active')).body.value).toEqual([]);
  });
  it.each([
    ['unknown field', { ...{}, extra: true }, 'extra'],
    ['missing expiresAt', { expiresAt: undefined }, 'expiresAt'],
    ['expiry over a year', { expiresAt: '2999-01-01T00:00:00Z' }, 'expiresAt'],
    ['expiry in the past', { expiresAt: '2001-01-01T00:00:00Z' }, 'expiresAt'],
    ['unknown control', { controlId: 'ARC-ZZ-99' }, 'controlId'],
    ['bad scope', { scope: '/subscriptions/x' }, 'scope'],
    ['number as ticket', { ticket: 42 }, 'ticket'],
  ])('400 and nothing stored for %s', async (_name, patch, target) => {
    const body = JSON.parse(JSON.stringify({ ...valid(), ...patch })) as unknown;
    const r = await call('createException', 'POST', '/api/v1/exceptions', { body });
    expect(r.res.status).toBe(400);
    expect(r.body.error?.code).toBe('InvalidRequest');
    expect(r.body.error?.details?.map((d) => d.target)).toContain(target);
    expect(h.ports.exceptions.items.size).toBe(0);
    expect(h.ports.auditLog.records.at(-1)).toMatchObject({ operation: 'createException', outcome: 'failed', detail: 'InvalidRequest' });
  });
  it('400 for malformed JSON, 415 for another media type, 413 over the body limit', async () => {
    const bad = await call('createException', 'POST', '/api/v1/exceptions', { rawBody: '{"controlId":', headers: { 'content-type': 'application/json' } });
    expect(bad.res.status).toBe(400);
    expect(bad.body.error?.target).toBe('body');
    const text = await call('createException', 'POST', '/api/v1/exceptions', { rawBody: 'controlId=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(text.res.status).toBe(415);
    const big = await call('createException', 'POST', '/api/v1/exceptions', { body: { ...valid(), justification: 'x'.repeat(4096) } });
    expect(big.res.status).toBe(413);
    expect(big.body.error?.code).toBe('PayloadTooLarge');
    expect(h.ports.exceptions.items.size).toBe(0);
  });
});

describe('remediations', () => {
  const store1 = clusterId(SUB_A, 'rg-edge', 'store-001');
  it('starts one task per subscription for a control with a DeployIfNotExists policy', async () => {
    const plant = clusterId(SUB_B, 'rg-plant', 'plant-001');
    const { res, body } = await call('startRemediation', 'POST', '/api/v1/remediations', { body: { controlId: 'ARC-PL-01', clusterIds: [store1, plant] } });
    expect(res.status).toBe(202);
    expect((body['tasks'] as unknown[]).length).toBe(2);
    expect(h.ports.remediationStarter.started.map((s) => s.subscriptionId).sort()).toEqual([SUB_A, SUB_B]);
    const got = await call('getRemediation', 'GET', new URL(res.headers.get('location') ?? '').pathname);
    expect(got.body).toMatchObject({ id: body['id'], controlId: 'ARC-PL-01', status: 'running' });
    expect(h.ports.auditLog.records.at(-1)).toMatchObject({ operation: 'startRemediation', outcome: 'succeeded' });
  });
  it('lists remediations newest first, each as GET shows it, in pages of at most 50', async () => {
    const clock = h.ports.clock;
    const before = clock.now();
    clock.set(new Date(before.getTime() + 60_000));
    const second = await call('startRemediation', 'POST', '/api/v1/remediations', { body: { controlId: 'ARC-PL-01', clusterIds: [store1] } }).finally(() => {
      clock.set(before);
    });
    expect(second.res.status).toBe(202);
    const all = await call('listRemediations', 'GET', '/api/v1/remediations');
    const listed = all.body.value ?? [];
    expect(listed.length).toBe(h.ports.remediations.items.size);
    expect(listed[0]?.['id']).toBe(second.body['id']);
    const dates = listed.map((r) => String(r['createdAt']));
    expect(dates).toEqual([...dates].sort().reverse());
    for (const r of listed) expect(r).toEqual((await call('getRemediation', 'GET', `/api/v1/remediations/${String(r['id'])}`)).body);
    const first = await call('listRemediations', 'GET', '/api/v1/remediations?top=1');
    expect(first.body.value).toHaveLength(1);
    const next = new URL(first.body.nextLink ?? '');
    expect((await call('listRemediations', 'GET', `${next.pathname}${next.search}`)).body.value?.[0]?.['id']).toBe(listed[1]?.['id']);
    expect((await call('listRemediations', 'GET', '/api/v1/remediations?top=51')).res.status).toBe(400);
  });
  it('targets the failing clusters of a subscription', async () => {
    const before = h.ports.remediationStarter.started.length;
    const { res } = await call('startRemediation', 'POST', '/api/v1/remediations', { body: { controlId: 'ARC-TD-01', subscriptionId: SUB_A } });
    // No cluster of SUB_A fails ARC-TD-01 in the fixture.
    expect(res.status).toBe(400);
    expect(h.ports.remediationStarter.started.length).toBe(before);
  });
  it('422 NotRemediable with the manual guidance for a control without automatic remediation', async () => {
    const { res, body } = await call('startRemediation', 'POST', '/api/v1/remediations', { body: { controlId: FAILING_CONTROL, clusterIds: [store1] } });
    expect(res.status).toBe(422);
    expect(body.error?.code).toBe('NotRemediable');
    expect(body.error?.details?.[0]?.message.length).toBeGreaterThan(10);
  });
  it('400 when both or neither of clusterIds and subscriptionId are given', async () => {
    expect((await call('startRemediation', 'POST', '/api/v1/remediations', { body: { controlId: 'ARC-PL-01' } })).res.status).toBe(400);
    expect((await call('startRemediation', 'POST', '/api/v1/remediations', { body: { controlId: 'ARC-PL-01', clusterIds: [store1], subscriptionId: SUB_A } })).res.status).toBe(400);
  });
});

describe('audit log and errors', () => {
  it('lists audit records newest first, with paging', async () => {
    const { body } = await call('listAuditLog', 'GET', '/api/v1/audit-log?top=2');
    expect(body.value).toHaveLength(2);
    expect(body.nextLink).toBeDefined();
  });
  it('echoes a safe x-request-id and replaces an unsafe one', async () => {
    const ok = await h.request('GET', '/api/health', { headers: { 'x-request-id': 'abc-123' } });
    expect(ok.headers.get('x-request-id')).toBe('abc-123');
    await documented('getHealth', ok);
    const unsafe = await h.request('GET', '/api/health', { headers: { 'x-request-id': '<script>' } });
    expect(unsafe.headers.get('x-request-id')).not.toBe('<script>');
    await documented('getHealth', unsafe);
  });
  it('maps unexpected errors to 500 InternalError without leaking, and logs them with the request id, redacted', async () => {
    const original = h.ports.summaries.getLatest.bind(h.ports.summaries);
    h.ports.summaries.getLatest = () => Promise.reject(new Error('secret connection string AccountKey=abc'));
    try {
      const { res, body } = await call('getSummary', 'GET', '/api/v1/summary');
      expect(res.status).toBe(500);
      expect(body.error?.code).toBe('InternalError');
      expect(JSON.stringify(body)).not.toContain('AccountKey');
      const logged = h.errors.at(-1);
      expect(logged?.properties['requestId']).toBe(res.headers.get('x-request-id'));
      expect(logged?.properties['error']).toContain('AccountKey=[REDACTED]');
      expect(JSON.stringify(logged)).not.toContain('AccountKey=abc');
    } finally {
      h.ports.summaries.getLatest = original;
    }
  });
  it('health reports dependency failures as 503', async () => {
    const h2 = await startApiHarness({ healthChecks: [{ name: 'storage', check: () => Promise.reject(new Error('down')) }, { name: 'arm', check: async () => ({ version: '2024-10-01' }) }] });
    try {
      const res = await h2.request('GET', '/api/health', { token: await h2.token(['Compliance.Read']) });
      expect(res.status).toBe(503);
      const body = (await documented('getHealth', res)) as { checks: { name: string; status: string; version?: string }[] };
      expect(body.checks).toEqual(expect.arrayContaining([{ name: 'storage', status: 'unhealthy' }, { name: 'arm', status: 'healthy', version: '2024-10-01' }]));
      expect(body.checks[0]).toMatchObject({ name: 'node', version: process.version });
      const anonymous = await h2.request('GET', '/api/health');
      expect(anonymous.status).toBe(503);
      expect(await documented('getHealth', anonymous)).toEqual({ status: 'unhealthy', checks: [{ name: 'node', status: 'healthy' }, { name: 'storage', status: 'unhealthy' }, { name: 'arm', status: 'healthy' }] });
    } finally {
      await h2.stop();
    }
  });
  it('health shows anonymous callers only the status and check names; versions and details need Compliance.Read', async () => {
    const h2 = await startApiHarness({ healthChecks: [{ name: 'storage', check: async () => ({ version: 'Azurite-Table/3.37.0' }) }, { name: 'arm', check: async () => ({ detail: 'reachable' }) }] });
    try {
      const anonymousView = { status: 'healthy', checks: [{ name: 'node', status: 'healthy' }, { name: 'storage', status: 'healthy' }, { name: 'arm', status: 'healthy' }] };
      const badTokens = [undefined, 'garbage', await h2.token(['Compliance.Read'], { expiresIn: -3600 }), await h2.token(['Audit.Read', 'Webhooks.Manage'])];
      for (const token of badTokens) {
        const res = await h2.request('GET', '/api/health', token === undefined ? {} : { token });
        expect(res.status, String(token).slice(0, 12)).toBe(200);
        expect(await documented('getHealth', res)).toEqual(anonymousView);
        expect(res.headers.get('vary')?.toLowerCase()).toContain('authorization');
      }
      const reader = await h2.request('GET', '/api/health', { token: await h2.token(['Compliance.Read']) });
      expect(reader.status).toBe(200);
      expect(reader.headers.get('cache-control')).toBe('no-store');
      expect(await documented('getHealth', reader)).toEqual({
        status: 'healthy',
        version: expect.any(String),
        checks: [
          { name: 'node', status: 'healthy', version: process.version },
          { name: 'storage', status: 'healthy', version: 'Azurite-Table/3.37.0' },
          { name: 'arm', status: 'healthy', detail: 'reachable' },
        ],
      });
      expect(h2.errors).toEqual([]);
    } finally {
      await h2.stop();
    }
  });
});

/**
 * Every documented operation through the local Functions runtime: the real `functions/api-*.ts` on the
 * host, Azurite, the ARM emulator on the demo fleet after one evaluation run, tokens from the local
 * issuer. Every response is validated against the OpenAPI document; the last test checks that each
 * operation of the document was called. Authentication and roles: `api-security.test.ts`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { DefaultAzureCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDashboardBuilt } from '../../dashboard/build.js';
import { listDocumentedOperations } from '../../adapters/http/validation.js';
import { ArmPolicyAdmin } from '../../adapters/arm/policy-admin.js';
import { CONTROL_IDS, POLICY_IDS } from '../../domain/control-catalog.js';
import { DEMO_SUBSCRIPTIONS, generateFleet } from '../../local/arm-emulator/fleet/index.js';
import type { FleetModel } from '../../local/arm-emulator/fleet-model.js';
import { regulatoryPolicyMetadata } from '../../local/arm-emulator/wire/routes/policy-metadata-routes.js';
import type { EvaluationView } from '../../application/compliance-query-service.js';
import { UNMATCHED_ROUTE_OPERATION } from '../../adapters/http/unmatched-route.js';
import { documented, documentedUnmatched } from '../support/api-expect.js';
import { createApiClient, type ApiClient, type ApiRequestInit } from '../support/api-harness.js';
import { clusterPath, startE2eStack, waitFor, type E2eStack } from '../support/e2e-stack.js';
import { referenceSign } from '../unit/webhooks/standard-webhooks-reference.js';

const DINE_POLICY_EXTENSION = `/providers/Microsoft.Authorization/policyDefinitions/${POLICY_IDS.arcPolicyExtensionDeployIfNotExists}`;

/** A requirement title the emulator's policy metadata carries in this test only (the emulator has none of its own). */
const TEST_TITLE = { name: 'Azure_Security_Benchmark_v3.0_PA-7', title: 'Title served by the test fleet for PA-7' };

/**
 * The demo fleet, plus what Policy Insights would report for the DeployIfNotExists "install the Azure
 * Policy extension" definition once assigned: non-compliant where the extension is missing or failed
 * (the emulator derives non-compliance from a cluster's `violations`); and one requirement title in
 * the policy metadata.
 */
function demoFleetWithExtensionFindings(now: Date): FleetModel {
  const fleet = generateFleet({ mode: 'demo' }, now);
  const healthy = (ext: Record<string, unknown>): boolean => {
    const p = (ext['properties'] ?? {}) as Record<string, unknown>;
    return String(p['extensionType']).toLowerCase() === 'microsoft.policyinsights' && p['provisioningState'] === 'Succeeded';
  };
  return {
    ...fleet,
    policyMetadata: regulatoryPolicyMetadata().map((m) => (m.name === TEST_TITLE.name ? { ...m, properties: { ...(m['properties'] as object), title: TEST_TITLE.title } } : m)),
    clusters: fleet.clusters.map((c) =>
      c.extensions.some(healthy)
        ? c
        : { ...c, violations: [...c.violations, { policyDefinitionName: POLICY_IDS.arcPolicyExtensionDeployIfNotExists, components: [{ id: 'kube-system/azurepolicy', name: 'azurepolicy', type: 'extension' }] }] },
    ),
  };
}

type Json = Record<string, unknown> & { value?: Record<string, unknown>[]; nextLink?: string; error?: { code: string; target?: string; details?: { code: string; target?: string; message: string }[] } };

let e: E2eStack;
let client: ApiClient;
let run: EvaluationView;
let all: string;
/** A second identity: the creator of a rollout may not approve its waves. */
let approver: string;
/**
 * The webhook target: an allowlisted loopback port that accepts TCP and closes it, so a delivery
 * attempt fails fast (no TLS handshake) and stays retrying; nothing is ever delivered.
 */
let sink: Server;
let webhookUrl: string;
const called = new Set<string>();

beforeAll(async () => {
  ensureDashboardBuilt();
  sink = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const sinkPort = (sink.address() as AddressInfo).port;
  webhookUrl = `https://127.0.0.1:${sinkPort}/arc-hooks`;
  e = await startE2eStack({
    fleet: demoFleetWithExtensionFindings(new Date()),
    emulator: { remediationDelayMs: 1500 },
    settings: { WEBHOOK_ALLOWLIST: `127.0.0.1:${sinkPort}` },
  });
  run = await e.timerRun();
  client = createApiClient(new URL(e.stack.apiUrl).origin, e.stack.issuer!);
  all = await client.token(
    ['Compliance.Read', 'Compliance.Evaluate', 'Compliance.Exempt', 'Remediation.Run', 'Audit.Read', 'Enforcement.Manage', 'Webhooks.Manage'],
    { oid: 'e2e-caller', appid: 'e2e-app' },
  );
  approver = await client.token(['Enforcement.Approve'], { oid: 'e2e-approver', appid: 'e2e-app' });
});
afterAll(async () => {
  await e?.stop();
  await new Promise<void>((resolve) => (sink === undefined ? resolve() : sink.close(() => resolve())));
});

async function call(op: string, method: string, path: string, init: ApiRequestInit = {}): Promise<{ res: Response; body: Json }> {
  const res = await client.request(method, path, { token: all, ...init });
  const body = (await documented(op, res)) as Json;
  called.add(op);
  return { res, body };
}

const pathOf = (url: string): string => {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};

describe('service', () => {
  it('reports health with its dependency checks', async () => {
    const anonymous = await call('getHealth', 'GET', '/api/health', { token: undefined });
    expect(anonymous.res.status).toBe(200);
    // Anonymous callers learn the outcome and the check names, never a version.
    expect(JSON.stringify(anonymous.body)).not.toMatch(/version|Azurite|v22\./);
    expect((anonymous.body['checks'] as { name: string }[]).map((c) => c.name)).toEqual(expect.arrayContaining(['node', 'storage', 'azure-resource-manager']));
    const { res, body } = await call('getHealth', 'GET', '/api/health');
    expect(res.status).toBe(200);
    const checks = body['checks'] as { name: string; status: string; version?: string }[];
    expect(checks.map((c) => c.name)).toEqual(expect.arrayContaining(['storage', 'azure-resource-manager']));
    expect(checks.find((c) => c.name === 'node')?.version).toMatch(/^v22\./);
    // A live round trip to the Table service, which names itself (Azurite here).
    expect(checks.find((c) => c.name === 'storage')).toMatchObject({ status: 'healthy', version: expect.stringMatching(/^Azurite-Table\/\d/) });
  });
  it('serves the OpenAPI document, the docs page and its assets', async () => {
    const doc = await call('getOpenApiDocument', 'GET', '/api/openapi.json');
    expect(doc.body['openapi']).toBe('3.1.0');
    expect(doc.res.headers.get('content-type')).toContain('application/json');
    const page = await call('getDocsPage', 'GET', '/api/docs');
    expect(page.res.status).toBe(200);
    expect(page.res.headers.get('content-type')).toContain('text/html');
    const asset = await call('getDocsAsset', 'GET', '/api/docs/swagger-ui.css');
    expect(asset.res.status).toBe(200);
  });
  it('serves the dashboard shell and its built assets', async () => {
    const page = await call('getDashboardPage', 'GET', '/api/dashboard', { token: undefined });
    expect(page.res.status).toBe(200);
    const style = /href="\/api\/dashboard\/([^"]+\.css)"/.exec(String(page.body))?.[1];
    expect(style).toBeDefined();
    const asset = await call('getDashboardAsset', 'GET', `/api/dashboard/${style}`, { token: undefined });
    expect(asset.res.status).toBe(200);
    expect((await call('getDashboardAsset', 'GET', '/api/dashboard/manifest.json', { token: undefined })).res.status).toBe(404);
  });
  it('404 for an unknown route and 405 for a method the route does not serve, in the error shape with a request id; unsafe ones audited', async () => {
    const missing = await client.request('GET', '/api/v1/nope', { token: all, headers: { 'x-request-id': 'e2e-unknown-route' } });
    await documentedUnmatched(missing, { status: 404 });
    expect(missing.headers.get('x-request-id')).toBe('e2e-unknown-route');
    await documentedUnmatched(await client.request('GET', '/api/nope'), { status: 404 });
    await documentedUnmatched(await client.request('GET', '/api/docs/nope/deeper'), { status: 404 });
    await documentedUnmatched(await client.request('DELETE', '/api/v1/summary', { token: all }), { status: 405, allow: 'GET' });
    const put = await client.request('PUT', '/api/v1/controls', { token: all, body: { x: 1 } });
    await documentedUnmatched(put, { status: 405, allow: 'GET' });
    const anonymous = await client.request('POST', '/api/v1/nope', { rawBody: 'x' });
    await documentedUnmatched(anonymous, { status: 404 });

    const audit = await call('listAuditLog', 'GET', '/api/v1/audit-log?top=20');
    const byRequest = new Map((audit.body.value ?? []).map((r) => [r['requestId'], r]));
    expect(byRequest.get(put.headers.get('x-request-id'))).toMatchObject({
      operation: UNMATCHED_ROUTE_OPERATION,
      target: 'PUT /api/v1/controls',
      outcome: 'failed',
      detail: 'MethodNotAllowed',
      callerObjectId: 'e2e-caller',
    });
    const denied = byRequest.get(anonymous.headers.get('x-request-id'));
    expect(denied).toMatchObject({ operation: UNMATCHED_ROUTE_OPERATION, target: 'POST /api/v1/nope', outcome: 'denied', detail: 'NotFound' });
    expect(denied?.['callerObjectId'] ?? null).toBeNull();
    expect(byRequest.has('e2e-unknown-route')).toBe(false);
  });
});

describe('catalog and fleet', () => {
  it('lists and gets controls; 404 for an unknown one', async () => {
    const list = await call('listControls', 'GET', '/api/v1/controls');
    expect(list.body.value?.map((c) => c['id'])).toEqual([...CONTROL_IDS]);
    expect((await call('getControl', 'GET', '/api/v1/controls/ARC-PL-01')).body).toMatchObject({ id: 'ARC-PL-01', remediation: { automatic: true } });
    expect((await call('getControl', 'GET', '/api/v1/controls/ARC-XX-99')).res.status).toBe(404);
  });

  it('pages through every evaluated cluster, and filters agree with the cluster documents', async () => {
    const names: string[] = [];
    let next: string | undefined = '/api/v1/clusters?top=7';
    while (next !== undefined) {
      const page: { body: Json } = await call('listClusters', 'GET', next);
      names.push(...(page.body.value ?? []).map((c) => String(c['name'])));
      next = page.body.nextLink === undefined ? undefined : pathOf(page.body.nextLink);
    }
    expect(names.sort()).toEqual(e.stack.emulator!.fleet.clusters.map((c) => c.resource.name).sort());
    const failing = await call('listClusters', 'GET', `/api/v1/clusters?subscriptionId=${DEMO_SUBSCRIPTIONS.retail}&controlId=ARC-AC-01&status=noncompliant`);
    expect(failing.body.value?.length).toBeGreaterThan(0);
    for (const c of failing.body.value ?? []) {
      expect(c['subscriptionId']).toBe(DEMO_SUBSCRIPTIONS.retail);
      expect(c['failedControls']).toContain('ARC-AC-01');
    }
  });

  it('gets a cluster with its controls and history; ETag gives 304', async () => {
    const path = `/api/v1${clusterPath(e.cluster('store-dub-003')).slice(3)}`;
    const { res, body } = await call('getCluster', 'GET', path);
    expect(body['name']).toBe('store-dub-003');
    const controls = body['controls'] as { controlId: string; status: string }[];
    expect(controls.filter((c) => c.status === 'fail').map((c) => c.controlId).sort()).toEqual([...(body['failedControls'] as string[])].sort());
    const etag = res.headers.get('etag') ?? '';
    const again = await client.request('GET', path, { token: all, headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(await documented('getCluster', again)).toBe('');
    const history = await call('getClusterHistory', 'GET', `${path}/history`);
    expect(history.body.value?.map((h) => h['runId'])).toContain(run.id);
    expect((await call('getCluster', 'GET', `/api/v1/clusters/${DEMO_SUBSCRIPTIONS.retail}/rg-stores-prod-neu/nope`)).res.status).toBe(404);
  });

  it("lists control-plane events from the Activity Log: the fleet's and a cluster's, with filters", async () => {
    const all = await call('listControlPlaneEvents', 'GET', '/api/v1/control-plane-events?top=100');
    const kinds = new Set(all.body.value?.map((v) => v['kind']));
    for (const k of ['break-glass-credential', 'cluster-connect-credential', 'extension-deleted', 'extension-written', 'role-assignment-written', 'role-assignment-deleted', 'policy-exemption-written', 'policy-assignment-written']) expect(kinds, k).toContain(k);
    const breakGlass = await call('listControlPlaneEvents', 'GET', `/api/v1/control-plane-events?operation=${encodeURIComponent('Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action')}&subscriptionId=${DEMO_SUBSCRIPTIONS.retail}`);
    expect(breakGlass.body.value?.map((v) => v['caller'])).toEqual(['oncall-admin@contoso.example']);
    const path = `/api/v1${clusterPath(e.cluster('store-ams-001')).slice(3)}/control-plane-events`;
    const mine = await call('listClusterControlPlaneEvents', 'GET', path);
    expect(mine.body.value?.map((v) => v['kind']).sort()).toEqual(['break-glass-credential', 'policy-assignment-written', 'role-assignment-written']);
    // The run's collect read every subscription's log: each one is watched, none failing.
    const watch = await call('getControlPlaneWatch', 'GET', '/api/v1/control-plane-watch');
    expect(watch.body['failing']).toBe(0);
    expect(watch.body.value?.map((v) => v['subscriptionId']).sort()).toEqual(Object.values(DEMO_SUBSCRIPTIONS).map((s) => s.toLowerCase()).sort());
    expect(watch.body.value?.every((v) => v['status'] === 'ok' && typeof v['watermark'] === 'string')).toBe(true);
  });

  it('400 with the offending parameter for bad query values', async () => {
    for (const q of ['top=0', 'top=1001', 'status=green', 'subscriptionId=x', 'stale=maybe', 'color=red']) {
      const { res, body } = await call('listClusters', 'GET', `/api/v1/clusters?${q}`);
      expect(res.status, q).toBe(400);
      expect(body.error?.details?.[0]?.target).toBe(q.split('=')[0]);
    }
  });
});

describe('posture', () => {
  it('serves the summary of the completed run, with an ETag that yields 304', async () => {
    const { res, body } = await call('getSummary', 'GET', '/api/v1/summary');
    expect(body['runId']).toBe(run.id);
    expect(body['totals']).toMatchObject({ clusters: 30 });
    const again = await client.request('GET', '/api/v1/summary', { token: all, headers: { 'if-none-match': res.headers.get('etag') ?? '' } });
    expect(again.status).toBe(304);
    await documented('getSummary', again);
  });
  it('reports every framework with counts that agree with an independent computation over the demo fleet, as JSON and CSV', async () => {
    // Independently: each cluster's statuses from its own document, each requirement's controls from the controls' view.
    const clusters: { environment: string | null; statuses: Map<string, string> }[] = [];
    for (const c of e.stack.emulator!.fleet.clusters) {
      const { body } = await call('getCluster', 'GET', `/api/v1${clusterPath(e.cluster(c.resource.name)).slice(3)}`);
      clusters.push({
        environment: body['environment'] as string | null,
        statuses: new Map((body['controls'] as { controlId: string; status: string }[]).map((r) => [r.controlId, r.status])),
      });
    }
    const controls = (await call('listControls', 'GET', '/api/v1/controls')).body.value ?? [];
    const frameworks = (await call('listFrameworks', 'GET', '/api/v1/frameworks')).body.value ?? [];
    expect(frameworks.map((f) => f['id'])).toEqual(['mcsb', 'nist-800-53-r5', 'pci-dss-4.0.1', 'cis-controls-8.1', 'nist-csf-2.0', 'cis', 'nist-800-190', 'nsa', 'owasp']);
    for (const fw of frameworks.map((f) => String(f['id']))) {
      for (const filter of ['', '?environment=prod']) {
        const scope = clusters.filter((c) => filter === '' || c.environment === 'prod');
        const { body } = await call('getFrameworkReport', 'GET', `/api/v1/frameworks/${fw}/report${filter}`);
        expect(body['runId']).toBe(run.id);
        const rows = body['requirements'] as { id: string; policyMetadataName: string | null; title: string | null; controls: string[]; status: string; clustersPassing: number; clustersFailing: number; clustersNotAssessed: number }[];
        expect(rows.length).toBe(frameworks.find((f) => f['id'] === fw)?.['requirements']);
        // Titles come from the emulator's policy metadata: only the one it carries; seed frameworks keep their documents' headings.
        for (const row of rows) {
          if (row.policyMetadataName === null) expect(row.title, `${fw} ${row.id}`).not.toBeNull();
          else expect(row.title, `${fw} ${row.id}`).toBe(row.policyMetadataName === TEST_TITLE.name ? TEST_TITLE.title : null);
        }
        for (const row of rows) {
          const meeting = controls.filter((c) => ((c['requirements'] as Record<string, string[]>)[fw] ?? []).includes(row.id)).map((c) => String(c['id']));
          expect(row.controls, `${fw} ${row.id}`).toEqual(meeting);
          let passing = 0;
          let failing = 0;
          for (const c of scope) {
            const statuses = meeting.map((id) => c.statuses.get(id));
            if (statuses.includes('fail')) failing++;
            else if (statuses.includes('pass') || statuses.includes('exempt')) passing++;
          }
          const status = meeting.length === 0 ? 'manual' : failing > 0 ? 'failing' : passing > 0 ? 'passing' : 'not_assessed';
          expect([row.status, row.clustersPassing, row.clustersFailing, row.clustersNotAssessed], `${fw}${filter} ${row.id}`).toEqual([status, passing, failing, scope.length - passing - failing]);
        }
      }
      const csv = await client.request('GET', `/api/v1/frameworks/${fw}/report`, { token: all, headers: { accept: 'text/csv' } });
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(String(await documented('getFrameworkReport', csv)).split('\r\n').filter((l) => l !== '')).toHaveLength(Number(frameworks.find((f) => f['id'] === fw)?.['requirements']) + 1);
    }
    expect((await call('getFrameworkReport', 'GET', '/api/v1/frameworks/iso/report')).res.status).toBe(400);
  });
  it('returns trends including the run', async () => {
    const { body } = await call('getTrends', 'GET', '/api/v1/trends?days=30');
    expect(body.value?.map((p) => p['runId'])).toContain(run.id);
    expect((await call('getTrends', 'GET', '/api/v1/trends?days=0')).res.status).toBe(400);
  });
  it('aggregates the control matrix by subscription and environment, matching the summary; a row drills into its clusters', async () => {
    const summary = (await call('getSummary', 'GET', '/api/v1/summary')).body as unknown as { runId: string; totals: { clusters: number }; perControl: Record<string, Record<string, number>> };
    const { res, body } = await call('getControlMatrix', 'GET', '/api/v1/control-matrix');
    const matrix = body as unknown as { runId: string; clusters: number; controls: string[]; groups: { subscriptionId: string; environment: string | null; clusters: number; cells: Record<string, Record<string, number>> }[] };
    expect(matrix.runId).toBe(summary.runId);
    expect(matrix.clusters).toBe(summary.totals.clusters);
    expect(matrix.groups.reduce((n, g) => n + g.clusters, 0)).toBe(summary.totals.clusters);
    for (const [controlId, tally] of Object.entries(summary.perControl)) {
      for (const s of ['pass', 'fail', 'unknown', 'not_applicable', 'exempt']) expect(matrix.groups.reduce((n, g) => n + (g.cells[controlId]?.[s] ?? 0), 0), `${controlId} ${s}`).toBe(tally[s]);
    }
    expect((await client.request('GET', '/api/v1/control-matrix', { token: all, headers: { 'if-none-match': res.headers.get('etag') ?? '' } })).status).toBe(304);
    const group = matrix.groups.find((g) => g.environment !== null)!;
    const rows = (await call('listControlMatrixClusters', 'GET', `/api/v1/control-matrix/clusters?subscriptionId=${group.subscriptionId}&environment=${group.environment}&top=1000`)).body.value!;
    expect(rows).toHaveLength(group.clusters);
    const fails = rows.filter((r) => (r['statuses'] as Record<string, string>)[matrix.controls[0]!] === 'fail').length;
    expect(fails).toBe(group.cells[matrix.controls[0]!]!['fail']);
    expect((await call('listControlMatrixClusters', 'GET', '/api/v1/control-matrix/clusters')).res.status).toBe(400);
  });
});

describe('evaluations', () => {
  it('lists and gets the completed run', async () => {
    expect((await call('listEvaluations', 'GET', '/api/v1/evaluations')).body.value?.map((r) => r['id'])).toContain(run.id);
    expect((await call('getEvaluation', 'GET', `/api/v1/evaluations/${run.id}`)).body).toMatchObject({ id: run.id, status: 'succeeded', clustersEvaluated: 30 });
    expect((await call('getEvaluation', 'GET', '/api/v1/evaluations/nope')).res.status).toBe(404);
  });
  it('refuses unknown fields and unknown subscriptions on POST /evaluations, naming them, and starts nothing', async () => {
    const before = (await call('listEvaluations', 'GET', '/api/v1/evaluations?top=1000')).body.value?.length;
    const withJson = await call('startEvaluation', 'POST', '/api/v1/evaluations', { body: { x: 1 } });
    expect(withJson.res.status).toBe(400);
    expect(withJson.body.error).toMatchObject({ code: 'InvalidRequest', target: 'x', details: [{ code: 'UnknownField', target: 'x' }] });
    const unknown = '99999999-9999-9999-9999-999999999999';
    const unknownSub = await call('startEvaluation', 'POST', '/api/v1/evaluations', { body: { subscriptionIds: [DEMO_SUBSCRIPTIONS.retail, unknown] } });
    expect(unknownSub.res.status).toBe(400);
    expect(unknownSub.body.error).toMatchObject({ code: 'InvalidRequest', target: 'subscriptionIds', details: [{ code: 'UnknownSubscription', target: 'subscriptionIds[1]' }] });
    const big = await call('startEvaluation', 'POST', '/api/v1/evaluations', { rawBody: 'x'.repeat(70 * 1024), headers: { 'content-type': 'text/plain' } });
    expect(big.res.status).toBe(413);
    expect((await call('listEvaluations', 'GET', '/api/v1/evaluations?top=1000')).body.value?.length).toBe(before);
  });
  it('runs part of the estate on demand: only those clusters updated, the others neither stale nor "not discovered", the summary still whole', async () => {
    const clusters = async (): Promise<Record<string, unknown>[]> => (await call('listClusters', 'GET', '/api/v1/clusters?top=100')).body.value ?? [];
    const before = await clusters();
    const { res, body } = await call('startEvaluation', 'POST', '/api/v1/evaluations', { body: { subscriptionIds: [DEMO_SUBSCRIPTIONS.factories] } });
    expect(res.status).toBe(202);
    expect(body).toMatchObject({ scope: 'partial-estate', scopeSubscriptionIds: [DEMO_SUBSCRIPTIONS.factories] });
    const done = await e.waitForRun(String(body['id']));
    expect(done).toMatchObject({ status: 'succeeded', scope: 'partial-estate', subscriptions: { total: 1, succeeded: 1, failed: 0 }, subscriptionsNotDiscovered: [] });
    const after = await clusters();
    expect(after).toHaveLength(before.length);
    for (const c of after) {
      const was = before.find((b) => b['id'] === c['id']);
      expect(c['stale'], String(c['id'])).toBe(false);
      if (c['subscriptionId'] === DEMO_SUBSCRIPTIONS.factories) expect(c['lastEvaluatedAt']).not.toBe(was?.['lastEvaluatedAt']);
      else expect(c).toEqual(was);
    }
    const summary = (await call('getSummary', 'GET', '/api/v1/summary')).body;
    expect(summary).toMatchObject({ runId: body['id'], totals: { clusters: 30, stale: 0 } });
  });
  it('starts a run on demand: 202 + Location, and the run completes', async () => {
    const { res, body } = await call('startEvaluation', 'POST', '/api/v1/evaluations');
    expect(res.status).toBe(202);
    expect(body).toMatchObject({ trigger: 'on-demand', requestedBy: 'e2e-caller' });
    const location = pathOf(res.headers.get('location') ?? '');
    expect(location).toBe(`/api/v1/evaluations/${String(body['id'])}`);
    expect((await e.waitForRun(String(body['id']))).status).toBe('succeeded');
    expect((await call('getEvaluation', 'GET', location)).body['clustersEvaluated']).toBe(30);
  });
});

describe('evidence and findings', () => {
  it('serves the run\'s manifest, its blobs and their verification, and the OCSF export, as documented', async () => {
    const manifest = await call('getEvidence', 'GET', `/api/v1/evaluations/${run.id}/evidence`);
    expect(manifest.res.status).toBe(200);
    const blobs = (manifest.body['blobs'] ?? []) as { href: string }[];
    expect(blobs).toHaveLength(3);
    const content = await call('getEvidenceBlob', 'GET', pathOf(new URL(blobs[0]!.href, 'http://x').toString()));
    expect(content.res.status).toBe(200);
    expect(content.res.headers.get('content-type')).toMatch(/^application\/gzip/);
    expect((await call('getEvidenceBlob', 'GET', `/api/v1/evaluations/${run.id}/evidence/${'0'.repeat(8)}-0000-0000-0000-000000000000.ndjson.gz`)).res.status).toBe(404);
    const verify = await call('verifyEvidence', 'GET', `/api/v1/evaluations/${run.id}/evidence/verify`);
    expect(verify.body).toMatchObject({ valid: true, problems: [] });
    expect((await call('getEvidence', 'GET', '/api/v1/evaluations/nope/evidence')).res.status).toBe(404);
    const findings = await call('exportFindings', 'GET', `/api/v1/evaluations/${run.id}/findings?format=ocsf`);
    expect(findings.res.status).toBe(200);
    const lines = String(findings.body).trim().split('\n');
    expect(lines.length).toBe(30 * (await call('listControls', 'GET', '/api/v1/controls')).body.value!.length);
    expect(JSON.parse(lines[0]!)).toMatchObject({ class_uid: 2003, metadata: { version: '1.8.0' } });
    expect((await call('exportFindings', 'GET', `/api/v1/evaluations/${run.id}/findings?format=csv`)).res.status).toBe(400);
  });
});

describe('exceptions', () => {
  const scope = (): string => e.cluster('store-dub-003').resource.id;
  const valid = (): Record<string, unknown> => ({ controlId: 'ARC-AC-01', scope: scope(), justification: 'Store closes next month', ticket: 'CHG0012345', expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString() });
  const ids = async (): Promise<unknown[]> => ((await call('listExceptions', 'GET', '/api/v1/exceptions')).body.value ?? []).map((x) => x['id']);

  it('400 and nothing stored for invalid bodies', async () => {
    const before = await ids();
    for (const patch of [{ extra: true }, { expiresAt: '2999-01-01T00:00:00Z' }, { controlId: 'ARC-ZZ-99' }, { scope: '/subscriptions/x' }, { ticket: 42 }]) {
      const r = await call('createException', 'POST', '/api/v1/exceptions', { body: { ...valid(), ...patch } });
      expect(r.res.status, JSON.stringify(patch)).toBe(400);
    }
    const malformed = await call('createException', 'POST', '/api/v1/exceptions', { rawBody: '{"controlId":', headers: { 'content-type': 'application/json' } });
    expect(malformed.body.error?.target).toBe('body');
    expect(await ids()).toEqual(before);
  });

  it('creates, gets, lists and deletes an exception; each mutation is in the audit log', async () => {
    const created = await call('createException', 'POST', '/api/v1/exceptions', { body: valid() });
    expect(created.res.status).toBe(201);
    const id = String(created.body['id']);
    const got = await call('getException', 'GET', `/api/v1/exceptions/${id}`);
    expect(got.body).toMatchObject({ id, status: 'active', createdBy: 'e2e-caller' });
    // The 201 carries the ETag of the stored representation: the GET after it revalidates to 304.
    expect(got.res.headers.get('etag')).toBe(created.res.headers.get('etag'));
    const notModified = await call('getException', 'GET', `/api/v1/exceptions/${id}`, { headers: { 'if-none-match': created.res.headers.get('etag') ?? '' } });
    expect(notModified.res.status).toBe(304);
    const withBody = await call('deleteException', 'DELETE', `/api/v1/exceptions/${id}`, { body: { reason: 'x' } });
    expect(withBody.res.status).toBe(400);
    expect(await ids()).toContain(id);
    expect(await ids()).toContain(id);
    expect((await call('listExceptions', 'GET', '/api/v1/exceptions?status=expired')).body.value?.map((x) => x['id'])).not.toContain(id);
    const del = await call('deleteException', 'DELETE', `/api/v1/exceptions/${id}`);
    expect(del.res.status).toBe(204);
    expect((await call('deleteException', 'DELETE', `/api/v1/exceptions/${id}`)).res.status).toBe(404);
    expect((await call('getException', 'GET', `/api/v1/exceptions/${id}`)).res.status).toBe(404);

    const audit = await call('listAuditLog', 'GET', '/api/v1/audit-log?top=10');
    const byRequest = new Map((audit.body.value ?? []).map((r) => [r['requestId'], r]));
    expect(byRequest.get(created.res.headers.get('x-request-id'))).toMatchObject({ operation: 'createException', outcome: 'succeeded', callerObjectId: 'e2e-caller', callerAppId: 'e2e-app' });
    expect(byRequest.get(del.res.headers.get('x-request-id'))).toMatchObject({ operation: 'deleteException', outcome: 'succeeded', target: `exceptions/${id}` });
  });
});

describe('remediations through Azure Policy', () => {
  const retail = DEMO_SUBSCRIPTIONS.retail;

  it('422 with the manual guidance for a control without a DeployIfNotExists policy', async () => {
    const { res, body } = await call('startRemediation', 'POST', '/api/v1/remediations', { body: { controlId: 'ARC-AC-01', subscriptionId: retail } });
    expect(res.status).toBe(422);
    expect(body.error).toMatchObject({ code: 'NotRemediable', details: [expect.objectContaining({ code: 'ManualRemediation' })] });
  });

  it('422 with guidance when the DeployIfNotExists policy is not assigned in the subscription', async () => {
    const { res, body } = await call('startRemediation', 'POST', '/api/v1/remediations', { body: { controlId: 'ARC-PL-01', subscriptionId: retail } });
    expect(res.status).toBe(422);
    expect(body.error?.code).toBe('NotRemediable');
    expect(body.error?.details?.[0]).toMatchObject({ code: 'PolicyNotAssigned', target: retail });
    expect(body.error?.details?.[0]?.message).toContain(POLICY_IDS.arcPolicyExtensionDeployIfNotExists);
  });

  it('once assigned: 202, then ARM progress from Accepted to Succeeded for the failing clusters', async () => {
    // The operator's step: assign the DeployIfNotExists policy (with an identity) through ARM.
    const admin = new ArmPolicyAdmin({ endpoint: e.stack.emulator!.url, credential: new DefaultAzureCredential(), caCertPem: e.stack.emulator!.caCertPem });
    await admin.replaceAssignment(`/subscriptions/${retail}/providers/Microsoft.Authorization/policyAssignments/deploy-policy-extension`, {
      displayName: 'Install the Azure Policy extension',
      policyDefinitionId: DINE_POLICY_EXTENSION,
      parameters: { effect: { value: 'DeployIfNotExists' } },
      identity: { type: 'SystemAssigned' },
      location: 'westeurope',
    });
    const failing = ((await call('listClusters', 'GET', `/api/v1/clusters?subscriptionId=${retail}&controlId=ARC-PL-01`)).body.value ?? []).map((c) => String(c['id']));
    expect(failing.length).toBeGreaterThan(0);

    const { res, body } = await call('startRemediation', 'POST', '/api/v1/remediations', { body: { controlId: 'ARC-PL-01', subscriptionId: retail } });
    expect(res.status).toBe(202);
    expect(body).toMatchObject({ controlId: 'ARC-PL-01', status: 'running', requestedBy: 'e2e-caller' });
    expect([...(body['clusterIds'] as string[])].sort()).toEqual(failing.sort());
    expect(body['tasks']).toEqual([expect.objectContaining({ subscriptionId: retail, provisioningState: 'Accepted', armId: expect.stringMatching(/\/providers\/Microsoft\.PolicyInsights\/remediations\//) })]);
    const location = pathOf(res.headers.get('location') ?? '');

    const done = await waitFor('the remediation to succeed', async () => {
      const got = await call('getRemediation', 'GET', location);
      return got.body['status'] === 'succeeded' ? got.body : undefined;
    }, 15_000, 300);
    const task = (done['tasks'] as { provisioningState: string; deployments: { total: number; succeeded: number; failed: number } }[])[0];
    expect(task?.provisioningState).toBe('Succeeded');
    expect(task?.deployments.total).toBeGreaterThan(0);
    expect(task?.deployments).toMatchObject({ succeeded: task?.deployments.total, failed: 0 });
    expect((await call('getRemediation', 'GET', '/api/v1/remediations/nope')).res.status).toBe(404);
    // The list shows the same request, newest first, as its own GET does.
    const listed = await call('listRemediations', 'GET', '/api/v1/remediations?top=5');
    expect(listed.res.status).toBe(200);
    const items = listed.body.value ?? [];
    expect(items[0]).toMatchObject({ id: done['id'], controlId: 'ARC-PL-01', status: 'succeeded' });
    expect(items[0]?.['tasks']).toEqual(done['tasks']);
    expect((await call('listRemediations', 'GET', '/api/v1/remediations?top=0')).res.status).toBe(400);
  });

  it('400 when neither clusterIds nor subscriptionId is given', async () => {
    expect((await call('startRemediation', 'POST', '/api/v1/remediations', { body: { controlId: 'ARC-PL-01' } })).res.status).toBe(400);
  });
});

describe('rollouts', () => {
  const retail = DEMO_SUBSCRIPTIONS.retail;
  // Wave 1 holds non-compliant clusters and the gate allows none, so the rollout blocks and never writes the assignment.
  const request = {
    policyAssignmentId: `/subscriptions/${retail}/providers/Microsoft.Authorization/policyAssignments/pss-baseline`,
    waves: [{ name: 'west-europe', locations: ['westeurope'] }],
    gates: { bakeMinutes: 0, maxNonCompliant: 0, requireApproval: true },
  };

  it('plans a dry run, then creates, lists, gets, approves (not by its creator), pauses and aborts a rollout', async () => {
    const plan = await call('createRollout', 'POST', '/api/v1/rollouts?dryRun=true', { body: request });
    expect(plan.res.status).toBe(200);
    expect((plan.body['waves'] as { name: string }[]).map((w) => w.name)).toEqual(['west-europe']);
    expect((await call('listRollouts', 'GET', '/api/v1/rollouts')).body.value).toEqual([]);

    const created = await call('createRollout', 'POST', '/api/v1/rollouts', { body: request });
    expect(created.res.status).toBe(201);
    const id = String(created.body['id']);
    expect(created.body).toMatchObject({ createdBy: 'e2e-caller', policyAssignmentId: request.policyAssignmentId });
    expect(pathOf(created.res.headers.get('location') ?? '')).toBe(`/api/v1/rollouts/${id}`);

    expect((await call('listRollouts', 'GET', '/api/v1/rollouts')).body.value?.map((r) => r['id'])).toEqual([id]);
    expect((await call('getRollout', 'GET', `/api/v1/rollouts/${id}`)).body).toMatchObject({ id });
    expect((await call('getRollout', 'GET', '/api/v1/rollouts/nope')).res.status).toBe(404);

    const self = await call('approveRolloutWave', 'POST', `/api/v1/rollouts/${id}/waves/west-europe/approve`);
    expect(self.res.status).toBe(403);
    expect(self.body.error?.code).toBe('Forbidden');
    const approved = await call('approveRolloutWave', 'POST', `/api/v1/rollouts/${id}/waves/west-europe/approve`, { token: approver });
    expect(approved.res.status).toBe(200);
    expect(approved.body['id']).toBe(id);
    expect((await call('approveRolloutWave', 'POST', `/api/v1/rollouts/${id}/waves/nope/approve`, { token: approver })).res.status).toBe(404);

    const paused = await call('controlRollout', 'POST', `/api/v1/rollouts/${id}/pause`);
    expect(paused.res.status).toBe(200);
    expect(paused.body['state']).toBe('paused');
    const aborted = await call('controlRollout', 'POST', `/api/v1/rollouts/${id}/abort`);
    expect(aborted.res.status).toBe(200);
    expect(aborted.body['state']).toBe('aborted');
    expect((await call('controlRollout', 'POST', `/api/v1/rollouts/${id}/resume`)).res.status).toBe(409);
    expect((await call('getRollout', 'GET', `/api/v1/rollouts/${id}`)).body['state']).toBe('aborted');
  });
});

describe('webhooks', () => {
  it('creates a webhook (secret once), lists, gets, rotates, lists and redelivers deliveries, and deletes it', async () => {
    const created = await call('createWebhook', 'POST', '/api/v1/webhooks', {
      body: { url: webhookUrl, events: ['evaluation.completed'], format: 'standard', description: 'e2e api operations' },
    });
    expect(created.res.status, JSON.stringify(created.body)).toBe(201);
    const webhook = created.body['webhook'] as Record<string, unknown>;
    const id = String(webhook['id']);
    const secret = String(created.body['secret']);
    expect(secret).toMatch(/^whsec_/);
    expect(webhook).toMatchObject({ url: webhookUrl, events: ['evaluation.completed'], format: 'standard', enabled: true, createdBy: 'e2e-caller' });
    expect(pathOf(created.res.headers.get('location') ?? '')).toBe(`/api/v1/webhooks/${id}`);
    const refused = await call('createWebhook', 'POST', '/api/v1/webhooks', { body: { url: 'https://10.0.0.1/hooks', events: ['*'] } });
    expect(refused.res.status).toBe(400);
    expect(refused.body.error?.target).toBe('url');

    expect((await call('listWebhooks', 'GET', '/api/v1/webhooks')).body.value?.map((w) => w['id'])).toEqual([id]);
    const got = await call('getWebhook', 'GET', `/api/v1/webhooks/${id}`);
    expect(got.body).toMatchObject({ id, url: webhookUrl });
    expect(JSON.stringify(got.body)).not.toContain(secret);

    const rotated = await call('rotateWebhookSecret', 'POST', `/api/v1/webhooks/${id}/rotate-secret`);
    expect(rotated.res.status).toBe(200);
    expect(String(rotated.body['secret'])).toMatch(/^whsec_/);
    expect(rotated.body['secret']).not.toBe(secret);

    // A run publishes evaluation.completed: one delivery, whose attempts fail against the sink and are retried.
    expect((await call('listWebhookDeliveries', 'GET', `/api/v1/webhooks/${id}/deliveries`)).body.value).toEqual([]);
    const next = await e.timerRun();
    const delivery = await waitFor('the evaluation.completed delivery', async () => {
      const list = await call('listWebhookDeliveries', 'GET', `/api/v1/webhooks/${id}/deliveries`);
      return list.body.value?.find((d) => d['eventType'] === 'evaluation.completed');
    }, 15_000, 300);
    expect(delivery['status']).not.toBe('delivered');
    const redelivered = await call('redeliverWebhookDelivery', 'POST', `/api/v1/webhooks/${id}/deliveries/${String(delivery['id'])}/redeliver`);
    expect(redelivered.res.status).toBe(202);
    expect(redelivered.body).toMatchObject({ webhookId: id, eventId: delivery['eventId'], eventType: 'evaluation.completed', redeliveryOf: delivery['id'] });
    expect(redelivered.body['id']).not.toBe(delivery['id']);
    const ids = (await call('listWebhookDeliveries', 'GET', `/api/v1/webhooks/${id}/deliveries`)).body.value?.map((d) => d['id']);
    expect(ids).toEqual(expect.arrayContaining([delivery['id'], redelivered.body['id']]));
    expect((await call('redeliverWebhookDelivery', 'POST', `/api/v1/webhooks/${id}/deliveries/nope/redeliver`)).res.status).toBe(404);
    expect(next.status).toBe('succeeded');

    expect((await call('deleteWebhook', 'DELETE', `/api/v1/webhooks/${id}`)).res.status).toBe(204);
    expect((await call('getWebhook', 'GET', `/api/v1/webhooks/${id}`)).res.status).toBe(404);
    expect((await call('listWebhookDeliveries', 'GET', `/api/v1/webhooks/${id}/deliveries`)).res.status).toBe(404);
    expect((await call('deleteWebhook', 'DELETE', `/api/v1/webhooks/${id}`)).res.status).toBe(404);
  });
});

describe('ServiceNow change events', () => {
  const send = async (body: string, secret: string | undefined, id = `msg_${randomUUID()}`): Promise<{ res: Response; body: Json }> => {
    const timestamp = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp) };
    if (secret !== undefined) headers['webhook-signature'] = await referenceSign(secret, id, timestamp, body);
    return call('receiveServiceNowChangeEvent', 'POST', '/api/v1/integrations/servicenow/change-events', { token: undefined, rawBody: body, headers });
  };
  const event = JSON.stringify({ type: 'change.updated', timestamp: new Date().toISOString(), data: { number: 'CHG0040001', state: 'assess', rolloutId: 'nope', waveId: 'west-europe' } });

  it('401 without a valid signature or for a replayed id; a signed update in a state that decides nothing is ignored', async () => {
    const unsigned = await send(event, undefined);
    expect(unsigned.res.status).toBe(401);
    expect(unsigned.body.error?.code).toBe('Unauthorized');
    const secret = e.stack.changeWebhookSecret?.split(' ')[0];
    expect(secret).toMatch(/^whsec_/);
    const id = `msg_${randomUUID()}`;
    const signed = await send(event, secret, id);
    expect(signed.res.status, JSON.stringify(signed.body)).toBe(200);
    expect(signed.body).toMatchObject({ action: 'ignored', rolloutId: 'nope', changeNumber: 'CHG0040001' });
    expect((await send(event, secret, id)).res.status).toBe(401);
  });
});

describe('coverage', () => {
  it('called every operation of the document', () => {
    expect([...called].sort()).toEqual(listDocumentedOperations().map((o) => o.operationId).sort());
  });
});

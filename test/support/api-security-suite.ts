/**
 * Authentication and app-role tests for every secured operation of the document, against any server
 * that serves the API: the in-process harness (`test/integration/api`) and the local Functions runtime
 * (`test/e2e`). Every response is checked against the OpenAPI document.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ALL_APP_ROLES } from '../../adapters/http/app-roles.js';
import { listDocumentedOperations } from '../../adapters/http/validation.js';
import { documented } from './api-expect.js';
import type { ApiClient } from './api-harness.js';

export interface SampleRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
}

/** The ids a sample set needs from the fleet the server holds. */
export interface SampleIds {
  /** `{subscriptionId}/{resourceGroup}/{clusterName}` of an evaluated cluster. */
  readonly clusterPath: string;
  /** ARM id of that cluster (an exception scope, a remediation target). */
  readonly clusterId: string;
  readonly runId: string;
  /** A policy assignment to plan a rollout for (dry run); an unknown one answers 404, which is fine for auth tests. */
  readonly policyAssignmentId?: string;
  /**
   * Target of the `createWebhook` sample: a URL the server's SSRF policy accepts (an allowlisted host,
   * or a host its resolver maps to a public address). Default: the in-process harness's
   * `https://hooks.example.com/…`, which its fake DNS resolves publicly.
   */
  readonly webhookUrl?: string;
}

/** One valid request per secured operation (the body is valid, so only auth can refuse it). */
export function sampleRequests(ids: SampleIds): Record<string, SampleRequest> {
  return {
    listControls: { method: 'GET', path: '/api/v1/controls' },
    getControl: { method: 'GET', path: '/api/v1/controls/ARC-AC-01' },
    listClusters: { method: 'GET', path: '/api/v1/clusters' },
    getCluster: { method: 'GET', path: `/api/v1/clusters/${ids.clusterPath}` },
    getClusterHistory: { method: 'GET', path: `/api/v1/clusters/${ids.clusterPath}/history` },
    listControlPlaneEvents: { method: 'GET', path: '/api/v1/control-plane-events' },
    listClusterControlPlaneEvents: { method: 'GET', path: `/api/v1/clusters/${ids.clusterPath}/control-plane-events` },
    getControlPlaneWatch: { method: 'GET', path: '/api/v1/control-plane-watch' },
    getSummary: { method: 'GET', path: '/api/v1/summary' },
    listFrameworks: { method: 'GET', path: '/api/v1/frameworks' },
    getFrameworkReport: { method: 'GET', path: '/api/v1/frameworks/cis/report' },
    getTrends: { method: 'GET', path: '/api/v1/trends' },
    startEvaluation: { method: 'POST', path: '/api/v1/evaluations' },
    listEvaluations: { method: 'GET', path: '/api/v1/evaluations' },
    getEvaluation: { method: 'GET', path: `/api/v1/evaluations/${encodeURIComponent(ids.runId)}` },
    getEvidence: { method: 'GET', path: `/api/v1/evaluations/${encodeURIComponent(ids.runId)}/evidence` },
    verifyEvidence: { method: 'GET', path: `/api/v1/evaluations/${encodeURIComponent(ids.runId)}/evidence/verify` },
    getEvidenceBlob: { method: 'GET', path: `/api/v1/evaluations/${encodeURIComponent(ids.runId)}/evidence/manifest.json` },
    exportFindings: { method: 'GET', path: `/api/v1/evaluations/${encodeURIComponent(ids.runId)}/findings?format=ocsf` },
    createException: {
      method: 'POST',
      path: '/api/v1/exceptions',
      body: { controlId: 'ARC-AC-01', scope: ids.clusterId, justification: 'decommissioning', ticket: 'CHG1', expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString() },
    },
    listExceptions: { method: 'GET', path: '/api/v1/exceptions' },
    getException: { method: 'GET', path: '/api/v1/exceptions/nope' },
    deleteException: { method: 'DELETE', path: '/api/v1/exceptions/nope' },
    startRemediation: { method: 'POST', path: '/api/v1/remediations', body: { controlId: 'ARC-TD-01', clusterIds: [ids.clusterId] } },
    listRemediations: { method: 'GET', path: '/api/v1/remediations' },
    getRemediation: { method: 'GET', path: '/api/v1/remediations/nope' },
    listAuditLog: { method: 'GET', path: '/api/v1/audit-log' },
    getControlMatrix: { method: 'GET', path: '/api/v1/control-matrix' },
    listControlMatrixClusters: { method: 'GET', path: `/api/v1/control-matrix/clusters?subscriptionId=${ids.clusterId.split('/')[2] ?? '00000000-0000-0000-0000-000000000000'}` },
    // A dry run changes nothing, so the sample can be sent any number of times.
    createRollout: {
      method: 'POST',
      path: '/api/v1/rollouts?dryRun=true',
      body: {
        policyAssignmentId: ids.policyAssignmentId ?? '/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/policyAssignments/none',
        waves: [{ name: 'canary', locations: ['westeurope'] }],
      },
    },
    listRollouts: { method: 'GET', path: '/api/v1/rollouts' },
    getRollout: { method: 'GET', path: '/api/v1/rollouts/nope' },
    approveRolloutWave: { method: 'POST', path: '/api/v1/rollouts/nope/waves/canary/approve' },
    controlRollout: { method: 'POST', path: '/api/v1/rollouts/nope/pause' },
    // Each create adds one webhook (repeatable: nothing is unique); its event is one the suites never
    // cause, so no delivery is ever attempted.
    createWebhook: {
      method: 'POST',
      path: '/api/v1/webhooks',
      body: { url: ids.webhookUrl ?? 'https://hooks.example.com/arc-compliance', events: ['rollout.rolled_back'], format: 'standard', description: 'security suite sample' },
    },
    listWebhooks: { method: 'GET', path: '/api/v1/webhooks' },
    getWebhook: { method: 'GET', path: '/api/v1/webhooks/nope' },
    deleteWebhook: { method: 'DELETE', path: '/api/v1/webhooks/nope' },
    rotateWebhookSecret: { method: 'POST', path: '/api/v1/webhooks/nope/rotate-secret' },
    listWebhookDeliveries: { method: 'GET', path: '/api/v1/webhooks/nope/deliveries' },
    redeliverWebhookDelivery: { method: 'POST', path: '/api/v1/webhooks/nope/deliveries/nope/redeliver' },
  };
}

export interface SecuritySuiteTarget {
  readonly client: ApiClient;
  readonly samples: Record<string, SampleRequest>;
  /** The audit record written for the request with this id, if any. */
  auditRecord(requestId: string): Promise<{ operation: string; outcome: string; target?: string } | undefined>;
}

const BAD_TOKENS: [string, (c: ApiClient, role: string) => Promise<string | undefined>][] = [
  ['no token', async () => undefined],
  ['expired', (c, role) => c.token([role], { expiresIn: -3600 })],
  ['not yet valid', (c, role) => c.token([role], { notBefore: 3600 })],
  ['wrong audience', (c, role) => c.token([role], { aud: 'api://someone-else' })],
  ['wrong issuer', (c, role) => c.token([role], { iss: 'https://login.microsoftonline.com/other/v2.0' })],
  ['alg none', (c, role) => c.token([role], { alg: 'none' })],
  ['HS256 keyed with the public key', (c, role) => c.token([role], { alg: 'HS256' })],
  ['unknown signing key', (c, role) => c.token([role], { foreignKey: true })],
  ['garbage', async () => 'not-a-jwt'],
];

/** Registers the suite; `target()` is called inside the tests (after `beforeAll` started the server). */
export function describeApiSecurity(target: () => SecuritySuiteTarget): void {
  const secured = listDocumentedOperations().filter((o) => !o.anonymous);
  // A new operation needs a sample in `sampleRequests`: the first test names what is missing and the
  // per-operation tests run for the ones that have one.
  const sampled = new Set(Object.keys(sampleRequests({ clusterPath: 'x', clusterId: 'x', runId: 'x' })));

  const send = async (operationId: string, token: string | undefined): Promise<Response> => {
    const { client, samples } = target();
    const s = samples[operationId];
    if (s === undefined) throw new Error(`no sample request for ${operationId}`);
    return client.request(s.method, s.path, { ...(token !== undefined ? { token } : {}), ...(s.body !== undefined ? { body: s.body } : {}) });
  };

  const expectDenialAudited = async (operationId: string, res: Response): Promise<void> => {
    const record = await target().auditRecord(res.headers.get('x-request-id') ?? '');
    expect(record).toMatchObject({ outcome: 'denied', operation: operationId });
  };

  describe('authentication and app roles', () => {
    it('has a sample request for every secured operation', () => {
      expect(secured.map((o) => o.operationId).sort()).toEqual(Object.keys(target().samples).sort());
    });

    for (const op of secured.filter((o) => sampled.has(o.operationId))) {
      describe(op.operationId, () => {
        const role = op.requiredRole ?? 'none';

        it.each(BAD_TOKENS)('401 with WWW-Authenticate for %s', async (_name, make) => {
          const token = await make(target().client, role);
          const res = await send(op.operationId, token);
          expect(res.status).toBe(401);
          const www = res.headers.get('www-authenticate') ?? '';
          expect(www).toMatch(/^Bearer error="invalid_token", error_description="[^"]+"$/);
          if (token !== undefined && token.length > 20) expect(www).not.toContain(token.split('.')[1]);
          const body = (await documented(op.operationId, res)) as { error: { code: string } };
          expect(body.error.code).toBe('Unauthorized');
          if (op.method !== 'GET') await expectDenialAudited(op.operationId, res);
        });

        it('403 for a valid token with every role but the required one', async () => {
          const res = await send(op.operationId, await target().client.token(ALL_APP_ROLES.filter((r) => r !== role)));
          expect(res.status).toBe(403);
          const body = (await documented(op.operationId, res)) as { error: { code: string; target?: string } };
          expect(body.error).toMatchObject({ code: 'Forbidden', target: role });
          if (op.method !== 'GET') await expectDenialAudited(op.operationId, res);
        });

        it(`is allowed with ${role} (RS256 and ES256)`, async () => {
          for (const alg of ['RS256', 'ES256'] as const) {
            const res = await send(op.operationId, await target().client.token([role], { alg }));
            expect([401, 403]).not.toContain(res.status);
            expect(res.status).toBeLessThan(500);
            await documented(op.operationId, res);
          }
        });
      });
    }

    it('answers authenticated responses with cache-control: no-store', async () => {
      const { client } = target();
      const res = await client.request('GET', '/api/v1/summary', { token: await client.token(['Compliance.Read']) });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      await documented('getSummary', res);
    });

    it('accepts the Bearer scheme in any case, with one or more spaces (RFC 9110 §11.1)', async () => {
      const { client } = target();
      const token = await client.token(['Compliance.Read']);
      for (const authorization of [`bearer ${token}`, `BEARER ${token}`, `bEaReR  ${token}`]) {
        const res = await client.request('GET', '/api/v1/summary', { headers: { authorization } });
        expect(res.status, authorization.slice(0, 8)).toBe(200);
        await documented('getSummary', res);
      }
      const basic = await client.request('GET', '/api/v1/summary', { headers: { authorization: `Basic ${token}` } });
      expect(basic.status).toBe(401);
      await documented('getSummary', basic);
    });

    it('lets health through anonymously', async () => {
      const res = await target().client.request('GET', '/api/health');
      expect(res.status).toBe(200);
      await documented('getHealth', res);
    });
  });

  describe('methods the API never serves', () => {
    // fetch refuses TRACE itself (as the Functions library's Request does): plain node:http sends it.
    it.each(['TRACE', 'PROPFIND', 'PURGE'])('%s: 405 with Allow in the error shape, with security headers, audited as denied', async (method) => {
      const res = await rawRequest(target().client.url, method, '/api/v1/controls');
      expect(res.status, res.body).toBe(405);
      expect(res.headers['allow']).toBe('GET');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toBeDefined();
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'MethodNotAllowed' } });
      const requestId = res.headers['x-request-id'];
      expect(requestId).toMatch(/\S/);
      expect(await target().auditRecord(String(requestId))).toMatchObject({ operation: 'unmatchedRoute', outcome: 'denied', target: `${method} /api/v1/controls` });
    });

    it('TRACE on an unknown path: 404 in the error shape, audited; never an echo of the request', async () => {
      const res = await rawRequest(target().client.url, 'TRACE', '/api/v1/nope', { cookie: 'session=secret-cookie' });
      expect(res.status, res.body).toBe(404);
      expect(res.body).not.toContain('secret-cookie');
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'NotFound' } });
      expect(await target().auditRecord(String(res.headers['x-request-id']))).toMatchObject({ operation: 'unmatchedRoute', outcome: 'denied' });
    });
  });
}

/** One request with any method (fetch forbids TRACE, CONNECT and TRACK). */
function rawRequest(origin: string, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${origin}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_APP_ROLES } from '../../../adapters/http/app-roles.js';
import { listDocumentedOperations } from '../../../adapters/http/validation.js';
import { documented } from '../../support/api-expect.js';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { SUB_A, clusterId, seedFleet } from '../../support/api-fixtures.js';

/** One valid request per secured operation (the body is valid, so only auth can refuse it). */
const SAMPLES: Record<string, { method: string; path: string; body?: unknown }> = {
  listControls: { method: 'GET', path: '/api/v1/controls' },
  getControl: { method: 'GET', path: '/api/v1/controls/ARC-AC-01' },
  listClusters: { method: 'GET', path: '/api/v1/clusters' },
  getCluster: { method: 'GET', path: `/api/v1/clusters/${SUB_A}/rg-edge/store-001` },
  getClusterHistory: { method: 'GET', path: `/api/v1/clusters/${SUB_A}/rg-edge/store-001/history` },
  getSummary: { method: 'GET', path: '/api/v1/summary' },
  getFrameworkReport: { method: 'GET', path: '/api/v1/frameworks/cis/report' },
  getTrends: { method: 'GET', path: '/api/v1/trends' },
  startEvaluation: { method: 'POST', path: '/api/v1/evaluations' },
  listEvaluations: { method: 'GET', path: '/api/v1/evaluations' },
  getEvaluation: { method: 'GET', path: '/api/v1/evaluations/run-2' },
  createException: {
    method: 'POST',
    path: '/api/v1/exceptions',
    body: { controlId: 'ARC-AC-01', scope: clusterId(SUB_A, 'rg-edge', 'store-001'), justification: 'decommissioning', ticket: 'CHG1', expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString() },
  },
  listExceptions: { method: 'GET', path: '/api/v1/exceptions' },
  getException: { method: 'GET', path: '/api/v1/exceptions/nope' },
  deleteException: { method: 'DELETE', path: '/api/v1/exceptions/nope' },
  startRemediation: { method: 'POST', path: '/api/v1/remediations', body: { controlId: 'ARC-TD-01', clusterIds: [clusterId(SUB_A, 'rg-edge', 'store-001')] } },
  getRemediation: { method: 'GET', path: '/api/v1/remediations/nope' },
  listAuditLog: { method: 'GET', path: '/api/v1/audit-log' },
};

const secured = listDocumentedOperations().filter((o) => !o.anonymous);

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness();
  await seedFleet(h.ports);
});
afterAll(async () => h?.stop());

describe('authentication and app roles', () => {
  it('has a sample request for every secured operation', () => {
    expect(secured.map((o) => o.operationId).sort()).toEqual(Object.keys(SAMPLES).sort());
  });

  const badTokens: [string, (h: ApiHarness, role: string) => Promise<string | undefined>][] = [
    ['no token', async () => undefined],
    ['expired', (h, role) => h.token([role], { expiresIn: -3600 })],
    ['not yet valid', (h, role) => h.token([role], { notBefore: 3600 })],
    ['wrong audience', (h, role) => h.token([role], { aud: 'api://someone-else' })],
    ['wrong issuer', (h, role) => h.token([role], { iss: 'https://login.microsoftonline.com/other/v2.0' })],
    ['alg none', (h, role) => h.token([role], { alg: 'none' })],
    ['HS256 keyed with the public key', (h, role) => h.token([role], { alg: 'HS256' })],
    ['unknown signing key', (h, role) => h.token([role], { foreignKey: true })],
    ['garbage', async () => 'not-a-jwt'],
  ];

  for (const op of secured) {
    describe(op.operationId, () => {
      const sample = () => SAMPLES[op.operationId] ?? { method: op.method, path: op.path };
      const role = op.requiredRole ?? 'none';

      it.each(badTokens)('401 with WWW-Authenticate for %s', async (_name, make) => {
        const token = await make(h, role);
        const before = h.ports.auditLog.records.length;
        const s = sample();
        const res = await h.request(s.method, s.path, { ...(token !== undefined ? { token } : {}), ...(s.body !== undefined ? { body: s.body } : {}) });
        expect(res.status).toBe(401);
        const www = res.headers.get('www-authenticate') ?? '';
        expect(www).toMatch(/^Bearer error="invalid_token", error_description="[^"]+"$/);
        if (token !== undefined && token.length > 20) expect(www).not.toContain(token.split('.')[1]);
        const body = (await documented(op.operationId, res)) as { error: { code: string } };
        expect(body.error.code).toBe('Unauthorized');
        if (op.method !== 'GET') {
          expect(h.ports.auditLog.records.length).toBe(before + 1);
          expect(h.ports.auditLog.records.at(-1)).toMatchObject({ outcome: 'denied', operation: op.operationId });
        }
      });

      it('403 for a valid token with every role but the required one', async () => {
        const token = await h.token(ALL_APP_ROLES.filter((r) => r !== role));
        const s = sample();
        const res = await h.request(s.method, s.path, { token, ...(s.body !== undefined ? { body: s.body } : {}) });
        expect(res.status).toBe(403);
        const body = (await documented(op.operationId, res)) as { error: { code: string; target?: string } };
        expect(body.error).toMatchObject({ code: 'Forbidden', target: role });
        if (op.method !== 'GET') expect(h.ports.auditLog.records.at(-1)).toMatchObject({ outcome: 'denied', operation: op.operationId });
      });

      it(`is allowed with ${role} (RS256 and ES256)`, async () => {
        for (const alg of ['RS256', 'ES256'] as const) {
          const token = await h.token([role], { alg });
          const s = sample();
          const res = await h.request(s.method, s.path, { token, ...(s.body !== undefined ? { body: s.body } : {}) });
          expect([401, 403]).not.toContain(res.status);
          expect(res.status).toBeLessThan(500);
          await documented(op.operationId, res);
        }
      });
    });
  }

  it('answers authenticated responses with cache-control: no-store', async () => {
    const res = await h.request('GET', '/api/v1/summary', { token: await h.token(['Compliance.Read']) });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('lets health through anonymously', async () => {
    const res = await h.request('GET', '/api/health');
    expect(res.status).toBe(200);
    await documented('getHealth', res);
  });
});

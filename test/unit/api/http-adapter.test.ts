import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_APP_ROLES } from '../../../adapters/http/app-roles.js';
import { toErrorResponse } from '../../../adapters/http/error-mapping.js';
import { UnauthorizedError } from '../../../adapters/http/http-errors.js';
import { createRouter } from '../../../adapters/http/router.js';
import { loadRequestValidators } from '../../../adapters/http/request-validation.js';
import { AppError, DependencyError, NotFoundError, UnprocessableError } from '../../../domain/errors.js';
import { loadApiOperations } from '../../support/api-harness.js';

describe('app roles', () => {
  it('match infra/app-roles.json', () => {
    const infra = JSON.parse(readFileSync('infra/app-roles.json', 'utf8')) as { roles: { value: string }[] };
    expect([...ALL_APP_ROLES].sort()).toEqual(infra.roles.map((r) => r.value).sort());
  });
});

describe('error mapping', () => {
  it('maps codes to statuses and keeps target/details', () => {
    expect(toErrorResponse(new NotFoundError('gone', 'id'))).toMatchObject({ status: 404, body: { error: { code: 'NotFound', message: 'gone', target: 'id' } } });
    expect(toErrorResponse(new UnprocessableError('NotRemediable', 'manual', 'controlId', [{ code: 'ManualRemediation', message: 'do x' }])).status).toBe(422);
    expect(toErrorResponse(new DependencyError('arm down')).status).toBe(502);
  });
  it('never leaks unknown errors', () => {
    const mapped = toErrorResponse(new TypeError('cannot read x of undefined at /srv/secret.ts:1'));
    expect(mapped).toMatchObject({ status: 500, unexpected: true, body: { error: { code: 'InternalError' } } });
    expect(JSON.stringify(mapped.body)).not.toContain('secret');
  });
  it('quotes the WWW-Authenticate description safely', () => {
    const mapped = toErrorResponse(new UnauthorizedError('bad "x"\r\nInjected: 1'));
    expect(mapped.headers['www-authenticate']).toBe('Bearer error="invalid_token", error_description="bad \\"x\\"  Injected: 1"');
  });
  it('covers every AppError code', () => {
    for (const code of ['InvalidRequest', 'NotFound', 'Conflict', 'PreconditionFailed', 'NotRemediable', 'LimitExceeded', 'Forbidden', 'DependencyFailed'] as const) {
      expect(toErrorResponse(new AppError(code, 'm')).status).toBeGreaterThanOrEqual(400);
      expect(toErrorResponse(new AppError(code, 'm')).unexpected).toBe(false);
    }
  });
});

describe('request validation from the document', () => {
  it('coerces query values and applies defaults', async () => {
    const v = await loadRequestValidators('listClusters');
    expect(v.query(new URLSearchParams('stale=true&top=5'))).toEqual({ stale: true, top: 5 });
    expect(v.query(new URLSearchParams(''))).toEqual({ top: 100 });
  });
  it('refuses unknown body fields without coercing types', async () => {
    const v = await loadRequestValidators('createException');
    expect(() => v.body({ controlId: 'ARC-AC-01', scope: '/subscriptions/x/resourceGroups/y', justification: 'j', ticket: 1, expiresAt: '2030-01-01T00:00:00Z' })).toThrow(/invalid/);
    expect(() => v.body({ controlId: 'ARC-AC-01', scope: '/subscriptions/x/resourceGroups/y', justification: 'j', ticket: 't', expiresAt: '2030-01-01T00:00:00Z', x: 1 })).toThrow();
  });
  it('loads an operation once and refuses an operation the document does not have', async () => {
    expect(await loadRequestValidators('listClusters')).toBe(await loadRequestValidators('listClusters'));
    await expect(loadRequestValidators('noSuchOperation')).rejects.toThrow(/noSuchOperation/);
  });
});

describe('router', () => {
  it('matches documented paths, decodes params and distinguishes 404 from 405', async () => {
    const router = createRouter(await loadApiOperations());
    const m = router.match('GET', '/api/v1/clusters/s/r%20g/c/history');
    expect(m !== undefined && m !== 'method-not-allowed' && m.operation.operationId).toBe('getClusterHistory');
    expect(m !== undefined && m !== 'method-not-allowed' && m.params).toEqual({ subscriptionId: 's', resourceGroup: 'r g', clusterName: 'c' });
    expect(router.match('PUT', '/api/v1/summary')).toBe('method-not-allowed');
    expect(router.match('GET', '/api/v2/summary')).toBeUndefined();
  });
});

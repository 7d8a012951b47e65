/**
 * The request pipeline's edges, in process: requests no operation serves (404/405 in the error shape,
 * audited when unsafe), bodies sent to operations that take none, ETags on created resources, Azure SDK
 * failures as DependencyFailed, an unreachable token issuer, and what reaches the logs.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AzureNamedKeyCredential, TableClient } from '@azure/data-tables';
import { RestError, createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_APP_ROLES } from '../../../adapters/http/app-roles.js';
import { createRouter } from '../../../adapters/http/router.js';
import { UNMATCHED_ROUTE_OPERATION, handleUnmatchedRoute } from '../../../adapters/http/unmatched-route.js';
import { listDocumentedOperations } from '../../../adapters/http/validation.js';
import { documented, documentedUnmatched, type ErrorBody } from '../../support/api-expect.js';
import { loadApiOperations, startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { FAILING_CONTROL, SUB_A, clusterId, seedFleet } from '../../support/api-fixtures.js';
import { sampleRequests } from '../../support/api-security-suite.js';

let h: ApiHarness;
let all: string;

beforeAll(async () => {
  h = await startApiHarness();
  await seedFleet(h.ports);
  all = await h.token(ALL_APP_ROLES, { oid: 'pipeline-caller', appid: 'pipeline-app' });
});
afterAll(async () => h?.stop());

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const lastAudit = () => h.ports.auditLog.records.at(-1);

describe('requests no operation serves', () => {
  it('404 NotFound in the error shape, echoing the request id; a GET is not audited', async () => {
    const before = h.ports.auditLog.records.length;
    const res = await h.request('GET', '/api/v1/nope', { token: all, headers: { 'x-request-id': 'lost-123' } });
    const body = await documentedUnmatched(res, { status: 404 });
    expect(res.headers.get('x-request-id')).toBe('lost-123');
    expect(body.error.message).not.toMatch(/stack|at \//);
    expect(h.ports.auditLog.records.length).toBe(before);
    await documentedUnmatched(await h.request('GET', '/api'), { status: 404 });
    await documentedUnmatched(await h.request('GET', '/api/v2/controls'), { status: 404 });
  });

  it('405 MethodNotAllowed with Allow for a method the path does not serve, audited with the caller', async () => {
    const res = await h.request('PUT', '/api/v1/controls', { token: all, body: { id: 'x' } });
    await documentedUnmatched(res, { status: 405, allow: 'GET' });
    expect(lastAudit()).toMatchObject({
      requestId: res.headers.get('x-request-id'),
      operation: UNMATCHED_ROUTE_OPERATION,
      target: 'PUT /api/v1/controls',
      outcome: 'failed',
      detail: 'MethodNotAllowed',
      callerObjectId: 'pipeline-caller',
      callerAppId: 'pipeline-app',
    });
    await documentedUnmatched(await h.request('DELETE', '/api/v1/evaluations', { token: all }), { status: 405, allow: 'GET, POST' });
    await documentedUnmatched(await h.request('PATCH', '/api/v1/exceptions/x1', { token: all }), { status: 405, allow: 'DELETE, GET' });
  });

  it('audits an unsafe call without a valid token as denied, naming no caller', async () => {
    for (const token of [undefined, 'not-a-jwt', await h.token(['Compliance.Read'], { expiresIn: -3600 })]) {
      const res = await h.request('POST', '/api/v1/nope', token === undefined ? {} : { token });
      await documentedUnmatched(res, { status: 404 });
      expect(lastAudit()).toMatchObject({ requestId: res.headers.get('x-request-id'), operation: UNMATCHED_ROUTE_OPERATION, target: 'POST /api/v1/nope', outcome: 'denied', detail: 'NotFound', roles: [] });
      expect(lastAudit()?.callerObjectId).toBeUndefined();
    }
  });

  it('still serves the anonymous service routes and the operations', async () => {
    expect((await h.request('GET', '/api/health')).status).toBe(200);
    expect((await h.request('GET', '/api/openapi.json')).status).toBe(200);
    expect((await h.request('GET', '/api/docs')).status).toBe(200);
    await documentedUnmatched(await h.request('POST', '/api/health'), { status: 405, allow: 'GET' });
  });

  it('passes a request it could route to its operation (when the host hands the catch-all one)', async () => {
    const operations = await loadApiOperations();
    const res = await handleUnmatchedRoute(
      { method: 'GET', url: `http://localhost/api/v1/controls/ARC-AC-01`, headers: new Headers({ authorization: `Bearer ${all}` }), params: { path: 'v1/controls/ARC-AC-01' }, body: null },
      createRouter(operations),
      h.runtime,
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(String(res.body))).toMatchObject({ id: 'ARC-AC-01' });
  });
});

describe('error details', () => {
  it('are capped at 20 with a count of the rest, so an error is never much larger than the request', async () => {
    const query = Array.from({ length: 1500 }, (_, i) => `u${i}=`).join('&');
    const res = await h.request('GET', `/api/v1/controls?${query}`, { token: all });
    expect(res.status).toBe(400);
    const text = await res.clone().text();
    expect(text.length).toBeLessThan(3000);
    const body = (await documented('listControls', res)) as ErrorBody & { error: { detailsOmitted?: number } };
    expect(body.error.details).toHaveLength(20);
    expect(body.error.details?.[0]).toEqual({ code: 'UnknownField', message: 'unknown query parameter', target: 'u0' });
    expect(body.error.detailsOmitted).toBe(1480);

    const fields = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`f${i}`, i]));
    const bodyRes = await h.request('POST', '/api/v1/webhooks', { token: all, body: { url: 'https://hooks.example.com/x', events: ['*'], ...fields } });
    const bodyError = (await documented('createWebhook', bodyRes)) as ErrorBody & { error: { detailsOmitted?: number } };
    expect(bodyRes.status).toBe(400);
    expect(bodyError.error.details).toHaveLength(20);
    expect(bodyError.error.detailsOmitted).toBe(280);
  });

  it('at or under the cap are listed in full, without a count', async () => {
    const res = await h.request('GET', `/api/v1/controls?${Array.from({ length: 20 }, (_, i) => `u${i}=1`).join('&')}`, { token: all });
    const body = (await documented('listControls', res)) as ErrorBody & { error: { detailsOmitted?: number } };
    expect(body.error.details).toHaveLength(20);
    expect(body.error.detailsOmitted).toBeUndefined();
  });
});

describe('docs assets', () => {
  it('404 for names of Object.prototype members (the allow-list is not a prototype walk), nothing logged', async () => {
    const errors = h.errors.length;
    for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString']) {
      const res = await h.request('GET', `/api/docs/${name}`);
      expect(res.status, name).toBe(404);
      expect(((await documented('getDocsAsset', res)) as ErrorBody).error).toMatchObject({ code: 'NotFound', target: 'asset' });
    }
    // The path pattern refuses these before any lookup.
    for (const name of ['__proto__', '__defineGetter__']) expect((await h.request('GET', `/api/docs/${name}`)).status, name).toBe(400);
    expect(h.errors.slice(errors)).toEqual([]);
    const css = await h.request('GET', '/api/docs/swagger-ui.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });
});

describe('operations that take no request body', () => {
  const bodiless = listDocumentedOperations().filter((o) => o.method !== 'GET' && !o.hasBody);
  const samples = sampleRequests({ clusterPath: `${SUB_A}/rg-edge/store-001`, clusterId: clusterId(SUB_A, 'rg-edge', 'store-001'), runId: 'run-2' });

  it('are the ones the samples below cover', () => {
    expect(bodiless.map((o) => o.operationId).sort()).toEqual(['controlRollout', 'deleteException', 'deleteWebhook', 'redeliverWebhookDelivery', 'rotateWebhookSecret']);
  });

  for (const op of bodiless) {
    it(`${op.operationId}: accepts no body, an empty one or {}; 400 naming each field of a body with fields, 400 for another body, 413 over the limit; audited as failed`, async () => {
      const sample = samples[op.operationId];
      if (sample === undefined) throw new Error(`no sample for ${op.operationId}`);
      const json = await h.request(sample.method, sample.path, { token: all, body: { x: 1, force: true } });
      expect(json.status).toBe(400);
      const body = (await documented(op.operationId, json)) as ErrorBody;
      expect(body.error).toMatchObject({
        code: 'InvalidRequest',
        target: 'x',
        message: 'This operation takes no request body fields; unknown fields: x, force.',
        details: [
          { code: 'UnknownField', target: 'x' },
          { code: 'UnknownField', target: 'force' },
        ],
      });
      expect(lastAudit()).toMatchObject({ requestId: json.headers.get('x-request-id'), operation: op.operationId, outcome: 'failed', detail: 'InvalidRequest' });

      for (const raw of ['[]', 'null', '"x"', 'not json']) {
        const other = await h.request(sample.method, sample.path, { token: all, rawBody: raw, headers: { 'content-type': 'application/json' } });
        expect(other.status, raw).toBe(400);
        expect(((await documented(op.operationId, other)) as ErrorBody).error).toMatchObject({ code: 'InvalidRequest', target: 'body', details: [{ code: 'UnexpectedBody', target: 'body' }] });
      }

      const big = await h.request(sample.method, sample.path, { token: all, rawBody: 'x'.repeat(70 * 1024), headers: { 'content-type': 'text/plain' } });
      expect(big.status).toBe(413);
      expect(((await documented(op.operationId, big)) as ErrorBody).error.code).toBe('PayloadTooLarge');
      // An empty body is no body, and `{}` (what many clients send on a POST) is an empty one.
      for (const rawBody of ['', '{}', ' { }\n']) {
        const empty = await h.request(sample.method, sample.path, { token: all, rawBody, headers: { 'content-type': 'application/json' } });
        expect([400, 413, 415], JSON.stringify(rawBody)).not.toContain(empty.status);
        await documented(op.operationId, empty);
      }
    });
  }

  it('deleteException with a body with fields deletes nothing; with {} it deletes', async () => {
    const created = await h.request('POST', '/api/v1/exceptions', {
      token: all,
      body: { controlId: FAILING_CONTROL, scope: clusterId(SUB_A, 'rg-edge', 'store-001'), justification: 'j', ticket: 'CHG1', expiresAt: new Date(h.ports.clock.now().getTime() + 86_400_000).toISOString() },
    });
    const id = String(((await documented('createException', created)) as { id: string }).id);
    expect((await h.request('DELETE', `/api/v1/exceptions/${id}`, { token: all, body: { force: true } })).status).toBe(400);
    expect(h.ports.exceptions.items.has(id)).toBe(true);
    expect((await h.request('DELETE', `/api/v1/exceptions/${id}`, { token: all, body: {} })).status).toBe(204);
    expect(h.ports.exceptions.items.has(id)).toBe(false);
  });
});

describe('operations whose body is optional', () => {
  it('are startEvaluation and approveRolloutWave', () => {
    const optional = listDocumentedOperations().filter((o) => o.hasBody && !o.bodyRequired);
    expect(optional.map((o) => o.operationId).sort()).toEqual(['approveRolloutWave', 'startEvaluation']);
  });

  it('startEvaluation: no body, an empty body and {} start a full run', async () => {
    for (const init of [{}, { rawBody: '', headers: { 'content-type': 'application/json' } }, { body: {} }]) {
      const res = await h.request('POST', '/api/v1/evaluations', { token: all, ...init });
      expect(res.status).toBe(202);
      expect(await documented('startEvaluation', res)).toMatchObject({ scope: 'full-estate', status: 'queued' });
    }
  });

  it('startEvaluation: { subscriptionIds } starts a partial-estate run of those; unknown ids are refused by name and start nothing', async () => {
    const scoped = await h.request('POST', '/api/v1/evaluations', { token: all, body: { subscriptionIds: [SUB_A.toUpperCase()] } });
    expect(scoped.status).toBe(202);
    const view = (await documented('startEvaluation', scoped)) as { id: string };
    expect(view).toMatchObject({ scope: 'partial-estate', scopeSubscriptionIds: [SUB_A] });
    const got = await h.request('GET', `/api/v1/evaluations/${view.id}`, { token: all });
    expect(await documented('getEvaluation', got)).toMatchObject({ scope: 'partial-estate', scopeSubscriptionIds: [SUB_A] });

    const runs = h.ports.runs.runs.size;
    const unknown = '99999999-9999-9999-9999-999999999999';
    const refused = await h.request('POST', '/api/v1/evaluations', { token: all, body: { subscriptionIds: [SUB_A, unknown] } });
    expect(refused.status).toBe(400);
    const error = ((await documented('startEvaluation', refused)) as ErrorBody).error;
    expect(error).toMatchObject({ code: 'InvalidRequest', target: 'subscriptionIds', details: [{ code: 'UnknownSubscription', target: 'subscriptionIds[1]' }] });
    expect(error.message).toContain(unknown);
    for (const body of [{ subscriptionIds: [] }, { subscriptionIds: ['not-a-guid'] }, { subscriptionIds: [SUB_A, SUB_A] }, { subscriptionId: SUB_A }]) {
      const bad = await h.request('POST', '/api/v1/evaluations', { token: all, body });
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(((await documented('startEvaluation', bad)) as ErrorBody).error.message).toMatch(/^The request body is invalid: /);
    }
    const unknownField = await h.request('POST', '/api/v1/evaluations', { token: all, body: { x: 1 } });
    expect(((await documented('startEvaluation', unknownField)) as ErrorBody).error).toMatchObject({ target: 'x', details: [{ code: 'UnknownField', target: 'x' }] });
    expect((await h.request('POST', '/api/v1/evaluations', { token: all, rawBody: 'y'.repeat(70 * 1024), headers: { 'content-type': 'application/json' } })).status).toBe(413);
    expect(h.ports.runs.runs.size).toBe(runs);
  });
});

describe('ETags', () => {
  it('a created exception carries the ETag its GET gives, so the client can revalidate at once', async () => {
    const created = await h.request('POST', '/api/v1/exceptions', {
      token: all,
      body: { controlId: FAILING_CONTROL, scope: clusterId(SUB_A, 'rg-edge', 'store-002'), justification: 'j', ticket: 'CHG2', expiresAt: new Date(h.ports.clock.now().getTime() + 86_400_000).toISOString() },
    });
    expect(created.status).toBe(201);
    const etag = created.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const { id } = (await documented('createException', created)) as { id: string };
    const got = await h.request('GET', `/api/v1/exceptions/${id}`, { token: all });
    expect(got.headers.get('etag')).toBe(etag);
    await documented('getException', got);
    const notModified = await h.request('GET', `/api/v1/exceptions/${id}`, { token: all, headers: { 'if-none-match': etag ?? '' } });
    expect(notModified.status).toBe(304);
    await documented('getException', notModified);
  });
});

describe('Azure SDK failures', () => {
  async function summaryFailingWith(error: unknown): Promise<{ res: Response; body: ErrorBody; log: string | undefined }> {
    const original = h.ports.summaries.getLatest.bind(h.ports.summaries);
    h.ports.summaries.getLatest = () => Promise.reject(error);
    try {
      const res = await h.request('GET', '/api/v1/summary', { token: all });
      const body = (await documented('getSummary', res)) as ErrorBody;
      const entry = h.errors.find((e) => e.properties['requestId'] === res.headers.get('x-request-id'));
      return { res, body, log: entry === undefined ? undefined : JSON.stringify(entry) };
    } finally {
      h.ports.summaries.getLatest = original;
    }
  }

  it('a server error of the dependency is 502 DependencyFailed, its message only in the (redacted) log', async () => {
    const { res, body, log } = await summaryFailingWith(new RestError('Server failed to authenticate the request. AccountKey=c2VjcmV0 table summaries', { statusCode: 503, code: 'ServerBusy' }));
    expect(res.status).toBe(502);
    expect(body.error.code).toBe('DependencyFailed');
    expect(JSON.stringify(body)).not.toMatch(/AccountKey|summaries|ServerBusy/);
    expect(log).toContain('ServerBusy');
    expect(log).toContain('AccountKey=[REDACTED]');
    expect(log).not.toContain('c2VjcmV0');
  });

  it('throttling is 503 DependencyFailed with the dependency\'s Retry-After', async () => {
    const response = { headers: createHttpHeaders({ 'retry-after': '7' }), request: createPipelineRequest({ url: 'https://acct.table.core.windows.net/summaries' }), status: 429 };
    const { res, body } = await summaryFailingWith(new RestError('Too many requests', { statusCode: 429, response }));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(body.error.code).toBe('DependencyFailed');
  });

  it('an unreachable storage account (a real SDK network error) is 503 DependencyFailed', async () => {
    const client = new TableClient(`http://127.0.0.1:${await closedPort()}/devstoreaccount1`, 'summaries', new AzureNamedKeyCredential('devstoreaccount1', 'a2V5'), {
      allowInsecureConnection: true,
      retryOptions: { maxRetries: 0 },
    });
    const error = await client.getEntity('p', 'r').then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(Error);
    const { res, body } = await summaryFailingWith(error);
    expect(res.status).toBe(503);
    expect(body.error.code).toBe('DependencyFailed');
  });

  it('a client error of the SDK (our request was wrong) stays a logged 500 InternalError', async () => {
    const { res, body, log } = await summaryFailingWith(new RestError('The specified resource does not exist.', { statusCode: 404, code: 'ResourceNotFound' }));
    expect(res.status).toBe(500);
    expect(body.error.code).toBe('InternalError');
    expect(log).toContain('ResourceNotFound');
  });
});

describe('an unreachable token issuer', () => {
  const harnesses: ApiHarness[] = [];
  afterAll(async () => Promise.all(harnesses.map((x) => x.stop())));

  async function expectUnavailable(x: ApiHarness): Promise<void> {
    const token = await x.token(['Compliance.Read', 'Compliance.Evaluate'], { oid: 'someone' });
    const res = await x.request('GET', '/api/v1/summary', { token });
    expect(res.status).toBe(503);
    expect(res.headers.get('www-authenticate')).toBeNull();
    expect(((await documented('getSummary', res)) as ErrorBody).error.code).toBe('AuthenticationUnavailable');
    const entry = x.errors.find((e) => e.properties['requestId'] === res.headers.get('x-request-id'));
    expect(entry?.properties).toMatchObject({ code: 'AuthenticationUnavailable', status: 503 });
    expect(JSON.stringify(entry)).not.toContain(token);

    const post = await x.request('POST', '/api/v1/evaluations', { token });
    expect(post.status).toBe(503);
    expect(x.ports.runs.runs.size).toBe(0);
    expect(x.ports.auditLog.records.at(-1)).toMatchObject({ requestId: post.headers.get('x-request-id'), operation: 'startEvaluation', outcome: 'failed', detail: 'AuthenticationUnavailable' });
  }

  it('AUTH_JWKS_URI on a closed port: 503 AuthenticationUnavailable, logged, no invalid_token', async () => {
    const x = await startApiHarness({ auth: { jwksUri: `http://127.0.0.1:${await closedPort()}/keys` } });
    harnesses.push(x);
    await expectUnavailable(x);
    expect(x.errors.some((e) => String(e.properties['error']).includes('ECONNREFUSED'))).toBe(true);
  });

  it('OpenID discovery unreachable: the same', async () => {
    const x = await startApiHarness({ auth: { issuer: `http://127.0.0.1:${await closedPort()}/tenant/v2.0` } });
    harnesses.push(x);
    await expectUnavailable(x);
  });

  it('a JWKS endpoint answering 500 or garbage: the same', async () => {
    let answer: 'error' | 'garbage' = 'error';
    const keys = createServer((_req, res) => {
      if (answer === 'error') res.writeHead(500).end('down');
      else res.writeHead(200, { 'content-type': 'application/json' }).end('<html>');
    });
    await new Promise<void>((resolve) => keys.listen(0, '127.0.0.1', resolve));
    try {
      const x = await startApiHarness({ auth: { jwksUri: `http://127.0.0.1:${(keys.address() as AddressInfo).port}/keys` } });
      harnesses.push(x);
      await expectUnavailable(x);
      answer = 'garbage';
      const res = await x.request('GET', '/api/v1/summary', { token: await x.token(['Compliance.Read']) });
      expect(res.status).toBe(503);
    } finally {
      keys.closeAllConnections();
      await new Promise<void>((resolve) => keys.close(() => resolve()));
    }
  });

  it('calls without a token, or with a malformed one, are still 401 (no key is needed to refuse them)', async () => {
    const x = await startApiHarness({ auth: { jwksUri: `http://127.0.0.1:${await closedPort()}/keys` } });
    harnesses.push(x);
    expect((await x.request('GET', '/api/v1/summary')).status).toBe(401);
    expect((await x.request('GET', '/api/v1/summary', { token: 'not-a-jwt' })).status).toBe(401);
  });
});

describe('logs', () => {
  it('redact connection-string keys, SAS signatures, bearer tokens, JWTs and webhook secrets from unexpected errors', async () => {
    const jwt = await h.token(['Compliance.Read']);
    const secrets = [
      'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0LWtleQ==;EndpointSuffix=core.windows.net',
      'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=c2FzLWtleQ=',
      'BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&sig=c2FzLXNpZw%3D',
      'https://acct.queue.core.windows.net/q?sv=2022-11-02&se=2030-01-01&sig=dXJsLXNpZw%3D%3D',
      `Authorization: Bearer ${jwt}`,
      `token ${jwt}`,
      'secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      // URL-encoded forms: a connection string or SAS URL passed as a query parameter, a header in a form body.
      'https://h/x?conn=AccountName%3Dacct%3BAccountKey%3DZW5jb2RlZC1rZXk%3D%3BEndpointSuffix%3Dcore',
      'https://h/x?u=https%3A%2F%2Facct.blob%2Fc%3Fsv%3D2022%26sig%3DZW5jb2RlZC1zaWc%253D%26se%3D2031',
      'auth=Bearer%20ZW5jb2RlZC1iZWFyZXI',
    ];
    const original = h.ports.summaries.getLatest.bind(h.ports.summaries);
    const error = new Error(`boom: ${secrets.join(' | ')}`, { cause: new Error(`inner ${secrets[0] ?? ''}`) });
    h.ports.summaries.getLatest = () => Promise.reject(error);
    try {
      const res = await h.request('GET', '/api/v1/summary', { token: all });
      expect(res.status).toBe(500);
      await documented('getSummary', res);
      const logged = JSON.stringify(h.errors.find((e) => e.properties['requestId'] === res.headers.get('x-request-id')));
      expect(logged).toContain('boom');
      for (const leaked of ['c2VjcmV0LWtleQ', 'c2FzLWtleQ', 'c2FzLXNpZw', 'dXJsLXNpZw', jwt.split('.')[1] ?? jwt, 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'ZW5jb2RlZC1rZXk', 'ZW5jb2RlZC1zaWc', 'ZW5jb2RlZC1iZWFyZXI']) {
        expect(logged).not.toContain(leaked);
      }
      expect(logged).toContain('AccountKey=[REDACTED]');
      expect(logged).toContain('sig=[REDACTED]');
      expect(logged).toContain('whsec_[REDACTED]');
      // What is not secret stays, so the log is still useful.
      expect(logged).toContain('AccountName=acct');
      expect(logged).toContain('se=2030-01-01');
      expect(logged).toContain('AccountName%3Dacct%3BAccountKey%3D[REDACTED]%3BEndpointSuffix');
      expect(logged).toContain('%26se%3D2031');
    } finally {
      h.ports.summaries.getLatest = original;
    }
  });
});

/**
 * Every paged operation over the real Table repositories (Azurite), through the HTTP pipeline with
 * real tokens: a continuation token that is well-formed but altered answers 400 `InvalidRequest`
 * (target `continuationToken`), never a 500; genuine nextLinks keep working; a cluster with
 * oversized tags is served whole.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { createTokenIssuer, type TokenIssuer } from '../../../local/token-issuer.js';
import { loadConfig } from '../../../config/settings.js';
import { createContainer, type Container } from '../../../bootstrap/composition-root.js';
import { createApiRuntimeFor } from '../../../bootstrap/api-runtime.js';
import { createNodeRequestListener } from '../../../adapters/http/node-http.js';
import { ALL_APP_ROLES } from '../../../adapters/http/app-roles.js';
import { TableWebhookSubscriptionRepository, WebhookTables } from '../../../adapters/storage/table-webhook-store.js';
import { queuedRun } from '../../../application/evaluation-run.js';
import { documented } from '../../support/api-expect.js';
import { loadApiOperations } from '../../support/api-harness.js';
import { ALTERED_OFFSET_TOKENS, ALTERED_TABLE_TOKENS } from '../../support/altered-continuation-tokens.js';
import { FakeInventory } from '../storage/fake-inventory.js';
import { SUB_A, SUB_B, clusterState, uniquePrefix } from '../storage/fixtures.js';
import { silentLogger } from '../../../application/logger.js';
import { FixedClock } from '../../support/in-memory-ports.js';

let azurite: RunningAzurite;
let issuer: TokenIssuer;
let container: Container;
const servers: Server[] = [];
let origin: string;
let token: string;

function listen(server: Server): Promise<string> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

const WEBHOOK_ID = 'wh-tokens';

beforeAll(async () => {
  azurite = await startAzurite();
  let tokenIssuer: TokenIssuer | undefined;
  const issuerUrl = await listen(
    createServer((req, res) => {
      if (tokenIssuer === undefined || !tokenIssuer.handle(req, res)) {
        res.writeHead(404);
        res.end();
      }
    }),
  );
  issuer = tokenIssuer = await createTokenIssuer({ baseUrl: issuerUrl });
  const config = loadConfig({ AzureWebJobsStorage: azurite.connectionString, AUTH_ISSUER: issuer.issuer, AUTH_AUDIENCE: issuer.audience });
  const clock = new FixedClock(new Date('2026-05-01T02:00:00.000Z'));
  const tablePrefix = uniquePrefix();
  container = await createContainer(config, {
    inventory: new FakeInventory(() => clock.now()),
    clock,
    tablePrefix,
    credential: { getToken: async () => null },
    log: silentLogger,
  });
  const runtime = createApiRuntimeFor(container, { healthChecks: [], logger: silentLogger });
  origin = await listen(createServer(createNodeRequestListener(await loadApiOperations(), () => runtime)));
  token = await issuer.mintToken({ roles: ALL_APP_ROLES });

  // Enough rows that each listing has a next page at top=1.
  const { repositories } = container;
  const tags: Record<string, string> = {};
  for (let i = 0; i < 50; i += 1) tags[`${String(i).padStart(3, '0')}${'n'.repeat(509)}`] = 'v'.repeat(256);
  await repositories.clusters.upsertMany([
    { ...clusterState(SUB_A, 'rg', 'big-tags', { env: 'prod', failing: ['ARC-AC-01'] }), tags },
    clusterState(SUB_A, 'rg', 'c2', { env: 'dev', failing: ['ARC-AC-01'] }),
    clusterState(SUB_B, 'rg', 'c3', { env: 'dev', stale: true }),
  ]);
  for (const at of ['2026-04-29T02:00:00.000Z', '2026-04-30T02:00:00.000Z']) await repositories.runs.create(queuedRun(`run-${at}`, 'timer', undefined, at));
  for (const [i, at] of ['2026-04-29T10:00:00.000Z', '2026-04-30T10:00:00.000Z'].entries()) {
    await repositories.audit.append({ id: `a${i}`, at, requestId: `r${i}`, callerObjectId: 'o', callerAppId: undefined, roles: [], operation: 'op', target: 't', outcome: 'succeeded', detail: undefined });
  }
  for (const [id, expiresAt] of [['x1', '2026-12-01T00:00:00.000Z'], ['x2', '2026-11-01T00:00:00.000Z'], ['x3', '2026-02-01T00:00:00.000Z'], ['x4', '2026-01-01T00:00:00.000Z']] as const) {
    await repositories.exceptions.create({ id, controlId: 'ARC-AC-01', scope: '/subscriptions/s/resourcegroups/rg', justification: 'j', ticket: 't', createdBy: 'me', createdAt: '2026-01-01T00:00:00.000Z', expiresAt });
  }
  const webhookTables = await WebhookTables.open({ connectionString: azurite.connectionString }, { tablePrefix });
  await new TableWebhookSubscriptionRepository(webhookTables).create({
    id: WEBHOOK_ID,
    url: 'https://receiver.example/hook',
    events: ['*'],
    format: 'standard',
    filters: {},
    enabled: true,
    createdAt: '2026-04-01T00:00:00.000Z',
    createdBy: 'test',
    secrets: { current: '' },
  });
});

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  await azurite?.stop();
});

type Json = { value?: Record<string, unknown>[]; nextLink?: string; error?: { code: string; target?: string } } & Record<string, unknown>;

async function get(operationId: string, path: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${origin}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await documented(operationId, res)) as Json };
}

const PAGED: readonly [operationId: string, path: string][] = [
  ['listControls', '/api/v1/controls'],
  ['listClusters', '/api/v1/clusters'],
  ['listClusters', '/api/v1/clusters?stale=false'],
  ['listClusters', '/api/v1/clusters?controlId=ARC-AC-01'],
  ['listClusters', `/api/v1/clusters?subscriptionId=${SUB_A}&controlId=ARC-AC-01`],
  ['listClusters', `/api/v1/clusters?subscriptionId=${SUB_A}&status=noncompliant`],
  ['listClusters', '/api/v1/clusters?environment=dev&stale=true'],
  ['listEvaluations', '/api/v1/evaluations'],
  ['listExceptions', '/api/v1/exceptions'],
  ['listExceptions', '/api/v1/exceptions?status=expired'],
  ['listAuditLog', '/api/v1/audit-log'],
  ['listRollouts', '/api/v1/rollouts'],
  ['listWebhooks', '/api/v1/webhooks'],
  ['listWebhookDeliveries', `/api/v1/webhooks/${WEBHOOK_ID}/deliveries`],
];

const withToken = (path: string, continuationToken: string): string => `${path}${path.includes('?') ? '&' : '?'}top=1&continuationToken=${continuationToken}`;

describe('altered continuation tokens', () => {
  it.each(PAGED)('%s %s answers 400 for every altered token', async (operationId, path) => {
    const altered = { ...ALTERED_TABLE_TOKENS, ...(operationId === 'listControls' ? ALTERED_OFFSET_TOKENS : {}) };
    for (const [name, t] of Object.entries(altered)) {
      const { status, body } = await get(operationId, withToken(path, t));
      expect({ status, code: body.error?.code, target: body.error?.target }, name).toEqual({ status: 400, code: 'InvalidRequest', target: 'continuationToken' });
    }
  });
});

describe('genuine nextLinks', () => {
  it.each(PAGED.filter(([op]) => op !== 'listRollouts' && op !== 'listWebhooks' && op !== 'listWebhookDeliveries'))('%s %s pages to the end at top=1', async (operationId, path) => {
    let next: string | undefined = `${path}${path.includes('?') ? '&' : '?'}top=1`;
    let items = 0;
    let pages = 0;
    while (next !== undefined) {
      const { status, body } = await get(operationId, next);
      expect(status).toBe(200);
      items += body.value?.length ?? 0;
      pages += 1;
      next = body.nextLink === undefined ? undefined : `${new URL(body.nextLink).pathname}${new URL(body.nextLink).search}`;
      expect(pages).toBeLessThan(40);
    }
    expect(items).toBeGreaterThan(0);
  });
});

describe('exceptions listing', () => {
  it('pages latest expiry first: active, then the most recently expired', async () => {
    const seen: [unknown, unknown][] = [];
    let next: string | undefined = '/api/v1/exceptions?top=1';
    while (next !== undefined) {
      const { body } = await get('listExceptions', next);
      seen.push(...(body.value ?? []).map((e): [unknown, unknown] => [e['id'], e['status']]));
      next = body.nextLink === undefined ? undefined : `${new URL(body.nextLink).pathname}${new URL(body.nextLink).search}`;
    }
    expect(seen).toEqual([['x1', 'active'], ['x2', 'active'], ['x3', 'expired'], ['x4', 'expired']]);
  });
});

describe('oversized tags', () => {
  it('serves a cluster with 50 tags at ARM maximum sizes, in the list and whole', async () => {
    const one = await get('getCluster', `/api/v1/clusters/${SUB_A}/rg/big-tags`);
    expect(one.status).toBe(200);
    expect(Object.keys(one.body['tags'] as Record<string, string>)).toHaveLength(50);
    const list = await get('listClusters', `/api/v1/clusters?subscriptionId=${SUB_A}`);
    expect(list.body.value?.map((c) => c['name'])).toContain('big-tags');
  });
});

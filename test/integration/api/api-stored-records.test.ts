/**
 * Damaged stored records through the HTTP pipeline over the real Table repositories (Azurite): a list
 * answers 200 without the damaged record (never a 500), `GET /api/health` turns `degraded` with the
 * `stored-records` check and its count, and a point read of the damaged record answers the typed
 * `StoredRecordInvalid` error in the documented shape.
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
import { tableClientFactory } from '../../../adapters/storage/table-store.js';
import { queuedRun } from '../../../application/evaluation-run.js';
import { TableRolloutRepository } from '../../../adapters/storage/table-rollout-repository.js';
import { escapeKey } from '../../../adapters/storage/table-keys.js';
import type { Rollout } from '../../../domain/rollout-model.js';
import { readFileSync } from 'node:fs';
import { documented } from '../../support/api-expect.js';
import { loadApiOperations } from '../../support/api-harness.js';
import { FakeInventory } from '../storage/fake-inventory.js';
import { uniquePrefix } from '../storage/fixtures.js';
import { silentLogger } from '../../../application/logger.js';
import { FixedClock } from '../../support/in-memory-ports.js';

let azurite: RunningAzurite;
let container: Container;
const servers: Server[] = [];
let origin: string;
let token: string;
let tablePrefix: string;
const errors: unknown[] = [];

function listen(server: Server): Promise<string> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

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
  const issuer = (tokenIssuer = await createTokenIssuer({ baseUrl: issuerUrl }));
  const config = loadConfig({ AzureWebJobsStorage: azurite.connectionString, AUTH_ISSUER: issuer.issuer, AUTH_AUDIENCE: issuer.audience });
  const clock = new FixedClock(new Date('2026-05-01T02:00:00.000Z'));
  tablePrefix = uniquePrefix();
  container = await createContainer(config, {
    inventory: new FakeInventory(() => clock.now()),
    clock,
    tablePrefix,
    credential: { getToken: async () => null },
    log: silentLogger,
  });
  // The container's own health checks (storage, ARM, stored records).
  const runtime = createApiRuntimeFor(container, { logger: { ...silentLogger, error: (_m, properties) => errors.push(properties) } });
  origin = await listen(createServer(createNodeRequestListener(await loadApiOperations(), () => runtime)));
  token = await issuer.mintToken({ roles: ALL_APP_ROLES });
  for (const at of ['2026-04-28T02:00:00.000Z', '2026-04-29T02:00:00.000Z', '2026-04-30T02:00:00.000Z']) {
    await container.repositories.runs.create(queuedRun(`run-${at.slice(0, 10)}`, 'timer', undefined, at));
  }
});

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  await azurite?.stop();
});

type Json = Record<string, unknown> & { value?: { id: string }[]; error?: { code: string; message: string } };

async function get(operationId: string, path: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${origin}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await documented(operationId, res)) as Json };
}

describe('a damaged stored record', () => {
  it('is left out of its list (200), degrades health with a count, and is a typed error when read alone', async () => {
    const before = await get('getHealth', '/api/health');
    expect(before.body).toMatchObject({ status: 'healthy' });
    expect(before.body['checks']).toContainEqual(expect.objectContaining({ name: 'stored-records', status: 'healthy' }));

    // Both rows of one run (the point-read row and the list row) damaged by hand.
    const runs = tableClientFactory({ connectionString: azurite.connectionString }, tablePrefix)('runs');
    for await (const e of runs.listEntities<Record<string, unknown>>({ queryOptions: { filter: "id eq 'run-2026-04-29'" } })) {
      await runs.updateEntity({ partitionKey: String(e.partitionKey), rowKey: String(e.rowKey), createdAt: 20260429 }, 'Merge');
    }

    const list = await get('listEvaluations', '/api/v1/evaluations');
    expect(list.status).toBe(200);
    expect(list.body.value?.map((r) => r.id)).toEqual(['run-2026-04-30', 'run-2026-04-28']);

    const health = await get('getHealth', '/api/health');
    expect(health.status).toBe(200);
    expect(health.body['status']).toBe('degraded');
    const check = (health.body['checks'] as Record<string, unknown>[]).find((c) => c['name'] === 'stored-records');
    expect(check).toMatchObject({ status: 'degraded', count: 1 });
    expect(String(check?.['detail'])).toContain('run: 1');
    // Anonymous endpoint: kinds and counts, never keys.
    expect(JSON.stringify(health.body)).not.toContain('run-2026-04-29');

    const one = await get('getEvaluation', '/api/v1/evaluations/run-2026-04-29');
    expect(one.status).toBe(500);
    expect(one.body.error).toMatchObject({ code: 'StoredRecordInvalid' });
    expect(one.body.error?.message).toContain('stored run record could not be read');
    // Logged by the pipeline as an error an operator must see.
    expect(errors.length).toBeGreaterThan(0);

    expect((await get('getEvaluation', '/api/v1/evaluations/run-2026-04-30')).status).toBe(200);
  });

  it('a damaged rollout is left out of the rollout list (200) and counted; reading it alone is the typed error', async () => {
    const countOf = async (): Promise<unknown> => ((await get('getHealth', '/api/health')).body['checks'] as Record<string, unknown>[]).find((c) => c['name'] === 'stored-records')?.['count'];
    const before = Number((await countOf()) ?? 0);
    const frozen = JSON.parse(readFileSync(new URL('../../fixtures/stored-records/rollout/v1.json', import.meta.url), 'utf8')) as { read: { get: Rollout } };
    const repo = await TableRolloutRepository.open({ connectionString: azurite.connectionString }, { tablePrefix });
    for (const id of ['ro-good', 'ro-bad']) await repo.create({ ...frozen.read.get, id }, []);
    const rollouts = tableClientFactory({ connectionString: azurite.connectionString }, tablePrefix)('rollouts');
    await rollouts.updateEntity({ partitionKey: escapeKey('ro-bad'), rowKey: 'rollout', body_0: '{"id":"ro-bad",' }, 'Merge');

    const list = await get('listRollouts', '/api/v1/rollouts');
    expect(list.status).toBe(200);
    expect(list.body.value?.map((r) => r.id)).toEqual(['ro-good']);
    const one = await get('getRollout', '/api/v1/rollouts/ro-bad');
    expect(one.status).toBe(500);
    expect(one.body.error).toMatchObject({ code: 'StoredRecordInvalid' });
    const health = await get('getHealth', '/api/health');
    const check = (health.body['checks'] as Record<string, unknown>[]).find((c) => c['name'] === 'stored-records');
    // One more record (the run damaged above still counts), named by kind.
    expect(check).toMatchObject({ status: 'degraded', count: before + 1 });
    expect(String(check?.['detail'])).toContain('rollout: 1');
  });
});

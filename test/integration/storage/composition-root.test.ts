import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueClient } from '@azure/storage-queue';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { loadConfig } from '../../../config/settings.js';
import { createContainer } from '../../../bootstrap/composition-root.js';
import { parseCollectSubscriptionMessage, parseFinalizeRunMessage, QUEUES } from '../../../application/messages.js';
import { QueueDelivery } from '../../../application/queue-delivery.js';
import { FakeInventory } from './fake-inventory.js';
import { uniquePrefix } from './fixtures.js';
import { silentLogger } from '../../../application/logger.js';
import { FixedClock } from '../../support/in-memory-ports.js';

const S1 = '11111111-1111-1111-1111-111111111111';
let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

async function receiveAll(queueName: string): Promise<unknown[]> {
  const client = new QueueClient(azurite.connectionString, queueName);
  const out: unknown[] = [];
  for (;;) {
    const batch = await client.receiveMessages({ numberOfMessages: 32 });
    if (batch.receivedMessageItems.length === 0) return out;
    for (const m of batch.receivedMessageItems) {
      // Sent base64-encoded like the host's output binding; the host decodes before the trigger.
      out.push(JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')));
      await client.deleteMessage(m.messageId, m.popReceipt);
    }
  }
}

describe('composition root with Azurite queues', () => {
  it('runs timer → collect queue → finalize queue → summary through the real adapters', async () => {
    const config = loadConfig({ AzureWebJobsStorage: azurite.connectionString, AUTH_ISSUER: 'https://login.microsoftonline.com/t/v2.0', AUTH_AUDIENCE: 'api://arc' });
    const clock = new FixedClock(new Date('2026-05-01T02:00:00.000Z'));
    const inventory = new FakeInventory(() => clock.now());
    inventory.addCluster(S1, 'rg', 'c1', { env: 'prod' });
    const c = await createContainer(config, { inventory, clock, tablePrefix: uniquePrefix(), credential: { getToken: async () => null }, log: silentLogger });

    const run = await c.evaluation.starter.startRun({ trigger: 'timer' });
    const collect = (await receiveAll(QUEUES.collectSubscription)).map(parseCollectSubscriptionMessage);
    expect(collect).toEqual([{ kind: 'collect-subscription', runId: run.id, subscriptionId: S1, runStartedAt: '2026-05-01T02:00:00.000Z' }]);
    for (const m of collect) await c.evaluation.collector.collectSubscription(m, QueueDelivery.first());
    const finals = (await receiveAll(QUEUES.finalizeRun)).map(parseFinalizeRunMessage);
    expect(finals).toEqual([{ kind: 'finalize-run', runId: run.id }]);
    await c.evaluation.finalizer.finalizeRun(run.id);
    expect((await c.repositories.runs.get(run.id))?.status).toBe('succeeded');
    expect((await c.repositories.summaries.getLatest())?.totals.clusters).toBe(1);
    expect(run.id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

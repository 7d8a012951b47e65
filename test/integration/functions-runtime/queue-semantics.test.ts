/**
 * `extensions.queues` behaviour, not just parsing: a failed message stays invisible for
 * `visibilityTimeout`, at most `batchSize` messages are fetched at once and a new batch only when the
 * running ones drop to `newBatchThreshold` (so never more than batchSize + newBatchThreshold run), and
 * the idle back-off stays within its bounds. Assertions are "not before" / "not more than" only.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { startFunctionsHost, type RunningFunctionsHost } from '../../../local/functions-runtime/index.js';
import { MIN_POLLING_INTERVAL_MS, nextBackoff } from '../../../local/functions-runtime/queue-listener.js';
import { waitFor } from '../../fixtures/functions-app/probe.js';
import { queueSemantics } from './fixtures/queue-semantics-probe.js';

const ENTRY = 'test/integration/functions-runtime/fixtures/queue-semantics-functions.ts';
const BATCH_SIZE = 2;
const NEW_BATCH_THRESHOLD = 1;
const VISIBILITY_TIMEOUT_MS = 1000; // Storage takes whole seconds: 1 s is the shortest non-zero timeout.
const MAX_POLLING_MS = 200;
/** Long enough for several polls at the maximum polling interval. */
const SEVERAL_POLLS_MS = 4 * MAX_POLLING_MS;

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

describe('local Functions runtime: queue batch, threshold and visibility behaviour', () => {
  let azurite: RunningAzurite;
  let host: RunningFunctionsHost;
  const queue = (name: string): QueueClient => new QueueClient(azurite.connectionString, name);

  beforeAll(async () => {
    azurite = await startAzurite();
    process.env['AzureWebJobsStorage'] = azurite.connectionString;
    host = await startFunctionsHost({
      entry: ENTRY,
      port: 0,
      logger: () => undefined,
      hostJson: {
        version: '2.0',
        extensions: {
          queues: {
            batchSize: BATCH_SIZE,
            newBatchThreshold: NEW_BATCH_THRESHOLD,
            visibilityTimeout: '00:00:01',
            maxPollingInterval: '00:00:00.200',
            maxDequeueCount: 3,
          },
        },
      },
    });
  });
  afterAll(async () => {
    // Release anything still waiting so the host can stop.
    for (const release of queueSemantics().gates.splice(0)) release();
    await host?.stop();
    await azurite?.stop();
    delete process.env['AzureWebJobsStorage'];
  });

  it('does not deliver a failed message again before visibilityTimeout has passed', async () => {
    await queue('qs-retry').createIfNotExists();
    await queue('qs-retry').sendMessage(b64('retry me'));
    const attempts = await waitFor('the second delivery', () => (queueSemantics().attempts.length >= 2 ? queueSemantics().attempts : undefined), 10_000);
    const [first, second] = attempts;
    expect(first?.dequeueCount).toBe(1);
    expect(second?.dequeueCount).toBe(2);
    // The message was made invisible after the handler threw, so it cannot be back sooner than this.
    expect(second!.startedAt - first!.failedAt!).toBeGreaterThanOrEqual(VISIBILITY_TIMEOUT_MS);
  });

  it(`runs at most batchSize messages until one finishes, and never more than batchSize + newBatchThreshold`, async () => {
    const probe = queueSemantics();
    const total = 6;
    await queue('qs-gated').createIfNotExists();
    for (let i = 0; i < total; i++) await queue('qs-gated').sendMessage(b64(`m${i}`));

    // The first batch: batchSize messages, and no second fetch while more than newBatchThreshold run.
    await waitFor('the first batch to start', () => (probe.running >= BATCH_SIZE ? true : undefined));
    await sleep(SEVERAL_POLLS_MS);
    expect(probe.running).toBe(BATCH_SIZE);
    expect(probe.peak).toBe(BATCH_SIZE);

    // One finishes: the running count drops to the threshold and one more batch is fetched.
    probe.gates.shift()!();
    const ceiling = BATCH_SIZE + NEW_BATCH_THRESHOLD;
    await waitFor('the second batch to start', () => (probe.running >= ceiling ? true : undefined));
    await sleep(SEVERAL_POLLS_MS);
    expect(probe.running).toBe(ceiling);

    // Drain the rest one at a time; the ceiling holds throughout.
    while (probe.finished < total) {
      await waitFor('a running invocation to release', () => (probe.gates.length > 0 ? true : undefined));
      probe.gates.shift()!();
      await sleep(20);
    }
    expect(probe.peak).toBe(ceiling);
    await waitFor('qs-gated to be empty', async () => ((await queue('qs-gated').getProperties()).approximateMessagesCount === 0 ? true : undefined));
  });

  it('backs off an idle queue by doubling with ±20 % jitter, between 100 ms and maxPollingInterval', () => {
    let delay = MIN_POLLING_INTERVAL_MS;
    for (let i = 0; i < 200; i++) {
      const next = nextBackoff(delay, 5_000);
      expect(next).toBeGreaterThanOrEqual(Math.max(MIN_POLLING_INTERVAL_MS, Math.min(5_000, delay * 1.6)));
      expect(next).toBeLessThanOrEqual(Math.min(5_000, delay * 2.4));
      delay = next;
    }
    expect(delay).toBe(5_000);
    expect(nextBackoff(10, 5_000)).toBe(MIN_POLLING_INTERVAL_MS);
  });
});

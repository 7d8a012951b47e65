import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { startFunctionsHost, type HostLogEntry, type RunningFunctionsHost } from '../../../local/functions-runtime/index.js';
import { probe, waitFor, type ProbeRecord } from '../../fixtures/functions-app/probe.js';

const ENTRY = 'test/fixtures/functions-app/queue-functions.ts';
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string): string => Buffer.from(text, 'base64').toString('utf8');

describe('local Functions runtime: Storage queue triggers and outputs', () => {
  let azurite: RunningAzurite;
  let host: RunningFunctionsHost;
  const logs: HostLogEntry[] = [];
  const queue = (name: string): QueueClient => new QueueClient(azurite.connectionString, name);
  const recordsOf = (fn: string): ProbeRecord[] => probe().records.filter((r) => r.fn === fn);

  /** Every message currently in a queue (visible or not is irrelevant once processing settled). */
  async function peekAll(name: string): Promise<string[]> {
    const result = await queue(name).peekMessages({ numberOfMessages: 32 });
    return result.peekedMessageItems.map((m) => m.messageText);
  }

  beforeAll(async () => {
    azurite = await startAzurite();
    process.env['AzureWebJobsStorage'] = azurite.connectionString;
    process.env['FAIL_QUEUE'] = 'RT-Fails'; // upper case: the host lower-cases queue names
    host = await startFunctionsHost({
      entry: ENTRY,
      port: 0,
      logger: (e) => logs.push(e),
      hostJson: {
        version: '2.0',
        extensions: { queues: { batchSize: 4, maxPollingInterval: '00:00:00.200', visibilityTimeout: '00:00:00', maxDequeueCount: 3 } },
      },
    });
  });
  afterAll(async () => {
    await host?.stop();
    await azurite?.stop();
    delete process.env['AzureWebJobsStorage'];
    delete process.env['FAIL_QUEUE'];
  });

  it('decodes base64 JSON, passes trigger metadata, deletes on success and writes the return value base64-encoded', async () => {
    await queue('rt-work').createIfNotExists();
    const sent = await queue('rt-work').sendMessage(b64(JSON.stringify({ cluster: 'c1', n: 1 })));
    const record = await waitFor('processWork invocation', () => recordsOf('processWork').find((r) => (r.meta as { id?: string }).id === sent.messageId));
    expect(record.input).toEqual({ cluster: 'c1', n: 1 });
    const meta = record.meta as Record<string, unknown>;
    // The library JSON-parses string metadata, as it does for the host's `QueueTrigger` value.
    expect(meta).toMatchObject({ dequeueCount: 1, id: sent.messageId, queueTrigger: { cluster: 'c1', n: 1 } });
    expect(new Date(String(meta['insertionTime'])).getTime()).toBe(sent.insertedOn.getTime());
    expect(new Date(String(meta['expirationTime'])).getTime()).toBe(sent.expiresOn.getTime());
    expect(typeof meta['popReceipt']).toBe('string');
    expect(typeof meta['nextVisibleTime']).toBe('string');

    const outputs = await waitFor('result message', async () => {
      const texts = await peekAll('rt-results');
      return texts.length > 0 ? texts : undefined;
    });
    expect(outputs.map((t) => JSON.parse(unb64(t)) as unknown)).toContainEqual({ processed: { cluster: 'c1', n: 1 } });
    await waitFor('rt-work to be empty', async () => ((await peekAll('rt-work')).length === 0 ? true : undefined));
  });

  it('passes non-JSON text as a string', async () => {
    await queue('rt-work').sendMessage(b64('plain text, not JSON'));
    const record = await waitFor('plain text', () => recordsOf('processWork').find((r) => r.input === 'plain text, not JSON'));
    expect(typeof record.input).toBe('string');
  });

  it('retries a failing message after visibilityTimeout, then moves it to <queue>-poison after maxDequeueCount', async () => {
    await queue('rt-fails').createIfNotExists();
    const rawText = b64(JSON.stringify({ doomed: true }));
    const sent = await queue('rt-fails').sendMessage(rawText);
    const poisoned = await waitFor('poison message', async () => {
      const texts = await peekAll('rt-fails-poison').catch((): string[] => []);
      return texts.length > 0 ? texts : undefined;
    });
    expect(poisoned).toEqual([rawText]); // same text, still base64
    const attempts = recordsOf('alwaysFails').filter((r) => (r.meta as { id?: string }).id === sent.messageId);
    expect(attempts.map((r) => (r.meta as { dequeueCount: number }).dequeueCount)).toEqual([1, 2, 3]);
    expect(attempts.every((r) => JSON.stringify(r.input) === JSON.stringify({ doomed: true }))).toBe(true);
    expect(await peekAll('rt-fails')).toEqual([]);
    expect((await queue('rt-fails').getProperties()).approximateMessagesCount).toBe(0);
    expect(logs.some((l) => l.message.includes("Moving message to queue 'rt-fails-poison'"))).toBe(true);
  });

  it('moves a message that is not valid base64 to the poison queue without invoking', async () => {
    const before = recordsOf('processWork').length;
    await queue('rt-work').sendMessage('not base64 at all!');
    await waitFor('undecodable message in poison', async () => ((await peekAll('rt-work-poison').catch((): string[] => [])).includes('not base64 at all!') ? true : undefined));
    expect(recordsOf('processWork').length).toBe(before);
  });

  it('writes an array from extraOutputs as one base64 message per element', async () => {
    const response = await fetch(`${host.url}/api/enqueue`, { method: 'POST', body: JSON.stringify([{ k: 'a' }, 'b']) });
    expect(response.status).toBe(202);
    await waitFor('both enqueued items processed', () => {
      const inputs = recordsOf('processWork').map((r) => JSON.stringify(r.input));
      return inputs.includes(JSON.stringify({ k: 'a' })) && inputs.includes(JSON.stringify('b')) ? true : undefined;
    });
  });

  it('invokes a queue function directly through the admin API', async () => {
    const response = await fetch(`${host.url}/admin/functions/processWork`, { method: 'POST', body: JSON.stringify({ input: 'direct input' }), headers: { 'x-functions-key': host.masterKey } });
    expect(response.status).toBe(202);
    await waitFor('admin-invoked processWork', () => recordsOf('processWork').find((r) => r.input === 'direct input'));
  });

  it('keeps polling through a storage restart and recreates the queue', async () => {
    await azurite.restartQueue(); // in-memory: the queues are gone afterwards
    // Sending needs the queue; the listener recreates it on its next successful poll.
    await waitFor('listener to recreate rt-work', async () => ((await queue('rt-work').exists()) ? true : undefined));
    await queue('rt-work').sendMessage(b64('after restart'));
    await waitFor('message after restart', () => recordsOf('processWork').find((r) => r.input === 'after restart'));
    // Whichever listener polled first during the outage reports it (and the queues are then recreated).
    expect(logs.some((l) => l.level === 'warning' && /^Polling queue 'rt-(work|fails)' failed/.test(l.message))).toBe(true);
  });
});

/**
 * The tests that deliver messages through `RecordingMessageQueue` prove something only if it hands the
 * consumer what the Storage queue would: held here to `StorageMessageQueue` on Azurite.
 */
import { randomUUID } from 'node:crypto';
import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { StorageMessageQueue } from '../../../adapters/storage/storage-queue.js';
import { FixedClock, RecordingMessageQueue } from '../../support/in-memory-ports.js';

interface Sample {
  kind: string;
  at: Date | string;
  note?: string | undefined;
  clusters: string[];
}

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

const decode = (text: string): unknown => JSON.parse(Buffer.from(text, 'base64').toString('utf8'));

describe('RecordingMessageQueue', () => {
  it('records the message the Storage queue delivers: JSON-shaped and untouched by the sender’s later mutation', async () => {
    const name = `parity${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const storage = new StorageMessageQueue<Sample>({ connectionString: azurite.connectionString }, name);
    const recording = new RecordingMessageQueue<Sample>();
    const message: Sample = { kind: 'sample', at: new Date('2026-05-01T02:00:00.000Z'), note: undefined, clusters: ['c1'] };
    await storage.send(message);
    await recording.send(message);
    message.clusters.push('c2');

    const received = await new QueueClient(azurite.connectionString, name).receiveMessages({ numberOfMessages: 1 });
    const delivered = decode(received.receivedMessageItems[0]!.messageText);
    expect(delivered).toStrictEqual({ kind: 'sample', at: '2026-05-01T02:00:00.000Z', clusters: ['c1'] });
    expect(recording.take()).toStrictEqual({ message: delivered, visibilityDelaySeconds: 0 });
  });

  it('records the visibility timeout the adapter sets, and a delayed message is not delivered at once', async () => {
    const name = `parity${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const storage = new StorageMessageQueue<{ n: number }>({ connectionString: azurite.connectionString }, name);
    const recording = new RecordingMessageQueue<{ n: number }>();
    for (const [n, delay] of [[1, undefined], [2, 30.4], [3, -5], [4, 30 * 86_400]] as const) {
      await recording.send({ n }, delay === undefined ? {} : { visibilityDelaySeconds: delay });
    }
    // Rounded to whole seconds, never negative, at most the queue's 7-day limit.
    expect(recording.sent.map((s) => s.visibilityDelaySeconds)).toEqual([0, 30, 0, 7 * 86_400]);

    await storage.send({ n: 1 });
    await storage.send({ n: 2 }, { visibilityDelaySeconds: 30.4 });
    const received = await new QueueClient(azurite.connectionString, name).receiveMessages({ numberOfMessages: 32 });
    expect(received.receivedMessageItems.map((m) => decode(m.messageText))).toEqual([{ n: 1 }]);
  });

  it('take delivers oldest first; drain empties the queue; failSends fails only the next sends', async () => {
    const queue = new RecordingMessageQueue<{ n: number }>();
    await queue.sendMany([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(queue.take()?.message).toEqual({ n: 1 });
    expect(queue.drain()).toEqual([{ n: 2 }, { n: 3 }]);
    expect(queue.take()).toBeUndefined();
    queue.failSends = 1;
    await expect(queue.send({ n: 4 })).rejects.toThrow(/unavailable/);
    await queue.send({ n: 5 });
    expect(queue.drain()).toEqual([{ n: 5 }]);
  });
});

describe('FixedClock', () => {
  it('stands still until set or advanced, and hands out copies', () => {
    const clock = new FixedClock('2026-05-01T02:00:00.000Z');
    const first = clock.now();
    first.setUTCFullYear(2000);
    expect(clock.now().toISOString()).toBe('2026-05-01T02:00:00.000Z');
    clock.advance(90_000);
    expect(clock.now().toISOString()).toBe('2026-05-01T02:01:30.000Z');
    clock.set(new Date('2026-06-01T00:00:00.000Z'));
    expect(clock.now().toISOString()).toBe('2026-06-01T00:00:00.000Z');
    expect(() => clock.set('not a time')).toThrow(/not a time/);
  });
});

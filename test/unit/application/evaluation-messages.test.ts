import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_DEQUEUE_COUNT, parseCollectSubscriptionMessage, parseFinalizeRunMessage } from '../../../application/messages.js';

const valid = { kind: 'collect-subscription', runId: '0b0c5a5e-7d8f-4a39-9a43-5d0c5d5e5f60', subscriptionId: 'AAAAAAAA-0000-0000-0000-000000000001', runStartedAt: '2026-05-01T02:00:00.000Z' };

describe('queue message parsing', () => {
  it('accepts parsed JSON, JSON text and bytes, normalising the subscription id', () => {
    const expected = { ...valid, subscriptionId: valid.subscriptionId.toLowerCase() };
    expect(parseCollectSubscriptionMessage(valid)).toEqual(expected);
    expect(parseCollectSubscriptionMessage(JSON.stringify(valid))).toEqual(expected);
    expect(parseCollectSubscriptionMessage(Buffer.from(JSON.stringify(valid)))).toEqual(expected);
    expect(parseCollectSubscriptionMessage({ ...valid, extra: 1 })).toEqual(expected);
    expect(parseFinalizeRunMessage('{"kind":"finalize-run","runId":"run-1"}')).toEqual({ kind: 'finalize-run', runId: 'run-1' });
  });

  it.each([
    ['not json', 'not JSON'],
    [[valid], 'not a JSON object'],
    [null, 'not a JSON object'],
    [{ ...valid, kind: 'finalize-run' }, 'kind'],
    [{ ...valid, subscriptionId: '../etc' }, 'GUID'],
    [{ ...valid, runId: "x' or 1 eq 1" }, 'runId'],
    [{ ...valid, runId: 42 }, 'runId'],
    [{ ...valid, runStartedAt: 'yesterday' }, 'runStartedAt'],
    [{ ...valid, previousAttempts: -1 }, 'previousAttempts'],
    [{ ...valid, previousAttempts: 1.5 }, 'previousAttempts'],
    [{ ...valid, previousAttempts: '2' }, 'previousAttempts'],
  ])('rejects %j as poison', (payload, problem) => {
    expect(() => parseCollectSubscriptionMessage(payload)).toThrow(new RegExp(problem));
  });

  it('keeps the attempts a deferred collect already spent', () => {
    const expected = { ...valid, subscriptionId: valid.subscriptionId.toLowerCase() };
    expect(parseCollectSubscriptionMessage({ ...valid, previousAttempts: 3 })).toEqual({ ...expected, previousAttempts: 3 });
    expect(parseCollectSubscriptionMessage({ ...valid, previousAttempts: 0 })).toEqual(expected);
  });

  it('rejects malformed finalize messages', () => {
    expect(() => parseFinalizeRunMessage({ kind: 'finalize-run' })).toThrow(/runId/);
    expect(() => parseFinalizeRunMessage(valid)).toThrow(/kind/);
  });

  it('keeps the last-attempt threshold in step with host.json', () => {
    const host = JSON.parse(readFileSync(new URL('../../../host.json', import.meta.url), 'utf8')) as { extensions: { queues: { maxDequeueCount: number } } };
    expect(MAX_DEQUEUE_COUNT).toBe(host.extensions.queues.maxDequeueCount);
  });
});

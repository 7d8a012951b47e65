import { describe, expect, it } from 'vitest';
import { RequestCounter, type RequestRecord } from '../../../local/arm-emulator/server/request-counter.js';

const request = (route: string, subscriptionId?: string): RequestRecord => ({ method: 'GET', path: '/', route, apiVersion: undefined, subscriptionId, status: 200, at: 0 });

describe('request counter', () => {
  it('counts requests per subscription beyond the bounded log, any casing, token requests apart', () => {
    const counter = new RequestCounter(3);
    for (let i = 0; i < 5; i += 1) counter.record(request('extensions.list', i % 2 === 0 ? 'SUB-A' : 'sub-b'));
    counter.record(request('identity.token', 'sub-a'));
    counter.record(request('subscriptions.list'));
    expect(counter.log).toHaveLength(3);
    expect(counter.perSubscription()).toEqual({ 'sub-a': 3, 'sub-b': 2 });
    expect(counter.count()).toBe(6);
    counter.reset();
    expect(counter.perSubscription()).toEqual({});
  });
});

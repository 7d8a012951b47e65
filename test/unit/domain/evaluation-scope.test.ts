import { describe, expect, it } from 'vitest';
import { resolveRunScope } from '../../../domain/evaluation-scope.js';

const A = '7c3e1a52-4b9d-4f0e-9a61-2d8f5c7b1e01';
const B = '2f9b6d84-1c3a-4e57-8b20-6a4d9e3f7c02';

describe('resolveRunScope', () => {
  it('keeps the requested visible subscriptions, lower-cased, de-duplicated and sorted', () => {
    expect(resolveRunScope([B.toUpperCase(), A, B], [A, B.toUpperCase()])).toEqual([B, A].sort());
  });

  it('names every unknown subscription with its index', () => {
    const unknown = ['99999999-9999-9999-9999-999999999999', '88888888-8888-8888-8888-888888888888'];
    let caught: unknown;
    try {
      resolveRunScope([unknown[0]!, A, unknown[1]!], [A, B]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({
      code: 'InvalidRequest',
      target: 'subscriptionIds',
      message: `Unknown subscriptions (not evaluated by this app, or not visible to its identity): ${unknown.join(', ')}.`,
      details: [
        { code: 'UnknownSubscription', target: 'subscriptionIds[0]' },
        { code: 'UnknownSubscription', target: 'subscriptionIds[2]' },
      ],
    });
  });

  it('refuses an empty scope (it would be a run of nothing)', () => {
    expect(() => resolveRunScope([], [A])).toThrow(/at least one/);
  });
});

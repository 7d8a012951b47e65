import { describe, expect, it } from 'vitest';
import { PerSubscriptionClients } from '../../../adapters/arm/per-subscription-clients.js';

describe('PerSubscriptionClients', () => {
  const cache = (capacity: number): { clients: PerSubscriptionClients<{ sub: string; n: number }>; created: string[] } => {
    const created: string[] = [];
    const clients = new PerSubscriptionClients((sub) => {
      created.push(sub);
      return { sub, n: created.length };
    }, capacity);
    return { clients, created };
  };

  it('reuses the client of a subscription (ids compared case-insensitively)', () => {
    const { clients, created } = cache(4);
    const a = clients.get('SUB-A');
    expect(clients.get('sub-a')).toBe(a);
    expect(created).toEqual(['SUB-A']);
  });

  it('keeps at most `capacity` clients however many subscriptions are seen', () => {
    const { clients, created } = cache(3);
    for (let i = 0; i < 1000; i += 1) clients.get(`sub-${i}`);
    expect(clients.size).toBe(3);
    expect(created).toHaveLength(1000);
  });

  it('drops the least recently used client first', () => {
    const { clients, created } = cache(2);
    const a = clients.get('a');
    clients.get('b');
    expect(clients.get('a')).toBe(a); // a is now the most recently used
    clients.get('c'); // drops b
    expect(clients.get('a')).toBe(a);
    clients.get('b');
    expect(created).toEqual(['a', 'b', 'c', 'b']);
  });
});

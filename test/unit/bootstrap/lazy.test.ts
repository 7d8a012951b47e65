import { describe, expect, it } from 'vitest';
import { lazyPort, sharedUntilFailure } from '../../../bootstrap/lazy.js';

describe('sharedUntilFailure', () => {
  it('runs the load once and shares its promise between concurrent and later calls', async () => {
    let runs = 0;
    const get = sharedUntilFailure(async () => ({ run: ++runs }));
    const [a, b] = await Promise.all([get(), get()]);
    expect(a).toBe(b);
    expect(await get()).toBe(a);
    expect(runs).toBe(1);
  });

  it('forgets a failed load, also a synchronous throw, so the next call tries again', async () => {
    let runs = 0;
    const get = sharedUntilFailure((): Promise<string> => {
      runs += 1;
      if (runs === 1) throw new Error('storage down');
      if (runs === 2) return Promise.reject(new Error('still down'));
      return Promise.resolve('up');
    });
    await expect(get()).rejects.toThrow('storage down');
    await expect(get()).rejects.toThrow('still down');
    await expect(get()).resolves.toBe('up');
    await expect(get()).resolves.toBe('up');
    expect(runs).toBe(3);
  });
});

describe('lazyPort', () => {
  it('builds the port on the first method call, once, and is never a thenable', async () => {
    let builds = 0;
    const port = lazyPort(async () => {
      builds += 1;
      return { twice: async (n: number) => n * 2 };
    });
    expect(builds).toBe(0);
    expect((port as unknown as { then?: unknown }).then).toBeUndefined();
    expect(await Promise.all([port.twice(2), port.twice(3)])).toEqual([4, 6]);
    expect(builds).toBe(1);
  });
});

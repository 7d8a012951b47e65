import { describe, expect, it } from 'vitest';
import { RequirementTitles, TITLE_RETRY_MS } from '../../../application/framework-report-service.js';
import { silentLogger } from '../../../application/logger.js';

describe('RequirementTitles', () => {
  it('reads the metadata once and shares the read between concurrent callers', async () => {
    let reads = 0;
    const titles = new RequirementTitles({ listTitles: async () => (reads++, new Map([['PCI_DSS_v4.0.1_7.2.1', 't']])) });
    const [a, b] = await Promise.all([titles.get(), titles.get()]);
    expect(a.get('PCI_DSS_v4.0.1_7.2.1')).toBe('t');
    expect(b).toBe(a);
    await titles.get();
    expect(reads).toBe(1);
  });

  it('goes without titles when the metadata cannot be read, logs it, and tries again only after the retry interval', async () => {
    let now = 0;
    let fail = true;
    let reads = 0;
    const warnings: unknown[] = [];
    const titles = new RequirementTitles(
      {
        listTitles: async () => {
          reads++;
          if (fail) throw new Error('503 from Policy Insights');
          return new Map([['X', 'y']]);
        },
      },
      () => now,
      { ...silentLogger, warn: (message, properties) => warnings.push({ message, properties }) },
    );
    expect((await titles.get()).size).toBe(0);
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0])).toContain('503 from Policy Insights');
    fail = false;
    now = TITLE_RETRY_MS - 1;
    expect((await titles.get()).size).toBe(0);
    expect(reads).toBe(1);
    now = TITLE_RETRY_MS;
    expect((await titles.get()).get('X')).toBe('y');
    expect(reads).toBe(2);
  });

  it('has no titles without a source', async () => {
    expect((await new RequirementTitles(undefined).get()).size).toBe(0);
  });
});

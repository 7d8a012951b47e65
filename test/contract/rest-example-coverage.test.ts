/**
 * Every official REST example is either read back through a contract test or excluded here with a
 * reason. An example counts as covered when a contract test names it: by its path
 * (`policyinsights/2024-10-01/X.json`), or by its file name in a test that loads from its folder
 * (`policyinsights/2024-10-01/${file}` over a list of names). The examples are the copy in
 * test/fixtures/azure-rest-examples; when the shared originals are present next to the repository
 * (`../shared/azure-rest-examples`), the copy must hold exactly the same files, byte for byte, so a new
 * upstream example cannot go unnoticed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLES } from './support/lossless.js';

/** Examples no contract test reads back, and why. */
const EXCLUDED: Readonly<Record<string, string>> = {
  'policyinsights/2024-10-01/Attestations_CreateSubscriptionScope.json':
    'Attestations record compliance of manual policies; arc-compliance never reads or writes them, so the ARM emulator does not serve them.',
};

const SHARED = join(import.meta.dirname, '..', '..', '..', 'shared', 'azure-rest-examples');

function exampleFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.json')) out.push(relative(root, path).split(sep).join('/'));
    }
  };
  walk(root);
  return out.sort();
}

const contractSources = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.test.ts') && f !== basename(import.meta.filename))
  .map((f) => readFileSync(join(import.meta.dirname, f), 'utf8'));

function coveredByContractTest(example: string): boolean {
  const folder = `${dirname(example)}/`;
  const name = basename(example);
  return contractSources.some((source) => source.includes(example) || (source.includes(folder) && source.includes(`'${name}'`)));
}

describe('official REST example coverage', () => {
  const examples = exampleFiles(EXAMPLES);

  it('finds the examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(30);
  });

  it('reads every example back in a contract test, or excludes it with a reason', () => {
    const uncovered = examples.filter((e) => !coveredByContractTest(e) && EXCLUDED[e] === undefined);
    expect(uncovered).toEqual([]);
  });

  it('keeps the exclusion list honest: every entry exists, has a reason and is not covered after all', () => {
    for (const [file, reason] of Object.entries(EXCLUDED)) {
      expect(examples, file).toContain(file);
      expect(reason.length, file).toBeGreaterThan(20);
      expect(coveredByContractTest(file), file).toBe(false);
    }
  });

  it.skipIf(!existsSync(SHARED))('holds the same files as the shared originals, byte for byte', () => {
    const shared = exampleFiles(SHARED);
    expect(examples).toEqual(shared);
    for (const file of shared) expect(readFileSync(join(EXAMPLES, file)).equals(readFileSync(join(SHARED, file))), file).toBe(true);
  });
});

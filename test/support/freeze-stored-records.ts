/**
 * Freezes what this release writes for every stored record kind into
 * `test/fixtures/stored-records/<kind>/<label>.json` (label `v<schema version>`): the raw entities and
 * what the adapters read from them. Frozen fixtures are never edited or deleted afterwards: the
 * stored-record test proves every later release reads them to the same value.
 *
 *   npx tsx test/support/freeze-stored-records.ts <label> "<written by>" [kind …]
 *
 * Writes only fixtures that do not exist yet (a frozen file is history, not a snapshot to refresh).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAzurite } from '../../local/azurite.js';
import { RECORD_SAMPLES, dumpEntities, openSampleRepositories, type StoredRecordFixture } from './stored-record-samples.js';

export const FIXTURE_ROOT = new URL('../fixtures/stored-records/', import.meta.url);

/** `label` names the file (`v1`); a function of the kind when kinds are at different versions. */
export async function freeze(label: string | ((kind: string) => string), writtenBy: string, kinds: readonly string[] = []): Promise<string[]> {
  const azurite = await startAzurite();
  const written: string[] = [];
  try {
    for (const [i, sample] of RECORD_SAMPLES.entries()) {
      if (kinds.length > 0 && !kinds.includes(sample.kind)) continue;
      const dir = join(FIXTURE_ROOT.pathname, sample.kind);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${typeof label === 'string' ? label : label(sample.kind)}.json`);
      if (existsSync(file)) continue;
      const prefix = `freeze${process.pid}x${i}`;
      const repos = await openSampleRepositories(azurite.connectionString, prefix);
      await sample.write(repos);
      const entities = await dumpEntities(azurite.connectionString, prefix);
      const fixture: StoredRecordFixture = { kind: sample.kind, writtenBy, entities, read: await sample.read(repos) };
      writeFileSync(file, `${JSON.stringify(fixture, null, 2)}\n`);
      written.push(file);
    }
  } finally {
    await azurite.stop();
  }
  return written;
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  const [label, writtenBy, ...kinds] = process.argv.slice(2);
  if (label === undefined || writtenBy === undefined) {
    console.error('usage: tsx test/support/freeze-stored-records.ts <label> "<written by>" [kind …]');
    process.exit(2);
  }
  for (const file of await freeze(label, writtenBy, kinds)) console.log(`frozen ${file}`);
}

/**
 * Rolling deployments: every stored record shape ever written stays readable.
 *
 * `test/fixtures/stored-records/<kind>/` holds, per kind, the raw entities a release wrote and what the
 * adapters read from them: `unversioned.json` from the release before schema versions, `v<N>.json`
 * from the release that introduced version N. The fixtures are frozen (never edited): this test
 * restores each one as raw entities and requires this release to read exactly what was read then. A
 * writer change that an existing reader cannot follow must therefore bump the kind's version and keep a
 * reader for the old one; freeze the new version with `test/support/freeze-stored-records.ts`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { STORED_RECORD_CODECS } from '../../../adapters/storage/records/stored-record-kinds.js';
import { StoredRecordReader } from '../../../adapters/storage/records/stored-record-reader.js';
import { RECORD_SAMPLES, dumpEntities, openSampleRepositories, restoreEntities, type StoredRecordFixture } from '../../support/stored-record-samples.js';
import { FIXTURE_ROOT } from '../../support/freeze-stored-records.js';
import { uniquePrefix } from './fixtures.js';
import { silentLogger } from '../../../application/logger.js';

let azurite: RunningAzurite;

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

const fixtures: { file: string; fixture: StoredRecordFixture }[] = readdirSync(FIXTURE_ROOT.pathname, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    readdirSync(join(FIXTURE_ROOT.pathname, d.name))
      .filter((f) => f.endsWith('.json'))
      .map((f) => ({ file: `${d.name}/${f}`, fixture: JSON.parse(readFileSync(join(FIXTURE_ROOT.pathname, d.name, f), 'utf8')) as StoredRecordFixture })),
  );

const sampleOf = (kind: string): (typeof RECORD_SAMPLES)[number] => {
  const sample = RECORD_SAMPLES.find((s) => s.kind === kind);
  if (sample === undefined) throw new Error(`no sample of stored record kind ${kind}`);
  return sample;
};

describe('frozen stored records', () => {
  it('cover every kind the app writes, at its current version', () => {
    const files = new Set(fixtures.map((f) => f.file));
    for (const sample of RECORD_SAMPLES) expect(files, sample.kind).toContain(`${sample.kind}/unversioned.json`);
    for (const codec of STORED_RECORD_CODECS) {
      expect(RECORD_SAMPLES.map((s) => s.kind)).toContain(codec.kind);
      expect(files, `freeze ${codec.kind} v${codec.version} with test/support/freeze-stored-records.ts`).toContain(`${codec.kind}/v${codec.version}.json`);
    }
  });

  it.each(fixtures.map((f) => [f.file, f.fixture] as const))('%s is read as it was when frozen, through its codecs', async (_file, fixture) => {
    const prefix = uniquePrefix();
    await restoreEntities(azurite.connectionString, prefix, fixture.entities);
    const warnings: unknown[] = [];
    const records = new StoredRecordReader({ log: { ...silentLogger, warn: (_m, properties) => warnings.push(properties) } });
    const repos = await openSampleRepositories(azurite.connectionString, prefix, records);
    expect(await sampleOf(fixture.kind).read(repos)).toEqual(fixture.read);
    // Read, not skipped: a codec that refused a frozen record would report it here.
    expect(warnings).toEqual([]);
    expect(records.health().failedReads).toBe(0);
  });

  it.each(fixtures.filter((f) => f.fixture.kind === 'inbound-claim').map((f) => [f.file, f.fixture] as const))(
    '%s: the claim\'s owner is read, and releasing it reads its time and deletes its expiry entry with it',
    async (_file, fixture) => {
      const prefix = uniquePrefix();
      await restoreEntities(azurite.connectionString, prefix, fixture.entities);
      const repos = await openSampleRepositories(azurite.connectionString, prefix, new StoredRecordReader({ log: silentLogger }));
      // A delivery-attempt claim names the queue message that made it (claims frozen before that name none).
      const attempt = fixture.entities.find((f) => f.entity['partitionKey'] === 'webhook-attempt' && !String(f.entity['rowKey']).startsWith('~|'));
      if (attempt !== undefined) {
        expect(await repos.inbound.ownerOf('webhook-attempt', String(attempt.entity['rowKey']))).toBe(attempt.entity['owner']);
        await repos.inbound.release('webhook-attempt', String(attempt.entity['rowKey']));
      }
      await repos.inbound.release('servicenow-change', 'sys-id-1');
      // Without the claim's `at` the expiry entry could not be found, and would outlive its claim.
      expect(await dumpEntities(azurite.connectionString, prefix)).toEqual([]);
    },
  );
});

describe('what this release writes', () => {
  it.each(STORED_RECORD_CODECS.map((c) => [c.kind, c.version] as const))('%s is the frozen shape of its version (v%i)', async (kind, version) => {
    const frozen = fixtures.find((f) => f.file === `${kind}/v${version}.json`);
    expect(frozen, `freeze ${kind} v${version}`).toBeDefined();
    const prefix = uniquePrefix();
    const repos = await openSampleRepositories(azurite.connectionString, prefix);
    await sampleOf(kind).write(repos);
    // A shape change without a new version would leave readers of this version facing an unknown shape.
    expect(await dumpEntities(azurite.connectionString, prefix)).toEqual(frozen?.fixture.entities);
  });
});

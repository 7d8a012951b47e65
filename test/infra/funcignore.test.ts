import { describe, expect, it } from 'vitest';
import { ignoreMatcher } from '../../infra/scripts/stage-package.js';
import { readJson, readText } from './infra-files.js';

const ignored = ignoreMatcher(readText('.funcignore'));

describe('ignoreMatcher', () => {
  it('follows gitignore semantics for the patterns used', () => {
    const m = ignoreMatcher('node_modules/\n/infra/*\n!/infra/keep.json\n*.md\n');
    expect(m('node_modules/x/index.js')).toBe(true);
    expect(m('a/node_modules/x.js')).toBe(true);
    expect(m('infra/main.bicep')).toBe(true);
    expect(m('infra/keep.json')).toBe(false);
    expect(m('dist/infra/keep.json')).toBe(false);
    expect(m('README.md')).toBe(true);
    expect(m('src/a.ts')).toBe(false);
  });

  it('supports the allowlist form: everything at the top level out, some entries back in', () => {
    const m = ignoreMatcher('/*\n!/keep.json\n!/lib/\n*.map\n');
    expect(m('keep.json')).toBe(false);
    expect(m('other.json')).toBe(true);
    expect(m('lib/a/b.js')).toBe(false);
    expect(m('lib/a/b.js.map')).toBe(true);
    expect(m('src/lib/b.js')).toBe(true);
  });
});

describe('.funcignore', () => {
  it('keeps tests, fixtures, the local runtime, benchmarks, docs, infra and TypeScript sources out of the package', () => {
    const build = readJson('tsconfig.build.json') as { include: string[] };
    for (const path of [
      'test/unit/x.test.ts',
      'test/infra/funcignore.test.ts',
      'test/fixtures/azure-rest-examples/a.json',
      'local/start.ts',
      'local/arm-emulator/fleet-model.ts',
      'local/functions-runtime/index.ts',
      'bench/api.bench.ts',
      'docs/operations.md',
      'README.md',
      'infra/main.bicep',
      'infra/app-roles.json',
      'infra/scripts/grant-caller.sh',
      ...build.include.map((dir) => `${dir}/some-file.ts`),
      'tsconfig.json',
      'tsconfig.build.json',
      'package-lock.json',
      'local.settings.json',
      'local.settings.example.json',
      'vitest.config.ts',
      'azure.yaml',
      '.git/HEAD',
      '.azure/dev/.env',
      '.env',
      '.data/azurite/x',
      '__azurite_db_table__.json',
      'dist/functions/api-clusters.js.map',
      'dist/azure-package/host.json',
      'node_modules/.bin/tsc',
    ]) {
      expect(ignored(path), path).toBe(true);
    }
  });

  it('keeps what the host loads: host.json and package.json at the root, compiled JavaScript, dependencies', () => {
    for (const path of [
      'host.json',
      'package.json',
      'dist/functions/api-clusters.js',
      'dist/domain/controls.js',
      'node_modules/jose/package.json',
      'node_modules/@azure/functions/dist/azure-functions.js',
      'node_modules/swagger-ui-dist/swagger-ui-bundle.js',
    ]) {
      expect(ignored(path), path).toBe(false);
    }
    const pkg = readJson('package.json') as { main: string };
    expect(ignored(pkg.main.replace('*', 'x')), "package.json's main").toBe(false);
  });
});

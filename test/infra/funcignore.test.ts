import { describe, expect, it } from 'vitest';
import { readJson, readText } from './infra-files.js';

/** gitignore rules as .funcignore uses them: `#` comments, `!` negation, `/` anchoring, trailing `/` for directories, `*` globs. */
export function ignoreMatcher(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      let pattern = negate ? l.slice(1) : l;
      const dirOnly = pattern.endsWith('/');
      if (dirOnly) pattern = pattern.slice(0, -1);
      const anchored = pattern.startsWith('/') || pattern.includes('/');
      pattern = pattern.replace(/^\//, '');
      const body = pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*');
      return { negate, dirOnly, re: new RegExp(anchored ? `^${body}$` : `(?:^|/)${body}$`) };
    });
  // A path is ignored when it or one of its parent directories is; like git, a file inside an
  // excluded directory cannot be re-included, but `dir/*` + `!dir/file` works.
  const matches = (p: string, isDir: boolean): boolean | undefined => {
    let result: boolean | undefined;
    for (const r of rules) if ((!r.dirOnly || isDir) && r.re.test(p)) result = !r.negate;
    return result;
  };
  return (path: string) => {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i += 1) {
      if (matches(parts.slice(0, i).join('/'), true) === true) return true;
    }
    return matches(path, false) === true;
  };
}

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
});

describe('.funcignore', () => {
  it('keeps tests, fixtures, the local runtime, benchmarks, docs, infra and node_modules out of the package', () => {
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
      'infra/scripts/grant-caller.sh',
      'node_modules/jose/package.json',
      'dist/functions/index.js',
      'local.settings.json',
      'vitest.config.ts',
      'azure.yaml',
      '.git/HEAD',
      '.azure/dev/.env',
      '__azurite_db_table__.json',
    ]) {
      expect(ignored(path), path).toBe(true);
    }
  });

  it('ships what the remote build compiles and the host loads', () => {
    const build = readJson('tsconfig.build.json') as { include: string[] };
    const productionRoots = build.include.filter((dir) => dir !== 'local');
    expect(productionRoots).toContain('functions');
    for (const path of [
      'package.json',
      'package-lock.json',
      'host.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'infra/app-roles.json',
      ...productionRoots.map((dir) => `${dir}/some-file.ts`),
    ]) {
      expect(ignored(path), path).toBe(false);
    }
  });
});

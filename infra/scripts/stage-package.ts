/**
 * Builds the Azure Functions deployment package as a folder (azure.yaml `dist`), which azd zips and
 * deploys with remote build off. Run by the azd prepackage hook (infra/scripts/prepackage.sh) through
 * `npm run package:azure`.
 *
 * Why a staged folder instead of a remote build: the Flex Consumption remote build (Oryx) installs
 * every devDependency (Azurite, Playwright, Vite, a Node binary…) just to compile, and whatever it
 * does is only visible after a deploy. Here the package is built and checked on the deploying
 * machine, and test/build/package-registration.test.ts loads the very same folder:
 *
 * - the repository root filtered by `.funcignore` (host.json, package.json);
 * - `dist/functions/` bundled afresh with esbuild (`bundle-app.ts`) after a type check: one minified ES
 *   module per function file, shared code and everything behind a dynamic `import()` in `chunks/`, request
 *   validators compiled ahead of time. A cold instance reads a few files instead of ~2,000 modules, and
 *   only the chunks the invoked function needs (no stale files of deleted sources either); the
 *   dashboard's browser assets built by esbuild into `dist/dashboard/` (dashboard/build.ts);
 * - `node_modules/` holding only what stays external to the bundle (`EXTERNAL_PACKAGES`: packages that
 *   read their own files at run time) and their production dependencies, copied from the installed tree
 *   after checking each version against package-lock.json. They are plain JavaScript (checked below),
 *   so a package built on macOS or Windows runs on the Linux x64 workers.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDashboard } from '../../dashboard/build.js';
import { bundleApp, EXTERNAL_PACKAGES, functionEntries } from './bundle-app.js';

/** Where `npm run package:azure` stages the package; azure.yaml `services.api.dist` points here. */
export const DEFAULT_OUT = 'dist/azure-package';

/**
 * A `.funcignore` (gitignore syntax) as a predicate over forward-slash relative paths: `#` comments,
 * `!` negation, `/` anchoring, trailing `/` for directories, `*` within a segment. Like git, a path is
 * ignored when it or a parent directory is, and the last matching rule wins.
 */
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

interface LockEntry {
  readonly version?: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly dev?: boolean;
  readonly devOptional?: boolean;
  readonly optional?: boolean;
  readonly link?: boolean;
  readonly hasInstallScript?: boolean;
  readonly os?: readonly string[];
  readonly cpu?: readonly string[];
}

/** package-lock.json (v2/v3) `packages` keys (`node_modules/a`, `node_modules/a/node_modules/b`) a production install keeps. */
export function productionPackages(lock: unknown): string[] {
  const packages = (lock as { lockfileVersion?: number; packages?: Record<string, LockEntry> }).packages;
  if (packages === undefined) throw new Error('package-lock.json has no "packages" (lockfileVersion 2 or later is needed)');
  // `npm prune --omit=dev` removes exactly the entries flagged dev (or devOptional): what remains resolves.
  return Object.entries(packages)
    .filter(([key, entry]) => key.startsWith('node_modules/') && entry.dev !== true && entry.devOptional !== true)
    .map(([key]) => key)
    .sort();
}

/**
 * The package-lock.json keys of `names` and their dependencies (transitively), resolved the way Node
 * does: a nested `node_modules` next to the dependent first, then each parent folder's.
 */
export function dependencyClosure(lock: unknown, names: readonly string[]): string[] {
  const packages = (lock as { packages?: Record<string, LockEntry> }).packages ?? {};
  const found = new Set<string>();
  const resolveFrom = (from: string, name: string): string | undefined => {
    for (let base = from; ; base = base.slice(0, Math.max(0, base.lastIndexOf('/node_modules/')))) {
      const key = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
      if (packages[key] !== undefined) return key;
      if (base === '') return undefined;
    }
  };
  const visit = (key: string): void => {
    if (found.has(key)) return;
    found.add(key);
    for (const dep of Object.keys(packages[key]?.dependencies ?? {})) {
      const resolved = resolveFrom(key, dep);
      if (resolved !== undefined) visit(resolved);
    }
  };
  for (const name of names) {
    const key = resolveFrom('', name);
    if (key === undefined) throw new Error(`${name} is not in package-lock.json`);
    visit(key);
  }
  return [...found].sort();
}

/** Why a production package could not be copied from this machine to Linux x64 as is, or undefined. */
function platformProblem(key: string, entry: LockEntry, allowScripts: Readonly<Record<string, unknown>>): string | undefined {
  const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
  if (entry.link === true) return `${key} is a link (workspace or file: dependency)`;
  if (entry.optional === true || entry.os !== undefined || entry.cpu !== undefined) return `${key} is platform-specific (os/cpu/optional)`;
  // An install script could build or download platform code. Allowed only when package.json
  // `allowScripts` turns it off, so it never ran here either and the files are the published ones.
  if (entry.hasInstallScript === true && allowScripts[name] !== false) return `${key} has an install script (set "allowScripts": { "${name}": false } if it is not needed)`;
  return undefined;
}

function walkFiles(dir: string, base: string = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const full = join(dir, d.name);
    return d.isDirectory() ? walkFiles(full, base) : [relative(base, full).split(sep).join('/')];
  });
}

export interface StageOptions {
  /** Repository root (holds package.json, package-lock.json, .funcignore). */
  readonly root: string;
  /** Output folder; emptied first. Must not be the root or contain it. */
  readonly out: string;
  readonly log?: (line: string) => void;
  /** Type-check before bundling (default true; the build test skips it: `npm test` type-checks on its own). */
  readonly typecheck?: boolean;
}

export interface StageResult {
  /** Every staged file, relative to `out`, forward slashes. */
  readonly files: readonly string[];
  /** The production packages copied (package-lock.json keys). */
  readonly packages: readonly string[];
}

/** Builds the deployment package into `out`. Throws, naming the fix, when the package would not be right. */
export async function stagePackage({ root: rootIn, out: outIn, log = () => undefined, typecheck = true }: StageOptions): Promise<StageResult> {
  const root = resolve(rootIn);
  const out = resolve(root, outIn);
  if (out === root || root.startsWith(out + sep)) throw new Error(`refusing to stage into ${out}: it would delete the repository`);
  const ignored = ignoreMatcher(readFileSync(join(root, '.funcignore'), 'utf8'));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main?: string; allowScripts?: Record<string, unknown> };
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages?: Record<string, LockEntry> };

  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  // 1. Type check (esbuild only strips types), then the bundle, afresh. No source maps: the TypeScript
  //    sources are not shipped.
  if (typecheck) {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    if (!existsSync(tsc)) throw new Error('TypeScript is not installed: run `npm ci` first');
    log('type-checking with tsc -p tsconfig.build.json --noEmit');
    const checked = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--noEmit'], { cwd: root, encoding: 'utf8' });
    if (checked.status !== 0) throw new Error(`tsc failed:\n${checked.stdout}${checked.stderr}`);
  }
  log('bundling functions/*.ts with esbuild');
  await bundleApp({ root, entries: functionEntries(root), outdir: join(out, 'dist', 'functions') });
  log('building the dashboard assets with esbuild');
  buildDashboard({ root, outDir: join(out, 'dist', 'dashboard') });

  // 2. Everything else the .funcignore keeps at the top level (host.json, package.json, …).
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules' || ignored(entry.name)) continue;
    cpSync(join(root, entry.name), join(out, entry.name), {
      recursive: true,
      filter: (src) => {
        const rel = relative(root, src).split(sep).join('/');
        return rel === '' || !ignored(rel);
      },
    });
  }

  // 3. What the bundle leaves external, and its production dependencies, exactly as locked.
  const production = new Set(productionPackages(lock));
  const packages = dependencyClosure(lock, EXTERNAL_PACKAGES);
  const notProduction = packages.filter((key) => !production.has(key));
  if (notProduction.length > 0) throw new Error(`external packages that are not production dependencies: ${notProduction.join(', ')}`);
  const problems: string[] = [];
  for (const key of packages) {
    const entry = lock.packages?.[key] ?? {};
    const problem = platformProblem(key, entry, pkg.allowScripts ?? {});
    if (problem !== undefined) { problems.push(problem); continue; }
    const manifest = join(root, key, 'package.json');
    const installed = existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version : undefined;
    if (installed !== entry.version) { problems.push(`${key} is ${installed ?? 'not installed'}, package-lock.json says ${entry.version ?? '?'}: run \`npm ci\``); continue; }
    const from = join(root, key);
    cpSync(from, join(out, key), {
      recursive: true,
      // Nested node_modules are separate lock entries (copied if they are production ones); .bin holds
      // links. The .funcignore rules apply here too (no source maps or declarations).
      filter: (src) => {
        if (src === from) return true;
        if (/(?:^|[\\/])(?:node_modules|\.bin)$/.test(relative(from, src))) return false;
        return !ignored(`${key}/${relative(from, src).split(sep).join('/')}`);
      },
    });
  }
  if (problems.length > 0) throw new Error(`the production dependencies cannot be packaged:\n  - ${problems.join('\n  - ')}`);

  // 4. azd reads the ignore file of the folder it zips; without one it would apply its defaults. This
  //    folder already is the package, so the staged .funcignore excludes nothing.
  writeFileSync(
    join(out, '.funcignore'),
    '# Generated by infra/scripts/stage-package.ts: this folder is the deployment package, already filtered\n' +
      '# by the repository .funcignore. Nothing more is excluded here.\n',
  );

  // 5. What the host needs at the package root, and nothing the rules exclude.
  const files = walkFiles(out).sort();
  if (!files.includes('host.json') || !files.includes('package.json')) throw new Error('the package has no host.json or package.json at its root: check .funcignore');
  const main = pkg.main ?? '';
  const mainRe = new RegExp(`^${main.replace(/^\.\//, '').split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
  if (!files.some((f) => mainRe.test(f))) throw new Error(`no staged file matches package.json "main" (${main})`);
  const unwanted = files.filter((f) => f !== '.funcignore' && ignored(f));
  if (unwanted.length > 0) throw new Error(`staged files that .funcignore excludes: ${unwanted.slice(0, 5).join(', ')}`);
  log(`staged ${files.length} files (${packages.length} production packages) in ${relative(root, out) || out}`);
  return { files, packages };
}

// `tsx infra/scripts/stage-package.ts [out]`
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  try {
    await stagePackage({ root, out: process.argv[2] ?? DEFAULT_OUT, log: (line) => console.log(line) });
  } catch (error) {
    console.error(`stage-package: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}

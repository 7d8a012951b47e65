/**
 * Builds the dashboard's browser assets with esbuild from `dashboard/src` and the npm packages it
 * imports (`@azure/msal-browser`, ECharts' tree-shakable core): minified ES modules split per view,
 * one stylesheet, a favicon, and `manifest.json` (the entry files and the allow-list the app serves).
 * File names carry a content hash, so the app serves them as immutable.
 *
 * `dist/dashboard/` is where the app looks (`adapters/http/dashboard-page.ts`); the deployment
 * package builds it into its own `dist/` (`infra/scripts/stage-package.ts`). `npm run build:dashboard`,
 * `npm start`, `npm test` (pretest) and the tests that need it all go through {@link ensureDashboardBuilt}.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Output folder, relative to the repository (or package) root. */
export const DASHBOARD_OUT = join('dist', 'dashboard');

export interface DashboardManifest {
  /** Hash of the sources the build was made from (a rebuild is skipped when it matches). */
  readonly sourceHash: string;
  readonly script: string;
  readonly style: string;
  /** Chunks the overview needs at once (preloaded by the page). */
  readonly preload: readonly string[];
  /** Every servable file name → content type. */
  readonly files: Readonly<Record<string, string>>;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
}

/**
 * Hash of everything the bundle is made from: the dashboard sources, the domain modules they import,
 * this script and the locked package versions.
 */
export function dashboardSourceHash(root: string = REPO_ROOT): string {
  const hash = createHash('sha256');
  const files = [...walk(join(root, 'dashboard', 'src')), ...walk(join(root, 'domain')), join(root, 'dashboard', 'build.ts'), join(root, 'package-lock.json')].sort();
  for (const f of files) hash.update(relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
  return hash.digest('base64url').slice(0, 32);
}

export function readDashboardManifest(outDir: string): DashboardManifest | undefined {
  try {
    return JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as DashboardManifest;
  } catch {
    return undefined;
  }
}

export interface BuildOptions {
  readonly root?: string;
  /** Default `<root>/dist/dashboard`. */
  readonly outDir?: string;
  readonly minify?: boolean;
}

/** Builds the bundle into `outDir` (replaced as a whole); returns its manifest. */
export function buildDashboard(options: BuildOptions = {}): DashboardManifest {
  const root = options.root ?? REPO_ROOT;
  const outDir = resolve(root, options.outDir ?? DASHBOARD_OUT);
  const staging = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const sourceHash = dashboardSourceHash(root);
    const result = buildSync({
      absWorkingDir: root,
      entryPoints: [join(root, 'dashboard', 'src', 'main.ts')],
      outdir: staging,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'browser',
      target: ['chrome120', 'firefox120', 'safari16'],
      minify: options.minify ?? true,
      sourcemap: false,
      metafile: true,
      legalComments: 'none',
      entryNames: '[name]-[hash]',
      chunkNames: 'chunk-[hash]',
      assetNames: '[name]-[hash]',
      define: { 'process.env.NODE_ENV': '"production"' },
      tsconfig: join(root, 'dashboard', 'tsconfig.json'),
      logLevel: 'silent',
    });
    copyFileSync(join(root, 'dashboard', 'static', 'favicon.svg'), join(staging, 'favicon.svg'));
    const outputs = Object.entries(result.metafile.outputs);
    const entry = outputs.find(([, o]) => o.entryPoint !== undefined && o.entryPoint.endsWith('main.ts'));
    if (entry === undefined) throw new Error('esbuild produced no entry script');
    const name = (p: string): string => relative(staging, resolve(root, p)).split(sep).join('/');
    const script = name(entry[0]);
    const style = entry[1].cssBundle !== undefined ? name(entry[1].cssBundle) : '';
    if (style === '') throw new Error('esbuild produced no stylesheet (main.ts imports styles.css)');
    const preload = entry[1].imports.filter((i) => i.kind === 'import-statement').map((i) => name(i.path));
    const files: Record<string, string> = {};
    for (const file of walk(staging)) {
      const rel = relative(staging, file).split(sep).join('/');
      const type = CONTENT_TYPES[rel.slice(rel.lastIndexOf('.'))];
      if (type !== undefined && !rel.includes('/')) files[rel] = type;
    }
    const manifest: DashboardManifest = { sourceHash, script, style, preload, files };
    writeFileSync(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(dirname(outDir), { recursive: true });
    renameSync(staging, outDir);
    return manifest;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Builds unless `outDir` already holds a build of the current sources. */
export function ensureDashboardBuilt(options: BuildOptions = {}): DashboardManifest {
  const root = options.root ?? REPO_ROOT;
  const outDir = resolve(root, options.outDir ?? DASHBOARD_OUT);
  const existing = readDashboardManifest(outDir);
  if (existing !== undefined && existing.sourceHash === dashboardSourceHash(root) && Object.keys(existing.files).every((f) => existsSync(join(outDir, f)))) return existing;
  return buildDashboard(options);
}

// `tsx dashboard/build.ts [--force]`
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const manifest = process.argv.includes('--force') ? buildDashboard() : ensureDashboardBuilt();
  console.log(`dashboard: ${Object.keys(manifest.files).length} files in ${DASHBOARD_OUT} (${Date.now() - started} ms)`);
}

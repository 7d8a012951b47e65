/**
 * Builds a Functions app as bundled, minified ES modules with esbuild: ONE entry file
 * (`dist/functions/app.js`, what package.json `main` globs) that imports every function file in the
 * order the worker would load them, and in `chunks/` whatever sits behind a dynamic `import()` (the
 * composition root, the ARM SDKs, the webhook stack) plus code those chunks share. The worker loads
 * all entry files at start anyway, so one file instead of one per function saves the module loader a
 * resolve, read and link per file; what a function needs only when invoked is read and compiled at
 * its first invocation, not when the host loads the app.
 *
 * `@azure/functions-core` stays a `require` at run time: the worker (and the local runtime) answers it.
 * Packages that read their own files at run time stay external and are shipped in `node_modules`.
 */
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';
import { AOT_MODULE_PREFIX, generateValidatorModules, RECORD_VALIDATOR_DIR, type ValidatorModules } from './validators-aot.js';

/** Packages loaded from `node_modules` at run time instead of bundled (they read their own files). */
export const EXTERNAL_PACKAGES: readonly string[] = ['swagger-ui-dist'];

/**
 * CommonJS code bundled into an ES module still calls `require` (Node built-ins, `@azure/functions-core`)
 * and reads `__dirname`; the banner gives every output file the module-relative versions of both.
 */
const BANNER = [
  "import{createRequire as __arcCreateRequire}from'node:module';",
  "import{fileURLToPath as __arcFileURLToPath}from'node:url';",
  "import{dirname as __arcDirname}from'node:path';",
  'const require=__arcCreateRequire(import.meta.url);',
  'const __filename=__arcFileURLToPath(import.meta.url);',
  'const __dirname=__arcDirname(__filename);',
].join('');

export interface BundleOptions {
  /** Root the entry files are resolved from (the repository). */
  readonly root: string;
  /** Function files relative to `root`, e.g. every `functions/*.ts`, in load order. */
  readonly entries: readonly string[];
  /** Output folder of the entry file (`<package>/dist/functions`). */
  readonly outdir: string;
  readonly minify?: boolean;
}

export interface BundleResult {
  /** Output files relative to `outdir`, forward slashes. */
  readonly files: readonly string[];
  readonly metafile: Metafile;
}

/** The one entry file, in `outdir`. */
export const ENTRY_FILE = 'app.js';

/** Every `functions/*.ts` of `root`, sorted (the order the worker loads `dist/functions/*.js` of a tsc build). */
export function functionEntries(root: string, folder = 'functions'): string[] {
  return readdirSync(join(root, folder))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => `${folder}/${f}`);
}

/**
 * Replaces the run-time validator compilers (requests: `adapters/http/validator-compiler.ts`, stored
 * records: `adapters/storage/records/record-validator.ts`) with validators generated now.
 */
function aheadOfTimeValidators(generated: () => Promise<ValidatorModules>): Plugin {
  const here = dirname(fileURLToPath(import.meta.url));
  const httpDir = resolve(here, '..', '..', 'adapters', 'http');
  const recordsDir = resolve(here, '..', '..', 'adapters', 'storage', 'records');
  const replaced: readonly { readonly filter: RegExp; readonly dir: string; readonly id: string }[] = [
    { filter: /[\\/]validator-compiler\.js$/, dir: httpDir, id: 'index' },
    { filter: /[\\/]operation-route-table\.js$/, dir: httpDir, id: 'routes' },
    { filter: /[\\/]record-validator\.js$/, dir: recordsDir, id: 'records' },
  ];
  return {
    name: 'ahead-of-time-validators',
    setup(b) {
      for (const { filter, dir, id } of replaced) {
        b.onResolve({ filter }, (args) => (resolve(args.resolveDir) === dir ? { path: id, namespace: 'aot-validators' } : undefined));
      }
      b.onResolve({ filter: new RegExp(`^${AOT_MODULE_PREFIX}`) }, (args) => ({ path: args.path.slice(AOT_MODULE_PREFIX.length), namespace: 'aot-validators' }));
      b.onLoad({ filter: /.*/, namespace: 'aot-validators' }, async (args) => {
        const contents = (await generated()).modules.get(args.path);
        if (contents === undefined) throw new Error(`no generated validator module ${args.path}`);
        // The standalone code requires ajv's run-time helpers and ajv-formats' formats from node_modules;
        // the record validators import the schema key from beside the module they replace.
        return { contents, loader: 'js', resolveDir: args.path === 'records' ? recordsDir : httpDir };
      });
    },
  };
}

/**
 * The stored-record validators, one CommonJS file each beside the chunks, with ajv's few run-time
 * helpers bundled in (the package ships no `ajv`).
 */
async function writeRecordValidators(generated: ValidatorModules, outdir: string, minify: boolean): Promise<string[]> {
  const recordsDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'adapters', 'storage', 'records');
  const written: string[] = [];
  for (const [file, contents] of generated.recordFiles) {
    const result = await build({
      stdin: { contents, resolveDir: recordsDir, loader: 'js', sourcefile: file },
      outfile: join(outdir, RECORD_VALIDATOR_DIR, file),
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node22',
      minify,
      legalComments: 'none',
      logLevel: 'silent',
    });
    if (result.errors.length > 0) throw new Error(result.errors.map((e) => e.text).join('\n'));
    written.push(`${RECORD_VALIDATOR_DIR}/${file}`);
  }
  return written;
}

/** The entry module: imports every function file, in order (each registers its functions when evaluated). */
function entryModule(root: string, entries: readonly string[]): Plugin {
  return {
    name: 'one-entry',
    setup(b) {
      b.onResolve({ filter: /^arc-entry$/ }, () => ({ path: 'app', namespace: 'arc-entry' }));
      b.onLoad({ filter: /.*/, namespace: 'arc-entry' }, () => ({
        contents: entries.map((e) => `import ${JSON.stringify(`./${e.split('\\').join('/')}`)};`).join('\n'),
        loader: 'js',
        resolveDir: root,
      }));
    },
  };
}

export async function bundleApp({ root, entries, outdir, minify = true }: BundleOptions): Promise<BundleResult> {
  let modules: Promise<ValidatorModules> | undefined;
  const generated = (): Promise<ValidatorModules> => (modules ??= generateValidatorModules());
  const result = await build({
    absWorkingDir: root,
    entryPoints: [{ in: 'arc-entry', out: ENTRY_FILE.replace(/\.js$/, '') }],
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    minify,
    // Stack traces keep readable names for operators reading logs.
    keepNames: true,
    legalComments: 'none',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.js' },
    // `module` first: the ES builds of the Azure SDKs (tree-shaken, no CommonJS wrappers).
    mainFields: ['module', 'main'],
    conditions: ['import', 'node'],
    external: ['@azure/functions-core', ...EXTERNAL_PACKAGES],
    banner: { js: BANNER },
    metafile: true,
    logLevel: 'silent',
    plugins: [entryModule(root, entries), aheadOfTimeValidators(generated)],
  });
  if (result.errors.length > 0) throw new Error(result.errors.map((e) => e.text).join('\n'));
  // An app that uses no validators (a hello-world) gets no record validator files.
  const records = modules === undefined ? [] : await writeRecordValidators(await modules, outdir, minify);
  const files = [...Object.keys(result.metafile.outputs).map((f) => relative(resolve(outdir), resolve(root, f)).split('\\').join('/')), ...records].sort();
  return { files, metafile: result.metafile };
}

// `tsx infra/scripts/bundle-app.ts [outdir]` (`npm run build`): the bundle into dist/functions, afresh.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const outdir = resolve(root, process.argv[2] ?? 'dist/functions');
  rmSync(outdir, { recursive: true, force: true });
  const { files } = await bundleApp({ root, entries: functionEntries(root), outdir });
  console.log(`bundled ${files.length} files into ${relative(root, outdir)}`);
}

/**
 * Child-process helper for package-registration.test.ts: loads a BUILT package's `main` (plain
 * JavaScript, imported by Node's own loader) through the local runtime's registration capture and
 * prints what the Functions host would index, as JSON. The package is the repository root by default,
 * or the folder given as the first argument (the staged deployment package); `--sources` loads the
 * unbundled app instead (every `functions/*.ts` of the repository, under tsx).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { captureRegistrations } from '../../local/functions-runtime/index.js';

// Stdout carries the JSON only: what the app or the runtime logs while loading (e.g. the worker's
// "Setting Node.js programming model …" line) goes to stderr.
console.log = console.info = (...args: unknown[]) => console.error(...args);

const sources = process.argv[2] === '--sources';
const appRoot = resolve(sources ? '.' : (process.argv[2] ?? '.'));
const main = sources ? 'functions/*.ts' : (JSON.parse(readFileSync(join(appRoot, 'package.json'), 'utf8')) as { main: string }).main;
const registrations = await captureRegistrations(main, appRoot);
process.stdout.write(
  JSON.stringify(
    registrations.map((r) => ({ name: r.name, entry: r.entry, bindings: r.bindings })),
  ),
);

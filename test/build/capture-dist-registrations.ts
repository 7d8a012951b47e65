/**
 * Child-process helper for package-registration.test.ts: loads the BUILT package's `main` (plain
 * JavaScript from `npm run build`, imported by Node's own loader) through the local runtime's
 * registration capture and prints what the Functions host would index, as JSON.
 */
import { readFileSync } from 'node:fs';
import { captureRegistrations } from '../../local/functions-runtime/index.js';

const main = (JSON.parse(readFileSync('package.json', 'utf8')) as { main: string }).main;
const registrations = await captureRegistrations(main);
process.stdout.write(
  JSON.stringify(
    registrations.map((r) => ({ name: r.name, entry: r.entry, bindings: r.bindings })),
  ),
);

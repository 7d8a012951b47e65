/**
 * The import boundaries in eslint.config.js, proven through ESLint's Node API: for each layer a forbidden
 * import fails the lint with the boundary's message, and an allowed one passes. Files are linted as text
 * with a path inside the layer, so the rules that pick a layer by path apply exactly as in `npm run lint`.
 * Type-aware rules are switched off here: they need a program, the boundaries do not, and building one
 * per snippet would cost seconds for nothing this test checks.
 */
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd(), overrideConfig: [tseslint.configs.disableTypeChecked] });

async function boundaryMessages(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  if (result === undefined) throw new Error(`ESLint returned no result for ${filePath}`);
  const fatal = result.messages.filter((m) => m.fatal === true);
  expect(fatal, `parse errors in the snippet for ${filePath}`).toEqual([]);
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

/** `[file inside the layer, import that must fail, expected message fragment]`. */
const FORBIDDEN: ReadonlyArray<readonly [string, string, string]> = [
  ['domain/probe.ts', "import { x } from '../application/ports.js';", 'domain/ is pure'],
  ['domain/probe.ts', "import { x } from '../adapters/storage/table-keys.js';", 'domain/ is pure'],
  ['domain/probe.ts', "import { x } from '../openapi/document.js';", 'domain/ is pure'],
  ['domain/probe.ts', "import { readFile } from 'node:fs/promises';", 'no SDKs and no I/O'],
  ['domain/probe.ts', "import { TableClient } from '@azure/data-tables';", 'no SDKs and no I/O'],
  ['application/probe.ts', "import { x } from '../adapters/storage/table-keys.js';", 'application/ depends on ports'],
  ['application/probe.ts', "import { x } from '../bootstrap/composition-root.js';", 'application/ depends on ports'],
  ['application/probe.ts', "import { x } from '../functions/api-service.js';", 'application/ depends on ports'],
  ['application/probe.ts', "import { x } from '../local/arm-emulator/server.js';", 'application/ depends on ports'],
  ['application/sub/probe.ts', "import { x } from '../../adapters/http/operation.js';", 'application/ depends on ports'],
  ['functions/probe.ts', "import { x } from '../application/evaluation-service.js';", 'Triggers import only'],
  ['functions/probe.ts', "import { x } from '../adapters/storage/table-keys.js';", 'Triggers import only'],
  ['functions/probe.ts', "import { x } from '../adapters/webhooks/servicenow-client.js';", 'Triggers import only'],
  ['functions/probe.ts', "import { x } from '../domain/errors.js';", 'Triggers import only'],
  ['functions/probe.ts', "import { x } from '../openapi/document.js';", 'Triggers import only'],
  ['functions/probe.ts', "import { x } from '@azure/data-tables';", 'Triggers import only'],
  ['functions/probe.ts', "import { x } from '../local/functions-runtime/host.js';", 'Triggers import only'],
  ['functions/probe.ts', "export { x } from '../application/evaluation-service.js';", 'Triggers import only'],
  ['adapters/storage/probe.ts', "import { x } from '../../local/arm-emulator/server.js';", 'never imports the local platform'],
  ['adapters/http/probe.ts', "import { x } from '../../test/support/in-memory-ports.js';", 'never imports the local platform'],
  ['bootstrap/probe.ts', "import { x } from '../bench/evaluation.bench.js';", 'never imports the local platform'],
  ['config/probe.ts', "import { x } from '../local/start.js';", 'never imports the local platform'],
  ['openapi/probe.ts', "import { x } from '../test/support/api-harness.js';", 'never imports the local platform'],
];

const ALLOWED: ReadonlyArray<readonly [string, string]> = [
  ['domain/probe.ts', "import { x } from './errors.js';"],
  ['domain/sub/probe.ts', "import { x } from '../errors.js';"],
  ['domain/probe.ts', "import { createHash } from 'node:crypto';"],
  ['application/probe.ts', "import { x } from '../domain/errors.js';"],
  ['application/probe.ts', "import { x } from './ports.js';"],
  ['functions/probe.ts', "import { app } from '@azure/functions';"],
  ['functions/probe.ts', "import { x } from '../bootstrap/composition-root.js';"],
  ['functions/probe.ts', "import { x } from '../adapters/http/operation.js';"],
  ['functions/probe.ts', "import { x } from '../adapters/functions/queue-trigger.js';"],
  ['functions/probe.ts', "import { x } from '../application/messages.js';"],
  ['functions/probe.ts', "import './app-start.js';"],
  // Types vanish at run time: a trigger may name a domain type in a signature without depending on its code.
  ['functions/probe.ts', "import type { X } from '../domain/errors.js';"],
  ['adapters/storage/probe.ts', "import { x } from '../../application/ports.js';"],
  ['bootstrap/probe.ts', "import { x } from '../adapters/storage/table-keys.js';"],
  // The local platform and tests may import production code (that is what they exist for).
  ['local/probe.ts', "import { x } from '../bootstrap/composition-root.js';"],
  ['test/probe.ts', "import { x } from '../local/arm-emulator/server.js';"],
];

describe('import boundaries (eslint.config.js)', () => {
  it.each(FORBIDDEN)('%s: %s fails the lint', async (file, code, message) => {
    const messages = await boundaryMessages(file, `${code}\nexport const used = typeof x;\n`);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(message);
  });

  it.each(ALLOWED)('%s: %s passes', async (file, code) => {
    expect(await boundaryMessages(file, `${code}\n`)).toEqual([]);
  });
});

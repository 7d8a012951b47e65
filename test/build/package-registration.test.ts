import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../../application/messages.js';
import { document as openApiDocument } from '../../openapi/document.js';

interface CapturedBinding {
  readonly type: string;
  readonly direction: string;
  readonly queueName?: string;
  readonly schedule?: string;
  readonly route?: string;
  readonly methods?: readonly string[];
}
interface Captured {
  readonly name: string;
  readonly entry: string;
  readonly bindings: Readonly<Record<string, CapturedBinding>>;
}

const npmEnv = { ...process.env, npm_config_update_notifier: 'false' };

/** Operation ids of the OpenAPI document: every one is an HTTP function. */
function documentedOperationIds(): string[] {
  const ids: string[] = [];
  for (const item of Object.values(openApiDocument.paths ?? {})) {
    for (const op of Object.values(item ?? {})) {
      if (op !== null && typeof op === 'object' && 'operationId' in op && typeof op.operationId === 'string') ids.push(op.operationId);
    }
  }
  return ids;
}

/** Non-HTTP functions, read from the sources: `app.timer('name'` / `app.storageQueue('name'`. */
function sourceTriggerFunctions(): string[] {
  const names: string[] = [];
  for (const file of readdirSync('functions').filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(`functions/${file}`, 'utf8');
    for (const m of text.matchAll(/app\.(?:timer|storageQueue)\(\s*'([\w-]+)'/g)) if (m[1]) names.push(m[1]);
  }
  return names;
}

describe('the deployment package (npm run build)', () => {
  let captured: Captured[];

  beforeAll(() => {
    execFileSync('npm', ['run', '-s', 'build'], { env: npmEnv, stdio: 'pipe' });
    const out = execFileSync('npx', ['tsx', 'test/build/capture-dist-registrations.ts'], { env: npmEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    captured = JSON.parse(out) as Captured[];
  }, 240_000);

  it("registers every function from package.json's main, from compiled JavaScript", () => {
    const expected = [...documentedOperationIds(), ...sourceTriggerFunctions()].sort();
    expect(captured.map((c) => c.name).sort()).toEqual(expected);
    for (const c of captured) expect(c.entry).toMatch(/[/\\]dist[/\\]functions[/\\][\w-]+\.js$/);
  });

  it('binds queue triggers to the queues the app sends to, and the timer to its app setting', () => {
    const queueNames = captured.flatMap((c) => Object.values(c.bindings)).filter((b) => b.type === 'queueTrigger').map((b) => b.queueName);
    for (const q of [QUEUES.collectSubscription, QUEUES.finalizeRun]) expect(queueNames).toContain(q);
    const timer = captured.find((c) => c.name === 'evaluationTimer');
    expect(Object.values(timer?.bindings ?? {}).find((b) => b.type === 'timerTrigger')?.schedule).toBe('%EVALUATION_SCHEDULE%');
  });

  it('serves HTTP functions anonymously at the host, because the app verifies Entra ID tokens itself', () => {
    const http = captured.flatMap((c) => Object.values(c.bindings)).filter((b) => b.type === 'httpTrigger');
    expect(http.length).toBe(documentedOperationIds().length);
    for (const b of http) expect((b as { authLevel?: string }).authLevel).toBe('anonymous');
  });
});

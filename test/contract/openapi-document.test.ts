import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { registeredOperations } from '../../adapters/http/azure-functions.js';
import { listDocumentedOperations } from '../../adapters/http/validation.js';
import { document } from '../../openapi/document.js';
import { loadApiOperations } from '../support/api-harness.js';

const run = promisify(execFile);

describe('OpenAPI document', () => {
  it('passes `redocly lint` with zero errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      await writeFile(file, JSON.stringify(document, null, 2));
      const result = await run('npx', ['--no-install', 'redocly', 'lint', file, '--format', 'json'], { cwd: process.cwd(), maxBuffer: 16 * 1024 * 1024 }).catch(
        (err: { stdout?: string; stderr?: string; code?: number }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? '', failed: err.code }),
      );
      const report = JSON.parse(result.stdout) as { totals: { errors: number }; problems: { severity: string; message: string; ruleId: string }[] };
      const errors = report.problems.filter((p) => p.severity === 'error');
      expect(errors, JSON.stringify(errors, null, 2)).toEqual([]);
      expect(report.totals.errors).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('every registered function has exactly one documented operation with the same method and route, and vice versa', async () => {
    const exported = await loadApiOperations();
    const registered = registeredOperations();
    expect(registered.map((o) => o.operationId).sort()).toEqual(exported.map((o) => o.operationId).sort());
    const documented = listDocumentedOperations();
    expect(registered.map((o) => `${o.method} ${o.path}`).sort()).toEqual(documented.map((o) => `${o.method} ${o.path}`).sort());
    for (const op of registered) {
      expect(`/api/${op.route}`).toBe(op.path);
      expect(op.spec.operationId).toBe(op.operationId);
    }
  });

  it('declares a role on every /api/v1 operation (or a signature scheme for inbound webhooks) and leaves only service endpoints anonymous', () => {
    for (const op of listDocumentedOperations()) {
      const signed = (op.operation as { 'x-signature-auth'?: string })['x-signature-auth'] === 'standard-webhooks';
      if (signed) {
        // Inbound ServiceNow change events authenticate with a Standard Webhooks signature, not a bearer token.
        expect(op.path, op.operationId).toBe('/api/v1/integrations/servicenow/change-events');
        for (const h of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
          expect(op.operation.parameters?.some((p) => 'name' in p && p.name === h && p.required === true), `${op.operationId} ${h}`).toBe(true);
        }
        expect(op.operation.responses?.['401'], op.operationId).toBeDefined();
      } else if (op.path.startsWith('/api/v1/')) {
        expect(op.anonymous, op.operationId).toBe(false);
        expect(op.requiredRole, op.operationId).toMatch(/^[A-Z][a-z]+\.[A-Z][a-z]+$/);
        expect(op.operation.security).toEqual([{ bearerAuth: [op.requiredRole] }]);
      } else {
        expect(op.anonymous, op.operationId).toBe(true);
      }
    }
  });

  it('documents the error shape, 401, 403, 502, 503 and x-request-id for every secured operation', () => {
    for (const op of listDocumentedOperations().filter((o) => !o.anonymous)) {
      for (const status of ['400', '401', '403', '500', '502', '503']) expect(op.operation.responses?.[status], `${op.operationId} ${status}`).toBeDefined();
    }
  });

  it('gives every operation the error shape as `default` (404/405 for unserved paths and methods), and 413 on every write', () => {
    for (const op of listDocumentedOperations()) {
      expect(op.operation.responses?.['default'], op.operationId).toEqual({ $ref: '#/components/responses/ErrorResponse' });
      if (op.method !== 'GET') expect(op.operation.responses?.['413'], op.operationId).toEqual({ $ref: '#/components/responses/PayloadTooLarge' });
    }
    const fallback = document.components?.responses?.['ErrorResponse'];
    expect(fallback !== undefined && 'content' in fallback ? fallback.content?.['application/json']?.schema : undefined).toEqual({ $ref: '#/components/schemas/Error' });
    expect(fallback !== undefined && 'headers' in fallback ? Object.keys(fallback.headers ?? {}) : []).toEqual(expect.arrayContaining(['x-request-id', 'Allow']));
  });
});

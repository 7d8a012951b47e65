import { describe, expect, it } from 'vitest';
import { listDocumentedOperations } from '../../../adapters/http/validation.js';
import { document } from '../../../openapi/document.js';
import { WEBHOOK_OPERATION_IDS, webhookPaths, webhookSchemas } from '../../../openapi/webhook-paths.js';

describe('webhook OpenAPI paths', () => {
  it('declare every operation, Webhooks.Manage on the managed ones and signature auth on change events', () => {
    const merged = { ...document, paths: { ...document.paths, ...(webhookPaths as unknown as typeof document.paths) }, components: { ...document.components, schemas: { ...document.components?.schemas, ...webhookSchemas } } };
    const ops = listDocumentedOperations(merged).filter((o) => (WEBHOOK_OPERATION_IDS as readonly string[]).includes(o.operationId));
    expect(ops.map((o) => o.operationId).sort()).toEqual([...WEBHOOK_OPERATION_IDS].sort());
    for (const o of ops) {
      if (o.operationId === 'receiveServiceNowChangeEvent') expect(o).toMatchObject({ anonymous: true, requiredRole: undefined, method: 'POST' });
      else expect(o).toMatchObject({ anonymous: false, requiredRole: 'Webhooks.Manage' });
    }
    const refs = JSON.stringify(webhookPaths).match(/#\/components\/schemas\/(\w+)/g) ?? [];
    for (const r of refs) expect(merged.components.schemas).toHaveProperty(r.split('/').pop()!);
  });
});

/** The rollout OpenAPI module merges into the document and its schemas compile strictly; step messages parse. */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { listDocumentedOperations } from '../../../adapters/http/validation.js';
import { parseRolloutStepMessage } from '../../../application/messages.js';
import { document, type ApiDocument } from '../../../openapi/document.js';
import { conflictResponse, rolloutPaths, rolloutSchemas } from '../../../openapi/rollout-paths.js';

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

function merged(): ApiDocument {
  return {
    ...document,
    paths: { ...document.paths, ...rolloutPaths },
    components: {
      ...document.components,
      responses: { ...document.components?.responses, Conflict: conflictResponse },
      schemas: { ...document.components?.schemas, ...rolloutSchemas },
    },
  };
}

describe('rollout OpenAPI paths', () => {
  it('declares the operations with their roles once merged', () => {
    const ops = listDocumentedOperations(merged()).filter((o) => o.path.startsWith('/api/v1/rollouts'));
    expect(ops.map((o) => [o.operationId, o.method, o.requiredRole]).sort()).toEqual(
      [
        ['approveRolloutWave', 'POST', 'Enforcement.Approve'],
        ['controlRollout', 'POST', 'Enforcement.Manage'],
        ['createRollout', 'POST', 'Enforcement.Manage'],
        ['getRollout', 'GET', 'Compliance.Read'],
        ['listRollouts', 'GET', 'Compliance.Read'],
      ].sort(),
    );
    // Every $ref resolves.
    const doc = merged();
    const refs = JSON.stringify(rolloutPaths).match(/#\/components\/(\w+)\/(\w+)/g) ?? [];
    for (const r of refs) {
      const [, kind, name] = r.split('/').slice(1);
      expect((doc.components as Record<string, Record<string, unknown>>)[kind!]?.[name!], r).toBeDefined();
    }
  });

  it('compiles strictly and validates the documented example request', () => {
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
    addFormats(ajv);
    const defs = JSON.parse(JSON.stringify({ ...document.components?.schemas, ...rolloutSchemas }).replace(/#\/components\/schemas\//g, 'https://x/c#/$defs/'));
    ajv.addSchema({ $id: 'https://x/c', $defs: defs });
    const validate = ajv.getSchema('https://x/c#/$defs/NewRollout')!;
    expect(validate((rolloutSchemas['NewRollout']!.examples as unknown[])[0])).toBe(true);
    expect(validate({ policyAssignmentId: 'x', waves: [] })).toBe(false);
    expect(validate({ policyAssignmentId: '/subscriptions/s/providers/Microsoft.Authorization/policyAssignments/a', waves: [{ name: 'w', locations: ['x'] }], extra: 1 })).toBe(false);
  });
});

describe('parseRolloutStepMessage', () => {
  it('accepts a step message (JSON text or object) and rejects malformed ones as poison', () => {
    const m = { kind: 'rollout-step', rolloutId: 'ro-1', wave: 0, step: 'gate', attempt: 0 };
    expect(parseRolloutStepMessage(JSON.stringify(m))).toEqual(m);
    expect(() => parseRolloutStepMessage({ ...m, step: 'jump' })).toThrow(TypeError);
    expect(() => parseRolloutStepMessage({ ...m, wave: -1 })).toThrow(TypeError);
    expect(() => parseRolloutStepMessage({ ...m, rolloutId: '../x' })).toThrow(TypeError);
    expect(() => parseRolloutStepMessage('nope')).toThrow(TypeError);
  });
});

import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../../domain/errors.js';
import { findActiveException, isActive, resourceGroupId, validateNewException, type NewExceptionInput } from '../../../domain/exceptions.js';
import { exception } from './builders.js';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const CLUSTER = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-prod/providers/Microsoft.Kubernetes/connectedClusters/c1';
const RG = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-prod';

const valid: NewExceptionInput = {
  controlId: 'ARC-AC-01',
  scope: CLUSTER,
  justification: '  vendor appliance  ',
  ticket: ' SEC-42 ',
  expiresAt: '2026-06-01T00:00:00+02:00',
};

function invalid(overrides: Partial<NewExceptionInput>): InvalidRequestError {
  try {
    validateNewException({ ...valid, ...overrides }, NOW);
  } catch (e) {
    if (e instanceof InvalidRequestError) return e;
    throw e;
  }
  throw new Error('expected InvalidRequestError');
}

describe('validateNewException', () => {
  it('normalises a valid request: catalog id, lower-cased scope, trimmed text, ISO expiry', () => {
    expect(validateNewException({ ...valid, controlId: 'arc-ac-01' }, NOW)).toEqual({
      controlId: 'ARC-AC-01',
      scope: CLUSTER.toLowerCase(),
      scopeKind: 'cluster',
      justification: 'vendor appliance',
      ticket: 'SEC-42',
      expiresAt: '2026-05-31T22:00:00.000Z',
    });
  });
  it('accepts a resource group scope', () => {
    expect(validateNewException({ ...valid, scope: `${RG}/` }, NOW)).toMatchObject({ scope: RG.toLowerCase(), scopeKind: 'resourceGroup' });
  });
  it('requires expiresAt', () => {
    const e = invalid({ expiresAt: undefined });
    expect(e.code).toBe('InvalidRequest');
    expect(e.target).toBe('expiresAt');
  });
  it('rejects an expiry in the past or now', () => {
    expect(invalid({ expiresAt: '2026-03-10T12:00:00Z' }).target).toBe('expiresAt');
    expect(invalid({ expiresAt: '2025-01-01T00:00:00Z' }).target).toBe('expiresAt');
  });
  it('accepts exactly one year ahead and rejects one millisecond more', () => {
    expect(validateNewException({ ...valid, expiresAt: '2027-03-10T12:00:00.000Z' }, NOW).expiresAt).toBe('2027-03-10T12:00:00.000Z');
    expect(invalid({ expiresAt: '2027-03-10T12:00:00.001Z' }).target).toBe('expiresAt');
  });
  it('rejects dates without a time zone or unparseable ones', () => {
    for (const expiresAt of ['2026-06-01', '2026-06-01T00:00:00', 'next week', '2026-13-45T00:00:00Z']) {
      expect(invalid({ expiresAt }).target).toBe('expiresAt');
    }
  });
  it('rejects unknown controls', () => {
    expect(invalid({ controlId: 'ARC-XX-99' }).target).toBe('controlId');
  });
  it('rejects scopes that are neither a connected cluster nor a resource group', () => {
    for (const scope of [
      '/subscriptions/00000000-0000-0000-0000-000000000001',
      '/subscriptions/not-a-guid/resourceGroups/rg',
      `${RG}/providers/Microsoft.Compute/virtualMachines/vm1`,
      `${CLUSTER}/extensions/x`,
      'rg-prod',
      '',
    ]) {
      expect(invalid({ scope }).target, scope).toBe('scope');
    }
  });
  it('requires non-blank justification and ticket, bounded in length', () => {
    expect(invalid({ justification: '   ' }).target).toBe('justification');
    expect(invalid({ ticket: '' }).target).toBe('ticket');
    expect(invalid({ justification: 'x'.repeat(2001) }).target).toBe('justification');
    expect(invalid({ ticket: 'x'.repeat(201) }).target).toBe('ticket');
  });
  it('reports every problem in details, the first as target', () => {
    const e = invalid({ controlId: 'nope', ticket: '', expiresAt: undefined });
    expect(e.target).toBe('controlId');
    expect(e.details?.map((d) => d.target)).toEqual(['controlId', 'ticket', 'expiresAt']);
  });
});

describe('isActive / findActiveException', () => {
  it('an exception is active strictly before expiresAt', () => {
    expect(isActive({ expiresAt: '2026-03-10T12:00:00.001Z' }, NOW)).toBe(true);
    expect(isActive({ expiresAt: '2026-03-10T12:00:00.000Z' }, NOW)).toBe(false);
    expect(isActive({ expiresAt: 'garbage' }, NOW)).toBe(false);
  });
  it('builds lower-case resource group ids', () => {
    expect(resourceGroupId('ABC', 'RG-Prod')).toBe('/subscriptions/abc/resourcegroups/rg-prod');
  });
  it('matches by control (case-insensitive), scope and activity', () => {
    const scopes = { clusterId: CLUSTER, resourceGroupId: RG.toLowerCase() };
    const at = new Date('2026-03-10T00:00:00Z');
    const ex = exception({ controlId: 'arc-ac-01', scope: CLUSTER });
    expect(findActiveException([ex], 'ARC-AC-01', scopes, at)?.id).toBe('ex-1');
    expect(findActiveException([ex], 'ARC-AC-02', scopes, at)).toBeUndefined();
    expect(findActiveException([ex], 'ARC-AC-01', scopes, new Date('2026-05-01T00:00:00Z'))).toBeUndefined();
  });
});

/** The stored shapes of the rollouts table: what the codecs accept and refuse, without storage. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rolloutCodec, rolloutEventCodec, rolloutLockCodec } from '../../../adapters/storage/records/rollout-records.js';
import type { Rollout } from '../../../domain/rollout-model.js';

const frozen = JSON.parse(readFileSync(new URL('../../fixtures/stored-records/rollout/v1.json', import.meta.url), 'utf8')) as { read: { get: Rollout } };
const rollout = frozen.read.get;
const entity = (r: unknown): Record<string, unknown> => ({ partitionKey: 'ro-1', rowKey: 'rollout', ...rolloutCodec.encode(r as Rollout) });

describe('rollout record codec', () => {
  it('reads back what it writes', () => {
    expect(rolloutCodec.decode(entity(rollout))).toEqual({ ok: true, value: rollout });
  });

  it('reads a snapshot whose optional properties ARM answered as null (kept as ARM had them)', () => {
    const snapshot = { ...rollout.snapshot, description: null, displayName: null, parameters: { effect: null }, notScopes: null };
    const result = rolloutCodec.decode(entity({ ...rollout, snapshot }));
    expect(result.ok, JSON.stringify(result)).toBe(true);
  });

  it('refuses an unknown wave state, a missing event count and a body that is not JSON, naming the path', () => {
    const waves = [{ ...rollout.waves[0], state: 'exploding' }];
    expect(rolloutCodec.decode(entity({ ...rollout, waves }))).toMatchObject({ ok: false, reasons: ['/waves/0/state must be equal to one of the allowed values'] });
    const { eventCount: _eventCount, ...noCount } = rollout;
    expect(rolloutCodec.decode(entity(noCount))).toMatchObject({ ok: false, reasons: ["(record) must have required property 'eventCount'"] });
    expect(rolloutCodec.decode({ ...entity(rollout), body_0: '{"id":' })).toMatchObject({ ok: false, reasons: ['/body is not valid JSON'] });
    expect(rolloutCodec.decode({ partitionKey: 'ro-1', rowKey: 'rollout', state: 'running' })).toMatchObject({ ok: false, reasons: ['/body_0..n are missing'] });
  });
});

describe('rollout event and lock codecs', () => {
  it('read what they write and refuse what no release wrote', () => {
    const event = { seq: 3, at: '2026-05-02T09:00:00.000Z', type: 'approved', wave: 0, actor: 'oid-2', message: 'Approved.', comment: 'CAB ok' } as const;
    expect(rolloutEventCodec.decode(rolloutEventCodec.encode(event))).toEqual({ ok: true, value: event });
    expect(rolloutEventCodec.decode({ body: JSON.stringify({ ...event, type: 'teleported' }) })).toMatchObject({ ok: false, reasons: ['/type must be equal to one of the allowed values'] });
    expect(rolloutEventCodec.decode({ body: JSON.stringify({ ...event, seq: 0 }) })).toMatchObject({ ok: false });

    const lock = { rolloutId: 'ro-1', policyAssignmentId: '/subscriptions/s/providers/Microsoft.Authorization/policyAssignments/a', claimedAt: '2026-05-02T08:00:00.000Z' };
    expect(rolloutLockCodec.decode(rolloutLockCodec.encode(lock))).toEqual({ ok: true, value: lock });
    // Locks from before the create grace have no claimedAt: read without one.
    expect(rolloutLockCodec.decode({ rolloutId: 'ro-1', policyAssignmentId: lock.policyAssignmentId })).toEqual({ ok: true, value: { rolloutId: 'ro-1', policyAssignmentId: lock.policyAssignmentId } });
    expect(rolloutLockCodec.decode({ policyAssignmentId: lock.policyAssignmentId })).toMatchObject({ ok: false, reasons: ["(record) must have required property 'rolloutId'"] });
  });
});

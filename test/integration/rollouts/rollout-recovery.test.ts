/**
 * Never stuck silently, never two at once: lost step messages (create, after a stored transition,
 * every delivery, poison) are re-sent or fail the rollout with the cause; the sweeper re-sends an
 * overdue outbox; duplicates do not multiply while a gate is blocked; overlapping creates of one
 * assignment on Azurite leave exactly one active rollout; an outside change blocks a wave.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableRolloutRepository, newRolloutId } from '../../../adapters/storage/table-rollout-repository.js';
import type { RolloutRepository } from '../../../application/ports.js';
import { REDELIVERY_RESEND_DELAY_SECONDS, RolloutService, SWEEP_GRACE_SECONDS } from '../../../application/rollout-service.js';
import { ConflictError } from '../../../domain/errors.js';
import type { PolicyAssignmentModel, RolloutRequest, RolloutStepMessage } from '../../../domain/rollout-model.js';
import { ASSIGNMENT_ID, FakeClusterRepository, FakeGateway, SCOPE, fakeCluster, rgId, type FakeCluster } from './fakes.js';
import { QueueDelivery } from '../../../application/queue-delivery.js';
import { FixedClock, RecordingEventPublisher, RecordingMessageQueue } from '../../support/in-memory-ports.js';

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

const NOW = new Date('2026-03-10T12:00:00.000Z');
const SNAPSHOT: PolicyAssignmentModel = {
  id: ASSIGNMENT_ID,
  name: 'pss-baseline',
  scope: SCOPE,
  policyDefinitionId: '/providers/Microsoft.Authorization/policySetDefinitions/a8640138-9b0a-4a28-b8cb-1666c838647d',
  enforcementMode: 'Default',
  parameters: { effect: { value: 'Audit' } },
};
const REQUEST: RolloutRequest = {
  policyAssignmentId: ASSIGNMENT_ID,
  waves: [
    { name: 'canary', locations: ['westeurope'] },
    { name: 'europe', locations: ['northeurope'] },
    { name: 'uk-stores', resourceGroups: [rgId('rg-uks')] },
  ],
  gates: { bakeMinutes: 0, requireApproval: false },
};

const prefix = (): string => `t${randomUUID().replace(/-/g, '').slice(0, 10)}`;

async function setup(opts: { tablePrefix?: string; wrap?: (r: TableRolloutRepository) => RolloutRepository } = {}) {
  const clusters: FakeCluster[] = [fakeCluster('weu-1', 'westeurope', 'rg-weu'), fakeCluster('neu-1', 'northeurope', 'rg-neu'), fakeCluster('uks-1', 'uksouth', 'rg-uks')];
  const gateway = new FakeGateway(clusters);
  gateway.assignments.set(ASSIGNMENT_ID.toLowerCase(), structuredClone(SNAPSHOT));
  const table = await TableRolloutRepository.open({ connectionString: azurite.connectionString }, { tablePrefix: opts.tablePrefix ?? prefix() });
  const repository = opts.wrap ? opts.wrap(table) : table;
  const queue = new RecordingMessageQueue<RolloutStepMessage>();
  const events = new RecordingEventPublisher();
  const clock = new FixedClock(NOW);
  const service = new RolloutService({
    repository,
    assignments: gateway,
    clusters: new FakeClusterRepository(clusters, new Date(NOW.getTime() - 3_600_000).toISOString()),
    queue,
    clock,
    newId: () => newRolloutId(clock.now(), randomUUID()),
    settings: { gateRecheckSeconds: 900, verifyTimeoutSeconds: 3600 },
    events,
  });
  const drain = async (max = 50): Promise<void> => {
    for (let i = 0; i < max; i += 1) {
      const next = queue.take();
      if (next === undefined) return;
      clock.advance(next.visibilityDelaySeconds * 1000);
      await service.advance(next.message);
    }
  };
  const create = async (request: RolloutRequest = REQUEST, by = 'alice') => {
    const created = await service.create(request, by);
    if (created.dryRun) throw new Error('unexpected dry run');
    return created.rollout.id;
  };
  return { clusters, gateway, table, queue, service, drain, create, tick: (seconds: number) => clock.advance(seconds * 1000) };
}

describe('lost step messages', () => {
  it('create: a failed send still answers with the stored rollout, marked unsent; the sweeper queues its gate', async () => {
    const { service, table, queue, drain, create } = await setup();
    queue.failSends = 1;
    const id = await create();
    expect(queue.sent).toEqual([]);
    expect((await table.get(id))?.rollout).toEqual(expect.objectContaining({ state: 'running', outboxSent: false }));
    // Retrying the create is refused (the rollout exists and is active), so the repair is the sweeper's.
    await expect(service.create(REQUEST, 'alice')).rejects.toBeInstanceOf(ConflictError);
    expect(await service.sweep()).toEqual([id]);
    expect(queue.sent.map((s) => s.message)).toEqual([{ kind: 'rollout-step', rolloutId: id, wave: 0, step: 'gate', attempt: 0 }]);
    await drain();
    expect((await service.get(id)).state).toBe('completed');
  });

  it('after a stored transition: the failed send fails the delivery, and the redelivery re-sends at once', async () => {
    const { service, queue, table, create } = await setup();
    const id = await create();
    const gate = queue.take()!.message;
    queue.failSends = 1;
    await expect(service.advance(gate, QueueDelivery.of(1))).rejects.toThrow(/queue unavailable/);
    const stored = (await table.get(id))!.rollout;
    expect(stored.cursor).toEqual({ wave: 0, step: 'apply', attempt: 0 });
    expect(stored.outboxSent).toBe(false);
    expect(await service.advance(gate, QueueDelivery.of(2))).toBe('redelivered');
    expect(queue.sent.map((s) => [s.message.step, s.visibilityDelaySeconds])).toEqual([['apply', 0]]);
    // Re-sent once: a further copy of the gate sends nothing more.
    expect(await service.advance(gate, QueueDelivery.of(3))).toBe('redelivered');
    expect(queue.sent).toHaveLength(1);
  });

  it('a send failing on every delivery fails the rollout with the cause on the last one', async () => {
    const { service, queue, create } = await setup();
    const id = await create();
    const gate = queue.take()!.message;
    queue.failSends = 100;
    for (let delivery = 1; delivery < 5; delivery += 1) await expect(service.advance(gate, QueueDelivery.of(delivery))).rejects.toThrow(/queue unavailable/);
    expect((await service.get(id)).state).toBe('running');
    expect(await service.advance(gate, QueueDelivery.of(5))).toBe('failed');
    const r = await service.get(id);
    expect(r.state).toBe('failed');
    expect(r.cause).toMatch(/the apply step of wave 1 could not be queued after gate \(delivery 5\): queue unavailable/);
  });

  it('poison of a handled step: re-sends the unsent outbox, or fails the rollout with the cause when it cannot', async () => {
    const a = await setup();
    const idA = await a.create();
    const gateA = a.queue.take()!.message;
    a.queue.failSends = 1;
    await expect(a.service.advance(gateA, QueueDelivery.of(1))).rejects.toThrow();
    expect(await a.service.poison(gateA, 'delivered 5 time(s)')).toBe('redelivered');
    expect(a.queue.sent.map((s) => s.message.step)).toEqual(['apply']);
    expect((await a.service.get(idA)).state).toBe('running');

    const b = await setup();
    const idB = await b.create();
    const gateB = b.queue.take()!.message;
    b.queue.failSends = 100;
    await expect(b.service.advance(gateB, QueueDelivery.of(1))).rejects.toThrow();
    expect(await b.service.poison(gateB, 'delivered 5 time(s)')).toBe('failed');
    expect((await b.service.get(idB)).cause).toMatch(/the apply step of wave 1 could not be queued after poisoned step gate \(delivered 5 time\(s\)\): queue unavailable/);
  });

  it('poison of a handled step whose next step was sent (only publishing failed): no immediate copy of that step', async () => {
    const { service, queue, create, tick } = await setup();
    const id = await create();
    const gate = queue.take()!.message;
    expect(await service.advance(gate)).toBe('handled');
    expect(queue.sent.map((s) => s.message.step)).toEqual(['apply']);
    // The gate's deliveries failed after the transition (say its publish), and it reached the poison
    // queue while the apply it sent is still on its way or running.
    tick(30);
    expect(await service.poison(gate, 'delivered 5 time(s)')).toBe('redelivered');
    expect(queue.sent.map((s) => [s.message.step, s.visibilityDelaySeconds])).toEqual([['apply', 0]]);
    expect((await service.get(id)).state).toBe('running');
  });

  it('the sweeper and a redelivery deciding on the same unsent record send one copy, not two', async () => {
    // Both read the record before either re-sends (a barrier of two reads), as when the timer fires
    // during the host's redelivery.
    let armed = false;
    let reads = 0;
    let open!: () => void;
    const bothRead = new Promise<void>((r) => (open = r));
    const barrier = async (): Promise<void> => {
      if (!armed) return;
      reads += 1;
      if (reads === 2) open();
      await bothRead;
    };
    const { service, queue, table, create } = await setup({
      wrap: (t) =>
        Object.assign(Object.create(t) as TableRolloutRepository, {
          get: async (id: string) => {
            const r = await t.get(id);
            await barrier();
            return r;
          },
          listActive: async () => {
            const r = await t.listActive();
            await barrier();
            return r;
          },
        }),
    });
    const id = await create();
    const gate = queue.take()!.message;
    queue.failSends = 1;
    await expect(service.advance(gate, QueueDelivery.of(1))).rejects.toThrow(/queue unavailable/);
    armed = true;
    const [swept, redelivered] = await Promise.all([service.sweep(), service.advance(gate, QueueDelivery.of(2))]);
    armed = false;
    expect(queue.sent.map((s) => s.message)).toEqual([{ kind: 'rollout-step', rolloutId: id, wave: 0, step: 'apply', attempt: 0 }]);
    expect([swept, redelivered]).toEqual([expect.any(Array), 'redelivered']);
    expect((await table.get(id))?.rollout.outboxSent).toBeUndefined();
  });

  it('the sweeper re-sends an outbox lost without a trace, only once it is overdue', async () => {
    const { service, queue, drain, create, tick } = await setup();
    const id = await create();
    queue.take(); // the gate message vanishes (e.g. the process died right after storing)
    expect(await service.sweep()).toEqual([]);
    tick(SWEEP_GRACE_SECONDS + 1);
    expect(await service.sweep()).toEqual([id]);
    expect(queue.sent.map((s) => [s.message.step, s.visibilityDelaySeconds])).toEqual([['gate', SWEEP_GRACE_SECONDS]]);
    // Recorded: the next sweep does not send it again.
    expect(await service.sweep()).toEqual([]);
    await drain();
    expect((await service.get(id)).state).toBe('completed');
  });
});

describe('duplicates while a gate is blocked', () => {
  it('handle one copy and drop the others: exactly one re-check stays queued', async () => {
    const { service, clusters, queue, tick, create } = await setup();
    clusters[0]!.violations = ['noPrivileged'];
    const id = await create();
    const gate = queue.take()!.message;
    expect(await service.advance(gate)).toBe('handled');
    for (let i = 0; i < 3; i += 1) expect(await service.advance(gate)).toBe('redelivered');
    expect(queue.sent.map((s) => [s.message.attempt, s.visibilityDelaySeconds])).toEqual([[1, 900]]);
    // The re-check runs, holds again: still one message in flight.
    const recheck = queue.take()!;
    tick(recheck.visibilityDelaySeconds);
    expect(await service.advance(recheck.message)).toBe('handled');
    expect(await service.advance(recheck.message)).toBe('redelivered');
    expect(queue.sent.map((s) => s.message.attempt)).toEqual([2]);
    expect((await service.get(id)).state).toBe('blocked');
  });
});

describe('repeated commands', () => {
  it('a rollback requested again while rolling back queues no second copy, unless the first looks lost', async () => {
    const { service, queue, drain, create, tick } = await setup();
    const id = await create();
    queue.take(); // the gate, made stale by the rollback
    await service.command(id, 'rollback', 'carol');
    await service.command(id, 'rollback', 'carol');
    expect(queue.sent.map((s) => [s.message.step, s.visibilityDelaySeconds])).toEqual([['rollback', 0]]);
    // Still not run well after it was due: the repeat re-sends it (delayed, recorded once).
    tick(REDELIVERY_RESEND_DELAY_SECONDS + 1);
    await service.command(id, 'rollback', 'carol');
    await service.command(id, 'rollback', 'carol');
    expect(queue.sent.map((s) => [s.message.step, s.visibilityDelaySeconds])).toEqual([
      ['rollback', 0],
      ['rollback', REDELIVERY_RESEND_DELAY_SECONDS],
    ]);
    await drain();
    expect((await service.get(id)).state).toBe('rolled_back');
  });
});

describe('one active rollout per assignment (Azurite)', () => {
  it('refuses a create that overlaps another create still between claiming the lock and storing its record', async () => {
    const tablePrefix = prefix();
    let claimed!: () => void;
    const claimedA = new Promise<void>((r) => (claimed = r));
    let release!: () => void;
    const releaseA = new Promise<void>((r) => (release = r));
    const a = await setup({
      tablePrefix,
      wrap: (t) =>
        Object.assign(Object.create(t) as TableRolloutRepository, {
          claimAssignment: async (...args: Parameters<TableRolloutRepository['claimAssignment']>) => {
            await t.claimAssignment(...args);
            claimed();
          },
          create: async (...args: Parameters<TableRolloutRepository['create']>) => {
            await releaseA;
            return t.create(...args);
          },
        }),
    });
    const b = await setup({ tablePrefix });
    const first = a.create(REQUEST, 'alice');
    await claimedA;
    await expect(b.create(REQUEST, 'bob')).rejects.toThrow(/being created/);
    release();
    const id = await first;
    expect((await b.table.listActive()).map((s) => s.rollout.id)).toEqual([id]);
    await expect(b.create(REQUEST, 'bob')).rejects.toThrow(/still active/);
  });

  it('two creates racing freely: exactly one succeeds', async () => {
    const tablePrefix = prefix();
    const [a, b] = await Promise.all([setup({ tablePrefix }), setup({ tablePrefix })]);
    const results = await Promise.allSettled([a.create(REQUEST, 'alice'), b.create(REQUEST, 'bob')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r).reason)).toEqual([expect.any(ConflictError)]);
    expect(await a.table.listActive()).toHaveLength(1);
  });

  it('takes over a lock whose holder never stored its record once the grace period is over', async () => {
    const tablePrefix = prefix();
    const table = await TableRolloutRepository.open({ connectionString: azurite.connectionString }, { tablePrefix, claimGraceSeconds: 0 });
    await table.claimAssignment(ASSIGNMENT_ID, 'ro-dead', async () => true);
    const { create } = await setup({ tablePrefix, wrap: () => table });
    await expect(create()).resolves.toMatch(/^ro-/);
    // With the default grace the same dead claim would still be respected.
    const fresh = await setup({ tablePrefix: prefix() });
    await fresh.table.claimAssignment(ASSIGNMENT_ID, 'ro-dead', async () => true);
    await expect(fresh.create()).rejects.toThrow(/being created/);
  });
});

describe('outside changes', () => {
  it('a wave whose assignment was changed outside the rollout is blocked, not overwritten', async () => {
    const { service, gateway, queue, drain, create } = await setup();
    const id = await create({ ...REQUEST, gates: { bakeMinutes: 30, requireApproval: false } });
    // Through wave 1's bake: the wave-2 gate is queued next.
    for (let i = 0; i < 10 && !(queue.sent[0]?.message.wave === 1 && queue.sent[0]?.message.step === 'gate'); i += 1) await drain(1);
    const edited = { ...(await gateway.get(ASSIGNMENT_ID))!, parameters: { effect: { value: 'Disabled' } } };
    gateway.assignments.set(ASSIGNMENT_ID.toLowerCase(), structuredClone(edited));
    const puts = gateway.puts.length;
    await drain(2);
    const r = await service.get(id);
    expect(r.state).toBe('paused');
    expect(r.waves[1]).toEqual(expect.objectContaining({ state: 'blocked' }));
    expect(r.cause).toMatch(/wave "europe" not applied: .*pss-baseline was changed outside the rollout/);
    expect(gateway.puts.length).toBe(puts);
    expect(await gateway.get(ASSIGNMENT_ID)).toEqual(edited);
  });
});

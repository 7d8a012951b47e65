/** RolloutService over the Table repository on Azurite, with an in-memory ARM gateway. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableRolloutRepository, newRolloutId } from '../../../adapters/storage/table-rollout-repository.js';
import { RolloutService, type AdvanceOutcome } from '../../../application/rollout-service.js';
import { ConflictError, DependencyError, ForbiddenOperationError, PreconditionFailedError } from '../../../domain/errors.js';
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
  displayName: 'Pod Security baseline',
  enforcementMode: 'Default',
  parameters: { effect: { value: 'Audit' } },
  notScopes: [rgId('rg-legacy')],
  overrides: [{ kind: 'definitionVersion', value: '1.*.*', selectors: [{ kind: 'resourceLocation', in: ['eastus'] }] }],
  metadata: { owner: 'platform' },
};
const REQUEST: RolloutRequest = {
  policyAssignmentId: ASSIGNMENT_ID,
  waves: [
    { name: 'canary', locations: ['westeurope'] },
    { name: 'europe', locations: ['northeurope'] },
    { name: 'uk-stores', resourceGroups: [rgId('rg-uks')] },
  ],
  gates: { bakeMinutes: 30 },
};

async function setup(opts: { prefix?: string } = {}) {
  const clusters: FakeCluster[] = [fakeCluster('weu-1', 'westeurope', 'rg-weu'), fakeCluster('weu-2', 'westeurope', 'rg-weu'), fakeCluster('neu-1', 'northeurope', 'rg-neu'), fakeCluster('uks-1', 'uksouth', 'rg-uks')];
  const gateway = new FakeGateway(clusters);
  gateway.assignments.set(ASSIGNMENT_ID.toLowerCase(), structuredClone(SNAPSHOT));
  const repository = await TableRolloutRepository.open({ connectionString: azurite.connectionString }, { tablePrefix: opts.prefix ?? `t${randomUUID().replace(/-/g, '').slice(0, 10)}` });
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
  /** Delivers queued messages in order (delays are honoured by moving the clock) until none is left. */
  const drain = async (max = 50): Promise<AdvanceOutcome[]> => {
    const outcomes: AdvanceOutcome[] = [];
    for (let i = 0; i < max; i += 1) {
      const next = queue.take();
      if (next === undefined) break;
      clock.advance(next.visibilityDelaySeconds * 1000);
      outcomes.push(await service.advance(next.message));
    }
    return outcomes;
  };
  return { clusters, gateway, repository, queue, events, service, drain, tick: (seconds: number) => clock.advance(seconds * 1000) };
}

describe('RolloutService', () => {
  it('get shows the record and its event log as one snapshot when a step is stored between the two reads', async () => {
    const { service, repository, drain } = await setup();
    const created = await service.create(REQUEST, 'alice');
    if (created.dryRun) throw new Error('stored rollout expected');
    const { rollout } = created;
    const before = (await repository.get(rollout.id))!.rollout;
    const readEvents = repository.events.bind(repository);
    let stepped = false;
    repository.events = async (id: string) => {
      if (!stepped) {
        stepped = true;
        // The next step lands after get read the record and before it reads the log.
        expect(await drain(1)).toHaveLength(1);
      }
      return readEvents(id);
    };
    const view = await service.get(rollout.id);
    expect((await readEvents(rollout.id)).length).toBeGreaterThan(before.eventCount);
    expect(view.state).toBe(before.state);
    expect((view.events ?? []).map((e) => e.seq)).toEqual(Array.from({ length: before.eventCount }, (_, i) => i + 1));
  });

  it('dryRun returns the plan and stores nothing', async () => {
    const { service, repository, queue, clusters } = await setup();
    clusters[0]!.violations = ['noPrivileged'];
    const result = await service.create(REQUEST, 'alice', { dryRun: true });
    expect(result.dryRun).toBe(true);
    expect(result.plan.waves.map((w) => [w.name, w.clusters.length, w.nonCompliant])).toEqual([
      ['canary', 2, 1],
      ['europe', 1, 0],
      ['uk-stores', 1, 0],
    ]);
    expect(result.plan.waves[0]?.wouldDeny).toEqual([{ policy: 'noprivileged', resources: 1, offenders: { items: [{ clusterId: clusters[0]!.id }], total: 1 } }]);
    expect((await repository.list(10)).items).toEqual([]);
    expect(queue.sent).toEqual([]);
  });

  it('dryRun lists the offending resources of a wave from the latest stored evaluation, with no extra ARM call', async () => {
    const { service, gateway, clusters } = await setup();
    // As the live ARM query answers at subscription scope: non-compliant states, no components.
    const live = gateway.queryAssignmentStates.bind(gateway);
    let queries = 0;
    gateway.queryAssignmentStates = async (sub, ids) => {
      queries += 1;
      return (await live(sub, ids)).map(({ components: _c, ...s }) => s);
    };
    const [weu1, weu2, neu1] = clusters;
    weu1!.violations = ['noPrivileged'];
    weu1!.storedWorkloads = { noPrivileged: ['default/web-0', 'default/web-1'] };
    weu2!.violations = ['noPrivileged'];
    neu1!.violations = ['noHostNetwork'];
    neu1!.storedWorkloads = { noHostNetwork: ['kube-system/agent'] };
    const result = await service.create(REQUEST, 'alice', { dryRun: true });
    expect(queries).toBe(1);
    expect(result.plan.waves[0]?.wouldDeny).toEqual([
      {
        policy: 'noprivileged',
        resources: 2,
        offenders: {
          items: [{ clusterId: weu1!.id, resource: 'Pod default/web-0' }, { clusterId: weu1!.id, resource: 'Pod default/web-1' }, { clusterId: weu2!.id }],
          total: 3,
        },
      },
    ]);
    expect(result.plan.waves[1]?.wouldDeny).toEqual([{ policy: 'nohostnetwork', resources: 1, offenders: { items: [{ clusterId: neu1!.id, resource: 'Pod kube-system/agent' }], total: 1 } }]);
    expect(result.plan.waves[2]?.wouldDeny).toEqual([]);
  });

  it('runs three waves from audit to deny with approvals by a second identity', async () => {
    const { service, gateway, drain, events } = await setup();
    const created = await service.create(REQUEST, 'alice');
    if (created.dryRun) throw new Error('unexpected');
    const id = created.rollout.id;
    for (const [i, wave] of REQUEST.waves.entries()) {
      await drain();
      const waiting = await service.get(id);
      expect(waiting.state).toBe('awaiting_approval');
      expect(waiting.waves[i]?.state).toBe('awaiting_approval');
      await expect(service.approve(id, wave.name, 'alice')).rejects.toBeInstanceOf(ForbiddenOperationError);
      await service.approve(id, wave.name, 'bob');
    }
    await drain();
    const done = await service.get(id);
    expect(done.state).toBe('completed');
    expect(done.waves.map((w) => w.state)).toEqual(['completed', 'completed', 'completed']);
    const parent = (await gateway.get(ASSIGNMENT_ID))!;
    expect(parent.overrides?.[0]).toEqual({ kind: 'policyEffect', value: 'Deny', selectors: [{ kind: 'resourceLocation', in: ['westeurope', 'northeurope'] }] });
    expect(parent.notScopes).toEqual([rgId('rg-legacy'), rgId('rg-uks')]);
    const child = await gateway.get(`${rgId('rg-uks')}/providers/Microsoft.Authorization/policyAssignments/pss-baseline-deny`);
    expect(child?.overrides?.[0]).toEqual({ kind: 'policyEffect', value: 'Deny' });
    const types = done.events?.map((e) => e.type) ?? [];
    expect(types.filter((t) => t === 'wave-applied')).toHaveLength(3);
    expect(types.at(-1)).toBe('completed');
    expect(done.events?.map((e) => e.seq)).toEqual(types.map((_, i) => i + 1));
    expect(gateway.evaluations).toBe(3);
    // Each wave asked for approval and completed, then the rollout did: each published once.
    const published = events.published.map((e) => e.type);
    expect(published.filter((t) => t === 'rollout.wave.awaiting_approval')).toHaveLength(3);
    expect(published.filter((t) => t === 'rollout.wave.completed')).toHaveLength(3);
    expect(published.filter((t) => t === 'rollout.completed')).toHaveLength(1);
    expect(new Set(events.published.map((e) => e.id)).size).toBe(events.published.length);
  });

  it('holds a blocked gate and re-checks until remediation clears it', async () => {
    const { service, clusters, queue, drain } = await setup();
    clusters[1]!.violations = ['noHostNetwork'];
    const created = await service.create({ ...REQUEST, gates: { requireApproval: false, bakeMinutes: 0 } }, 'alice');
    if (created.dryRun) throw new Error('unexpected');
    await drain(1);
    let r = await service.get(created.rollout.id);
    expect(r.state).toBe('blocked');
    expect(r.waves[0]?.reasons[0]).toMatch(/1 cluster\(s\) non-compliant, more than maxNonCompliant 0: weu-2 \(nohostnetwork\)/);
    expect(queue.sent[0]).toEqual({ message: expect.objectContaining({ step: 'gate', attempt: 1 }), visibilityDelaySeconds: 900 });
    await drain(1);
    expect((await service.get(created.rollout.id)).state).toBe('blocked');
    clusters[1]!.violations = [];
    await drain();
    r = await service.get(created.rollout.id);
    expect(r.state).toBe('completed');
    expect(r.events?.filter((e) => e.type === 'gate-blocked')).toHaveLength(1);
  });

  it('a regression in wave 2 rolls back only wave 2 and pauses; the rollback command restores the snapshot exactly', async () => {
    const { service, gateway, clusters, drain, repository } = await setup();
    clusters[2]!.regressAfterApply = ['noPrivileged'];
    const created = await service.create({ ...REQUEST, gates: { requireApproval: false } }, 'alice');
    if (created.dryRun) throw new Error('unexpected');
    await drain();
    const r = await service.get(created.rollout.id);
    expect(r.state).toBe('paused');
    expect(r.cause).toMatch(/wave "europe" regressed during bake: neu-1: newly non-compliant \(noprivileged\)/);
    expect(r.waves.map((w) => w.state)).toEqual(['completed', 'rolled_back', 'pending']);
    // Wave 1 stays enforced: the parent holds exactly what wave 1 left.
    const stored = (await repository.get(r.id))!.rollout;
    expect(await gateway.get(ASSIGNMENT_ID)).toEqual(stored.waves[0]!.desired.parent);
    expect((await gateway.get(ASSIGNMENT_ID))?.overrides?.[0]).toEqual({ kind: 'policyEffect', value: 'Deny', selectors: [{ kind: 'resourceLocation', in: ['westeurope'] }] });
    await service.command(r.id, 'rollback', 'carol');
    await drain();
    expect((await service.get(r.id)).state).toBe('rolled_back');
    expect(await gateway.get(ASSIGNMENT_ID)).toEqual(SNAPSHOT);
  });

  it('a regression in the resource-group wave removes only its deny assignment and restores the previous wave', async () => {
    const { service, gateway, clusters, drain, repository } = await setup();
    clusters[3]!.regressAfterApply = ['noPrivileged'];
    const created = await service.create({ ...REQUEST, gates: { requireApproval: false } }, 'alice');
    if (created.dryRun) throw new Error('unexpected');
    await drain();
    const r = await service.get(created.rollout.id);
    expect(r.waves.map((w) => w.state)).toEqual(['completed', 'completed', 'rolled_back']);
    expect(r.state).toBe('paused');
    const stored = (await repository.get(r.id))!.rollout;
    expect(await gateway.get(ASSIGNMENT_ID)).toEqual(stored.waves[1]!.desired.parent);
    expect(await gateway.get(`${rgId('rg-uks')}/providers/Microsoft.Authorization/policyAssignments/pss-baseline-deny`)).toBeUndefined();
  });

  it('pauses on regression when autoRollback is off', async () => {
    const { service, clusters, drain } = await setup();
    clusters[0]!.regressAfterApply = ['noHostNetwork'];
    const created = await service.create({ ...REQUEST, gates: { requireApproval: false }, autoRollback: false }, 'alice');
    if (created.dryRun) throw new Error('unexpected');
    await drain();
    const r = await service.get(created.rollout.id);
    expect(r.state).toBe('paused');
    expect(r.waves[0]?.state).toBe('baking');
    // The operator rolls back.
    await service.command(r.id, 'rollback', 'carol');
    await drain();
    expect((await service.get(r.id)).state).toBe('rolled_back');
  });

  it('ignores duplicate and redelivered step messages: each wave is applied once', async () => {
    const { service, gateway, queue } = await setup();
    const created = await service.create({ ...REQUEST, gates: { requireApproval: false } }, 'alice');
    if (created.dryRun) throw new Error('unexpected');
    const gate = queue.take()!.message;
    expect(await service.advance(gate)).toBe('handled');
    const apply = queue.take()!.message;
    expect(queue.sent).toEqual([]);
    // A duplicate of the gate right away: the apply it sent is on its way, nothing is re-sent.
    expect(await service.advance(gate)).toBe('redelivered');
    expect(queue.sent).toEqual([]);
    queue.sent.length = 0;
    // Two concurrent deliveries of apply: one transition wins.
    const outcomes = await Promise.all([service.advance(apply), service.advance(apply)]);
    expect(outcomes.filter((o) => o === 'handled')).toHaveLength(1);
    const r = await service.get(created.rollout.id);
    expect(r.events?.filter((e) => e.type === 'wave-applied')).toHaveLength(1);
    // The loser reloads, sees the step handled and may re-send the same verify message: harmless.
    const verifies = queue.sent.filter((s) => s.message.step === 'verify');
    expect(verifies.length).toBeGreaterThanOrEqual(1);
    expect(new Set(verifies.map((v) => JSON.stringify(v.message)))).toEqual(new Set([JSON.stringify({ kind: 'rollout-step', rolloutId: created.rollout.id, wave: 0, step: 'verify', attempt: 0 })]));
    // Later duplicates of apply are stale or redelivered; the parent was written at most twice (idempotent PUT of the same body).
    expect(['stale', 'redelivered']).toContain(await service.advance(apply));
    expect(gateway.puts.filter((p) => p === ASSIGNMENT_ID).length).toBeLessThanOrEqual(2);
    expect((await service.get(created.rollout.id)).events?.filter((e) => e.type === 'wave-applied')).toHaveLength(1);
  });

  it('fails the rollout with the cause on the last delivery of a failing step, retries before that', async () => {
    const { service, gateway, queue } = await setup();
    const created = await service.create({ ...REQUEST, gates: { requireApproval: false } }, 'alice');
    if (created.dryRun) throw new Error('unexpected');
    await service.advance(queue.take()!.message);
    const apply = queue.take()!.message;
    gateway.failPuts = new DependencyError('ARM policyAssignments.create failed (500): boom');
    await expect(service.advance(apply, QueueDelivery.of(1))).rejects.toBeInstanceOf(DependencyError);
    expect((await service.get(created.rollout.id)).state).toBe('running');
    expect(await service.advance(apply, QueueDelivery.of(5))).toBe('failed');
    const r = await service.get(created.rollout.id);
    expect(r.state).toBe('failed');
    expect(r.cause).toMatch(/step apply of wave 1 failed on delivery 5: ARM policyAssignments.create failed \(500\): boom/);
  });

  it('fails the rollout when its expected step lands on the poison queue', async () => {
    const { service, queue } = await setup();
    const created = await service.create({ ...REQUEST, gates: { requireApproval: false } }, 'alice');
    if (created.dryRun) throw new Error('unexpected');
    const gate = queue.take()!.message;
    expect(await service.poison({ ...gate, attempt: 7 }, 'x')).toBe('stale');
    expect(await service.poison(gate, 'dequeued 5 times')).toBe('failed');
    expect((await service.get(created.rollout.id)).cause).toMatch(/was poisoned: dequeued 5 times/);
  });

  it('refuses a second active rollout of the same assignment, allows one after abort', async () => {
    const { service, tick } = await setup();
    const first = await service.create(REQUEST, 'alice');
    tick(60);
    if (first.dryRun) throw new Error('unexpected');
    await expect(service.create(REQUEST, 'bob')).rejects.toBeInstanceOf(ConflictError);
    await service.command(first.rollout.id, 'pause', 'alice');
    await expect(service.create(REQUEST, 'bob')).rejects.toBeInstanceOf(ConflictError);
    await service.command(first.rollout.id, 'abort', 'alice');
    const second = await service.create(REQUEST, 'bob');
    expect(second.dryRun).toBe(false);
    // Rolling back the aborted one would make two active rollouts: refused.
    await expect(service.command(first.rollout.id, 'rollback', 'alice')).rejects.toBeInstanceOf(ConflictError);
    const list = await service.list(10);
    expect(list.items.map((r) => r.createdBy)).toEqual(['bob', 'alice']);
  });

  it('fails verify after the timeout when results never report deny', async () => {
    const { service, gateway, drain } = await setup();
    gateway.consistent = false;
    const created = await service.create({ ...REQUEST, gates: { requireApproval: false } }, 'alice');
    if (created.dryRun) throw new Error('unexpected');
    await drain(100);
    const r = await service.get(created.rollout.id);
    expect(r.state).toBe('failed');
    expect(r.cause).toMatch(/verify timed out after 3600 s: 2 cluster\(s\) do not report deny \(weu-1, weu-2\)/);
  });
});

describe('TableRolloutRepository', () => {
  it('rejects a save with a stale ETag', async () => {
    const { service, repository } = await setup();
    const created = await service.create(REQUEST, 'alice');
    if (created.dryRun) throw new Error('unexpected');
    const stored = (await repository.get(created.rollout.id))!;
    await repository.save({ ...stored.rollout, eventCount: stored.rollout.eventCount }, [], stored.etag);
    await expect(repository.save(stored.rollout, [], stored.etag)).rejects.toBeInstanceOf(PreconditionFailedError);
  });
});

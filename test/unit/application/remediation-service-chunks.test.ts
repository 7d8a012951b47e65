/**
 * Remediations larger than ARM's 100-id `filters.resourceIds` limit: RemediationService splits each
 * subscription's clusters into tasks of at most 100, names them distinctly per subscription, reports
 * each task (and its clusters) separately, keeps going when one task cannot start, and still reads
 * records stored with one task per subscription.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { OutboundEvent } from '../../../domain/webhook-events.js';
import { DependencyError, InvalidRequestError, UnprocessableError } from '../../../domain/errors.js';
import { MAX_CLUSTERS_PER_REMEDIATION, MAX_CLUSTERS_PER_TASK, RemediationService, remediationTaskName } from '../../../application/remediation-service.js';
import { document } from '../../../openapi/document.js';
import type { ClusterState, EventPublisher, RemediationRecord, RemediationTaskState } from '../../../application/ports.js';
import type { RemediationCheckMessage } from '../../../application/messages.js';
import { FakeRemediationStarter, FixedClock, InMemoryClusterStateRepository, InMemoryRemediationRepository, RecordingMessageQueue } from '../../support/in-memory-ports.js';

const SUB_A = '11111111-1111-1111-1111-111111111111';
const SUB_B = '22222222-2222-2222-2222-222222222222';
const SUB_C = '33333333-3333-3333-3333-333333333333';
const cluster = (sub: string, i: number): string => `/subscriptions/${sub}/resourceGroups/edge-rg/providers/Microsoft.Kubernetes/connectedClusters/store-${String(i).padStart(4, '0')}`;
const clusters = (sub: string, n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => cluster(sub, from + i));
const armId = (sub: string, name: string): string => `/subscriptions/${sub}/providers/Microsoft.PolicyInsights/remediations/${name}`;

class RecordingPublisher implements EventPublisher {
  readonly events: OutboundEvent[] = [];
  async publish(event: OutboundEvent): Promise<void> {
    this.events.push(event);
  }
}

/** Fails the tasks `fails` picks (by ARM name and subscription), as ARM or the assignment lookup would. */
class SelectiveStarter extends FakeRemediationStarter {
  constructor(private readonly fails: (request: { name: string; subscriptionId: string }) => Error | undefined) {
    super();
  }
  override async start(request: { name: string; subscriptionId: string; policyDefinitionId: string; resourceIds: readonly string[] }): Promise<RemediationTaskState> {
    const err = this.fails(request);
    if (err !== undefined) throw err;
    return super.start(request);
  }
}

function evaluated(id: string, failedControls: readonly string[]): ClusterState {
  const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Kubernetes\/connectedClusters\/([^/]+)$/.exec(id)!;
  return {
    id,
    name: m[3]!,
    subscriptionId: m[1]!,
    resourceGroup: m[2]!,
    location: 'westeurope',
    kind: undefined,
    tags: {},
    environment: 'prod',
    distribution: 'k3s',
    kubernetesVersion: '1.30.4',
    connectivityStatus: 'Connected',
    evaluation: { clusterId: id, evaluatedAt: '2026-03-01T09:00:00.000Z', runId: 'run-1', controls: [], score: 80, failedControls },
    stale: false,
    lastSeenAt: '2026-03-01T09:00:00.000Z',
  };
}

function setup(starter = new FakeRemediationStarter()) {
  const events = new RecordingPublisher();
  const clock = new FixedClock(new Date('2026-03-01T10:00:00Z'));
  const remediations = new InMemoryRemediationRepository();
  const clusterStates = new InMemoryClusterStateRepository();
  const checks = new RecordingMessageQueue<RemediationCheckMessage>();
  const service = new RemediationService({
    starter,
    remediations,
    clusters: clusterStates,
    newId: () => 'r1',
    events,
    clock,
    checks: { queue: checks, policy: { firstDelaySeconds: 60, maxDelaySeconds: 900, maxAgeSeconds: 2 * 3600 } },
  });
  const finish = (id: string, patch: Partial<RemediationTaskState> = {}): void => {
    const state = starter.tasks.get(id);
    if (state === undefined) throw new Error(`no task ${id}`);
    starter.tasks.set(id, { ...state, provisioningState: 'Succeeded', successfulDeployments: state.totalDeployments, ...patch });
  };
  return { starter, events, checks, clock, remediations, clusterStates, service, finish };
}

describe('RemediationService: tasks of at most 100 clusters', () => {
  it('splits 250 failing clusters of one subscription into tasks of 100, 100 and 50 with distinct names', async () => {
    const { starter, clusterStates, remediations, service } = setup();
    const failing = clusters(SUB_A, 250);
    await clusterStates.upsertMany([...failing.map((id) => evaluated(id, ['ARC-PL-01'])), evaluated(cluster(SUB_A, 999), [])]);

    const started = await service.start({ controlId: 'ARC-PL-01', subscriptionId: SUB_A }, 'caller', new Date('2026-03-01T10:00:00Z'));

    expect(starter.started.map((s) => [s.name, s.resourceIds.length])).toEqual([
      ['arc-compliance-r1', 100],
      ['arc-compliance-r1-2', 100],
      ['arc-compliance-r1-3', 50],
    ]);
    expect(started.tasks.map((t) => [t.armId, t.clusterIds.length, t.provisioningState])).toEqual([
      [armId(SUB_A, 'arc-compliance-r1'), 100, 'Accepted'],
      [armId(SUB_A, 'arc-compliance-r1-2'), 100, 'Accepted'],
      [armId(SUB_A, 'arc-compliance-r1-3'), 50, 'Accepted'],
    ]);
    // Each task reports exactly the clusters its ARM task was limited to; together, every failing cluster once.
    expect(started.tasks.map((t) => t.clusterIds)).toEqual(starter.started.map((s) => s.resourceIds));
    expect(started.tasks.flatMap((t) => t.clusterIds).sort()).toEqual([...failing].sort());
    expect([...started.clusterIds].sort()).toEqual([...failing].sort());
    expect(started.status).toBe('running');
    expect(remediations.items.get('r1')?.tasks.map((t) => t.clusters)).toEqual([
      { offset: 0, count: 100 },
      { offset: 100, count: 100 },
      { offset: 200, count: 50 },
    ]);
  });

  it('splits per subscription: names restart in each subscription, each subscription keeps its clusters in request order', async () => {
    const { starter, service } = setup();
    const a = clusters(SUB_A, 150);
    const b = clusters(SUB_B, 30);
    const c = clusters(SUB_C, 101);
    // Interleaved in the request: the split must not depend on the order subscriptions appear in.
    const requested = [...a.slice(0, 80), ...c.slice(0, 50), ...b, ...a.slice(80), ...c.slice(50)];

    const started = await service.start({ controlId: 'ARC-PL-01', clusterIds: requested }, 'caller', new Date());

    expect(starter.started.map((s) => [s.subscriptionId, s.name, s.resourceIds.length])).toEqual([
      [SUB_A, 'arc-compliance-r1', 100],
      [SUB_A, 'arc-compliance-r1-2', 50],
      [SUB_C, 'arc-compliance-r1', 100],
      [SUB_C, 'arc-compliance-r1-2', 1],
      [SUB_B, 'arc-compliance-r1', 30],
    ]);
    expect(started.tasks.map((t) => t.subscriptionId)).toEqual([SUB_A, SUB_A, SUB_C, SUB_C, SUB_B]);
    expect(started.tasks.map((t) => t.clusterIds)).toEqual([a.slice(0, 100), a.slice(100), c.slice(0, 100), c.slice(100), b]);
    expect(new Set(started.tasks.map((t) => t.armId)).size).toBe(5);
  });

  it('reports a task that cannot start on that task, starts the others, and completes as partial', async () => {
    const starter = new SelectiveStarter((r) => (r.subscriptionId === SUB_A && r.name === 'arc-compliance-r1-2' ? new DependencyError('ARM remediations.createOrUpdate failed (429): throttled') : undefined));
    const { events, checks, clock, service, finish } = setup(starter);
    const a = clusters(SUB_A, 250);
    const b = clusters(SUB_B, 5);

    const started = await service.start({ controlId: 'ARC-PL-01', clusterIds: [...a, ...b] }, 'caller', clock.now());

    expect(started.tasks.map((t) => [t.subscriptionId, t.provisioningState])).toEqual([
      [SUB_A, 'Accepted'],
      [SUB_A, 'NotStarted'],
      [SUB_A, 'Accepted'],
      [SUB_B, 'Accepted'],
    ]);
    const failed = started.tasks[1]!;
    expect(failed).toMatchObject({ armId: null, error: expect.stringContaining('throttled') });
    // The caller learns exactly which clusters to retry.
    expect(failed.clusterIds).toEqual(a.slice(100, 200));
    expect(starter.started.map((s) => s.name)).toEqual(['arc-compliance-r1', 'arc-compliance-r1-3', 'arc-compliance-r1']);
    // A partly started remediation is polled like any other.
    expect(checks.sent.map((c) => c.message)).toEqual([{ kind: 'remediation-check', remediationId: 'r1', attempt: 1 }]);

    finish(armId(SUB_A, 'arc-compliance-r1'), { lastUpdatedOn: '2026-03-01T10:03:00.000Z' });
    finish(armId(SUB_A, 'arc-compliance-r1-3'), { lastUpdatedOn: '2026-03-01T10:04:00.000Z' });
    finish(armId(SUB_B, 'arc-compliance-r1'), { lastUpdatedOn: '2026-03-01T10:02:00.000Z' });
    const done = await service.get('r1');
    expect(done.status).toBe('partial');
    expect(done.tasks[1]).toMatchObject({ provisioningState: 'NotStarted', clusterIds: a.slice(100, 200) });
    expect(events.events).toHaveLength(1);
    const data = events.events[0]!.data as { subscriptionIds: string[]; tasks: Record<string, unknown>[]; clusterIds: string[] };
    expect(events.events[0]!.timestamp).toBe('2026-03-01T10:04:00.000Z');
    expect(data.subscriptionIds).toEqual([SUB_A, SUB_B]);
    expect(data.tasks).toHaveLength(4);
    expect(data.clusterIds).toHaveLength(255);
    // The event lists the clusters once (top level), not again per task.
    expect(data.tasks.every((t) => !('clusterIds' in t))).toBe(true);
  });

  it('keeps the existing error when no task starts, and stores nothing', async () => {
    const notAssigned = new UnprocessableError('NotRemediable', 'No enabled assignment covers the clusters.', 'controlId');
    const { starter, remediations, checks, service } = setup(new SelectiveStarter(() => notAssigned));
    const error = await service.start({ controlId: 'ARC-PL-01', clusterIds: clusters(SUB_A, 250) }, 'caller', new Date()).catch((e: unknown) => e);
    expect(error).toBe(notAssigned);
    expect(remediations.items.size).toBe(0);
    expect(starter.tasks.size).toBe(0);
    expect(checks.sent).toEqual([]);
  });

  it('reads each task of a subscription separately: running until the last is terminal, stamped with the latest of them', async () => {
    const { events, clock, service, finish } = setup();
    await service.start({ controlId: 'ARC-PL-01', clusterIds: clusters(SUB_A, 201) }, 'caller', clock.now());

    finish(armId(SUB_A, 'arc-compliance-r1'), { lastUpdatedOn: '2026-03-01T10:05:00.000Z' });
    finish(armId(SUB_A, 'arc-compliance-r1-3'), { provisioningState: 'Failed', successfulDeployments: 0, failedDeployments: 1, lastUpdatedOn: '2026-03-01T10:01:00.000Z' });
    const midway = await service.get('r1');
    expect(midway.status).toBe('running');
    expect(midway.tasks.map((t) => t.provisioningState)).toEqual(['Succeeded', 'Accepted', 'Failed']);
    expect(midway.tasks.map((t) => t.deployments)).toEqual([
      { total: 100, succeeded: 100, failed: 0 },
      { total: 100, succeeded: 0, failed: 0 },
      { total: 1, succeeded: 0, failed: 1 },
    ]);
    expect(events.events).toEqual([]);

    finish(armId(SUB_A, 'arc-compliance-r1-2'), { lastUpdatedOn: '2026-03-01T10:09:00.000Z' });
    clock.set(new Date('2026-03-01T11:00:00Z'));
    expect((await service.get('r1')).status).toBe('partial');
    clock.set(new Date('2026-03-01T12:00:00Z'));
    await service.get('r1');
    expect(events.events.map((e) => [e.id, e.timestamp])).toEqual([
      [events.events[0]!.id, '2026-03-01T10:09:00.000Z'],
      [events.events[0]!.id, '2026-03-01T10:09:00.000Z'],
    ]);
  });

  it('reads a record stored with one task per subscription (no cluster ranges)', async () => {
    const { starter, remediations, events, service, finish } = setup();
    const a = clusters(SUB_A, 3);
    const b = clusters(SUB_B, 2);
    const legacy: RemediationRecord = {
      id: 'old',
      controlId: 'ARC-PL-01',
      requestedBy: 'caller',
      createdAt: '2026-02-01T00:00:00.000Z',
      clusterIds: [...a, ...b],
      tasks: [
        { subscriptionId: SUB_A, armId: armId(SUB_A, 'arc-compliance-old') },
        { subscriptionId: SUB_B, armId: undefined, error: 'No enabled assignment covers the clusters.' },
      ],
    };
    await remediations.create(legacy);
    await starter.start({ name: 'arc-compliance-old', subscriptionId: SUB_A, policyDefinitionId: 'dine', resourceIds: a });

    const running = await service.get('old');
    expect(running.tasks).toEqual([
      { subscriptionId: SUB_A, clusterIds: a, armId: armId(SUB_A, 'arc-compliance-old'), provisioningState: 'Accepted', deployments: { total: 3, succeeded: 0, failed: 0 } },
      { subscriptionId: SUB_B, clusterIds: b, armId: null, provisioningState: 'NotStarted', error: 'No enabled assignment covers the clusters.' },
    ]);
    expect(running.status).toBe('running');

    finish(armId(SUB_A, 'arc-compliance-old'), { lastUpdatedOn: '2026-02-01T00:10:00.000Z' });
    expect((await service.get('old')).status).toBe('partial');
    expect(events.events[0]).toMatchObject({ timestamp: '2026-02-01T00:10:00.000Z', data: { remediationId: 'old', subscriptionIds: [SUB_A, SUB_B] } });
  });

  it('refuses more than 1000 clusters before calling ARM', async () => {
    const { starter, clusterStates, service } = setup();
    await clusterStates.upsertMany(clusters(SUB_A, MAX_CLUSTERS_PER_REMEDIATION + 1).map((id) => evaluated(id, ['ARC-PL-01'])));
    const bySubscription = await service.start({ controlId: 'ARC-PL-01', subscriptionId: SUB_A }, 'caller', new Date()).catch((e: unknown) => e);
    expect(bySubscription).toBeInstanceOf(UnprocessableError);
    expect(bySubscription).toMatchObject({ code: 'LimitExceeded', target: 'subscriptionId' });
    const byIds = await service.start({ controlId: 'ARC-PL-01', clusterIds: clusters(SUB_B, MAX_CLUSTERS_PER_REMEDIATION + 1) }, 'caller', new Date()).catch((e: unknown) => e);
    expect(byIds).toBeInstanceOf(InvalidRequestError);
    expect(starter.started).toEqual([]);

    // Exactly the limit still starts: ten tasks of 100.
    await clusterStates.upsertMany(clusters(SUB_C, MAX_CLUSTERS_PER_REMEDIATION).map((id) => evaluated(id, ['ARC-PL-01'])));
    const ok = await service.start({ controlId: 'ARC-PL-01', subscriptionId: SUB_C }, 'caller', new Date());
    expect(ok.tasks.map((t) => t.clusterIds.length)).toEqual(Array.from({ length: 10 }, () => 100));
  });
});

describe('remediationTaskName', () => {
  it('gives distinct names within ARM’s rules for remediation names (1–260 chars, no %^#/\\&?, lower case)', () => {
    const id = randomUUID();
    const names = Array.from({ length: MAX_CLUSTERS_PER_REMEDIATION / 100 }, (_, chunk) => remediationTaskName(id, chunk));
    expect(names[0]).toBe(`arc-compliance-${id}`);
    expect(names[1]).toBe(`arc-compliance-${id}-2`);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z0-9-]{1,260}$/);
  });
});

describe('the OpenAPI document states the same limits', () => {
  it('clusterIds maxItems is the per-request limit and a task lists at most 100 clusters', () => {
    const schemas = document.components?.schemas as Record<string, { properties: Record<string, { maxItems?: number; items?: { properties: Record<string, { maxItems?: number }> } }> }>;
    expect(schemas['NewRemediation']?.properties['clusterIds']?.maxItems).toBe(MAX_CLUSTERS_PER_REMEDIATION);
    expect(schemas['Remediation']?.properties['tasks']?.items?.properties['clusterIds']?.maxItems).toBe(MAX_CLUSTERS_PER_TASK);
  });
});

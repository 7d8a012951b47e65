import { describe, expect, it } from 'vitest';
import { EvaluationRunStarter, type EvaluationRunStarterDeps } from '../../../application/evaluation-run-starter.js';
import { EvaluationRunFinalizer, type EvaluationRunFinalizerDeps } from '../../../application/evaluation-run-finalizer.js';
import type { EvaluationRun, EvaluationRunRepository, MessageQueue, RunRefreshOptions, SubscriptionOutcome } from '../../../application/ports.js';
import type { CollectSubscriptionMessage } from '../../../application/messages.js';
import type { FleetSummary } from '../../../domain/model.js';
import { EvidenceRecorder } from '../../../application/evidence-recorder.js';
import { CATALOG_VERSION } from '../../../domain/evidence-record.js';
import { InMemoryEvidenceStore } from '../../support/in-memory-evidence-store.js';
import { FixedClock, RecordingEventPublisher } from '../../support/in-memory-ports.js';

/** Outcomes and refresh as the Table repository computes them (the parts startRun relies on). */
class MemoryRuns
  implements
    Pick<
      EvaluationRunRepository,
      'create' | 'update' | 'get' | 'recordSubscriptionOutcome' | 'recordSubscriptionOutcomeIfAbsent' | 'getSubscriptionOutcome' | 'refresh' | 'subscriptionsWithOutcome' | 'listUnfinishedCreatedBefore'
    >
{
  readonly runs = new Map<string, EvaluationRun>();
  readonly outcomes = new Map<string, SubscriptionOutcome>();
  failRecording: Error | undefined;
  async create(run: EvaluationRun): Promise<void> {
    this.runs.set(run.id, run);
  }
  async update(run: EvaluationRun): Promise<void> {
    this.runs.set(run.id, run);
  }
  async get(id: string): Promise<EvaluationRun | undefined> {
    return this.runs.get(id);
  }
  async recordSubscriptionOutcome(_runId: string, subscriptionId: string, outcome: SubscriptionOutcome): Promise<void> {
    if (this.failRecording !== undefined) throw this.failRecording;
    this.outcomes.set(subscriptionId, outcome);
  }
  async recordSubscriptionOutcomeIfAbsent(runId: string, subscriptionId: string, outcome: SubscriptionOutcome): Promise<boolean> {
    if (this.failRecording !== undefined) throw this.failRecording;
    if (this.outcomes.has(subscriptionId)) return false;
    await this.recordSubscriptionOutcome(runId, subscriptionId, outcome);
    return true;
  }
  async getSubscriptionOutcome(_runId: string, subscriptionId: string): Promise<SubscriptionOutcome | undefined> {
    return this.outcomes.get(subscriptionId);
  }
  async listUnfinishedCreatedBefore(): Promise<EvaluationRun[]> {
    return [];
  }
  async subscriptionsWithOutcome(): Promise<string[]> {
    return [...this.outcomes.keys()].sort();
  }
  async refresh(id: string, now: string, options: RunRefreshOptions = {}): Promise<EvaluationRun | undefined> {
    const run = this.runs.get(id);
    if (run === undefined) return undefined;
    const all = [...this.outcomes.entries()];
    const failures = all.flatMap(([subscriptionId, o]) => (o.ok ? [] : [{ subscriptionId, error: o.error, at: now }]));
    const succeeded = all.length - failures.length;
    const terminal = ['succeeded', 'partial', 'failed'].includes(run.status);
    let next: EvaluationRun = { ...run, subscriptionsSucceeded: succeeded, subscriptionsFailed: failures.length, failures };
    if (options.fail !== undefined && !terminal) {
      next = { ...next, status: 'failed', completedAt: run.completedAt ?? now, failures: [...failures, { subscriptionId: '*', error: options.fail, at: now }] };
    } else if (options.final === true && !terminal && all.length >= run.subscriptionsTotal) {
      next = { ...next, status: failures.length === 0 ? 'succeeded' : succeeded === 0 ? 'failed' : 'partial', completedAt: run.completedAt ?? now };
    }
    this.runs.set(id, next);
    return next;
  }
}

function deps(overrides: {
  subscriptionIds?: string[];
  listSubscriptions?: () => Promise<{ subscriptionId: string; displayName: string; state: string }[]>;
  send?: (m: CollectSubscriptionMessage) => Promise<void>;
}) {
  const runs = new MemoryRuns();
  const sent: CollectSubscriptionMessage[] = [];
  const staleMarked: { subscriptionId: string; lastSeenNoLaterThan: string | undefined }[] = [];
  const summaries: FleetSummary[] = [];
  const queue: MessageQueue<CollectSubscriptionMessage> = {
    send: async (m) => {
      await overrides.send?.(m);
      sent.push(m);
    },
    sendMany: async (ms) => {
      sent.push(...ms);
    },
  };
  const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('not used in this test')) });
  const events = new RecordingEventPublisher();
  const evidenceStore = new InMemoryEvidenceStore();
  const d = {
    events,
    evidence: new EvidenceRecorder({ store: evidenceStore, runs, appVersion: 'test', catalogVersion: CATALOG_VERSION }),
    inventory: { ...(unused), listSubscriptions: overrides.listSubscriptions ?? (async () => []) },
    runs,
    clusters: {
      ...(unused),
      markStale: async (subscriptionId: string, options: { lastSeenNoLaterThan?: string } = {}) => {
        staleMarked.push({ subscriptionId, lastSeenNoLaterThan: options.lastSeenNoLaterThan });
        return 1;
      },
      listSummaryInputs: async () => ({ items: [], continuationToken: undefined }),
    },
    history: { ...(unused), purgeOlderThan: async () => 0 },
    summaries: {
      ...(unused),
      put: async (summary: FleetSummary) => {
        summaries.push(summary);
      },
      putTrendSlices: async () => undefined,
    },
    exceptions: unused,
    collectQueue: queue,
    finalizeQueue: unused,
    clock: new FixedClock('2026-05-01T02:00:00.000Z'),
    newRunId: () => 'run-1',
    settings: { subscriptionIds: overrides.subscriptionIds, armMaxConcurrency: 4, historyRetentionDays: 90 },
  } as unknown as Omit<EvaluationRunStarterDeps, 'finalizer'> & EvaluationRunFinalizerDeps;
  const finalizer = new EvaluationRunFinalizer(d);
  return { service: new EvaluationRunStarter({ ...d, finalizer }), runs, sent, staleMarked, summaries, events, evidenceStore };
}

const A = 'aaaaaaaa-0000-0000-0000-000000000000';
const B = 'bbbbbbbb-0000-0000-0000-000000000000';
const C = 'cccccccc-0000-0000-0000-000000000000';

describe('EvaluationRunStarter.startRun', () => {
  it('uses the configured subscriptions (deduplicated, lower-cased) without listing', async () => {
    const { service, sent } = deps({
      subscriptionIds: ['BBBBBBBB-0000-0000-0000-000000000000', 'aaaaaaaa-0000-0000-0000-000000000000', 'bbbbbbbb-0000-0000-0000-000000000000'],
      listSubscriptions: () => Promise.reject(new Error('must not list')),
    });
    const run = await service.startRun({ trigger: 'on-demand', requestedBy: 'oid-1' });
    expect(run).toMatchObject({ id: 'run-1', status: 'running', subscriptionsTotal: 2, requestedBy: 'oid-1', startedAt: '2026-05-01T02:00:00.000Z' });
    expect(sent.map((m) => m.subscriptionId)).toEqual(['aaaaaaaa-0000-0000-0000-000000000000', 'bbbbbbbb-0000-0000-0000-000000000000']);
  });

  it('lists only enabled subscriptions when none are configured', async () => {
    const { service, sent } = deps({
      listSubscriptions: async () => [
        { subscriptionId: 's-enabled', displayName: 'a', state: 'Enabled' },
        { subscriptionId: 's-disabled', displayName: 'b', state: 'Disabled' },
        { subscriptionId: 's-warned', displayName: 'c', state: 'Warned' },
      ],
    });
    await service.startRun({ trigger: 'timer' });
    expect(sent.map((m) => m.subscriptionId)).toEqual(['s-enabled']);
  });

  it('records the run as failed when discovery fails, and rethrows', async () => {
    const { service, runs } = deps({ listSubscriptions: () => Promise.reject(new Error('ARM 401')) });
    await expect(service.startRun({ trigger: 'timer' })).rejects.toThrow('ARM 401');
    expect(runs.runs.get('run-1')).toMatchObject({ status: 'failed', completedAt: '2026-05-01T02:00:00.000Z' });
    expect(runs.runs.get('run-1')?.failures[0]?.error).toMatch(/ARM 401/);
  });

  it('records a subscription whose collect message could not be sent as failed, and sends the others', async () => {
    const { service, runs, sent, staleMarked, summaries } = deps({
      subscriptionIds: [A, B, C],
      send: async (m) => {
        if (m.subscriptionId === B) throw new Error('queue 503');
      },
    });
    const run = await service.startRun({ trigger: 'timer' });
    expect(sent.map((m) => m.subscriptionId)).toEqual([A, C]);
    expect(runs.outcomes.get(B)).toEqual({ ok: false, error: 'collect message not enqueued: Error: queue 503' });
    expect([...runs.outcomes.keys()]).toEqual([B]);
    expect(staleMarked).toEqual([{ subscriptionId: B, lastSeenNoLaterThan: '2026-05-01T02:00:00.000Z' }]);
    // A and C are still being collected: the run stays open for them, counting B as failed.
    expect(run).toMatchObject({ status: 'running', subscriptionsTotal: 3, subscriptionsFailed: 1 });
    expect(summaries).toEqual([]);
  });

  it('finalizes at once when no collect message could be sent', async () => {
    const { service, sent, summaries, events, evidenceStore } = deps({ subscriptionIds: [A, B], send: () => Promise.reject(new Error('queue 503')) });
    const run = await service.startRun({ trigger: 'timer' });
    expect(sent).toEqual([]);
    expect(run).toMatchObject({ status: 'failed', subscriptionsFailed: 2, completedAt: '2026-05-01T02:00:00.000Z' });
    expect(run.failures.map((f) => f.subscriptionId)).toEqual([A, B]);
    expect(summaries.map((s) => s.runId)).toEqual(['run-1']);
    // Finalized like any run: its (empty) evidence sealed, evaluation.completed published.
    expect([...evidenceStore.blobs.keys()].filter((b) => b.startsWith('manifests/') && b.includes('run-1'))).toHaveLength(1);
    expect(events.published.map((e) => [e.type, (e.data as { status?: string }).status])).toEqual([['evaluation.completed', 'failed']]);
  });

  it('fails the run visibly when the unsent subscriptions cannot be recorded either, and rethrows', async () => {
    const { service, runs } = deps({ subscriptionIds: [A, B], send: (m) => (m.subscriptionId === A ? Promise.reject(new Error('queue 503')) : Promise.resolve()) });
    runs.failRecording = new Error('table 503');
    await expect(service.startRun({ trigger: 'timer' })).rejects.toThrow('table 503');
    const stored = runs.runs.get('run-1');
    expect(stored).toMatchObject({ status: 'failed', completedAt: '2026-05-01T02:00:00.000Z' });
    expect(stored?.failures).toEqual([{ subscriptionId: '*', error: '1 collect message(s) not enqueued and not recorded: Error: table 503', at: '2026-05-01T02:00:00.000Z' }]);
  });
});

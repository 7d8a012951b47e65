import { describe, expect, it } from 'vitest';
import { EvaluationService, type EvaluationServiceDeps } from '../../../application/evaluation-service.js';
import type { EvaluationRun, EvaluationRunRepository, MessageQueue } from '../../../application/ports.js';
import type { CollectSubscriptionMessage } from '../../../application/messages.js';

class MemoryRuns implements Pick<EvaluationRunRepository, 'create' | 'update' | 'get'> {
  readonly runs = new Map<string, EvaluationRun>();
  async create(run: EvaluationRun): Promise<void> {
    this.runs.set(run.id, run);
  }
  async update(run: EvaluationRun): Promise<void> {
    this.runs.set(run.id, run);
  }
  async get(id: string): Promise<EvaluationRun | undefined> {
    return this.runs.get(id);
  }
}

function deps(overrides: { subscriptionIds?: string[]; listSubscriptions?: () => Promise<{ subscriptionId: string; displayName: string; state: string }[]> }) {
  const runs = new MemoryRuns();
  const sent: CollectSubscriptionMessage[] = [];
  const queue: MessageQueue<CollectSubscriptionMessage> = {
    send: async (m) => {
      sent.push(m);
    },
    sendMany: async (ms) => {
      sent.push(...ms);
    },
  };
  const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('not used in this test')) });
  const d = {
    inventory: { ...(unused as object), listSubscriptions: overrides.listSubscriptions ?? (async () => []) },
    runs,
    clusters: unused,
    history: unused,
    summaries: unused,
    exceptions: unused,
    collectQueue: queue,
    finalizeQueue: unused,
    clock: { now: () => new Date('2026-05-01T02:00:00.000Z') },
    newRunId: () => 'run-1',
    settings: { subscriptionIds: overrides.subscriptionIds, armMaxConcurrency: 4, historyRetentionDays: 90 },
  } as unknown as EvaluationServiceDeps;
  return { service: new EvaluationService(d), runs, sent };
}

describe('EvaluationService.startRun', () => {
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
});

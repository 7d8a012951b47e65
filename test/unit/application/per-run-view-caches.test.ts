/**
 * The API's per-run views: the unfiltered trend, a framework's unfiltered report and a cluster's
 * detail are shared (frozen, so the HTTP layer serializes them once) while the latest run is the same,
 * and rebuilt as soon as it changes, never served for a previous run.
 */
import { describe, expect, it } from 'vitest';
import { ComplianceQueryService } from '../../../application/compliance-query-service.js';
import { FrameworkReportService, RequirementTitles } from '../../../application/framework-report-service.js';
import type { ClusterControlStatuses, ClusterQuery, ClusterState, Page } from '../../../application/ports.js';
import { deepFreeze } from '../../../domain/deep-freeze.js';
import type { FleetSummary } from '../../../domain/model.js';
import { InMemoryClusterStateRepository, InMemoryHistoryRepository, InMemoryRunRepository, InMemorySummaryRepository } from '../../support/in-memory-ports.js';

const DAY = 86_400_000;
const NOW = new Date('2026-06-30T12:00:00.000Z');

const summary = (runId: string, generatedAt: string, averageScore = 100): FleetSummary => ({
  runId,
  generatedAt,
  totals: { clusters: 1, compliant: 1, noncompliant: 0, stale: 0, averageScore },
  perControl: { 'ARC-AC-01': { pass: 1, fail: 0, notApplicable: 0, error: 0 } } as unknown as FleetSummary['perControl'],
  perSubscription: {},
});

class CountingSummaries extends InMemorySummaryRepository {
  trendReads = 0;
  override async listTrends(since: string): ReturnType<InMemorySummaryRepository['listTrends']> {
    this.trendReads += 1;
    return super.listTrends(since);
  }
}

function queryService(summaries: InMemorySummaryRepository, clusters = new InMemoryClusterStateRepository()): ComplianceQueryService {
  return new ComplianceQueryService({ clusters, history: new InMemoryHistoryRepository(), summaries, runs: new InMemoryRunRepository() });
}

describe('unfiltered trend per run', () => {
  it('is read once per latest run, shared while it lasts, and re-read when a run finalizes', async () => {
    const summaries = new CountingSummaries();
    await summaries.put(summary('run-1', new Date(NOW.getTime() - 40 * DAY).toISOString(), 70));
    await summaries.put(summary('run-2', new Date(NOW.getTime() - 2 * DAY).toISOString(), 80));
    const service = queryService(summaries);

    const first = await service.getTrends(30, NOW);
    expect(first.value.map((p) => p.runId)).toEqual(['run-2']);
    expect(Object.isFrozen(first.value)).toBe(true);
    expect((await service.getTrends(30, NOW)).value).toBe(first.value);
    // A wider window of the same run comes from the same read: the same rows as a range read.
    expect((await service.getTrends(60, NOW)).value.map((p) => p.runId)).toEqual(['run-1', 'run-2']);
    expect(summaries.trendReads).toBe(1);

    await summaries.put(summary('run-3', new Date(NOW.getTime() - DAY).toISOString(), 90));
    const after = await service.getTrends(30, NOW);
    expect(after.value.map((p) => [p.runId, p.averageScore])).toEqual([
      ['run-2', 80],
      ['run-3', 90],
    ]);
    expect(summaries.trendReads).toBe(2);
    expect(after.value).toEqual(await summaries.listTrends(new Date(NOW.getTime() - 30 * DAY).toISOString()));
  });

  it('reads again for a window that starts before the one it holds, and serves no run when none finished', async () => {
    const summaries = new CountingSummaries();
    const service = queryService(summaries);
    expect((await service.getTrends(30, NOW)).value).toEqual([]);
    await summaries.put(summary('run-1', new Date(NOW.getTime() - 500 * DAY).toISOString()));
    expect((await service.getTrends(30, NOW)).value).toEqual([]);
    const reads = summaries.trendReads;
    // A caller's clock far in the past: a window the cached read does not cover.
    const past = await service.getTrends(30, new Date(NOW.getTime() - 490 * DAY));
    expect(past.value.map((p) => p.runId)).toEqual(['run-1']);
    expect(summaries.trendReads).toBe(reads + 1);
  });
});

describe('cluster detail view', () => {
  it('is one frozen view per shared state, and a new one for a new state', async () => {
    const clusters = new InMemoryClusterStateRepository();
    let shared: ClusterState | undefined;
    clusters.getShared = async () => shared;
    const service = queryService(new InMemorySummaryRepository(), clusters);
    const state = (runId: string): ClusterState =>
      deepFreeze({
        id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/c',
        name: 'c',
        subscriptionId: 's',
        resourceGroup: 'rg',
        location: 'westeurope',
        kind: undefined,
        tags: {},
        environment: 'prod',
        distribution: undefined,
        kubernetesVersion: undefined,
        connectivityStatus: undefined,
        evaluation: { clusterId: 'c', evaluatedAt: NOW.toISOString(), runId, controls: [{ controlId: 'ARC-AC-01', status: 'fail', severity: 'high', evidence: 'e', reason: 'r' }], score: 0, failedControls: ['ARC-AC-01'] },
        stale: false,
        lastSeenAt: NOW.toISOString(),
      });
    shared = state('run-1');
    const first = await service.getCluster('s', 'rg', 'c');
    expect(Object.isFrozen(first)).toBe(true);
    expect(await service.getCluster('s', 'rg', 'c')).toBe(first);
    shared = state('run-2');
    const second = await service.getCluster('s', 'rg', 'c');
    expect(second.runId).toBe('run-2');
    expect(second).not.toBe(first);
    shared = undefined;
    await expect(service.getCluster('s', 'rg', 'c')).rejects.toMatchObject({ code: 'NotFound' });
  });
});

describe('unfiltered framework report per run', () => {
  function reportService(summaries: InMemorySummaryRepository, titles: RequirementTitles): { service: FrameworkReportService; reads: () => number } {
    let reads = 0;
    const clusters = {
      async listControlStatuses(_query: ClusterQuery): Promise<Page<ClusterControlStatuses>> {
        reads += 1;
        return { items: [{ subscriptionId: 's', environment: undefined, controls: [{ controlId: 'ARC-AC-01', status: 'fail' }] }], continuationToken: undefined };
      },
    };
    return { service: new FrameworkReportService({ clusters, summaries, titles }), reads: () => reads };
  }

  it('is one frozen view per run and title map, rebuilt when the run changes or titles arrive', async () => {
    const summaries = new InMemorySummaryRepository();
    await summaries.put(summary('run-1', new Date(NOW.getTime() - DAY).toISOString()));
    let available = false;
    const titles = new RequirementTitles(
      {
        listTitles: async () => {
          if (!available) throw new Error('metadata unavailable');
          return new Map([['NIST_SP_800-53_R5_AC-2', 'Account Management']]);
        },
      },
      (() => {
        let t = 0;
        return () => (t += 10 * 60_000);
      })(),
    );
    const { service, reads } = reportService(summaries, titles);
    const first = await service.getReport('nist-800-53-r5', {});
    expect(Object.isFrozen(first)).toBe(true);
    expect(first.requirements.every((r) => r.title === null || r.policyMetadataName === null)).toBe(true);
    // Titles still unreadable: the same view (every empty title map titles alike).
    expect(await service.getReport('nist-800-53-r5', {})).toBe(first);

    available = true;
    const titled = await service.getReport('nist-800-53-r5', {});
    expect(titled).not.toBe(first);
    expect(titled.requirements.find((r) => r.policyMetadataName === 'NIST_SP_800-53_R5_AC-2')?.title).toBe('Account Management');
    expect(await service.getReport('nist-800-53-r5', {})).toBe(titled);
    expect(reads()).toBe(1);

    await summaries.put(summary('run-2', NOW.toISOString()));
    const next = await service.getReport('nist-800-53-r5', {});
    expect(next.runId).toBe('run-2');
    expect(next).not.toBe(titled);
    expect(next.requirements).toEqual(titled.requirements);
    expect(reads()).toBe(2);
  });
});

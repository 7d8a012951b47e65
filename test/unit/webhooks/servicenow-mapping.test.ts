import { describe, expect, it } from 'vitest';
import { changeDecision, eventRecords, incidentCorrelationId, parseChangeEvent, planIncidentActions, urgencyImpact } from '../../../domain/servicenow-mapping.js';
import type { ClusterComplianceChangedData } from '../../../domain/webhook-events.js';

const clusterId = '/subscriptions/00000000-0000-0000-0000-00000000000a/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/c1';
const data: ClusterComplianceChangedData = {
  clusterId, clusterName: 'c1', subscriptionId: '00000000-0000-0000-0000-00000000000a', resourceGroup: 'rg', runId: 'r2', evaluatedAt: '2026-01-02T00:00:00Z', score: 70, previousScore: 80,
  changes: [
    { controlId: 'ARC-1', from: 'pass', to: 'fail', kind: 'regression', severity: 'high', evidence: 'bad' },
    { controlId: 'ARC-2', from: 'fail', to: 'pass', kind: 'improvement', severity: 'low', evidence: 'good' },
  ],
  failing: [{ controlId: 'ARC-1', severity: 'high', evidence: 'bad' }],
};

describe('ServiceNow incidents', () => {
  it('derives a stable correlation id of at most 100 characters', () => {
    const long = `${clusterId}${'x'.repeat(80)}`;
    expect(incidentCorrelationId(long, 'ARC-1')).toHaveLength(100);
    expect(incidentCorrelationId(long, 'ARC-1')).toBe(incidentCorrelationId(long.toUpperCase(), 'ARC-1'));
    expect(incidentCorrelationId(long, 'ARC-1')).not.toBe(incidentCorrelationId(long, 'ARC-2'));
    expect(incidentCorrelationId('/subscriptions/s/x', 'C')).toBe('/subscriptions/s/x#C');
  });
  it('maps severity to urgency and impact', () => {
    expect(urgencyImpact('high')).toEqual({ urgency: '1', impact: '2' });
    expect(urgencyImpact('low')).toEqual({ urgency: '3', impact: '3' });
  });
  it('opens failing controls and resolves improvements', () => {
    const actions = planIncidentActions(data, { category: 'software', assignmentGroup: 'Platform' });
    expect(actions.map((a) => [a.kind, a.correlationId])).toEqual([
      ['open-or-update', incidentCorrelationId(clusterId, 'ARC-1')],
      ['resolve', incidentCorrelationId(clusterId, 'ARC-2')],
    ]);
    const open = actions[0]!;
    expect(open.fields).toMatchObject({ urgency: '1', impact: '2', category: 'software', assignment_group: 'Platform', correlation_id: incidentCorrelationId(clusterId, 'ARC-1') });
    expect(actions[1]!.fields).toMatchObject({ state: '6', close_code: expect.any(String), close_notes: expect.stringMatching(/ARC-2/) });
  });
});

describe('ServiceNow events', () => {
  it('emits one record per change, 0 (clear) when no longer failing', () => {
    const records = eventRecords({ id: 'e', type: 'cluster.compliance.changed', timestamp: 't', data });
    expect(records.map((r) => [r.resource, r.severity, r.message_key])).toEqual([
      ['ARC-1', '1', incidentCorrelationId(clusterId, 'ARC-1')],
      ['ARC-2', '0', incidentCorrelationId(clusterId, 'ARC-2')],
    ]);
    expect(JSON.parse(records[0]!.additional_info)).toMatchObject({ clusterId, from: 'pass', to: 'fail' });
  });
  it('says whether a finished run covered the whole estate, with additional_info that always parses', () => {
    const base = { runId: 'run-1', status: 'succeeded', trigger: 'on-demand', completedAt: '2026-05-01T02:00:00.000Z', clustersEvaluated: 4, subscriptionsFailed: 0 };
    const full = eventRecords({ id: 'e', type: 'evaluation.completed', timestamp: 't', data: { ...base, scope: 'full-estate' } })[0]!;
    expect(full).toMatchObject({ message_key: 'evaluation#run-1', resource: 'run-1', severity: '5' });
    expect(full.description).toBe('evaluation.completed (full estate) at t: run run-1 succeeded, 4 cluster(s) evaluated');
    const ids = Array.from({ length: 500 }, (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`);
    const partial = eventRecords({ id: 'e', type: 'evaluation.completed', timestamp: 't', data: { ...base, scope: 'partial-estate', scopeSubscriptionIds: ids } })[0]!;
    expect(partial.description).toContain('(partial estate: 500 subscriptions)');
    // 500 ids do not fit in 4,000 characters: the list is cut and says by how many, the JSON still parses.
    expect(partial.additional_info.length).toBeLessThanOrEqual(4000);
    const info = JSON.parse(partial.additional_info) as { scope: string; scopeSubscriptionIds: string[]; scopeSubscriptionIdsOmitted: number };
    expect(info.scope).toBe('partial-estate');
    expect(info.scopeSubscriptionIds).toEqual(ids.slice(0, info.scopeSubscriptionIds.length));
    expect(info.scopeSubscriptionIds.length).toBeGreaterThan(50);
    expect(info.scopeSubscriptionIds.length + info.scopeSubscriptionIdsOmitted).toBe(500);
    const few = eventRecords({ id: 'e', type: 'evaluation.completed', timestamp: 't', data: { ...base, scope: 'partial-estate', scopeSubscriptionIds: ids.slice(0, 1) } })[0]!;
    expect(few.description).toContain('(partial estate: 1 subscription)');
    expect(JSON.parse(few.additional_info)).toEqual({ ...base, scope: 'partial-estate', scopeSubscriptionIds: ids.slice(0, 1) });
  });
  it('maps other events to one record', () => {
    expect(eventRecords({ id: 'e', type: 'rollout.failed', timestamp: 't', data: { rolloutId: 'ro1' } })[0]).toMatchObject({ severity: '2', message_key: 'rollout#ro1' });
  });
});

describe('change events', () => {
  it('decides approve / pause / ignore', () => {
    expect(changeDecision('approved')).toBe('approve');
    expect(changeDecision('Rejected')).toBe('pause');
    expect(changeDecision('cancelled')).toBe('pause');
    expect(changeDecision('requested')).toBe('ignore');
  });
  it('parses the body', () => {
    expect(parseChangeEvent({ data: { number: 'CHG1', state: 'approved', rolloutId: 'ro1', waveId: 'w1', approvedBy: 'jane' } })).toEqual({
      ok: true, value: { number: 'CHG1', state: 'approved', rolloutId: 'ro1', waveId: 'w1', approvedBy: 'jane', sysId: undefined },
    });
    expect(parseChangeEvent({ data: { number: 'CHG1', state: 'approved', rolloutId: 'ro 1', waveId: 'w1' } }).ok).toBe(false);
    expect(parseChangeEvent([]).ok).toBe(false);
  });
});

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

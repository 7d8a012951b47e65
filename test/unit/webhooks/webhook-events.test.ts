import { describe, expect, it } from 'vitest';
import { buildClusterComplianceChanged, subscriptionWants, toEnvelope, WEBHOOK_EVENT_TYPES, type OutboundEvent } from '../../../domain/webhook-events.js';
import { normalizeNewWebhook, activeSecrets, rotateSecrets, responseExcerpt } from '../../../domain/webhook-subscription.js';
import type { ClusterEvaluation, ControlResult } from '../../../domain/model.js';

const SUB_A = '00000000-0000-0000-0000-00000000000a';
const SUB_B = '00000000-0000-0000-0000-00000000000b';
const cluster = { id: `/subscriptions/${SUB_A}/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/c1`, name: 'c1', subscriptionId: SUB_A, resourceGroup: 'rg' };
const control = (controlId: string, status: ControlResult['status'], severity: ControlResult['severity'] = 'high'): ControlResult => ({ controlId, status, severity, evidence: `${controlId} is ${status}` });
const evaluation = (runId: string, controls: ControlResult[]): ClusterEvaluation => ({
  clusterId: cluster.id, evaluatedAt: '2026-01-01T00:00:00.000Z', runId, controls, score: 50, failedControls: controls.filter((c) => c.status === 'fail').map((c) => c.controlId),
});

describe('event envelope and types', () => {
  it('lists the nine event types and builds { type, timestamp, data }', () => {
    expect(WEBHOOK_EVENT_TYPES).toHaveLength(9);
    expect(WEBHOOK_EVENT_TYPES).toContain('controlplane.change.detected');
    const e: OutboundEvent = { id: 'e1', type: 'rollout.completed', timestamp: 't', data: { a: 1 }, scope: { subscriptionIds: [SUB_A] } };
    expect(toEnvelope(e)).toEqual({ type: 'rollout.completed', timestamp: 't', data: { a: 1 } });
  });
});

describe('subscription matching', () => {
  const sub = (events: string[], filters = {}, enabled = true) => ({ enabled, events, filters });
  const changed: OutboundEvent = { id: 'e', type: 'cluster.compliance.changed', timestamp: 't', data: { subscriptionId: SUB_A, changes: [{ severity: 'medium' }] } };
  it('matches by type or *', () => {
    expect(subscriptionWants(sub(['*']), changed)).toBe(true);
    expect(subscriptionWants(sub(['cluster.compliance.changed']), changed)).toBe(true);
    expect(subscriptionWants(sub(['evaluation.completed']), changed)).toBe(false);
    expect(subscriptionWants(sub(['*'], {}, false), changed)).toBe(false);
  });
  it('filters by subscription id and minimum severity when the event carries them', () => {
    expect(subscriptionWants(sub(['*'], { subscriptionIds: [SUB_A.toUpperCase()] }), changed)).toBe(true);
    expect(subscriptionWants(sub(['*'], { subscriptionIds: [SUB_B] }), changed)).toBe(false);
    expect(subscriptionWants(sub(['*'], { minimumSeverity: 'medium' }), changed)).toBe(true);
    expect(subscriptionWants(sub(['*'], { minimumSeverity: 'high' }), changed)).toBe(false);
    const fleet: OutboundEvent = { id: 'e', type: 'evaluation.completed', timestamp: 't', data: { runId: 'r' } };
    expect(subscriptionWants(sub(['*'], { subscriptionIds: [SUB_B], minimumSeverity: 'high' }), fleet)).toBe(true);
    // A run of some subscriptions is about those subscriptions only.
    const partial: OutboundEvent = { id: 'e', type: 'evaluation.completed', timestamp: 't', data: { runId: 'r', scope: 'partial-estate', scopeSubscriptionIds: [SUB_A] }, scope: { subscriptionIds: [SUB_A] } };
    expect(subscriptionWants(sub(['*'], { subscriptionIds: [SUB_A.toUpperCase()] }), partial)).toBe(true);
    expect(subscriptionWants(sub(['*'], { subscriptionIds: [SUB_B] }), partial)).toBe(false);
    expect(subscriptionWants(sub(['evaluation.completed']), partial)).toBe(true);
  });
});

describe('cluster.compliance.changed', () => {
  it('is undefined on a first run or without drift', () => {
    const cur = evaluation('r2', [control('C1', 'fail')]);
    expect(buildClusterComplianceChanged(cluster, undefined, cur)).toBeUndefined();
    expect(buildClusterComplianceChanged(cluster, evaluation('r1', [control('C1', 'fail')]), cur)).toBeUndefined();
  });
  it('lists changed controls with kind and every failing control', () => {
    const prev = evaluation('r1', [control('C1', 'pass'), control('C2', 'fail', 'low'), control('C3', 'fail')]);
    const cur = evaluation('r2', [control('C1', 'fail'), control('C2', 'fail', 'low'), control('C3', 'pass')]);
    const data = buildClusterComplianceChanged(cluster, prev, cur)!;
    expect(data.changes.map((c) => [c.controlId, c.from, c.to, c.kind])).toEqual([['C1', 'pass', 'fail', 'regression'], ['C3', 'fail', 'pass', 'improvement']]);
    expect(data.failing.map((f) => f.controlId)).toEqual(['C1', 'C2']);
    expect(data.subscriptionId).toBe(SUB_A);
  });
});

describe('subscriptions', () => {
  it('validates new subscriptions', () => {
    expect(() => normalizeNewWebhook({ url: 'https://x', events: ['nope'] })).toThrow(/invalid/);
    expect(() => normalizeNewWebhook({ url: 'https://x', events: [] })).toThrow();
    expect(normalizeNewWebhook({ url: 'https://x', events: ['*', 'rollout.failed'], filters: { subscriptionIds: [SUB_A.toUpperCase()] } })).toMatchObject({ events: ['*'], format: 'standard', filters: { subscriptionIds: [SUB_A] } });
  });
  it('keeps the previous secret for 24 h after rotation', () => {
    const t0 = new Date('2026-01-01T00:00:00Z');
    const rotated = rotateSecrets({ current: 'old' }, 'new', t0);
    expect(activeSecrets(rotated, new Date('2026-01-01T23:59:59Z'))).toEqual(['new', 'old']);
    expect(activeSecrets(rotated, new Date('2026-01-02T00:00:00Z'))).toEqual(['new']);
  });
  it('keeps at most 256 characters of a response', () => {
    expect(responseExcerpt('x'.repeat(1000))).toHaveLength(256);
    expect(responseExcerpt('a\r\nb')).toBe('a b');
    expect(responseExcerpt('')).toBeUndefined();
  });
});

/**
 * The rollout operations through the in-process API harness (real `RolloutService` over in-memory
 * ports, real JWT validation): plan, create (201 + Location, first gate queued), 409 for a concurrent
 * rollout, approval by another identity and 403 for the creator, commands, list/get with events, and
 * an audit record for every call, reads included.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RolloutView } from '../../../application/rollout-service.js';
import type { RolloutPlan } from '../../../domain/rollout-model.js';
import { documented } from '../../support/api-expect.js';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { SUB_A, clusterId, seedFleet } from '../../support/api-fixtures.js';

const ASSIGNMENT = `/subscriptions/${SUB_A}/providers/Microsoft.Authorization/policyAssignments/pss-baseline`;
const REQUEST = { policyAssignmentId: ASSIGNMENT, waves: [{ name: 'canary', locations: ['westeurope'] }], gates: { bakeMinutes: 0 } };

let h: ApiHarness;
let creator: string;
let approver: string;
let approverReader: string;
let manager: string;
beforeAll(async () => {
  h = await startApiHarness();
  await seedFleet(h.ports);
  h.ports.policyAssignments.assignments.set(ASSIGNMENT.toLowerCase(), {
    id: ASSIGNMENT,
    name: 'pss-baseline',
    scope: `/subscriptions/${SUB_A}`,
    policyDefinitionId: '/providers/Microsoft.Authorization/policySetDefinitions/a8640138-9b0a-4a28-b8cb-1666c838647d',
    parameters: { effect: { value: 'Audit' } },
  });
  creator = await h.token(['Enforcement.Manage', 'Enforcement.Approve', 'Compliance.Read'], { oid: 'creator-oid' });
  approver = await h.token(['Enforcement.Approve'], { oid: 'approver-oid' });
  approverReader = await h.token(['Enforcement.Approve', 'Compliance.Read'], { oid: 'approver-oid' });
  manager = await h.token(['Enforcement.Manage'], { oid: 'manager-oid' });
});
afterAll(async () => h?.stop());

it('plans, creates, refuses a concurrent rollout and self-approval, approves, pauses, and audits every call', async () => {
  const store1 = clusterId(SUB_A, 'rg-edge', 'store-001');
  h.ports.policyAssignments.states.push({ resourceId: store1.toLowerCase(), policyAssignmentId: ASSIGNMENT.toLowerCase(), policyDefinitionName: 'def-noprivileged', policyDefinitionReferenceId: 'noPrivileged', complianceState: 'NonCompliant', policyDefinitionAction: 'audit' });
  const plan = await h.request('POST', '/api/v1/rollouts?dryRun=true', { token: creator, body: REQUEST });
  expect(plan.status).toBe(200);
  const planBody = (await documented('createRollout', plan)) as RolloutPlan;
  expect(planBody.waves[0]!.clusters.map((c) => c.name).sort()).toEqual(['store-001', 'store-002']);
  // The documented plan names where deny would refuse (here only the cluster: its evaluation names no resource).
  expect(planBody.waves[0]!.wouldDeny).toEqual([{ policy: 'noprivileged', resources: 0, offenders: { items: [{ clusterId: store1 }], total: 1 } }]);
  expect(h.ports.rolloutRepository.records.size).toBe(0);

  const created = await h.request('POST', '/api/v1/rollouts', { token: creator, body: REQUEST });
  expect(created.status).toBe(201);
  const rollout = (await documented('createRollout', created)) as RolloutView;
  expect(created.headers.get('location')).toBe(`${h.url}/api/v1/rollouts/${rollout.id}`);
  expect(rollout).toMatchObject({ state: 'running', createdBy: 'creator-oid', policyAssignmentId: ASSIGNMENT });
  expect(h.ports.rolloutSteps.sent.map((s) => s.message)).toEqual([{ kind: 'rollout-step', rolloutId: rollout.id, wave: 0, step: 'gate', attempt: 0 }]);

  const concurrent = await h.request('POST', '/api/v1/rollouts', { token: creator, body: REQUEST });
  expect(concurrent.status).toBe(409);
  expect(((await documented('createRollout', concurrent)) as { error: { code: string } }).error.code).toBe('Conflict');

  const self = await h.request('POST', `/api/v1/rollouts/${rollout.id}/waves/canary/approve`, { token: creator });
  expect(self.status).toBe(403);
  expect(((await documented('approveRolloutWave', self)) as { error: { code: string } }).error.code).toBe('Forbidden');

  const approved = await h.request('POST', `/api/v1/rollouts/${rollout.id}/waves/0/approve`, { token: approver });
  expect(approved.status).toBe(200);
  expect(((await documented('approveRolloutWave', approved)) as RolloutView).waves[0]!.approval?.by).toBe('approver-oid');

  const paused = await h.request('POST', `/api/v1/rollouts/${rollout.id}/pause`, { token: creator });
  expect(paused.status).toBe(200);
  expect(((await documented('controlRollout', paused)) as RolloutView).state).toBe('paused');

  const missing = await h.request('POST', '/api/v1/rollouts/ro-missing/resume', { token: creator });
  expect(missing.status).toBe(404);

  const got = await h.request('GET', `/api/v1/rollouts/${rollout.id}`, { token: creator });
  expect(got.status).toBe(200);
  const view = (await documented('getRollout', got)) as RolloutView;
  expect(view.events?.map((e) => e.type)).toEqual(['created', 'approved', 'paused']);

  const list = await h.request('GET', '/api/v1/rollouts', { token: creator });
  expect(list.status).toBe(200);
  expect(((await documented('listRollouts', list)) as { value: RolloutView[] }).value.map((r) => r.id)).toEqual([rollout.id]);

  // Reads need Compliance.Read (every GET of the API), not an Enforcement role: an approver who holds
  // it sees what they approve; Enforcement.Manage alone does not read.
  expect((await h.request('GET', `/api/v1/rollouts/${rollout.id}`, { token: approverReader })).status).toBe(200);
  expect((await h.request('GET', `/api/v1/rollouts/${rollout.id}`, { token: approver })).status).toBe(403);
  expect((await h.request('GET', '/api/v1/rollouts', { token: manager })).status).toBe(403);

  const responses = [plan, created, concurrent, self, approved, paused, missing, got, list];
  const records = responses.map((r) => h.ports.auditLog.records.find((a) => a.requestId === r.headers.get('x-request-id')));
  expect(records.map((r) => [r?.operation, r?.outcome])).toEqual([
    ['createRollout', 'succeeded'],
    ['createRollout', 'succeeded'],
    ['createRollout', 'failed'],
    ['approveRolloutWave', 'denied'],
    ['approveRolloutWave', 'succeeded'],
    ['controlRollout', 'succeeded'],
    ['controlRollout', 'failed'],
    ['getRollout', 'succeeded'],
    ['listRollouts', 'succeeded'],
  ]);
  expect(records[3]?.callerObjectId).toBe('creator-oid');
});

it('takes an approver\'s comment (≤ 1000 chars) into the event log, the wave and the audit log; {} is no comment; unknown fields are refused', async () => {
  const assignment = `/subscriptions/${SUB_A}/providers/Microsoft.Authorization/policyAssignments/pss-restricted`;
  h.ports.policyAssignments.assignments.set(assignment.toLowerCase(), {
    id: assignment,
    name: 'pss-restricted',
    scope: `/subscriptions/${SUB_A}`,
    policyDefinitionId: '/providers/Microsoft.Authorization/policySetDefinitions/a8640138-9b0a-4a28-b8cb-1666c838647d',
    parameters: { effect: { value: 'Audit' } },
  });
  const request = { ...REQUEST, policyAssignmentId: assignment, waves: [{ name: 'canary', locations: ['westeurope'] }, { name: 'rest', locations: ['northeurope'] }] };
  const created = await h.request('POST', '/api/v1/rollouts', { token: creator, body: request });
  expect(created.status).toBe(201);
  const { id } = (await documented('createRollout', created)) as RolloutView;
  const eventsBefore = (await h.ports.rolloutRepository.events(id)).length;

  const tooLong = await h.request('POST', `/api/v1/rollouts/${id}/waves/canary/approve`, { token: approver, body: { comment: 'x'.repeat(1001) } });
  expect(tooLong.status).toBe(400);
  expect(((await documented('approveRolloutWave', tooLong)) as { error: { target: string; message: string } }).error).toMatchObject({ target: 'comment', message: expect.stringMatching(/^The request body is invalid: comment: /) });
  const unknown = await h.request('POST', `/api/v1/rollouts/${id}/waves/canary/approve`, { token: approver, body: { comment: 'ok', reason: 'x' } });
  expect(unknown.status).toBe(400);
  expect(((await documented('approveRolloutWave', unknown)) as { error: { details: unknown[] } }).error.details).toEqual([{ code: 'UnknownField', message: 'unknown field', target: 'reason' }]);
  expect((await h.request('GET', `/api/v1/rollouts/${id}`, { token: creator }).then((r) => r.json() as Promise<RolloutView>)).waves[0]!.approval).toBeUndefined();
  expect(await h.ports.rolloutRepository.events(id)).toHaveLength(eventsBefore);

  const comment = 'CHG0042: approved by the change advisory board';
  const approved = await h.request('POST', `/api/v1/rollouts/${id}/waves/canary/approve`, { token: approver, body: { comment } });
  expect(approved.status).toBe(200);
  expect(((await documented('approveRolloutWave', approved)) as RolloutView).waves[0]!.approval).toMatchObject({ by: 'approver-oid', comment });
  const events = await h.ports.rolloutRepository.events(id);
  expect(events.at(-1)).toMatchObject({ type: 'approved', actor: 'approver-oid', wave: 0, comment });
  expect(h.ports.auditLog.records.find((a) => a.requestId === approved.headers.get('x-request-id'))).toMatchObject({ operation: 'approveRolloutWave', outcome: 'succeeded', detail: `comment: ${comment}` });

  // What HTTP clients, ServiceNow REST steps and Logic Apps send by default: `{}`, or nothing at all.
  const empty = await h.request('POST', `/api/v1/rollouts/${id}/waves/rest/approve`, { token: approver, body: {} });
  expect(empty.status).toBe(200);
  const view = (await documented('approveRolloutWave', empty)) as RolloutView;
  expect(view.waves[1]!.approval?.by).toBe('approver-oid');
  expect(view.waves[1]!.approval).not.toHaveProperty('comment');
  expect((await h.ports.rolloutRepository.events(id)).at(-1)).not.toHaveProperty('comment');
  const paused = await h.request('POST', `/api/v1/rollouts/${id}/pause`, { token: creator, body: {} });
  expect(paused.status).toBe(200);
});

it('audits rollout reads like mutations: denied and missing reads too; an audit store outage is logged and never fails a read', async () => {
  const denied = await h.request('GET', '/api/v1/rollouts', { token: manager });
  const missing = await h.request('GET', '/api/v1/rollouts/ro-does-not-exist', { token: creator });
  expect([denied.status, missing.status]).toEqual([403, 404]);
  const recordOf = (r: Response) => h.ports.auditLog.records.find((a) => a.requestId === r.headers.get('x-request-id'));
  expect(recordOf(denied)).toMatchObject({ operation: 'listRollouts', outcome: 'denied', target: '/api/v1/rollouts', callerObjectId: 'manager-oid', detail: 'Forbidden' });
  expect(recordOf(missing)).toMatchObject({ operation: 'getRollout', outcome: 'failed', target: 'rollouts/ro-does-not-exist', detail: 'NotFound' });

  const errorsBefore = h.errors.length;
  h.ports.auditLog.failWith = new Error('audit table unavailable');
  try {
    const list = await h.request('GET', '/api/v1/rollouts', { token: creator });
    expect(list.status).toBe(200);
    const { value } = (await documented('listRollouts', list)) as { value: RolloutView[] };
    const got = await h.request('GET', `/api/v1/rollouts/${value[0]!.id}`, { token: creator });
    expect(got.status).toBe(200);
  } finally {
    h.ports.auditLog.failWith = undefined;
  }
  expect(h.errors.slice(errorsBefore).map((e) => [e.message, e.properties['operationId']])).toEqual([
    ['Audit record could not be written', 'listRollouts'],
    ['Audit record could not be written', 'getRollout'],
  ]);
});

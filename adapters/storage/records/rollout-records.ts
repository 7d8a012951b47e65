/**
 * Stored shapes of the `rollouts` table: the rollout record (its JSON body chunked over `body_0..n`,
 * with `state`, `policyAssignmentId` and `createdAt` beside it for filters), its event log entries
 * (`body`, one JSON event) and the active-rollout lock of a policy assignment.
 *
 * The body is the record: the columns beside it are written from it and never read back, so a record
 * whose columns disagree with its body is read as its body says.
 */
import type { Rollout, RolloutEvent, RolloutEventType, RolloutState, RolloutStep, WaveMechanism, WaveState } from '../../../domain/rollout-model.js';
import { writeChunks } from '../chunked-property.js';
import { chunkedJsonProp, defineRecordCodec, jsonProp, UnreadablePropertyError, type StoredEntity } from './record-codec.js';

const text = { type: 'string' } as const;
const count = { type: 'integer', minimum: 0 } as const;
const texts = { type: 'array', items: text } as const;

// Records keyed by every member of a union: the compiler refuses a state the schema would not know.
const ROLLOUT_STATES: Record<RolloutState, true> = {
  running: true,
  blocked: true,
  awaiting_approval: true,
  paused: true,
  completed: true,
  failed: true,
  rolled_back: true,
  aborted: true,
};
const WAVE_STATES: Record<WaveState, true> = {
  pending: true,
  gating: true,
  blocked: true,
  awaiting_approval: true,
  applying: true,
  verifying: true,
  baking: true,
  completed: true,
  rolled_back: true,
};
const STEPS: Record<RolloutStep, true> = { gate: true, apply: true, verify: true, bake: true, rollback: true };
const MECHANISMS: Record<WaveMechanism, true> = { locationOverride: true, resourceGroupAssignment: true };
const EVENT_TYPES: Record<RolloutEventType, true> = {
  created: true,
  'gate-passed': true,
  'gate-blocked': true,
  approved: true,
  'wave-applied': true,
  'verify-pending': true,
  'wave-verified': true,
  'wave-baked': true,
  regression: true,
  completed: true,
  paused: true,
  resumed: true,
  aborted: true,
  'rollback-requested': true,
  'rolled-back': true,
  failed: true,
};

const oneOf = (members: Readonly<Record<string, true>>): { enum: string[] } => ({ enum: Object.keys(members) });

const selector = { type: 'object', required: ['kind'], properties: { kind: text, in: texts, notIn: texts } } as const;

/** An optional property ARM may answer as `null`: the snapshot keeps what ARM had, so null is read as written. */
const orNull = <S extends object>(schema: S): { anyOf: [S, { type: 'null' }] } => ({ anyOf: [schema, { type: 'null' }] });

/** The writable properties of a policy assignment as the rollout stores them (snapshot, desired state). */
const assignment = {
  type: 'object',
  required: ['id', 'name', 'scope', 'policyDefinitionId'],
  properties: {
    id: text,
    name: text,
    scope: text,
    policyDefinitionId: text,
    displayName: orNull(text),
    description: orNull(text),
    definitionVersion: orNull(text),
    enforcementMode: orNull(text),
    parameters: orNull({ type: 'object', additionalProperties: orNull({ type: 'object' }) }),
    notScopes: orNull(texts),
    overrides: { type: 'array', items: { type: 'object', required: ['kind', 'value'], properties: { kind: text, value: text, selectors: { type: 'array', items: selector } } } },
    resourceSelectors: { type: 'array', items: { type: 'object', required: ['name', 'selectors'], properties: { name: text, selectors: { type: 'array', items: selector } } } },
    nonComplianceMessages: { type: 'array', items: { type: 'object', required: ['message'], properties: { message: text, policyDefinitionReferenceId: text } } },
    location: orNull(text),
  },
} as const;

const cursor = { type: 'object', required: ['wave', 'step', 'attempt'], properties: { wave: count, step: oneOf(STEPS), attempt: count } };

const wave = {
  type: 'object',
  required: ['name', 'locations', 'resourceGroups', 'mechanisms', 'state', 'clusters', 'nonCompliant', 'reasons', 'enforcement', 'desired'],
  properties: {
    name: text,
    locations: texts,
    resourceGroups: texts,
    mechanisms: { type: 'array', items: oneOf(MECHANISMS) },
    state: oneOf(WAVE_STATES),
    clusters: texts,
    nonCompliant: count,
    reasons: texts,
    approval: { type: 'object', required: ['by', 'at'], properties: { by: text, at: text, comment: text } },
    enforcement: { type: 'object', additionalProperties: text },
    baseline: { type: 'object', additionalProperties: texts },
    desired: { type: 'object', required: ['parent', 'children'], properties: { parent: assignment, children: { type: 'array', items: assignment } } },
    gatePassedAt: text,
    appliedAt: text,
    verifyStartedAt: text,
    bakeStartedAt: text,
    completedAt: text,
  },
};

export const rolloutCodec = defineRecordCodec<Rollout>({
  kind: 'rollout',
  version: 1,
  schema: {
    type: 'object',
    required: ['id', 'policyAssignmentId', 'createdBy', 'createdAt', 'updatedAt', 'state', 'gates', 'autoRollback', 'snapshot', 'waves', 'currentWave', 'eventCount'],
    properties: {
      id: text,
      policyAssignmentId: text,
      createdBy: text,
      createdAt: text,
      updatedAt: text,
      state: oneOf(ROLLOUT_STATES),
      gates: {
        type: 'object',
        required: ['maxNonCompliant', 'bakeMinutes', 'requireApproval', 'maxEvidenceAgeHours'],
        properties: { maxNonCompliant: count, bakeMinutes: { type: 'number', minimum: 0 }, requireApproval: { type: 'boolean' }, maxEvidenceAgeHours: { type: 'number', minimum: 0 } },
      },
      autoRollback: { type: 'boolean' },
      snapshot: assignment,
      waves: { type: 'array', items: wave },
      currentWave: count,
      cursor,
      lastHandled: cursor,
      outbox: {
        type: 'object',
        required: ['message', 'visibilityDelaySeconds'],
        properties: {
          message: {
            type: 'object',
            required: ['kind', 'rolloutId', 'wave', 'step', 'attempt'],
            properties: { kind: { const: 'rollout-step' }, rolloutId: text, wave: count, step: oneOf(STEPS), attempt: count },
          },
          visibilityDelaySeconds: { type: 'number', minimum: 0 },
        },
      },
      outboxDueAt: text,
      outboxSent: { type: 'boolean' },
      rollbackScope: { enum: ['all', 'wave'] },
      pausedFrom: oneOf(ROLLOUT_STATES),
      cause: text,
      eventCount: count,
    },
  },
  encode: (r) => ({
    state: r.state,
    policyAssignmentId: r.policyAssignmentId,
    createdAt: r.createdAt,
    ...writeChunks('body', JSON.stringify(r)),
  }),
  readers: {
    1: (e: StoredEntity) => {
      const body = chunkedJsonProp(e, 'body');
      if (body === undefined) throw new UnreadablePropertyError('/body_0..n are missing');
      return body;
    },
  },
});

export const rolloutEventCodec = defineRecordCodec<RolloutEvent>({
  kind: 'rollout-event',
  version: 1,
  schema: {
    type: 'object',
    required: ['seq', 'at', 'type', 'message'],
    properties: { seq: { type: 'integer', minimum: 1 }, at: text, type: oneOf(EVENT_TYPES), wave: count, actor: text, message: text, comment: text },
  },
  encode: (event) => ({ body: JSON.stringify(event) }),
  readers: {
    1: (e: StoredEntity) => {
      const body = jsonProp(e, 'body');
      if (body === undefined) throw new UnreadablePropertyError('/body is missing');
      return body;
    },
  },
});

/** The active-rollout lock of one policy assignment: who holds it, and since when. */
export interface RolloutLock {
  readonly rolloutId: string;
  readonly policyAssignmentId: string;
  /** Absent on locks written before the create grace existed (they count as abandoned). */
  readonly claimedAt?: string | undefined;
}

export const rolloutLockCodec = defineRecordCodec<RolloutLock>({
  kind: 'rollout-lock',
  version: 1,
  schema: {
    type: 'object',
    required: ['rolloutId', 'policyAssignmentId'],
    properties: { rolloutId: text, policyAssignmentId: text, claimedAt: text },
  },
  encode: (lock) => ({ rolloutId: lock.rolloutId, policyAssignmentId: lock.policyAssignmentId, ...(lock.claimedAt !== undefined ? { claimedAt: lock.claimedAt } : {}) }),
  readers: {
    1: (e: StoredEntity) => ({
      rolloutId: e['rolloutId'],
      policyAssignmentId: e['policyAssignmentId'],
      ...(e['claimedAt'] !== undefined && e['claimedAt'] !== null ? { claimedAt: e['claimedAt'] } : {}),
    }),
  },
});

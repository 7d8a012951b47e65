/**
 * OpenAPI 3.1 paths and schemas of staged enforcement, to be merged into `document.ts`:
 * `paths: { ...paths, ...rolloutPaths }` and `schemas: { ...schemas, ...rolloutSchemas }`, plus the
 * `Rollouts` tag ({@link rolloutTag}). References point at the document's shared components
 * (`Error` responses, `top`, `continuationToken`, `RequestId`).
 */
import type { OpenAPIV3_1 } from 'openapi-types';
import { APP_ROLES } from '../adapters/http/app-roles.js';
import { MAX_OFFENDER_ITEMS } from '../domain/offender-list.js';
import { ROLLOUT_LIMITS } from '../domain/rollout-planner.js';
import { ID_PATTERN, dateTime, json, paramRef, ref, respRef, secured, type Operation, type Schema } from './building-blocks.js';


const ROLLOUT_ID_PATTERN = ID_PATTERN;
const ASSIGNMENT_ID_PATTERN = '^/.+/[pP][rR][oO][vV][iI][dD][eE][rR][sS]/[mM][iI][cC][rR][oO][sS][oO][fF][tT]\\.[aA][uU][tT][hH][oO][rR][iI][zZ][aA][tT][iI][oO][nN]/[pP][oO][lL][iI][cC][yY][aA][sS][sS][iI][gG][nN][mM][eE][nN][tT][sS]/[^/]+$';
const RESOURCE_GROUP_PATTERN = '^/[sS][uU][bB][sS][cC][rR][iI][pP][tT][iI][oO][nN][sS]/[0-9a-fA-F-]{36}/[rR][eE][sS][oO][uU][rR][cC][eE][gG][rR][oO][uU][pP][sS]/[-\\w._()]{1,90}$';
const WAVE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$';

const rolloutState: Schema = { type: 'string', enum: ['running', 'blocked', 'awaiting_approval', 'paused', 'completed', 'failed', 'rolled_back', 'aborted'] };
const waveState: Schema = { type: 'string', enum: ['pending', 'gating', 'blocked', 'awaiting_approval', 'applying', 'verifying', 'baking', 'completed', 'rolled_back'] };
const step: Schema = { type: 'string', enum: ['gate', 'apply', 'verify', 'bake', 'rollback'] };
const mechanism: Schema = { type: 'string', enum: ['locationOverride', 'resourceGroupAssignment'] };
const wouldDeny: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['policy', 'resources'],
  properties: {
    policy: { type: 'string', description: 'Policy reference id in the initiative, else the definition GUID.' },
    resources: {
      type: 'integer',
      minimum: 0,
      description: 'Offending resources deny would refuse: live components, else the in-cluster resources the latest stored evaluation names (a lower bound when its offender list was cut); 0 when only the non-compliant state is known.',
    },
    offenders: {
      type: 'object',
      additionalProperties: false,
      required: ['items', 'total'],
      description: `Which resources: one item per in-cluster resource the latest stored evaluation names, or one per cluster when none is named. At most ${MAX_OFFENDER_ITEMS} items; \`total\` counts all.`,
      properties: {
        items: {
          type: 'array',
          maxItems: MAX_OFFENDER_ITEMS,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['clusterId'],
            properties: {
              clusterId: { type: 'string', description: 'ARM id of the cluster.' },
              resource: { type: 'string', description: 'In-cluster resource as the evaluation recorded it (`<type> <id>`); absent when only the cluster is known.' },
            },
          },
        },
        total: { type: 'integer', minimum: 0 },
      },
    },
  },
};
/** A policy assignment in the SDK's flattened 2025-03-01 shape (loosely typed: ARM owns it). */
const assignment: Schema = {
  type: 'object',
  required: ['id', 'name', 'scope', 'policyDefinitionId'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    scope: { type: 'string' },
    policyDefinitionId: { type: 'string' },
    notScopes: { type: 'array', items: { type: 'string' } },
    overrides: { type: 'array', items: { type: 'object' } },
    resourceSelectors: { type: 'array', items: { type: 'object' } },
    parameters: { type: 'object' },
  },
};

export const rolloutSchemas: Record<string, OpenAPIV3_1.SchemaObject> = {
  RolloutGates: {
    type: 'object',
    additionalProperties: false,
    properties: {
      maxNonCompliant: { type: 'integer', minimum: 0, default: 0, description: 'Most non-compliant clusters a wave may have at its gate.' },
      bakeMinutes: { type: 'integer', minimum: 0, maximum: 10080, default: 60 },
      requireApproval: { type: 'boolean', default: true, description: 'Each wave needs an approval by an identity other than the creator.' },
      maxEvidenceAgeHours: { type: 'integer', minimum: 1, maximum: 720, default: 24 },
    },
  },
  NewRollout: {
    type: 'object',
    additionalProperties: false,
    required: ['policyAssignmentId', 'waves'],
    properties: {
      policyAssignmentId: { type: 'string', pattern: ASSIGNMENT_ID_PATTERN, maxLength: 1024 },
      waves: {
        type: 'array',
        minItems: 1,
        maxItems: ROLLOUT_LIMITS.maxWaves,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: { type: 'string', pattern: WAVE_NAME_PATTERN },
            locations: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 64 }, description: 'Azure locations: a `policyEffect` Deny override with a `resourceLocation` selector, widened wave by wave.' },
            resourceGroups: { type: 'array', maxItems: 100, items: { type: 'string', pattern: RESOURCE_GROUP_PATTERN }, description: 'Resource group ids: a deny assignment at each group plus `notScopes` on the parent.' },
          },
        },
      },
      gates: ref('RolloutGates'),
      autoRollback: { type: 'boolean', default: true, description: 'Restore the snapshot automatically when a wave regresses during bake (otherwise pause).' },
    },
    examples: [
      {
        policyAssignmentId: '/subscriptions/7c3e1a52-4b9d-4f0e-9a61-2d8f5c7b1e01/providers/Microsoft.Authorization/policyAssignments/pss-baseline',
        waves: [{ name: 'canary', locations: ['uksouth'] }, { name: 'europe', locations: ['westeurope', 'northeurope'] }, { name: 'stores', resourceGroups: ['/subscriptions/7c3e1a52-4b9d-4f0e-9a61-2d8f5c7b1e01/resourceGroups/rg-stores-uks'] }],
        gates: { maxNonCompliant: 0, bakeMinutes: 60, requireApproval: true, maxEvidenceAgeHours: 24 },
      },
    ],
  },
  RolloutPlan: {
    type: 'object',
    required: ['policyAssignmentId', 'snapshot', 'gates', 'autoRollback', 'waves', 'warnings'],
    properties: {
      policyAssignmentId: { type: 'string' },
      snapshot: assignment,
      gates: ref('RolloutGates'),
      autoRollback: { type: 'boolean' },
      warnings: { type: 'array', items: { type: 'string' } },
      waves: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'locations', 'resourceGroups', 'mechanisms', 'clusters', 'nonCompliant', 'wouldDeny', 'desired'],
          properties: {
            name: { type: 'string' },
            locations: { type: 'array', items: { type: 'string' } },
            resourceGroups: { type: 'array', items: { type: 'string' } },
            mechanisms: { type: 'array', items: mechanism },
            nonCompliant: { type: 'integer', minimum: 0 },
            wouldDeny: { type: 'array', items: wouldDeny },
            clusters: {
              type: 'array',
              items: {
                type: 'object',
                required: ['id', 'name', 'location', 'resourceGroup', 'nonCompliant', 'wouldDeny', 'enforcingAssignmentId'],
                properties: {
                  id: { type: 'string' },
                  name: { type: 'string' },
                  location: { type: 'string' },
                  resourceGroup: { type: 'string' },
                  connectivityStatus: { type: 'string' },
                  evaluatedAt: dateTime,
                  nonCompliant: { type: 'integer', minimum: 0 },
                  wouldDeny: { type: 'array', items: wouldDeny },
                  enforcingAssignmentId: { type: 'string' },
                },
              },
            },
            desired: {
              type: 'object',
              description: 'Every assignment as it must be once this wave is applied.',
              required: ['parent', 'children'],
              properties: { parent: assignment, children: { type: 'array', items: assignment } },
            },
          },
        },
      },
    },
  },
  WaveApprovalRequest: {
    type: 'object',
    additionalProperties: false,
    properties: {
      comment: { type: 'string', maxLength: 1000, description: 'Why the wave is approved (a change number, a note); kept in the rollout\'s event log, on the wave\'s approval and in the audit log.' },
    },
  },
  RolloutEvent: {
    type: 'object',
    additionalProperties: false,
    required: ['seq', 'at', 'type', 'message'],
    properties: {
      seq: { type: 'integer', minimum: 1 },
      at: dateTime,
      type: { type: 'string' },
      wave: { type: 'integer', minimum: 0 },
      actor: { type: 'string' },
      message: { type: 'string' },
      comment: { type: 'string', description: 'The approver\'s comment (`approved` events).' },
    },
  },
  Rollout: {
    type: 'object',
    required: ['id', 'policyAssignmentId', 'state', 'createdBy', 'createdAt', 'updatedAt', 'gates', 'autoRollback', 'currentWave', 'snapshot', 'waves'],
    properties: {
      id: { type: 'string' },
      policyAssignmentId: { type: 'string' },
      state: rolloutState,
      createdBy: { type: 'string' },
      createdAt: dateTime,
      updatedAt: dateTime,
      gates: ref('RolloutGates'),
      autoRollback: { type: 'boolean' },
      currentWave: { type: 'integer', minimum: 0 },
      nextStep: { type: 'object', required: ['wave', 'step', 'attempt'], properties: { wave: { type: 'integer' }, step, attempt: { type: 'integer' } } },
      cause: { type: 'string', description: 'Why the rollout failed, rolled back or paused.' },
      snapshot: assignment,
      waves: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'state', 'clusters', 'nonCompliant', 'reasons'],
          properties: {
            name: { type: 'string' },
            state: waveState,
            locations: { type: 'array', items: { type: 'string' } },
            resourceGroups: { type: 'array', items: { type: 'string' } },
            mechanisms: { type: 'array', items: mechanism },
            clusters: { type: 'array', items: { type: 'string' }, description: 'ARM ids of the wave\'s clusters.' },
            nonCompliant: { type: 'integer', minimum: 0 },
            reasons: { type: 'array', items: { type: 'string' }, description: 'Why the gate holds, or what regressed.' },
            approval: { type: 'object', required: ['by', 'at'], properties: { by: { type: 'string' }, at: dateTime, comment: { type: 'string' } } },
            gatePassedAt: dateTime,
            appliedAt: dateTime,
            verifyStartedAt: dateTime,
            bakeStartedAt: dateTime,
            completedAt: dateTime,
          },
        },
      },
      events: { type: 'array', items: ref('RolloutEvent'), description: 'The append-only event log (single rollout only).' },
    },
  },
  RolloutList: {
    type: 'object',
    required: ['value'],
    additionalProperties: false,
    properties: { value: { type: 'array', items: ref('Rollout') }, nextLink: { type: 'string', format: 'uri' } },
  },
};

const rolloutIdParam: OpenAPIV3_1.ParameterObject = { name: 'rolloutId', in: 'path', required: true, description: 'Rollout id.', schema: { type: 'string', pattern: ROLLOUT_ID_PATTERN } };
const rolloutErrors = { '404': respRef('NotFound'), '409': respRef('Conflict') };

export const rolloutTag: OpenAPIV3_1.TagObject = { name: 'Rollouts', description: 'Staged enforcement: Azure Policy from audit to deny in gated waves.' };

/** Response for 409 `Conflict` (add to `components.responses` if the document has none). */
export const conflictResponse: OpenAPIV3_1.ResponseObject = json(ref('Error'), 'The resource is in a state that does not allow this (`Conflict`), e.g. another active rollout of the assignment.');

export const rolloutPaths: Record<string, Record<string, Operation>> = {
  '/api/v1/rollouts': {
    post: secured(APP_ROLES.enforcementManage, {
      operationId: 'createRollout',
      summary: 'Plan and start a staged rollout from audit to deny',
      description:
        'Plans the waves from the live assignment and the latest evaluation (clusters, non-compliance, what would be denied), snapshots the assignment and starts wave 1. ' +
        '`dryRun=true` returns the plan only. 409 when another rollout of the assignment is active; 422 `LimitExceeded` when the plan exceeds Azure Policy limits (10 overrides, 50 values per selector).',
      tags: ['Rollouts'],
      parameters: [{ name: 'dryRun', in: 'query', schema: { type: 'boolean', default: false } }],
      requestBody: { required: true, content: { 'application/json': { schema: ref('NewRollout') } } },
      responses: {
        '200': json(ref('RolloutPlan'), 'The plan (dryRun).'),
        '201': json(ref('Rollout'), 'Created; the first gate is queued.', { Location: { description: 'URL of the rollout.', schema: { type: 'string' } } }),
        ...rolloutErrors,
        '413': respRef('PayloadTooLarge'),
        '415': respRef('UnsupportedMediaType'),
        '422': respRef('Unprocessable'),
        '502': respRef('DependencyFailed'),
      },
    }),
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'listRollouts',
      summary: 'List rollouts, newest first',
      tags: ['Rollouts'],
      parameters: [paramRef('top'), paramRef('continuationToken')],
      responses: { '200': json(ref('RolloutList'), 'A page of rollouts.') },
    }),
  },
  '/api/v1/rollouts/{rolloutId}': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'getRollout',
      summary: 'Get a rollout: state, waves, gate reasons and event log',
      tags: ['Rollouts'],
      parameters: [rolloutIdParam],
      responses: { '200': json(ref('Rollout'), 'The rollout with its events.'), '404': respRef('NotFound') },
    }),
  },
  '/api/v1/rollouts/{rolloutId}/waves/{wave}/approve': {
    post: secured(APP_ROLES.enforcementApprove, {
      operationId: 'approveRolloutWave',
      summary: 'Approve a wave (the approver must not be the creator)',
      tags: ['Rollouts'],
      parameters: [rolloutIdParam, { name: 'wave', in: 'path', required: true, description: 'Wave name, or zero-based index.', schema: { type: 'string', pattern: WAVE_NAME_PATTERN } }],
      requestBody: { required: false, content: { 'application/json': { schema: ref('WaveApprovalRequest') } } },
      responses: { '200': json(ref('Rollout'), 'The rollout after the approval.'), ...rolloutErrors },
    }),
  },
  '/api/v1/rollouts/{rolloutId}/{action}': {
    post: secured(APP_ROLES.enforcementManage, {
      operationId: 'controlRollout',
      summary: 'Pause, resume, abort or roll back a rollout',
      description: '`rollback` restores the snapshot taken before the rollout exactly and removes the resource-group deny assignments.',
      tags: ['Rollouts'],
      parameters: [rolloutIdParam, { name: 'action', in: 'path', required: true, schema: { type: 'string', enum: ['pause', 'resume', 'abort', 'rollback'] } }],
      responses: { '200': json(ref('Rollout'), 'The rollout after the command.'), ...rolloutErrors },
    }),
  },
};

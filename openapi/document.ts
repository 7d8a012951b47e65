/**
 * The OpenAPI 3.1 document of the arc-compliance API, as typed code.
 *
 * It is the single source of truth: `GET /api/openapi.json` serves it, and `adapters/http/validation.ts`
 * compiles request validators (path, query, body) from the very same parameter and body schemas, so the
 * document and the behaviour cannot drift. Each operation declares the app role it requires in
 * `x-required-role` (and in the `bearerAuth` security requirement, which OpenAPI 3.1 allows to carry role
 * names); `security: []` marks anonymous operations.
 */
import type { OpenAPIV3, OpenAPIV3_1 } from 'openapi-types';
import { APP_ROLES } from '../adapters/http/app-roles.js';
import { MAX_JUSTIFICATION_LENGTH, MAX_TICKET_LENGTH } from '../domain/exceptions.js';
import { MAX_ERROR_DETAILS } from '../domain/errors.js';
import { FRAMEWORK_IDS } from '../domain/frameworks.js';
import { GUID_PATTERN, ID_PATTERN, dateTime, etagHeader, json, paramRef, ref, requestIdHeader, respRef, secured, type Operation, type OperationExtensions, type Schema } from './building-blocks.js';
import { conflictResponse, rolloutPaths, rolloutSchemas, rolloutTag } from './rollout-paths.js';
import { webhookPaths, webhookSchemas, webhookTags } from './webhook-paths.js';
import { controlPlanePaths, controlPlaneSchemas, controlPlaneTag } from './control-plane-paths.js';
import { evidencePaths, evidenceSchemas, evidenceTag } from './evidence-paths.js';
import { controlMatrixPaths, controlMatrixSchemas } from './control-matrix-paths.js';
import { API_VERSION } from './api-version.js';

/** Vendor extensions the HTTP adapter reads from each operation. */
export type { OperationExtensions } from './building-blocks.js';

export type ApiDocument = OpenAPIV3_1.Document<OperationExtensions>;

export { API_VERSION };
export const MAX_TOP = 1000;
export const DEFAULT_TOP = 100;


// ARM ids compare case-insensitively; JSON Schema patterns have no flags, hence the character classes.
const ARM_ID_PATTERN = '^/[sS][uU][bB][sS][cC][rR][iI][pP][tT][iI][oO][nN][sS]/[^/]+/[rR][eE][sS][oO][uU][rR][cC][eE][gG][rR][oO][uU][pP][sS]/[^/]+(/[pP][rR][oO][vV][iI][dD][eE][rR][sS]/[mM][iI][cC][rR][oO][sS][oO][fF][tT]\\.[kK][uU][bB][eE][rR][nN][eE][tT][eE][sS]/[cC][oO][nN][nN][eE][cC][tT][eE][dD][cC][lL][uU][sS][tT][eE][rR][sS]/[^/]+)?$';
const CLUSTER_ID_PATTERN = '^/[sS][uU][bB][sS][cC][rR][iI][pP][tT][iI][oO][nN][sS]/[^/]+/[rR][eE][sS][oO][uU][rR][cC][eE][gG][rR][oO][uU][pP][sS]/[^/]+/[pP][rR][oO][vV][iI][dD][eE][rR][sS]/[mM][iI][cC][rR][oO][sS][oO][fF][tT]\\.[kK][uU][bB][eE][rR][nN][eE][tT][eE][sS]/[cC][oO][nN][nN][eE][cC][tT][eE][dD][cC][lL][uU][sS][tT][eE][rR][sS]/[^/]+$';

function pagedList(item: string): Schema {
  return {
    type: 'object',
    required: ['value'],
    additionalProperties: false,
    properties: {
      value: { type: 'array', items: ref(item) },
      nextLink: { type: 'string', format: 'uri', description: 'Absolute URL of the next page; absent on the last page.' },
    },
  };
}

const nullableString: Schema = { type: ['string', 'null'] };
const controlStatus: Schema = { type: 'string', enum: ['pass', 'fail', 'unknown', 'not_applicable', 'exempt'] };
const severity: Schema = { type: 'string', enum: ['high', 'medium', 'low'] };
const framework: Schema = { type: 'string', enum: [...FRAMEWORK_IDS] };
const requirementsPerFramework: Schema = {
  type: 'object',
  description: 'Requirement ids the control meets, per framework (every framework present; empty when none).',
  required: [...FRAMEWORK_IDS],
  additionalProperties: false,
  properties: Object.fromEntries(FRAMEWORK_IDS.map((f) => [f, { type: 'array', items: { type: 'string' } }])),
};

const postureTotals: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['clusters', 'compliant', 'noncompliant', 'stale', 'averageScore'],
  properties: {
    clusters: { type: 'integer', minimum: 0 },
    compliant: { type: 'integer', minimum: 0 },
    noncompliant: { type: 'integer', minimum: 0 },
    stale: { type: 'integer', minimum: 0 },
    averageScore: { type: 'number', minimum: 0, maximum: 100 },
  },
};

const statusTally: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['pass', 'fail', 'unknown', 'not_applicable', 'exempt'],
  properties: {
    pass: { type: 'integer', minimum: 0 },
    fail: { type: 'integer', minimum: 0 },
    unknown: { type: 'integer', minimum: 0 },
    not_applicable: { type: 'integer', minimum: 0 },
    exempt: { type: 'integer', minimum: 0 },
  },
};

const schemas: Record<string, OpenAPIV3_1.SchemaObject> = {
  Error: {
    type: 'object',
    description: 'The one error shape of the API (Microsoft REST API Guidelines).',
    required: ['error'],
    additionalProperties: false,
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        additionalProperties: false,
        properties: {
          code: { type: 'string', description: 'Stable, machine-readable code (see docs/api.md).' },
          message: { type: 'string' },
          target: { type: 'string', description: 'The offending field, parameter or resource.' },
          details: { type: 'array', maxItems: MAX_ERROR_DETAILS, items: ref('ErrorDetail'), description: `At most ${MAX_ERROR_DETAILS}; the rest are counted in \`detailsOmitted\`.` },
          detailsOmitted: { type: 'integer', minimum: 1, description: `How many details were not listed (beyond the first ${MAX_ERROR_DETAILS}); absent when all are.` },
        },
      },
    },
    examples: [{ error: { code: 'InvalidRequest', message: 'The request is invalid.', target: 'top', details: [{ code: 'InvalidValue', message: 'must be <= 1000', target: 'top' }] } }],
  },
  ErrorDetail: {
    type: 'object',
    required: ['code', 'message'],
    additionalProperties: false,
    properties: { code: { type: 'string' }, message: { type: 'string' }, target: { type: 'string' } },
  },
  Health: {
    type: 'object',
    required: ['status', 'checks'],
    additionalProperties: false,
    properties: {
      status: {
        type: 'string',
        enum: ['healthy', 'degraded', 'unhealthy'],
        description: '`unhealthy` (503) when a check failed; `degraded` (200) when a check reports a problem that needs an operator but the service works (e.g. `stored-records`: stored records that failed validation, left out of listings).',
      },
      version: { type: 'string', description: 'Application version (callers with `Compliance.Read` only).' },
      checks: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'status'],
          additionalProperties: false,
          properties: {
            name: { type: 'string' },
            status: { type: 'string', enum: ['healthy', 'degraded', 'unhealthy'] },
            version: { type: 'string', description: 'Callers with `Compliance.Read` only.' },
            detail: { type: 'string', description: 'Callers with `Compliance.Read` only.' },
            count: { type: 'integer', minimum: 0, description: 'With `degraded`: how many items the check found (e.g. invalid stored records).' },
          },
        },
      },
    },
  },
  Control: {
    type: 'object',
    required: ['id', 'title', 'description', 'severity', 'category', 'evidence', 'policyDefinitionIds', 'requirements', 'remediation'],
    additionalProperties: false,
    properties: {
      id: { type: 'string', examples: ['ARC-AC-01'] },
      title: { type: 'string' },
      description: { type: 'string' },
      severity,
      category: { type: 'string' },
      evidence: { type: 'string', description: 'What the control reads to reach its verdict.' },
      policyDefinitionIds: {
        type: 'array',
        items: { type: 'string' },
        description:
          'Built-in policy definitions the control stands for: those whose states it reads, the members of the initiatives it reads, and its DeployIfNotExists remediation with its AuditIfNotExists twin. Empty for controls read from cluster configuration.',
      },
      requirements: requirementsPerFramework,
      remediation: {
        type: 'object',
        required: ['text', 'automatic'],
        additionalProperties: false,
        properties: {
          text: { type: 'string' },
          automatic: { type: 'boolean', description: 'True when `POST /api/v1/remediations` can fix it (a DeployIfNotExists policy exists).' },
          deployIfNotExistsPolicyDefinitionId: { type: 'string' },
        },
      },
    },
  },
  ControlList: pagedList('Control'),
  ClusterSummary: {
    type: 'object',
    required: ['id', 'name', 'subscriptionId', 'resourceGroup', 'location', 'kind', 'environment', 'score', 'failedControls', 'lastEvaluatedAt', 'stale'],
    additionalProperties: false,
    properties: {
      id: { type: 'string', description: 'ARM resource id.' },
      name: { type: 'string' },
      subscriptionId: { type: 'string' },
      resourceGroup: { type: 'string' },
      location: { type: 'string' },
      kind: nullableString,
      environment: nullableString,
      score: { type: 'number', minimum: 0, maximum: 100 },
      failedControls: { type: 'array', items: { type: 'string' } },
      lastEvaluatedAt: dateTime,
      stale: { type: 'boolean' },
    },
  },
  ClusterList: pagedList('ClusterSummary'),
  ControlResult: {
    type: 'object',
    required: ['controlId', 'status', 'severity', 'evidence'],
    additionalProperties: false,
    properties: {
      controlId: { type: 'string' },
      status: controlStatus,
      severity,
      evidence: { type: 'string' },
      reason: { type: 'string' },
      offenders: {
        type: 'object',
        required: ['items', 'total'],
        additionalProperties: false,
        properties: { items: { type: 'array', items: { type: 'string' } }, total: { type: 'integer', minimum: 0 } },
      },
    },
  },
  Cluster: {
    type: 'object',
    required: ['id', 'name', 'subscriptionId', 'resourceGroup', 'location', 'kind', 'environment', 'score', 'failedControls', 'lastEvaluatedAt', 'stale', 'tags', 'runId', 'lastSeenAt', 'controls'],
    additionalProperties: false,
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      subscriptionId: { type: 'string' },
      resourceGroup: { type: 'string' },
      location: { type: 'string' },
      kind: nullableString,
      environment: nullableString,
      distribution: nullableString,
      kubernetesVersion: nullableString,
      connectivityStatus: nullableString,
      tags: { type: 'object', additionalProperties: { type: 'string' } },
      score: { type: 'number', minimum: 0, maximum: 100 },
      failedControls: { type: 'array', items: { type: 'string' } },
      lastEvaluatedAt: dateTime,
      lastSeenAt: dateTime,
      runId: { type: 'string' },
      stale: { type: 'boolean' },
      controls: { type: 'array', items: ref('ControlResult') },
    },
  },
  ClusterHistory: {
    type: 'object',
    required: ['clusterId', 'from', 'to', 'value'],
    additionalProperties: false,
    properties: {
      clusterId: { type: 'string' },
      from: dateTime,
      to: dateTime,
      value: {
        type: 'array',
        items: {
          type: 'object',
          required: ['runId', 'evaluatedAt', 'score', 'statuses', 'drift'],
          additionalProperties: false,
          properties: {
            runId: { type: 'string' },
            evaluatedAt: dateTime,
            score: { type: 'number' },
            statuses: { type: 'object', additionalProperties: controlStatus },
            drift: {
              type: 'array',
              items: {
                type: 'object',
                required: ['controlId', 'from', 'to'],
                additionalProperties: false,
                properties: { controlId: { type: 'string' }, from: controlStatus, to: controlStatus },
              },
            },
          },
        },
      },
    },
  },
  PostureTotals: postureTotals,
  StatusTally: statusTally,
  Summary: {
    type: 'object',
    required: ['runId', 'generatedAt', 'totals', 'perControl', 'perSubscription'],
    additionalProperties: false,
    properties: {
      runId: { type: 'string' },
      generatedAt: dateTime,
      totals: ref('PostureTotals'),
      perControl: { type: 'object', additionalProperties: ref('StatusTally') },
      perSubscription: { type: 'object', additionalProperties: ref('PostureTotals') },
      perFramework: {
        type: 'object',
        description:
          "Per framework id, how many of its requirements each status has in the framework's unfiltered report of the same run (`GET /api/v1/frameworks/{frameworkId}/report`), computed when the run finished. Absent from summaries of runs finished before this was computed.",
        additionalProperties: ref('FrameworkPosture'),
      },
    },
  },
  FrameworkPosture: {
    type: 'object',
    required: ['requirements', 'passing', 'failing', 'notAssessed', 'manual'],
    additionalProperties: false,
    properties: {
      requirements: { type: 'integer', minimum: 0 },
      passing: { type: 'integer', minimum: 0, description: 'Requirements with at least one cluster passing and none failing.' },
      failing: { type: 'integer', minimum: 0, description: 'Requirements that at least one cluster fails.' },
      notAssessed: { type: 'integer', minimum: 0, description: 'Requirements whose controls are unknown or not applicable everywhere.' },
      manual: { type: 'integer', minimum: 0, description: 'Requirements no control covers.' },
    },
  },
  Framework: {
    type: 'object',
    required: ['id', 'title', 'version', 'source', 'requirements', 'automatedRequirements'],
    additionalProperties: false,
    properties: {
      id: framework,
      title: { type: 'string' },
      version: { type: 'string', description: "The standard's version." },
      source: {
        type: 'object',
        required: ['kind', 'title', 'policySetDefinitionId', 'version', 'url'],
        additionalProperties: false,
        description: 'Where the requirements come from: a built-in regulatory compliance initiative, or the publication itself.',
        properties: {
          kind: { type: 'string', enum: ['initiative', 'document'] },
          title: { type: 'string' },
          policySetDefinitionId: { ...nullableString, description: 'The initiative (`/providers/Microsoft.Authorization/policySetDefinitions/<guid>`).' },
          version: { ...nullableString, description: "The initiative's version." },
          url: nullableString,
        },
      },
      requirements: { type: 'integer', minimum: 0 },
      automatedRequirements: { type: 'integer', minimum: 0, description: 'Requirements at least one control meets; the others are manual.' },
    },
  },
  FrameworkList: {
    type: 'object',
    required: ['value'],
    additionalProperties: false,
    properties: { value: { type: 'array', items: ref('Framework') } },
  },
  FrameworkReport: {
    type: 'object',
    required: ['framework', 'runId', 'generatedAt', 'requirements'],
    additionalProperties: false,
    properties: {
      framework,
      runId: { type: 'string', description: 'The latest completed run.' },
      generatedAt: dateTime,
      requirements: {
        type: 'array',
        description: 'Every requirement of the framework, in its order, including those no control covers (`manual`).',
        items: {
          type: 'object',
          required: ['id', 'policyMetadataName', 'title', 'controls', 'status', 'clustersPassing', 'clustersFailing', 'clustersNotAssessed'],
          additionalProperties: false,
          properties: {
            id: { type: 'string', description: 'The group name without its initiative prefix (`7.2.1`, `CM-6`, `PV-2`), or the document identifier.', examples: ['7.2.1'] },
            policyMetadataName: { ...nullableString, description: 'The full group name, the `Microsoft.PolicyInsights/policyMetadata` name (null for seed frameworks).', examples: ['PCI_DSS_v4.0.1_7.2.1'] },
            title: { ...nullableString, description: 'From Azure Policy metadata (or the document); null when it could not be read.' },
            controls: { type: 'array', items: { type: 'string' }, description: 'Controls meeting the requirement, in catalog order.' },
            status: {
              type: 'string',
              enum: ['passing', 'failing', 'not_assessed', 'manual'],
              description: '`failing`: a cluster fails it; `passing`: one passes and none fails; `manual`: no control covers it; otherwise `not_assessed`.',
            },
            clustersPassing: { type: 'integer', minimum: 0, description: 'No control of the requirement fails, and one passes or is exempt.' },
            clustersFailing: { type: 'integer', minimum: 0, description: 'At least one control of the requirement fails.' },
            clustersNotAssessed: { type: 'integer', minimum: 0 },
          },
        },
      },
    },
  },
  Trends: {
    type: 'object',
    required: ['days', 'value'],
    additionalProperties: false,
    properties: {
      days: { type: 'integer' },
      filters: {
        type: 'object',
        description: 'The filters applied; absent for the whole fleet.',
        additionalProperties: false,
        properties: { environment: { type: 'string' }, subscriptionId: { type: 'string' }, location: { type: 'string' }, tag: { type: 'string' } },
      },
      value: {
        type: 'array',
        items: {
          type: 'object',
          required: ['runId', 'generatedAt', 'averageScore', 'clusters', 'noncompliant', 'failingByControl'],
          additionalProperties: false,
          properties: {
            runId: { type: 'string' },
            generatedAt: dateTime,
            averageScore: { type: 'number' },
            clusters: { type: 'integer', minimum: 0 },
            noncompliant: { type: 'integer', minimum: 0 },
            failingByControl: { type: 'object', additionalProperties: { type: 'integer', minimum: 0 } },
          },
        },
      },
    },
  },
  Evaluation: {
    type: 'object',
    required: [
      'id',
      'status',
      'trigger',
      'scope',
      'requestedBy',
      'createdAt',
      'startedAt',
      'completedAt',
      'subscriptions',
      'clustersEvaluated',
      'failures',
      'clustersIncomplete',
      'eventsNotPublished',
      'subscriptionsNotDiscovered',
    ],
    additionalProperties: false,
    properties: {
      id: { type: 'string' },
      status: { type: 'string', enum: ['queued', 'running', 'succeeded', 'partial', 'failed'] },
      trigger: { type: 'string', enum: ['timer', 'on-demand'] },
      scope: {
        type: 'string',
        enum: ['full-estate', 'partial-estate'],
        description: '`partial-estate`: an on-demand run of the subscriptions in `scopeSubscriptionIds` only; the other subscriptions\' clusters were left as they were.',
      },
      scopeSubscriptionIds: { type: 'array', items: { type: 'string' }, description: 'The subscriptions a `partial-estate` run evaluated (lower-case); absent on full runs.' },
      requestedBy: nullableString,
      createdAt: dateTime,
      startedAt: { type: ['string', 'null'], format: 'date-time' },
      completedAt: { type: ['string', 'null'], format: 'date-time' },
      subscriptions: {
        type: 'object',
        required: ['total', 'succeeded', 'failed'],
        additionalProperties: false,
        properties: { total: { type: 'integer', minimum: 0 }, succeeded: { type: 'integer', minimum: 0 }, failed: { type: 'integer', minimum: 0 } },
      },
      clustersEvaluated: { type: 'integer', minimum: 0 },
      failures: {
        type: 'array',
        description:
          'Failed subscriptions, with the error: after every retry for throttling, timeouts and server errors; on the first attempt for permanent ARM failures (a refusal, a missing or disabled subscription), which carry `code` and `hint`; `poison: …` when the host gave up on the collect without an outcome, e.g. a function timeout. A failure of the run itself (discovery, finalize) has subscriptionId `*`.',
        items: {
          type: 'object',
          required: ['subscriptionId', 'error', 'at'],
          additionalProperties: false,
          properties: {
            subscriptionId: { type: 'string' },
            error: { type: 'string' },
            at: dateTime,
            code: { type: 'string', description: 'The ARM error code (`AuthorizationFailed`, `SubscriptionNotFound`, `ReadOnlyDisabledSubscription`, …), or `HTTP <status>`, `RequestTimeout`, `NetworkError`.' },
            hint: { type: 'string', description: 'What to do about a permanent failure, e.g. the role the app\'s identity lacks and where to grant it.' },
          },
        },
      },
      clustersIncomplete: {
        type: 'integer',
        minimum: 0,
        description: 'Clusters evaluated whose extensions or Flux configurations could not be read: those controls are `unknown`.',
      },
      eventsNotPublished: {
        type: 'integer',
        minimum: 0,
        description: 'Outbound events (`cluster.compliance.changed`, `evaluation.completed`) that could not be published after every attempt.',
      },
      subscriptionsNotDiscovered: {
        type: 'array',
        description:
          'Subscriptions with stored clusters that this run did not discover (access revoked, removed from `AZURE_SUBSCRIPTION_IDS`, disabled). Their clusters keep their last results and are marked stale.',
        items: {
          type: 'object',
          required: ['subscriptionId', 'clusters'],
          additionalProperties: false,
          properties: { subscriptionId: { type: 'string' }, clusters: { type: 'integer', minimum: 0 } },
        },
      },
    },
  },
  EvaluationList: pagedList('Evaluation'),
  EvaluationRequest: {
    type: 'object',
    additionalProperties: false,
    properties: {
      subscriptionIds: {
        type: 'array',
        minItems: 1,
        maxItems: 500,
        uniqueItems: true,
        items: { type: 'string', pattern: GUID_PATTERN },
        description: 'Evaluate only these subscriptions. Each must be one the app evaluates (`AZURE_SUBSCRIPTION_IDS`, or an enabled subscription its identity sees); unknown ids answer 400 naming them.',
      },
    },
  },
  NewException: {
    type: 'object',
    description: 'A time-bound waiver of one control for one cluster or one resource group.',
    required: ['controlId', 'scope', 'justification', 'ticket', 'expiresAt'],
    additionalProperties: false,
    properties: {
      controlId: { type: 'string', pattern: ID_PATTERN },
      scope: { type: 'string', pattern: ARM_ID_PATTERN, maxLength: 512, description: 'ARM id of a connected cluster or of a resource group.' },
      justification: { type: 'string', minLength: 1, maxLength: MAX_JUSTIFICATION_LENGTH },
      ticket: { type: 'string', minLength: 1, maxLength: MAX_TICKET_LENGTH },
      expiresAt: { type: 'string', format: 'date-time', description: 'Required; in the future and at most one year ahead.' },
    },
    examples: [{
      controlId: 'ARC-TD-01',
      scope: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-edge/providers/Microsoft.Kubernetes/connectedClusters/store-042',
      justification: 'Store cluster is being decommissioned next month.',
      ticket: 'CHG0012345',
      expiresAt: '2030-01-31T00:00:00Z',
    }],
  },
  Exception: {
    type: 'object',
    required: ['id', 'controlId', 'scope', 'justification', 'ticket', 'createdBy', 'createdAt', 'expiresAt', 'status'],
    additionalProperties: false,
    properties: {
      id: { type: 'string' },
      controlId: { type: 'string' },
      scope: { type: 'string' },
      justification: { type: 'string' },
      ticket: { type: 'string' },
      createdBy: { type: 'string' },
      createdAt: dateTime,
      expiresAt: dateTime,
      status: { type: 'string', enum: ['active', 'expired'], description: 'Expired exceptions no longer apply.' },
    },
  },
  ExceptionList: pagedList('Exception'),
  NewRemediation: {
    type: 'object',
    description: 'Either `clusterIds` or `subscriptionId` (all failing clusters of the subscription).',
    required: ['controlId'],
    additionalProperties: false,
    oneOf: [{ required: ['clusterIds'] }, { required: ['subscriptionId'] }],
    properties: {
      controlId: { type: 'string', pattern: ID_PATTERN },
      clusterIds: {
        type: 'array',
        minItems: 1,
        maxItems: 1000,
        uniqueItems: true,
        description:
          'Connected clusters to remediate, in any subscriptions. The request body limit (`MAX_REQUEST_BODY_BYTES`, 65536 bytes by default) usually binds first: about 450 ids of 140 characters.',
        items: { type: 'string', pattern: CLUSTER_ID_PATTERN, maxLength: 512 },
      },
      subscriptionId: {
        type: 'string',
        pattern: GUID_PATTERN,
        description: 'Every evaluated cluster of the subscription failing the control; 422 `LimitExceeded` when more than 1000 do.',
      },
    },
  },
  Remediation: {
    type: 'object',
    required: ['id', 'controlId', 'status', 'requestedBy', 'createdAt', 'clusterIds', 'tasks'],
    additionalProperties: false,
    properties: {
      id: { type: 'string' },
      controlId: { type: 'string' },
      status: { type: 'string', enum: ['running', 'succeeded', 'failed', 'partial'] },
      requestedBy: { type: 'string' },
      createdAt: dateTime,
      clusterIds: { type: 'array', items: { type: 'string' } },
      tasks: {
        type: 'array',
        description: 'One Azure Policy remediation task per subscription and per 100 of its clusters (ARM limit on `filters.resourceIds`).',
        items: {
          type: 'object',
          required: ['subscriptionId', 'clusterIds', 'armId', 'provisioningState'],
          additionalProperties: false,
          properties: {
            subscriptionId: { type: 'string' },
            clusterIds: { type: 'array', maxItems: 100, items: { type: 'string' }, description: 'The clusters this task remediates.' },
            armId: nullableString,
            provisioningState: { type: 'string' },
            deployments: {
              type: 'object',
              required: ['total', 'succeeded', 'failed'],
              additionalProperties: false,
              properties: { total: { type: 'integer' }, succeeded: { type: 'integer' }, failed: { type: 'integer' } },
            },
            error: { type: 'string' },
          },
        },
      },
      progressError: { type: 'string', description: 'In a listing only: ARM could not be read for this remediation, so its tasks show `Unknown`.' },
      pollingStopped: {
        type: 'object',
        description:
          'Present when the background completion checks stopped before every task was terminal (still running `REMEDIATION_CHECK_MAX_HOURS` after the start, or a check that kept failing). `remediation.completed` is then published only when a read of the remediation observes completion.',
        required: ['at', 'reason'],
        additionalProperties: false,
        properties: { at: dateTime, reason: { type: 'string' } },
      },
    },
  },
  RemediationList: pagedList('Remediation'),
  AuditRecord: {
    type: 'object',
    required: ['id', 'at', 'requestId', 'callerObjectId', 'callerAppId', 'roles', 'operation', 'target', 'outcome'],
    additionalProperties: false,
    properties: {
      id: { type: 'string' },
      at: dateTime,
      requestId: { type: 'string' },
      callerObjectId: nullableString,
      callerAppId: nullableString,
      roles: { type: 'array', items: { type: 'string' } },
      operation: { type: 'string', description: 'operationId of the call.' },
      target: { type: 'string' },
      outcome: { type: 'string', enum: ['succeeded', 'failed', 'denied'] },
      detail: { type: 'string' },
    },
  },
  AuditLog: pagedList('AuditRecord'),
};

function errorResponse(description: string, extraHeaders: Record<string, OpenAPIV3_1.HeaderObject> = {}): OpenAPIV3_1.ResponseObject {
  return json(ref('Error'), description, extraHeaders);
}

const wwwAuthenticate: OpenAPIV3_1.HeaderObject = {
  description: '`Bearer error="invalid_token", error_description="…"` (RFC 6750).',
  required: true,
  schema: { type: 'string' },
};

/**
 * Responses every operation can give whatever its own list says: `default` (the error shape, incl.
 * 404/405 for unserved paths and methods), so generated clients type every undeclared status as an
 * `Error`; and 413 on every write, since the body limit applies to operations that take no body too
 * (a body sent to them is refused).
 */
function withCommonResponses<T extends Record<string, Record<string, unknown> | undefined>>(items: T): T {
  const out: Record<string, Record<string, unknown> | undefined> = {};
  for (const [path, item] of Object.entries(items)) {
    if (item === undefined) continue;
    const next: Record<string, unknown> = {};
    for (const [method, op] of Object.entries(item)) {
      const responses = (op as { responses?: Record<string, unknown> } | undefined)?.responses;
      if (responses === undefined) {
        next[method] = op;
        continue;
      }
      const common: Record<string, unknown> = { default: respRef('ErrorResponse') };
      if (method !== 'get') common['413'] = respRef('PayloadTooLarge');
      next[method] = { ...(op as object), responses: { ...responses, ...Object.fromEntries(Object.entries(common).filter(([status]) => !(status in responses))) } };
    }
    out[path] = next;
  }
  return out as T;
}

const pathParam = (name: string, description: string, schema: OpenAPIV3.SchemaObject): OpenAPIV3_1.ParameterObject => ({
  name,
  in: 'path',
  required: true,
  description,
  schema,
});

const singleResource = (schema: string, description: string): OpenAPIV3_1.ResponsesObject => ({
  '200': json(ref(schema), description, { ETag: etagHeader }),
  '304': { description: 'Not modified (the `If-None-Match` ETag matches).', headers: { ETag: etagHeader, 'x-request-id': requestIdHeader } },
  '404': respRef('NotFound'),
});

const clusterPathParams = [
  pathParam('subscriptionId', 'Subscription id (GUID).', { type: 'string', pattern: GUID_PATTERN }),
  pathParam('resourceGroup', 'Resource group name.', { type: 'string', pattern: '^[-\\w._()]{1,90}$' }),
  pathParam('clusterName', 'Connected cluster name.', { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$' }),
];

const paths: Record<string, Partial<Record<'get' | 'post' | 'delete', Operation>>> = {
  '/api/health': {
    get: {
      operationId: 'getHealth',
      summary: 'Liveness and dependency checks',
      description:
        'Anonymous. 200 when every dependency answers (`healthy`, or `degraded` when a check reports a problem for an operator, with its `count`), 503 otherwise (same body). Anonymous callers see only the overall status and each check\'s name, status and count; ' +
        'a valid token with the app role `Compliance.Read` also shows the application, Node.js and dependency versions and check details. ' +
        'Any other token (missing role, expired, invalid) is answered as an anonymous call, never with 401, so probes cannot fail on authentication.',
      tags: ['Service'],
      security: [{}, { bearerAuth: [APP_ROLES.complianceRead] }],
      responses: {
        '200': json(ref('Health'), 'Healthy.'),
        '503': json(ref('Health'), 'A dependency check failed.'),
      },
    },
  },
  '/api/openapi.json': {
    get: {
      operationId: 'getOpenApiDocument',
      summary: 'This OpenAPI document',
      tags: ['Service'],
      security: [],
      responses: {
        '200': { description: 'The OpenAPI 3.1 document.', headers: { 'x-request-id': requestIdHeader }, content: { 'application/json': { schema: { type: 'object' } } } },
      },
    },
  },
  '/api/docs': {
    get: {
      operationId: 'getDocsPage',
      summary: 'Interactive API reference (Swagger UI)',
      tags: ['Service'],
      security: [],
      responses: {
        '200': { description: 'HTML page.', headers: { 'x-request-id': requestIdHeader }, content: { 'text/html': { schema: { type: 'string' } } } },
      },
    },
  },
  '/api/docs/{asset}': {
    get: {
      operationId: 'getDocsAsset',
      summary: 'Static asset of the API reference page',
      tags: ['Service'],
      security: [],
      parameters: [pathParam('asset', 'File name of the asset.', { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$' })],
      responses: {
        '200': {
          description: 'The asset.',
          headers: { 'x-request-id': requestIdHeader },
          content: { 'text/css': { schema: { type: 'string' } }, 'text/javascript': { schema: { type: 'string' } }, 'image/png': { schema: { type: 'string', contentMediaType: 'image/png' } } },
        },
        '404': respRef('NotFound'),
      },
    },
  },
  '/api/dashboard': {
    get: {
      operationId: 'getDashboardPage',
      summary: 'Posture dashboard (page shell)',
      description:
        'Anonymous page shell of the posture dashboard (docs/dashboard.md). It holds no data: the page signs the person in (authorization code flow with PKCE, client `DASHBOARD_CLIENT_ID`) and reads everything from `/api/v1` with their token. Strict CSP: scripts and styles from this origin only. 500 `InternalError` when the deployment lacks the built assets.',
      tags: ['Service'],
      security: [],
      responses: {
        '200': { description: 'HTML page.', headers: { 'x-request-id': requestIdHeader }, content: { 'text/html': { schema: { type: 'string' } } } },
        '500': respRef('InternalError'),
      },
    },
  },
  '/api/dashboard/{asset}': {
    get: {
      operationId: 'getDashboardAsset',
      summary: 'Static asset of the dashboard (script, stylesheet, icon)',
      description: 'Files built at build time from npm packages (content-hashed names, served as immutable). Only files of the build manifest are served.',
      tags: ['Service'],
      security: [],
      parameters: [pathParam('asset', 'File name of the asset.', { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$' })],
      responses: {
        '200': {
          description: 'The asset.',
          headers: { 'x-request-id': requestIdHeader },
          content: { 'text/css': { schema: { type: 'string' } }, 'text/javascript': { schema: { type: 'string' } }, 'image/svg+xml': { schema: { type: 'string' } } },
        },
        '404': respRef('NotFound'),
      },
    },
  },
  '/api/v1/controls': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'listControls',
      summary: 'List the control catalog',
      tags: ['Controls'],
      parameters: [paramRef('top'), paramRef('continuationToken')],
      responses: { '200': json(ref('ControlList'), 'The controls with framework references and remediation.') },
    }),
  },
  '/api/v1/controls/{controlId}': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'getControl',
      summary: 'Get one control',
      tags: ['Controls'],
      parameters: [pathParam('controlId', 'Control id, e.g. `ARC-AC-01`.', { type: 'string', pattern: ID_PATTERN }), paramRef('ifNoneMatch')],
      responses: singleResource('Control', 'The control.'),
    }),
  },
  '/api/v1/clusters': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'listClusters',
      summary: 'List clusters with their latest posture',
      tags: ['Clusters'],
      parameters: [
        { name: 'subscriptionId', in: 'query', schema: { type: 'string', pattern: GUID_PATTERN } },
        { name: 'status', in: 'query', schema: { type: 'string', enum: ['compliant', 'noncompliant'] } },
        { name: 'controlId', in: 'query', description: 'Only clusters failing this control.', schema: { type: 'string', pattern: ID_PATTERN } },
        { name: 'environment', in: 'query', schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' } },
        { name: 'location', in: 'query', schema: { type: 'string', pattern: '^[a-z0-9]{1,64}$' } },
        { name: 'stale', in: 'query', schema: { type: 'boolean' } },
        paramRef('top'),
        paramRef('continuationToken'),
      ],
      responses: { '200': json(ref('ClusterList'), 'A page of clusters.') },
    }),
  },
  '/api/v1/clusters/{subscriptionId}/{resourceGroup}/{clusterName}': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'getCluster',
      summary: 'Get one cluster with per-control results',
      tags: ['Clusters'],
      parameters: [...clusterPathParams, paramRef('ifNoneMatch')],
      responses: singleResource('Cluster', 'The cluster.'),
    }),
  },
  '/api/v1/clusters/{subscriptionId}/{resourceGroup}/{clusterName}/history': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'getClusterHistory',
      summary: 'Per-run statuses and drift of one cluster',
      tags: ['Clusters'],
      parameters: [
        ...clusterPathParams,
        { name: 'from', in: 'query', description: 'Default: 30 days before `to`.', schema: { type: 'string', format: 'date-time' } },
        { name: 'to', in: 'query', description: 'Default: now.', schema: { type: 'string', format: 'date-time' } },
      ],
      responses: { '200': json(ref('ClusterHistory'), 'History entries, oldest first.'), '404': respRef('NotFound') },
    }),
  },
  '/api/v1/summary': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'getSummary',
      summary: 'Fleet posture of the latest run',
      tags: ['Posture'],
      parameters: [paramRef('ifNoneMatch')],
      responses: singleResource('Summary', 'Totals, per control and per subscription.'),
    }),
  },
  '/api/v1/frameworks': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'listFrameworks',
      summary: 'The frameworks reports are available for',
      tags: ['Posture'],
      responses: { '200': json(ref('FrameworkList'), 'Every framework, with its source and requirement counts.') },
    }),
  },
  '/api/v1/frameworks/{framework}/report': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'getFrameworkReport',
      summary: 'Requirement-level report for one framework',
      description:
        'Every requirement of the framework judged over the latest results of the clusters matching the filters. JSON, or CSV (one row per requirement after the header) with `format=csv` or `Accept: text/csv`.',
      tags: ['Posture'],
      parameters: [
        pathParam('framework', 'Framework.', { type: 'string', enum: [...FRAMEWORK_IDS] }),
        { name: 'format', in: 'query', description: 'Overrides `Accept`.', schema: { type: 'string', enum: ['json', 'csv'] } },
        { name: 'environment', in: 'query', schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' } },
        { name: 'subscriptionId', in: 'query', schema: { type: 'string', pattern: GUID_PATTERN } },
        { name: 'location', in: 'query', schema: { type: 'string', pattern: '^[a-z0-9]{1,64}$' } },
      ],
      responses: {
        '200': {
          description: 'The report (JSON, or CSV).',
          headers: { 'x-request-id': requestIdHeader },
          content: { 'application/json': { schema: ref('FrameworkReport') }, 'text/csv': { schema: { type: 'string' } } },
        },
        '404': respRef('NotFound'),
      },
    }),
  },
  '/api/v1/trends': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'getTrends',
      summary: 'Fleet score and failing-control counts per run, for the fleet or filtered',
      description:
        'Unfiltered: one point per run from its fleet summary. With `environment`, `subscriptionId`, `location` and/or `tag` (all given must match), each point is computed from the run\'s trend slices, stored when the run finished: its clusters grouped by subscription, environment, location and tags, as they were in that run. Runs finished before slices were stored are left out of a filtered trend. A tag key with more than 100 distinct values in a run is not kept in its slices; filtering by it answers 400.',
      tags: ['Posture'],
      parameters: [
        { name: 'days', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 365, default: 30 } },
        { name: 'environment', in: 'query', description: 'Environment tag value (case-insensitive).', schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' } },
        { name: 'subscriptionId', in: 'query', schema: { type: 'string', pattern: GUID_PATTERN } },
        { name: 'location', in: 'query', description: 'Azure location (case-insensitive).', schema: { type: 'string', pattern: '^[A-Za-z0-9]{1,64}$' } },
        { name: 'tag', in: 'query', description: '`key=value` (key case-insensitive, value exact) or `key` (the tag is present).', schema: { type: 'string', minLength: 1, maxLength: 768 } },
      ],
      responses: { '200': json(ref('Trends'), 'One point per run, oldest first.') },
    }),
  },
  '/api/v1/evaluations': {
    post: secured(APP_ROLES.complianceEvaluate, {
      operationId: 'startEvaluation',
      summary: 'Start an on-demand evaluation run',
      description:
        'Evaluates every subscription the app evaluates, or only `subscriptionIds` (for example right after a remediation). No body, an empty body and `{}` start a full run. A scoped run is marked `scope: "partial-estate"`: it updates only those subscriptions\' clusters and leaves the others as they are (not stale, not listed as not discovered); the fleet summary it produces still covers every cluster.',
      tags: ['Evaluations'],
      requestBody: { required: false, content: { 'application/json': { schema: ref('EvaluationRequest') } } },
      responses: {
        '202': json(ref('Evaluation'), 'Accepted; poll `Location`.', { Location: { description: 'URL of the run.', schema: { type: 'string' } } }),
      },
    }),
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'listEvaluations',
      summary: 'List evaluation runs, newest first',
      tags: ['Evaluations'],
      parameters: [paramRef('top'), paramRef('continuationToken')],
      responses: { '200': json(ref('EvaluationList'), 'A page of runs.') },
    }),
  },
  '/api/v1/evaluations/{evaluationId}': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'getEvaluation',
      summary: 'Get one evaluation run',
      tags: ['Evaluations'],
      parameters: [pathParam('evaluationId', 'Run id.', { type: 'string', pattern: ID_PATTERN }), paramRef('ifNoneMatch')],
      responses: singleResource('Evaluation', 'Status, counts and failed subscriptions.'),
    }),
  },
  '/api/v1/exceptions': {
    post: secured(APP_ROLES.complianceExempt, {
      operationId: 'createException',
      summary: 'Create a time-bound exception',
      tags: ['Exceptions'],
      requestBody: { required: true, content: { 'application/json': { schema: ref('NewException') } } },
      responses: {
        '201': json(ref('Exception'), 'Created.', { Location: { description: 'URL of the exception.', schema: { type: 'string' } }, ETag: etagHeader }),
        '404': respRef('NotFound'),
        '413': respRef('PayloadTooLarge'),
        '415': respRef('UnsupportedMediaType'),
      },
    }),
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'listExceptions',
      summary: 'List exceptions (active and expired)',
      tags: ['Exceptions'],
      parameters: [
        { name: 'status', in: 'query', schema: { type: 'string', enum: ['active', 'expired'] } },
        paramRef('top'),
        paramRef('continuationToken'),
      ],
      responses: { '200': json(ref('ExceptionList'), 'A page of exceptions.') },
    }),
  },
  '/api/v1/exceptions/{exceptionId}': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'getException',
      summary: 'Get one exception',
      tags: ['Exceptions'],
      parameters: [pathParam('exceptionId', 'Exception id.', { type: 'string', pattern: ID_PATTERN }), paramRef('ifNoneMatch')],
      responses: singleResource('Exception', 'The exception.'),
    }),
    delete: secured(APP_ROLES.complianceExempt, {
      operationId: 'deleteException',
      summary: 'Revoke an exception',
      tags: ['Exceptions'],
      parameters: [pathParam('exceptionId', 'Exception id.', { type: 'string', pattern: ID_PATTERN })],
      responses: {
        '204': { description: 'Deleted.', headers: { 'x-request-id': requestIdHeader } },
        '404': respRef('NotFound'),
      },
    }),
  },
  '/api/v1/remediations': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'listRemediations',
      summary: 'List remediations, newest first, with their progress (from ARM)',
      description:
        'The remediation requests made through `POST /api/v1/remediations`, newest first, each as `GET /api/v1/remediations/{remediationId}` shows it: progress per task read from Azure Policy now (which is why a page holds at most 50). When ARM cannot be read for a request, the page is still served: that request\'s tasks show `Unknown` and `progressError` says why.',
      tags: ['Remediations'],
      parameters: [
        { name: 'top', in: 'query', description: 'Page size (each request on the page is read from ARM).', schema: { type: 'integer', minimum: 1, maximum: 50, default: 20 } },
        paramRef('continuationToken'),
      ],
      responses: { '200': json(ref('RemediationList'), 'A page of remediations.'), '502': respRef('DependencyFailed') },
    }),
    post: secured(APP_ROLES.remediationRun, {
      operationId: 'startRemediation',
      summary: 'Start Azure Policy remediation for a control',
      description:
        'Starts Azure Policy remediation tasks for a control that has a DeployIfNotExists policy: one per subscription and per 100 of its clusters (ARM takes at most 100 resource ids per task). Controls without automatic remediation answer 422 `NotRemediable` with the manual guidance in `error.details`; more than 1000 failing clusters in subscription mode answer 422 `LimitExceeded`. Background checks (from `REMEDIATION_CHECK_DELAY_SECONDS`, doubling up to 15 minutes, for `REMEDIATION_CHECK_MAX_HOURS`) publish the `remediation.completed` webhook event once every task is terminal, whether or not anyone reads the remediation.',
      tags: ['Remediations'],
      requestBody: { required: true, content: { 'application/json': { schema: ref('NewRemediation') } } },
      responses: {
        '202': json(ref('Remediation'), 'Accepted; `Location` shows the progress.', { Location: { description: 'URL of the remediation.', schema: { type: 'string' } } }),
        '404': respRef('NotFound'),
        '413': respRef('PayloadTooLarge'),
        '415': respRef('UnsupportedMediaType'),
        '422': respRef('Unprocessable'),
        '502': respRef('DependencyFailed'),
      },
    }),
  },
  '/api/v1/remediations/{remediationId}': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'getRemediation',
      summary: 'Progress of a remediation (from ARM)',
      tags: ['Remediations'],
      parameters: [pathParam('remediationId', 'Remediation id.', { type: 'string', pattern: ID_PATTERN }), paramRef('ifNoneMatch')],
      responses: { ...singleResource('Remediation', 'The remediation with ARM progress per task.'), '502': respRef('DependencyFailed') },
    }),
  },
  '/api/v1/audit-log': {
    get: secured(APP_ROLES.auditRead, {
      operationId: 'listAuditLog',
      summary: 'Who did what: every mutating call, newest first',
      tags: ['Audit'],
      parameters: [paramRef('top'), paramRef('continuationToken')],
      responses: { '200': json(ref('AuditLog'), 'A page of audit records.') },
    }),
  },
};

export const document: ApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'arc-compliance API',
    version: API_VERSION,
    summary: 'Compliance posture, exceptions and remediation for Azure Arc-enabled Kubernetes fleets.',
    description:
      'Every `/api/v1` operation requires an Entra ID v2 bearer token whose `roles` claim holds the app role named in the operation. ' +
      'Errors use one shape, `{ "error": { "code", "message", "target"?, "details"? } }`, and every response carries `x-request-id`. ' +
      'Any path under `/api` that no operation serves answers 404 `NotFound`, and a method a path does not serve answers 405 `MethodNotAllowed` with `Allow`, in that shape (the `default` response of every operation). ' +
      'Collections are `{ "value": [...], "nextLink"? }`; follow `nextLink` (an opaque continuation token) until it is absent.',
    license: { name: 'MIT', identifier: 'MIT' },
  },
  servers: [{ url: '/', description: 'This Function App' }],
  tags: [
    { name: 'Service', description: 'Health, this document, the reference page and the dashboard shell (anonymous).' },
    { name: 'Controls', description: 'The control catalog.' },
    { name: 'Clusters', description: 'Per-cluster posture and history.' },
    { name: 'Posture', description: 'Fleet summary, framework reports and trends (precomputed per run).' },
    { name: 'Evaluations', description: 'Evaluation runs.' },
    { name: 'Exceptions', description: 'Time-bound waivers of a control.' },
    { name: 'Remediations', description: 'Azure Policy remediation tasks.' },
    { name: 'Audit', description: 'Audit log of mutating calls.' },
    rolloutTag,
    ...webhookTags,
    controlPlaneTag,
    evidenceTag,
  ],
  security: [{ bearerAuth: [] }],
  // openapi-types 12 intersects 3.1 path items with 3.0 operation objects (so 3.1 schemas such as
  // `type: ['string', 'null']` do not type-check); each operation above is typed as a 3.1 operation.
  paths: withCommonResponses({ ...paths, ...controlMatrixPaths, ...rolloutPaths, ...webhookPaths, ...controlPlanePaths, ...evidencePaths }) as unknown as ApiDocument['paths'],
  components: {
    securitySchemes: {
      bearerAuth: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description:
          'Entra ID v2 access token for the API app registration (`aud` = AUTH_AUDIENCE, `iss` = AUTH_ISSUER), signed RS256 or ES256. ' +
          `App roles in the \`roles\` claim: ${Object.values(APP_ROLES).map((r) => `\`${r}\``).join(', ')}. ` +
          'Service principals: client credentials flow with scope `{AUTH_AUDIENCE}/.default`.',
      },
    },
    headers: {
      RequestId: { description: 'Request id: echoed from a safe incoming `x-request-id`, otherwise generated.', required: true, schema: { type: 'string' } },
      ETag: { description: 'Strong entity tag of the representation; send it back in `If-None-Match`.', required: true, schema: { type: 'string' } },
    },
    parameters: {
      top: { name: 'top', in: 'query', description: 'Page size.', schema: { type: 'integer', minimum: 1, maximum: MAX_TOP, default: DEFAULT_TOP } },
      continuationToken: {
        name: 'continuationToken',
        in: 'query',
        description: 'Opaque token from the previous page\'s `nextLink`.',
        schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,4096}$' },
      },
      ifNoneMatch: { name: 'If-None-Match', in: 'header', description: 'ETag(s) of a cached representation; 304 when it matches.', schema: { type: 'string', maxLength: 1024 } },
    },
    responses: {
      BadRequest: errorResponse('Invalid path, query or body (`InvalidRequest`, with `details[]`).'),
      Unauthorized: errorResponse('Missing or invalid bearer token (`Unauthorized`).', { 'WWW-Authenticate': wwwAuthenticate }),
      Forbidden: errorResponse('The token lacks the required app role (`Forbidden`).'),
      NotFound: errorResponse('No such resource (`NotFound`).'),
      UnsupportedMediaType: errorResponse('A request body must be `application/json` (`UnsupportedMediaType`).'),
      PayloadTooLarge: errorResponse('The body exceeds MAX_REQUEST_BODY_BYTES (`PayloadTooLarge`).'),
      Unprocessable: errorResponse('Well-formed but cannot be acted upon (`NotRemediable`, `LimitExceeded`).'),
      DependencyFailed: errorResponse('An Azure or storage dependency answered with a server error after retries (`DependencyFailed`).'),
      Conflict: conflictResponse,
      InternalError: errorResponse(
        'Unexpected error (`InternalError`), or a stored record that this release cannot read (`StoredRecordInvalid`: damaged or written in an unknown shape; reported, see `GET /api/health`); quote `x-request-id` when reporting it.',
      ),
      ServiceUnavailable: errorResponse(
        'Temporarily unavailable; try again later: an Azure or storage dependency throttled or could not be reached (`DependencyFailed`, with `Retry-After` when the dependency gave one), or the token issuer\'s signing keys could not be retrieved (`AuthenticationUnavailable`).',
        { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'string', pattern: '^\\d+$' } } },
      ),
      ErrorResponse: errorResponse(
        'Any other error, in the same shape. In particular, a path no operation serves answers 404 `NotFound`, and a method the path does not serve answers 405 `MethodNotAllowed` with `Allow`.',
        { Allow: { description: 'With 405 `MethodNotAllowed`: the methods the path serves, e.g. `GET, POST`.', schema: { type: 'string' } } },
      ),
    },
    schemas: { ...schemas, ...controlMatrixSchemas, ...rolloutSchemas, ...webhookSchemas, ...controlPlaneSchemas, ...evidenceSchemas },
  },
};

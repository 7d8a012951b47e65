/**
 * OpenAPI 3.1 paths and schemas of the control-plane watch (Azure Activity Log events), merged into
 * `document.ts`: `paths: { …, ...controlPlanePaths }`, `schemas: { …, ...controlPlaneSchemas }` and the
 * `Control plane` tag.
 */
import type { OpenAPIV3_1 } from 'openapi-types';
import { APP_ROLES } from '../adapters/http/app-roles.js';
import { MAX_CLUSTERS_PER_EVENT, SECURITY_EXTENSION_CONTROL, WATCHED_OPERATIONS } from '../domain/control-plane-events.js';
import { GUID_PATTERN, dateTime, json, paramRef, ref, respRef, secured, type Operation, type Schema } from './building-blocks.js';

export const controlPlaneTag: OpenAPIV3_1.TagObject = {
  name: 'Control plane',
  description: 'Changes read from the Azure Activity Log: admin kubeconfig downloads (break-glass), cluster connect, extension removals, access and policy changes on clusters.',
};

const CLUSTER_ID_PATTERN =
  '^/[sS][uU][bB][sS][cC][rR][iI][pP][tT][iI][oO][nN][sS]/[^/]+/[rR][eE][sS][oO][uU][rR][cC][eE][gG][rR][oO][uU][pP][sS]/[^/]+/[pP][rR][oO][vV][iI][dD][eE][rR][sS]/[mM][iI][cC][rR][oO][sS][oO][fF][tT]\\.[kK][uU][bB][eE][rR][nN][eE][tT][eE][sS]/[cC][oO][nN][nN][eE][cC][tT][eE][dD][cC][lL][uU][sS][tT][eE][rR][sS]/[^/]+$';

const eventFilters = [
  { name: 'since', in: 'query' as const, description: 'Only events at or after this time (`eventTimestamp`).', schema: { type: 'string' as const, format: 'date-time' } },
  {
    name: 'operation',
    in: 'query' as const,
    description: 'Only this operation (as the resource provider spells it).',
    schema: { type: 'string' as const, enum: WATCHED_OPERATIONS.map((o) => o.operation) },
  },
];

const clusterPathParams: OpenAPIV3_1.ParameterObject[] = [
  { name: 'subscriptionId', in: 'path', required: true, description: 'Subscription id (GUID).', schema: { type: 'string', pattern: GUID_PATTERN } },
  { name: 'resourceGroup', in: 'path', required: true, description: 'Resource group name.', schema: { type: 'string', pattern: '^[-\\w._()]{1,90}$' } },
  { name: 'clusterName', in: 'path', required: true, description: 'Connected cluster name.', schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$' } },
];

export const controlPlanePaths: Record<string, Partial<Record<'get', Operation>>> = {
  '/api/v1/control-plane-events': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'listControlPlaneEvents',
      summary: 'List control-plane changes read from the Azure Activity Log',
      description: 'Newest first. Events are kept `HISTORY_RETENTION_DAYS`; each Activity Log entry appears once (keyed by `eventDataId`).',
      tags: [controlPlaneTag.name],
      parameters: [
        ...eventFilters,
        { name: 'subscriptionId', in: 'query', schema: { type: 'string', pattern: GUID_PATTERN } },
        { name: 'clusterId', in: 'query', description: 'Only events concerning this cluster (ARM id), changes on its resource group included.', schema: { type: 'string', pattern: CLUSTER_ID_PATTERN, maxLength: 600 } },
        paramRef('top'),
        paramRef('continuationToken'),
      ],
      responses: { '200': json(ref('ControlPlaneEventList'), 'A page of events.') },
    }),
  },
  '/api/v1/clusters/{subscriptionId}/{resourceGroup}/{clusterName}/control-plane-events': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'listClusterControlPlaneEvents',
      summary: "A cluster's control-plane changes",
      description: 'Newest first; changes on the cluster, its children (extensions, provisioned cluster instance) and its resource group (role and policy assignments).',
      tags: [controlPlaneTag.name],
      parameters: [...clusterPathParams, ...eventFilters, paramRef('top'), paramRef('continuationToken')],
      responses: { '200': json(ref('ControlPlaneEventList'), 'A page of events.'), '404': respRef('NotFound') },
    }),
  },
  '/api/v1/control-plane-watch': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'getControlPlaneWatch',
      summary: "Each subscription's Activity Log watch: watermark, last successful read, last failure",
      description:
        'One entry per subscription the watch has tried to read, failing ones first. A subscription whose Activity Log cannot be read (a missing role, a disabled subscription, a message the host gave up on) is `failing` with the failure\'s stage, code and time; ARC-TD-04 is `unknown` for its clusters until a read covers the lookback again.',
      tags: [controlPlaneTag.name],
      responses: { '200': json(ref('ControlPlaneWatchReport'), 'The watch state of every subscription.') },
    }),
  },
};

const str: Schema = { type: 'string' };

export const controlPlaneSchemas: Record<string, Schema> = {
  ControlPlaneEvent: {
    type: 'object',
    additionalProperties: false,
    required: ['eventDataId', 'kind', 'operation', 'status', 'caller', 'eventTimestamp', 'subscriptionId', 'resourceGroup', 'resourceId', 'severity'],
    description: 'One kept Azure Activity Log entry. Also the `data` of the `controlplane.change.detected` webhook event.',
    properties: {
      eventDataId: { type: 'string', description: "The Activity Log entry's unique id." },
      kind: { type: 'string', enum: [...new Set(WATCHED_OPERATIONS.map((o) => o.kind))] },
      operation: { type: 'string', enum: WATCHED_OPERATIONS.map((o) => o.operation) },
      status: { type: 'string', description: 'Outcome as logged: `Succeeded`, `Failed`, … (`Started` and `Accepted` entries are not kept: the outcome entry of the same operation follows).' },
      subStatus: str,
      caller: { type: 'string', description: 'Who did it: UPN, or object id of a service principal; `unknown` when the log names nobody.' },
      callerAppId: { type: 'string', description: '`appid` claim of the caller\'s token.' },
      eventTimestamp: dateTime,
      submissionTimestamp: dateTime,
      subscriptionId: { type: 'string', pattern: GUID_PATTERN },
      resourceGroup: str,
      resourceId: { type: 'string', description: 'The resource the operation targeted, as logged.' },
      clusterId: { type: 'string', description: 'The cluster concerned (lower-cased ARM id); absent for a change on a resource group.' },
      clusterName: str,
      clusterIds: { type: 'array', maxItems: MAX_CLUSTERS_PER_EVENT, items: str, description: 'A change on a resource group: the clusters of the group when it was read (lower-cased ids).' },
      extensionName: str,
      securityExtension: { type: 'string', enum: Object.keys(SECURITY_EXTENSION_CONTROL), description: 'The extension is the Defender, Azure Policy or monitoring extension.' },
      severity: { type: 'string', enum: ['high', 'medium', 'low'] },
      correlationId: str,
      clientIpAddress: str,
      location: { type: 'string', description: "The cluster's Azure location when known (a resource-group change: when all its clusters share one); absent on events stored before it was recorded." },
    },
  },
  ControlPlaneWatchFailure: {
    type: 'object',
    required: ['at', 'stage', 'code', 'message'],
    additionalProperties: false,
    properties: {
      at: dateTime,
      stage: {
        type: 'string',
        enum: ['read', 'store', 'poison'],
        description: '`read`: the Activity Log did not answer; `store`: events not stored or published (the watermark stayed); `poison`: the host gave up on the watch message after its retries.',
      },
      code: { type: 'string', description: 'The ARM error code of a failed read (`AuthorizationFailed`, `SubscriptionNotFound`, `HTTP 500`, `RequestTimeout`, …), else `ActivityLogReadFailed`, `EventsNotStored` or `Poisoned`.' },
      message: str,
      hint: { type: 'string', description: 'What to do, for a failure retrying cannot fix (a missing role, a disabled or missing subscription).' },
    },
  },
  ControlPlaneWatchState: {
    type: 'object',
    required: ['subscriptionId', 'status'],
    additionalProperties: false,
    properties: {
      subscriptionId: { type: 'string', pattern: GUID_PATTERN },
      status: { type: 'string', enum: ['ok', 'failing', 'never-read'], description: '`failing` while the latest attempt failed (or none ever succeeded); `never-read` for a subscription the latest evaluation found clusters in that the watch has no state for (the timer never queued it, or its message still waits).' },
      watermark: { ...dateTime, description: 'End of the continuous range read so far; the next read starts an hour before it. Absent before the first successful read.' },
      coverage: { type: 'object', required: ['from', 'to'], additionalProperties: false, properties: { from: dateTime, to: dateTime }, description: 'The continuous `eventTimestamp` range read so far.' },
      lastAttemptAt: dateTime,
      lastSuccessAt: dateTime,
      lastFailure: { ...ref('ControlPlaneWatchFailure'), description: 'The latest failure, kept after later successes (compare `at` with `lastSuccessAt`).' },
    },
  },
  ControlPlaneWatchReport: {
    type: 'object',
    required: ['value', 'failing', 'neverRead'],
    additionalProperties: false,
    properties: {
      value: { type: 'array', items: ref('ControlPlaneWatchState'), description: 'Failing subscriptions first, then those never read, then by subscription id.' },
      failing: { type: 'integer', minimum: 0, description: 'How many subscriptions are failing.' },
      neverRead: { type: 'integer', minimum: 0, description: 'How many subscriptions of the latest evaluation the watch has never read.' },
    },
  },
  ControlPlaneEventList: {
    type: 'object',
    required: ['value'],
    additionalProperties: false,
    properties: {
      value: { type: 'array', items: ref('ControlPlaneEvent') },
      nextLink: { type: 'string', format: 'uri', description: 'Absolute URL of the next page; absent on the last page.' },
    },
  },
};

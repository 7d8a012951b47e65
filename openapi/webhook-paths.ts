/**
 * OpenAPI paths, schemas and tags of the webhook and ServiceNow operations, kept in their own
 * module; `openapi/document.ts` spreads them into its `paths`, `components.schemas` and `tags`:
 *
 *   paths: { ...paths, ...webhookPaths }, tags: [...tags, ...webhookTags], schemas: { ...schemas, ...webhookSchemas }
 */
import type { OpenAPIV3_1 } from 'openapi-types';
import { APP_ROLES } from '../adapters/http/app-roles.js';
import { GUID_PATTERN, ID_PATTERN, dateTime, etagHeader, json, paramRef, ref, requestIdHeader, respRef, secured as securedAs, type Operation, type Schema } from './building-blocks.js';
import { WEBHOOK_EVENT_TYPES } from '../domain/webhook-events.js';
import { WEBHOOK_FORMATS, MAX_WEBHOOK_URL_LENGTH, MAX_RESPONSE_EXCERPT_CHARS } from '../domain/webhook-subscription.js';


/** Operation ids served by `functions/api-webhooks.ts` and `functions/api-servicenow-change-events.ts`. */
export const WEBHOOK_OPERATION_IDS = Object.freeze([
  'createWebhook',
  'listWebhooks',
  'getWebhook',
  'deleteWebhook',
  'rotateWebhookSecret',
  'listWebhookDeliveries',
  'redeliverWebhookDelivery',
  'receiveServiceNowChangeEvent',
] as const);

/** Every webhook operation needs the same role. */
const secured = (op: Parameters<typeof securedAs>[1]): Operation => securedAs(APP_ROLES.webhooksManage, op);
const severity: Schema = { type: 'string', enum: ['high', 'medium', 'low'] };
const webhookIdParam: OpenAPIV3_1.ParameterObject = { name: 'webhookId', in: 'path', required: true, description: 'Webhook id.', schema: { type: 'string', pattern: ID_PATTERN } };
const deliveryIdParam: OpenAPIV3_1.ParameterObject = { name: 'deliveryId', in: 'path', required: true, description: 'Delivery id.', schema: { type: 'string', pattern: ID_PATTERN } };

const filters: Schema = {
  type: 'object',
  additionalProperties: false,
  description:
    'A filter constrains only events that carry its dimension (a full-estate `evaluation.completed` passes a subscription filter; a partial-estate one is about its `scopeSubscriptionIds`).',
  properties: {
    subscriptionIds: { type: 'array', maxItems: 100, uniqueItems: true, items: { type: 'string', pattern: GUID_PATTERN }, description: 'Only events about these Azure subscriptions.' },
    minimumSeverity: { ...severity, description: 'Only events about a control of at least this severity.' } as OpenAPIV3_1.SchemaObject,
  },
};

export const webhookSchemas: Record<string, OpenAPIV3_1.SchemaObject> = {
  EvaluationCompletedEvent: {
    type: 'object',
    description:
      'The `data` of an `evaluation.completed` event (body `{ "type", "timestamp", "data" }`; the `servicenow-event` format sends it as the record\'s `additional_info`). ' +
      'A run of some subscriptions only says `scope: "partial-estate"` with `scopeSubscriptionIds`: its counts cover those subscriptions, `averageScore` and `noncompliant` the whole fleet. ' +
      'Receivers should treat absent `clustersIncomplete` and `subscriptionsNotDiscovered` as 0 and an absent `scope` as `full-estate` (events published before these fields existed).',
    required: ['runId', 'status', 'trigger', 'completedAt', 'clustersEvaluated', 'subscriptionsFailed'],
    additionalProperties: false,
    properties: {
      runId: { type: 'string' },
      status: { type: 'string', enum: ['succeeded', 'partial', 'failed'] },
      trigger: { type: 'string', enum: ['timer', 'on-demand'] },
      completedAt: { type: 'string', format: 'date-time' },
      clustersEvaluated: { type: 'integer', minimum: 0, description: 'Clusters this run evaluated (of its scope).' },
      subscriptionsFailed: { type: 'integer', minimum: 0 },
      clustersIncomplete: { type: 'integer', minimum: 0, description: 'Clusters evaluated with extensions or Flux not collected (their controls `unknown`).' },
      subscriptionsNotDiscovered: { type: 'integer', minimum: 0, description: 'Subscriptions with stored clusters the run did not discover (always 0 on a partial-estate run); the list is on `GET /api/v1/evaluations/{id}`.' },
      averageScore: { type: 'number', minimum: 0, maximum: 100, description: 'Fleet-wide, from the summary the run produced.' },
      noncompliant: { type: 'integer', minimum: 0, description: 'Fleet-wide non-compliant clusters, from the summary the run produced.' },
      scope: { type: 'string', enum: ['full-estate', 'partial-estate'], description: '`partial-estate`: an on-demand run of `scopeSubscriptionIds` only; other subscriptions\' clusters were not evaluated by it.' },
      scopeSubscriptionIds: { type: 'array', items: { type: 'string', pattern: GUID_PATTERN }, description: 'The subscriptions a partial-estate run evaluated (lower-case); present exactly when `scope` is `partial-estate`.' },
    },
  },
  NewWebhook: {
    type: 'object',
    required: ['url', 'events'],
    additionalProperties: false,
    properties: {
      url: {
        type: 'string',
        maxLength: MAX_WEBHOOK_URL_LENGTH,
        description: 'Receiver URL (`standard`) or, for `servicenow-*`, the configured ServiceNow instance (SERVICENOW_INSTANCE_URL; another origin is refused with 400, detail code `ServiceNowInstanceMismatch`). `https` only unless the host is in WEBHOOK_ALLOWLIST; private, loopback, link-local, reserved and metadata addresses are refused, also when carried in an IPv6 address (mapped, translated, NAT64, 6to4, Teredo, ISATAP). Control characters, whitespace and backslashes are refused; the URL is stored and returned normalised (`URL.href`).',
        examples: ['https://hooks.example.com/arc-compliance'],
      },
      events: {
        type: 'array',
        minItems: 1,
        maxItems: WEBHOOK_EVENT_TYPES.length + 1,
        uniqueItems: true,
        items: { type: 'string', enum: ['*', ...WEBHOOK_EVENT_TYPES] },
      },
      format: {
        type: 'string',
        enum: [...WEBHOOK_FORMATS],
        default: 'standard',
        description:
          '`standard`: the signed `{ type, timestamp, data }` envelope. `ocsf`: a signed JSON array of OCSF 1.8.0 events (profile `cloud`), for `cluster.compliance.changed` (Compliance Finding, class 2003, one per changed control) and `controlplane.change.detected` (API Activity, class 6003, one per Activity Log entry) only; any other event, or `*`, is refused with 400. `servicenow-incident` / `servicenow-event`: incidents or Event Management records in the configured ServiceNow instance.',
      },
      description: { type: 'string', maxLength: 256 },
      filters,
    },
  },
  Webhook: {
    type: 'object',
    required: ['id', 'url', 'events', 'format', 'filters', 'enabled', 'createdAt', 'createdBy'],
    additionalProperties: false,
    description: 'A webhook subscription. The signing secret is never part of it.',
    properties: {
      id: { type: 'string' },
      url: { type: 'string' },
      events: { type: 'array', items: { type: 'string' } },
      format: { type: 'string', enum: [...WEBHOOK_FORMATS] },
      filters,
      description: { type: 'string' },
      enabled: { type: 'boolean', description: 'False after the receiver answered 410 Gone.' },
      disabledReason: { type: 'string' },
      disabledAt: dateTime,
      createdAt: dateTime,
      createdBy: { type: 'string' },
      secretRotatedAt: dateTime,
    },
  },
  WebhookWithSecret: {
    type: 'object',
    required: ['webhook'],
    additionalProperties: false,
    properties: {
      webhook: ref('Webhook'),
      secret: {
        type: 'string',
        pattern: '^whsec_[A-Za-z0-9+/]+={0,2}$',
        description: 'The Standard Webhooks signing secret. Returned only in this response; store it now. Absent for ServiceNow formats.',
      },
    },
  },
  WebhookList: {
    type: 'object',
    required: ['value'],
    additionalProperties: false,
    properties: { value: { type: 'array', items: ref('Webhook') }, nextLink: { type: 'string', format: 'uri' } },
  },
  WebhookDelivery: {
    type: 'object',
    required: ['id', 'webhookId', 'eventId', 'eventType', 'createdAt', 'status', 'attempts'],
    additionalProperties: false,
    properties: {
      id: { type: 'string' },
      webhookId: { type: 'string' },
      eventId: { type: 'string', description: 'Sent as `webhook-id`; the same on retries and redeliveries.' },
      eventType: { type: 'string' },
      createdAt: dateTime,
      status: { type: 'string', enum: ['pending', 'retrying', 'delivered', 'failed', 'dead-lettered', 'canceled'] },
      nextAttemptAt: dateTime,
      reason: { type: 'string' },
      redeliveryOf: { type: 'string' },
      attempts: {
        type: 'array',
        items: {
          type: 'object',
          required: ['attempt', 'at', 'outcome'],
          additionalProperties: false,
          properties: {
            attempt: { type: 'integer', minimum: 1 },
            at: dateTime,
            outcome: { type: 'string', enum: ['delivered', 'failed', 'refused'] },
            statusCode: { type: 'integer' },
            error: { type: 'string' },
            responseExcerpt: { type: 'string', maxLength: MAX_RESPONSE_EXCERPT_CHARS },
            nextAttemptAt: dateTime,
          },
        },
      },
    },
  },
  WebhookDeliveryList: {
    type: 'object',
    required: ['value'],
    additionalProperties: false,
    properties: { value: { type: 'array', items: ref('WebhookDelivery') }, nextLink: { type: 'string', format: 'uri' } },
  },
  ServiceNowChangeEvent: {
    type: 'object',
    required: ['data'],
    description: 'A change request update, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).',
    properties: {
      type: { type: 'string', examples: ['change.updated'] },
      timestamp: dateTime,
      data: {
        type: 'object',
        required: ['number', 'state', 'rolloutId', 'waveId'],
        properties: {
          number: { type: 'string', examples: ['CHG0030001'] },
          state: { type: 'string', description: '`approved` approves the wave; `rejected` / `canceled` pause the rollout; anything else is ignored.' },
          rolloutId: { type: 'string', pattern: ID_PATTERN },
          waveId: { type: 'string', pattern: ID_PATTERN },
          approvedBy: { type: 'string' },
          sysId: { type: 'string' },
        },
      },
    },
  },
  ServiceNowChangeOutcome: {
    type: 'object',
    required: ['action', 'rolloutId', 'waveId', 'changeNumber'],
    additionalProperties: false,
    properties: {
      action: { type: 'string', enum: ['approved', 'paused', 'ignored'] },
      rolloutId: { type: 'string' },
      waveId: { type: 'string' },
      changeNumber: { type: 'string' },
    },
  },
};

export const webhookTags: OpenAPIV3_1.TagObject[] = [
  { name: 'Webhooks', description: 'Signed outbound events (Standard Webhooks) and ServiceNow integration. See docs/webhooks.md.' },
];

export const webhookPaths: Record<string, Partial<Record<'get' | 'post' | 'delete', Operation>>> = {
  '/api/v1/webhooks': {
    post: secured({
      operationId: 'createWebhook',
      summary: 'Subscribe a URL to events',
      description: 'Creates a subscription. The response holds the signing secret (`whsec_…`) — the only time it is shown.',
      tags: ['Webhooks'],
      requestBody: { required: true, content: { 'application/json': { schema: ref('NewWebhook') } } },
      responses: {
        '201': json(ref('WebhookWithSecret'), 'Created.', { Location: { description: 'URL of the webhook.', schema: { type: 'string' } } }),
        '413': respRef('PayloadTooLarge'),
        '415': respRef('UnsupportedMediaType'),
      },
    }),
    get: secured({
      operationId: 'listWebhooks',
      summary: 'List webhook subscriptions',
      tags: ['Webhooks'],
      parameters: [paramRef('top'), paramRef('continuationToken')],
      responses: { '200': json(ref('WebhookList'), 'A page of webhooks.') },
    }),
  },
  '/api/v1/webhooks/{webhookId}': {
    get: secured({
      operationId: 'getWebhook',
      summary: 'Get one webhook subscription',
      tags: ['Webhooks'],
      parameters: [webhookIdParam, paramRef('ifNoneMatch')],
      responses: {
        '200': json(ref('Webhook'), 'The webhook.', { ETag: etagHeader }),
        '304': { description: 'Not modified.', headers: { ETag: etagHeader, 'x-request-id': requestIdHeader } },
        '404': respRef('NotFound'),
      },
    }),
    delete: secured({
      operationId: 'deleteWebhook',
      summary: 'Delete a webhook subscription and its deliveries log',
      tags: ['Webhooks'],
      parameters: [webhookIdParam],
      responses: { '204': { description: 'Deleted.', headers: { 'x-request-id': requestIdHeader } }, '404': respRef('NotFound') },
    }),
  },
  '/api/v1/webhooks/{webhookId}/rotate-secret': {
    post: secured({
      operationId: 'rotateWebhookSecret',
      summary: 'Rotate the signing secret',
      description: 'Returns a new secret once. For 24 hours deliveries carry two signatures (new and previous), space-separated. A rotation while that overlap lasts is refused with 409 (detail code `SecretRotationInProgress`).',
      tags: ['Webhooks'],
      parameters: [webhookIdParam],
      responses: { '200': json(ref('WebhookWithSecret'), 'The new secret.'), '404': respRef('NotFound'), '409': respRef('Conflict') },
    }),
  },
  '/api/v1/webhooks/{webhookId}/deliveries': {
    get: secured({
      operationId: 'listWebhookDeliveries',
      summary: 'Deliveries of a webhook, newest first, with every attempt',
      tags: ['Webhooks'],
      parameters: [webhookIdParam, paramRef('top'), paramRef('continuationToken')],
      responses: { '200': json(ref('WebhookDeliveryList'), 'A page of deliveries.'), '404': respRef('NotFound') },
    }),
  },
  '/api/v1/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver': {
    post: secured({
      operationId: 'redeliverWebhookDelivery',
      summary: 'Send a delivery\'s event again',
      description: 'Queues a new delivery of the same event (same `webhook-id`, fresh timestamp and signature).',
      tags: ['Webhooks'],
      parameters: [webhookIdParam, deliveryIdParam],
      responses: { '202': json(ref('WebhookDelivery'), 'Queued.'), '404': respRef('NotFound'), '409': respRef('Conflict') },
    }),
  },
  '/api/v1/integrations/servicenow/change-events': {
    post: {
      operationId: 'receiveServiceNowChangeEvent',
      summary: 'Receive a ServiceNow change request update (signed)',
      description:
        'Authenticated with a Standard Webhooks signature (SERVICENOW_CHANGE_WEBHOOK_SECRET), not a bearer token. ' +
        'The timestamp must be within 5 minutes and a `webhook-id` is accepted once. `approved` satisfies the rollout wave\'s approval gate ' +
        '(recorded as the ServiceNow approver); `rejected` / `canceled` pause the rollout. Refused calls change nothing. ' +
        'Every call, accepted or refused, is written to the audit log.',
      tags: ['Webhooks'],
      security: [],
      'x-signature-auth': 'standard-webhooks',
      parameters: [
        { name: 'webhook-id', in: 'header', required: true, schema: { type: 'string' } },
        { name: 'webhook-timestamp', in: 'header', required: true, schema: { type: 'string', pattern: '^\\d+$' } },
        { name: 'webhook-signature', in: 'header', required: true, schema: { type: 'string' } },
      ],
      requestBody: { required: true, content: { 'application/json': { schema: ref('ServiceNowChangeEvent') } } },
      responses: {
        '200': json(ref('ServiceNowChangeOutcome'), 'Processed.'),
        '400': respRef('BadRequest'),
        '401': json(ref('Error'), 'Missing or invalid signature, stale timestamp or replayed id (`Unauthorized`).'),
        '404': respRef('NotFound'),
        '409': respRef('Conflict'),
        '413': respRef('PayloadTooLarge'),
        '500': respRef('InternalError'),
        '502': respRef('DependencyFailed'),
      },
    },
  },
};

/**
 * OpenAPI 3.1 paths and schemas of the control × cluster matrix (the dashboard's heatmap), merged into
 * `document.ts` like the rollout and webhook paths.
 */
import { APP_ROLES } from '../adapters/http/app-roles.js';
import { GUID_PATTERN, dateTime, etagHeader, json, paramRef, ref, requestIdHeader, respRef, secured, type Operation, type Schema } from './building-blocks.js';

const tally: Schema = { $ref: '#/components/schemas/StatusTally' };
const status: Schema = { type: 'string', enum: ['pass', 'fail', 'unknown', 'not_applicable', 'exempt'] };

export const controlMatrixPaths: Record<string, Partial<Record<'get', Operation>>> = {
  '/api/v1/control-matrix': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'getControlMatrix',
      summary: 'Every control against the fleet, aggregated by subscription and environment',
      description:
        'One row per subscription and environment tag, a status tally per control in each, and the controls that fail in production while development passes. Aggregated on the server from every stored cluster once per evaluation run (then served from memory), so it stays small and fast at 10,000 clusters; drill into a row with `GET /api/v1/control-matrix/clusters`.',
      tags: ['Posture'],
      parameters: [paramRef('ifNoneMatch')],
      responses: {
        '200': json(ref('ControlMatrix'), 'The matrix of the latest run.', { ETag: etagHeader }),
        '304': { description: 'Not modified (the `If-None-Match` ETag matches).', headers: { ETag: etagHeader, 'x-request-id': requestIdHeader } },
        '404': respRef('NotFound'),
      },
    }),
  },
  '/api/v1/control-matrix/clusters': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'listControlMatrixClusters',
      summary: "One matrix row's clusters, each with its status per control",
      tags: ['Posture'],
      parameters: [
        { name: 'subscriptionId', in: 'query', required: true, schema: { type: 'string', pattern: GUID_PATTERN } },
        { name: 'environment', in: 'query', description: 'The environment tag (omit for every environment of the subscription).', schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' } },
        paramRef('top'),
        paramRef('continuationToken'),
      ],
      responses: { '200': json(ref('ControlMatrixClusterList'), 'A page of clusters.') },
    }),
  },
};

export const controlMatrixSchemas: Record<string, Schema> = {
  ControlMatrix: {
    type: 'object',
    additionalProperties: false,
    required: ['runId', 'generatedAt', 'clusters', 'controls', 'groups', 'productionOnlyFailures'],
    properties: {
      runId: { type: 'string' },
      generatedAt: dateTime,
      clusters: { type: 'integer', minimum: 0, description: 'Clusters aggregated (stale ones included).' },
      controls: { type: 'array', items: { type: 'string' }, description: 'Column order: the catalog, then any other control id seen.' },
      groups: {
        type: 'array',
        description: 'By subscription, then environment (production, test, development, others, untagged).',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['subscriptionId', 'environment', 'clusters', 'cells'],
          properties: {
            subscriptionId: { type: 'string' },
            environment: { type: ['string', 'null'], description: 'The environment tag, lower-cased; null when untagged.' },
            clusters: { type: 'integer', minimum: 0 },
            cells: { type: 'object', additionalProperties: tally, description: 'Status tally per control id.' },
          },
        },
      },
      productionOnlyFailures: {
        type: 'array',
        description: 'Controls failing on production clusters (`prod`/`production`) while no development cluster (`dev`/`development`) fails them and at least one passes.',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['controlId', 'productionFailing', 'developmentPassing'],
          properties: { controlId: { type: 'string' }, productionFailing: { type: 'integer', minimum: 0 }, developmentPassing: { type: 'integer', minimum: 0 } },
        },
      },
    },
  },
  ControlMatrixClusterList: {
    type: 'object',
    required: ['value'],
    additionalProperties: false,
    properties: {
      value: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'name', 'resourceGroup', 'location', 'environment', 'stale', 'statuses'],
          properties: {
            id: { type: 'string' },
            name: { type: 'string' },
            resourceGroup: { type: 'string' },
            location: { type: 'string' },
            environment: { type: ['string', 'null'] },
            stale: { type: 'boolean' },
            statuses: { type: 'object', additionalProperties: status },
          },
        },
      },
      nextLink: { type: 'string', format: 'uri', description: 'Absolute URL of the next page; absent on the last page.' },
    },
  },
};

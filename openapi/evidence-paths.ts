/**
 * Evidence and findings operations: a run's evidence manifest, its blobs (streamed as stored), their
 * verification (role `Audit.Read`), and the run's findings as OCSF 1.8.0 NDJSON (role `Compliance.Read`).
 */
import type { OpenAPIV3_1 } from 'openapi-types';
import { APP_ROLES } from '../adapters/http/app-roles.js';
import { dateTime, ID_PATTERN, json, ref, requestIdHeader, respRef, secured, type Operation, type Schema } from './building-blocks.js';

export const evidenceTag: OpenAPIV3_1.TagObject = {
  name: 'Evidence',
  description: 'Tamper-evident evidence of each run (Blob Storage, hash-chained manifests) and findings in OCSF.',
};

const evaluationIdParam: OpenAPIV3_1.ParameterObject = { name: 'evaluationId', in: 'path', required: true, description: 'Run id.', schema: { type: 'string', pattern: ID_PATTERN } };
const sha256: Schema = { type: 'string', pattern: '^[0-9a-f]{64}$' };
const subscriptionEntry = (extra: Record<string, Schema>, required: string[]): Schema => ({
  type: 'object',
  additionalProperties: false,
  required: ['subscriptionId', ...required],
  properties: { subscriptionId: { type: 'string', description: 'Subscription id, or `*` for subscriptions of the run that were never identified.' }, ...extra },
});

export const evidenceSchemas: Record<string, OpenAPIV3_1.SchemaObject> = {
  EvidenceBlob: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'subscriptionId', 'clusters', 'bytes', 'sha256', 'href'],
    properties: {
      name: { type: 'string', description: 'Blob name in the `evidence` container, e.g. `runs/<runId>/subscriptions/<subscriptionId>.ndjson.gz`.' },
      subscriptionId: { type: 'string' },
      clusters: { type: 'integer', minimum: 0, description: 'Cluster records (NDJSON lines) in the blob.' },
      bytes: { type: 'integer', minimum: 0, description: 'Size of the stored (gzipped) blob.' },
      sha256: { ...sha256, description: 'SHA-256 of the stored (gzipped) bytes, lower-case hex.' },
      href: { type: 'string', description: 'API path that streams the blob.' },
    },
  },
  Evidence: {
    type: 'object',
    additionalProperties: false,
    required: ['runId', 'manifest', 'sequence', 'startedAt', 'endedAt', 'retainedUntil', 'appVersion', 'catalogVersion', 'blobs', 'notCollected', 'subscriptionsNotDiscovered', 'previousManifest'],
    properties: {
      runId: { type: 'string' },
      manifest: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'sha256', 'href'],
        properties: { name: { type: 'string', description: 'e.g. `manifests/0000000042-<runId>.manifest.json`.' }, sha256, href: { type: 'string' } },
      },
      sequence: { type: 'integer', minimum: 1, description: 'Position of the run in the manifest chain.' },
      startedAt: dateTime,
      endedAt: dateTime,
      retainedUntil: { ...dateTime, description: 'End of the run plus EVIDENCE_RETENTION_DAYS: until then no blob of the run can be changed or deleted (container immutability policy in Azure).' },
      appVersion: { type: 'string' },
      catalogVersion: { type: 'string', description: 'Content hash of the control catalog the run judged against.' },
      blobs: { type: 'array', items: ref('EvidenceBlob') },
      notCollected: { type: 'array', description: 'Subscriptions of the run without evidence, and why.', items: subscriptionEntry({ reason: { type: 'string' } }, ['reason']) },
      subscriptionsNotDiscovered: { type: 'array', items: subscriptionEntry({ clusters: { type: 'integer', minimum: 0 } }, ['clusters']) },
      previousManifest: {
        oneOf: [{ type: 'null' }, { type: 'object', additionalProperties: false, required: ['name', 'sha256'], properties: { name: { type: 'string' }, sha256 } }],
        description: 'The previous manifest of the chain and the SHA-256 of its bytes; null for the first run.',
      },
    },
  },
  EvidenceVerification: {
    type: 'object',
    additionalProperties: false,
    required: ['valid', 'checkedRuns', 'problems'],
    properties: {
      valid: { type: 'boolean' },
      checkedRuns: { type: 'integer', minimum: 1, description: 'Manifests whose link to their predecessor was checked (this run first).' },
      problems: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['runId', 'kind', 'detail'],
          properties: {
            runId: { type: 'string' },
            blob: { type: 'string' },
            kind: { type: 'string', enum: ['hash_mismatch', 'missing', 'chain_broken'] },
            detail: { type: 'string' },
          },
        },
      },
    },
  },
};

const conflict = respRef('Conflict');

export const evidencePaths: Record<string, Record<string, Operation>> = {
  '/api/v1/evaluations/{evaluationId}/evidence': {
    get: secured(APP_ROLES.auditRead, {
      operationId: 'getEvidence',
      summary: "The run's evidence manifest, with a link per blob",
      tags: ['Evidence'],
      parameters: [evaluationIdParam],
      responses: { '200': json(ref('Evidence'), 'The manifest as stored, with API links.'), '404': respRef('NotFound'), '409': conflict },
    }),
  },
  '/api/v1/evaluations/{evaluationId}/evidence/verify': {
    get: secured(APP_ROLES.auditRead, {
      operationId: 'verifyEvidence',
      summary: "Walk the manifest chain back from the run, re-hashing every blob of each run walked and checking each link",
      tags: ['Evidence'],
      parameters: [
        evaluationIdParam,
        { name: 'depth', in: 'query', description: 'Manifests to walk back, this run included (default: back to the first run).', schema: { type: 'integer', minimum: 1, maximum: 100_000 } },
      ],
      responses: { '200': json(ref('EvidenceVerification'), 'The verification report (200 whether valid or not).'), '404': respRef('NotFound'), '409': conflict },
    }),
  },
  '/api/v1/evaluations/{evaluationId}/evidence/{blobName}': {
    get: secured(APP_ROLES.auditRead, {
      operationId: 'getEvidenceBlob',
      summary: 'One evidence blob of the run, streamed as stored',
      tags: ['Evidence'],
      parameters: [
        evaluationIdParam,
        { name: 'blobName', in: 'path', required: true, description: '`<subscriptionId>.ndjson.gz` (gzipped NDJSON) or `manifest.json`.', schema: { type: 'string', pattern: '^([0-9a-f-]{36}\\.ndjson\\.gz|manifest\\.json)$' } },
      ],
      responses: {
        '200': {
          description: 'The stored bytes, unchanged (hash them to check the manifest).',
          headers: { 'x-request-id': requestIdHeader, 'x-evidence-blob': { description: 'Full blob name in the evidence container.', schema: { type: 'string' } } },
          content: { 'application/gzip': { schema: { type: 'string', format: 'binary' } }, 'application/json': { schema: { type: 'object', description: 'The manifest blob (`manifest.json`), as stored.' } } },
        },
        '404': respRef('NotFound'),
        '409': conflict,
      },
    }),
  },
  '/api/v1/evaluations/{evaluationId}/findings': {
    get: secured(APP_ROLES.complianceRead, {
      operationId: 'exportFindings',
      summary: "The run's findings as OCSF 1.8.0 Compliance Findings (NDJSON, streamed)",
      tags: ['Evidence'],
      parameters: [evaluationIdParam, { name: 'format', in: 'query', required: true, description: 'Only `ocsf` (OCSF 1.8.0 class 2003 with the `cloud` profile).', schema: { type: 'string', enum: ['ocsf'] } }],
      responses: {
        '200': {
          description: 'One Compliance Finding per cluster and control of the run, one JSON object per line (clusters of subscriptions whose evidence was not collected are absent: see the header).',
          headers: {
            'x-request-id': requestIdHeader,
            'x-subscriptions-not-collected': { description: 'Subscriptions of the run without evidence, hence without findings (listed by `GET …/evidence`).', schema: { type: 'string', pattern: '^\\d+$' } },
          },
          content: { 'application/x-ndjson': { schema: { type: 'string' } } },
        },
        '404': respRef('NotFound'),
        '409': conflict,
      },
    }),
  },
};

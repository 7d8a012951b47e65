/**
 * Stored shapes of the `clusters` table (one row per cluster state) and of the `clusterindex` pointer
 * rows. A cluster row is read whole (`clusterStateCodec`) or by column groups (`$select`): the index
 * fields, the list view and the fleet-summary input, each its own projection codec, so a listing never
 * parses the chunked evaluation it does not need.
 */
import type { ClusterState } from '../../../application/stored-records.js';
import type { ClusterSummaryView } from '../../../application/ports.js';
import type { SummaryInput } from '../../../domain/fleet-summary.js';
import type { ClusterEvaluation } from '../../../domain/model.js';
import { readChunks, writeChunks } from '../chunked-property.js';
import { controlStatusesOf, evaluationBudget, fitEvaluation, fitTags } from '../cluster-entity-fitting.js';
import { defined } from '../table-store.js';
import { SCHEMA_VERSION, chunkedJsonProp, defineRecordCodec, jsonProp, numberProp, type StoredEntity } from './record-codec.js';

export type ClusterStatus = 'compliant' | 'noncompliant';

/** The fields an index row carries and list filters read. */
export interface IndexFields {
  readonly subscriptionId: string;
  readonly environment: string | undefined;
  readonly location: string;
  readonly status: ClusterStatus;
  readonly stale: boolean;
  readonly failing: readonly string[];
}

export function statusOf(evaluation: Pick<ClusterEvaluation, 'failedControls'>): ClusterStatus {
  return evaluation.failedControls.length === 0 ? 'compliant' : 'noncompliant';
}

export function indexFieldsOf(state: ClusterState): IndexFields {
  return {
    subscriptionId: state.subscriptionId.toLowerCase(),
    environment: state.environment?.toLowerCase(),
    location: state.location.toLowerCase(),
    status: statusOf(state.evaluation),
    stale: state.stale,
    failing: [...new Set(state.evaluation.failedControls)].sort(),
  };
}

const text = { type: 'string' } as const;
const strings = { type: 'array', items: text } as const;
const score = { type: 'number' } as const;
const controlStatus = { enum: ['pass', 'fail', 'unknown', 'not_applicable', 'exempt'] } as const;
const severity = { enum: ['high', 'medium', 'low'] } as const;

/** Columns of a cluster row that index rows copy and filters read (with the keys and the version). */
export const INDEX_SELECT = ['PartitionKey', 'RowKey', SCHEMA_VERSION, 'subscriptionId', 'environment', 'location', 'status', 'stale', 'failing'];
/** The columns of an index row (it has no `failing`: its partition is the failing control). */
export const INDEX_ROW_SELECT = ['PartitionKey', 'RowKey', SCHEMA_VERSION, 'subscriptionId', 'environment', 'location', 'status', 'stale'];
/**
 * What a list item needs (`listSummaries`), without the chunked evaluation: reading and parsing every
 * listed cluster's controls and evidence (~30 KB each) only to drop them made `clusters?top=100` read
 * megabytes per request. `evaluatedAt` and `failedControls` (catalog order, as the evaluation holds
 * them) are stored as their own columns for this; rows written before they existed are read in full.
 */
export const LIST_SELECT = [...INDEX_SELECT, 'id', 'name', 'resourceGroup', 'kind', 'score', 'evaluatedAt', 'failedControls'];
/**
 * What the fleet summary reads (`listSummaryInputs`): `controlStatuses` holds `[controlId, status,
 * severity]` per control (catalog order, ~0.5 KB), written with each state so finalize does not read
 * and parse every cluster's evidence (~300 MB of JSON for 10,000 clusters, the app's memory peak).
 */
export const SUMMARY_SELECT = ['PartitionKey', 'RowKey', SCHEMA_VERSION, 'subscriptionId', 'stale', 'score', 'controlStatuses'];
/** {@link SUMMARY_SELECT} with the trend dimensions: environment, location and tags (up to 4 chunks; more are read in full). */
export const SUMMARY_DIMENSIONS_SELECT = [...SUMMARY_SELECT, 'environment', 'location', 'tags', 'tags_n', 'tags_0', 'tags_1', 'tags_2', 'tags_3'];
/** What a framework report reads (`listControlStatuses`): the filter columns, `score` and `controlStatuses` (read with the summary-input codec). */
export const STATUS_SELECT = [...INDEX_SELECT, 'score', 'controlStatuses'];

const evaluationSchema = {
  type: 'object',
  required: ['clusterId', 'evaluatedAt', 'runId', 'controls', 'score', 'failedControls'],
  properties: {
    clusterId: text,
    evaluatedAt: text,
    runId: text,
    score,
    failedControls: strings,
    controls: {
      type: 'array',
      items: {
        type: 'object',
        required: ['controlId', 'status', 'severity', 'evidence'],
        properties: {
          controlId: text,
          status: controlStatus,
          severity,
          evidence: text,
          reason: text,
          offenders: { type: 'object', required: ['items', 'total'], properties: { items: strings, total: { type: 'integer', minimum: 0 } } },
        },
      },
    },
  },
} as const;

/** Stored tags; `{}` for a value that does not parse (rows written before tags were chunked may hold a cut JSON text, rewritten by the next evaluation). */
export function tagsFromEntity(e: StoredEntity): Record<string, string> {
  const stored = readChunks(e, 'tags') ?? (typeof e['tags'] === 'string' ? e['tags'] : undefined);
  if (stored === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(stored);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  } catch {
    return {};
  }
}

export const clusterStateCodec = defineRecordCodec<ClusterState>({
  kind: 'cluster-state',
  version: 1,
  schema: {
    type: 'object',
    required: ['id', 'name', 'subscriptionId', 'resourceGroup', 'location', 'tags', 'evaluation', 'stale', 'lastSeenAt'],
    properties: {
      id: text,
      name: text,
      subscriptionId: text,
      resourceGroup: text,
      location: text,
      kind: text,
      tags: { type: 'object', additionalProperties: text },
      environment: text,
      distribution: text,
      kubernetesVersion: text,
      connectivityStatus: text,
      evaluation: evaluationSchema,
      stale: { type: 'boolean' },
      lastSeenAt: text,
    },
  },
  encode: (state) => {
    const f = indexFieldsOf(state);
    const tags = fitTags(state.tags);
    return {
      ...defined({
        id: state.id,
        name: state.name,
        subscriptionId: state.subscriptionId,
        resourceGroup: state.resourceGroup,
        location: state.location,
        kind: state.kind,
        tagsDropped: tags.dropped > 0 ? tags.dropped : undefined,
        environment: state.environment,
        distribution: state.distribution,
        kubernetesVersion: state.kubernetesVersion,
        connectivityStatus: state.connectivityStatus,
        stale: state.stale,
        lastSeenAt: state.lastSeenAt,
        runId: state.evaluation.runId,
        score: state.evaluation.score,
        status: f.status,
        failing: JSON.stringify(f.failing),
        evaluatedAt: state.evaluation.evaluatedAt,
        failedControls: JSON.stringify(state.evaluation.failedControls),
        controlStatuses: controlStatusesOf(state.evaluation),
      }),
      ...writeChunks('tags', tags.json),
      // Tags and evaluation share the entity's chunk budget.
      ...writeChunks('evaluation', fitEvaluation(state.evaluation, evaluationBudget(tags.json))),
    };
  },
  readers: {
    1: (e: StoredEntity) => ({
      id: e['id'],
      name: e['name'],
      subscriptionId: e['subscriptionId'],
      resourceGroup: e['resourceGroup'],
      location: e['location'],
      kind: e['kind'],
      tags: tagsFromEntity(e),
      environment: e['environment'],
      distribution: e['distribution'],
      kubernetesVersion: e['kubernetesVersion'],
      connectivityStatus: e['connectivityStatus'],
      evaluation: chunkedJsonProp(e, 'evaluation'),
      // Written on every row; a row without it (never written so) reads as current.
      stale: e['stale'] ?? false,
      lastSeenAt: e['lastSeenAt'],
    }),
  },
});

const indexFieldsSchema = {
  type: 'object',
  required: ['subscriptionId', 'location', 'status', 'stale', 'failing'],
  properties: { subscriptionId: text, environment: text, location: text, status: { enum: ['compliant', 'noncompliant'] }, stale: { type: 'boolean' }, failing: strings },
} as const;

const readIndexFields = (e: StoredEntity): unknown => ({
  subscriptionId: typeof e['subscriptionId'] === 'string' ? e['subscriptionId'].toLowerCase() : e['subscriptionId'],
  environment: typeof e['environment'] === 'string' ? e['environment'].toLowerCase() : e['environment'],
  location: typeof e['location'] === 'string' ? e['location'].toLowerCase() : (e['location'] ?? ''),
  status: e['status'],
  stale: e['stale'] ?? false,
  failing: jsonProp(e, 'failing') ?? [],
});

/** The index fields of a cluster row (`INDEX_SELECT`). */
export const clusterIndexFieldsCodec = defineRecordCodec<IndexFields>({
  kind: 'cluster-state',
  version: 1,
  projection: true,
  schema: indexFieldsSchema,
  encode: () => {
    throw new Error('a projection is never written');
  },
  readers: { 1: readIndexFields },
});

/** A `clusterindex` pointer row: the filterable fields of one cluster in one index partition. */
export const clusterIndexRowCodec = defineRecordCodec<IndexFields>({
  kind: 'cluster-index',
  version: 1,
  schema: indexFieldsSchema,
  encode: (f) => defined({ subscriptionId: f.subscriptionId, environment: f.environment, location: f.location, status: f.status, stale: f.stale }),
  readers: { 1: readIndexFields },
});

/** The list view from the list columns (`LIST_SELECT`); `null` for a row written before they existed (read in full instead). */
export const clusterListViewCodec = defineRecordCodec<ClusterSummaryView | null>({
  kind: 'cluster-state',
  version: 1,
  projection: true,
  schema: {
    type: ['object', 'null'],
    required: ['id', 'name', 'subscriptionId', 'resourceGroup', 'location', 'kind', 'environment', 'score', 'failedControls', 'lastEvaluatedAt', 'stale'],
    properties: {
      id: text,
      name: text,
      subscriptionId: text,
      resourceGroup: text,
      location: text,
      kind: { type: ['string', 'null'] },
      environment: { type: ['string', 'null'] },
      score,
      failedControls: strings,
      lastEvaluatedAt: text,
      stale: { type: 'boolean' },
    },
  },
  encode: () => {
    throw new Error('a projection is never written');
  },
  readers: {
    1: (e: StoredEntity) =>
      e['evaluatedAt'] === undefined || e['failedControls'] === undefined
        ? null
        : {
            id: e['id'],
            name: e['name'],
            subscriptionId: e['subscriptionId'],
            resourceGroup: e['resourceGroup'],
            location: e['location'],
            kind: e['kind'] ?? null,
            environment: e['environment'] ?? null,
            score: numberProp(e, 'score'),
            failedControls: jsonProp(e, 'failedControls'),
            lastEvaluatedAt: e['evaluatedAt'],
            stale: e['stale'] ?? false,
          },
  },
});

/** The fleet-summary input from `controlStatuses` (`SUMMARY_SELECT`); `null` for a row without it (read in full instead). */
export const clusterSummaryInputCodec = defineRecordCodec<SummaryInput | null>({
  kind: 'cluster-state',
  version: 1,
  projection: true,
  schema: {
    type: ['object', 'null'],
    required: ['subscriptionId', 'stale', 'evaluation'],
    properties: {
      subscriptionId: text,
      stale: { type: 'boolean' },
      evaluation: {
        type: 'object',
        required: ['score', 'controls'],
        properties: {
          score,
          controls: {
            type: 'array',
            items: { type: 'object', required: ['controlId', 'status', 'severity', 'evidence'], properties: { controlId: text, status: controlStatus, severity, evidence: text } },
          },
        },
      },
    },
  },
  encode: () => {
    throw new Error('a projection is never written');
  },
  readers: {
    1: (e: StoredEntity) => {
      if (e['controlStatuses'] === undefined) return null;
      const statuses = jsonProp(e, 'controlStatuses');
      const controls = Array.isArray(statuses)
        ? statuses.map((t: unknown) => (Array.isArray(t) ? { controlId: t[0], status: t[1], severity: t[2], evidence: '' } : t))
        : statuses;
      return { subscriptionId: e['subscriptionId'], stale: e['stale'] ?? false, evaluation: { score: numberProp(e, 'score'), controls } };
    },
  },
});

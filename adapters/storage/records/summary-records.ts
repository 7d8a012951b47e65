/**
 * Stored shapes of the `summaries` table: the fleet summary (`summary|latest` and `summary|run|<id>`,
 * chunked JSON) and the compact trend points (`trend|…`).
 */
import type { TrendPoint } from '../../../application/stored-records.js';
import type { FleetSummary } from '../../../domain/model.js';
import type { TrendSlices } from '../../../domain/trend-slices.js';
import { writeChunks } from '../chunked-property.js';
import { chunkedJsonProp, defineRecordCodec, jsonProp, numberProp, type StoredEntity } from './record-codec.js';

const text = { type: 'string' } as const;
const count = { type: 'integer', minimum: 0 } as const;
const totals = {
  type: 'object',
  required: ['clusters', 'compliant', 'noncompliant', 'stale', 'averageScore'],
  properties: { clusters: count, compliant: count, noncompliant: count, stale: count, averageScore: { type: 'number' } },
} as const;
const tally = {
  type: 'object',
  required: ['pass', 'fail', 'unknown', 'not_applicable', 'exempt'],
  properties: { pass: count, fail: count, unknown: count, not_applicable: count, exempt: count },
} as const;

const frameworkPosture = {
  type: 'object',
  required: ['requirements', 'passing', 'failing', 'notAssessed', 'manual'],
  properties: { requirements: count, passing: count, failing: count, notAssessed: count, manual: count },
} as const;

/**
 * The summary as stored (`perFramework` only on summaries stored since finalize computes it). Summaries of earlier releases may carry more (section rows): kept as read,
 * the query service serves only the current fields.
 */
export const summaryCodec = defineRecordCodec<FleetSummary>({
  kind: 'summary',
  version: 1,
  schema: {
    type: 'object',
    required: ['runId', 'generatedAt', 'totals', 'perControl', 'perSubscription'],
    properties: {
      runId: text,
      generatedAt: text,
      totals,
      perControl: { type: 'object', additionalProperties: tally },
      perSubscription: { type: 'object', additionalProperties: totals },
      perFramework: { type: 'object', additionalProperties: frameworkPosture },
    },
  },
  encode: (summary) => ({ runId: summary.runId, generatedAt: summary.generatedAt, ...writeChunks('summary', JSON.stringify(summary)) }),
  readers: { 1: (e: StoredEntity) => chunkedJsonProp(e, 'summary') },
});

const groupSchema = {
  type: 'object',
  required: ['subscriptionId', 'environment', 'location', 'tags', 'clusters', 'noncompliant', 'scoreSum', 'failingByControl'],
  properties: {
    subscriptionId: text,
    environment: { type: ['string', 'null'] },
    location: text,
    tags: { type: 'object', additionalProperties: text },
    clusters: count,
    noncompliant: count,
    scoreSum: { type: 'number' },
    failingByControl: { type: 'object', additionalProperties: count },
  },
} as const;

/** One part of a run's trend slices: the groups are split over `parts` rows (an entity holds ~384 KB). */
export interface TrendSlicesPart extends TrendSlices {
  readonly part: number;
  readonly parts: number;
}

/** A part of a run's trend slices (`trendslice|…|<part>`, chunked JSON): its clusters grouped for filtered trends. */
export const trendSlicesCodec = defineRecordCodec<TrendSlicesPart>({
  kind: 'trend-slices',
  version: 1,
  schema: {
    type: 'object',
    required: ['runId', 'generatedAt', 'part', 'parts', 'groups', 'tagKeysLeftOut'],
    properties: { runId: text, generatedAt: text, part: count, parts: count, groups: { type: 'array', items: groupSchema }, tagKeysLeftOut: { type: 'array', items: text } },
  },
  encode: (slices) => ({ runId: slices.runId, generatedAt: slices.generatedAt, ...writeChunks('slices', JSON.stringify(slices)) }),
  readers: { 1: (e: StoredEntity) => chunkedJsonProp(e, 'slices') },
});

export const trendCodec = defineRecordCodec<TrendPoint>({
  kind: 'trend-point',
  version: 1,
  schema: {
    type: 'object',
    required: ['runId', 'generatedAt', 'averageScore', 'clusters', 'noncompliant', 'failingByControl'],
    properties: {
      runId: text,
      generatedAt: text,
      averageScore: { type: 'number' },
      clusters: count,
      noncompliant: count,
      failingByControl: { type: 'object', additionalProperties: count },
    },
  },
  encode: (point) => ({
    runId: point.runId,
    generatedAt: point.generatedAt,
    averageScore: point.averageScore,
    clusters: point.clusters,
    noncompliant: point.noncompliant,
    failingByControl: JSON.stringify(point.failingByControl),
  }),
  readers: {
    1: (e: StoredEntity) => ({
      runId: e['runId'],
      generatedAt: e['generatedAt'],
      averageScore: numberProp(e, 'averageScore'),
      clusters: numberProp(e, 'clusters'),
      noncompliant: numberProp(e, 'noncompliant'),
      failingByControl: jsonProp(e, 'failingByControl'),
    }),
  },
});

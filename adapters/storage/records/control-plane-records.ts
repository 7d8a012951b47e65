/**
 * Stored shapes of the `controlplaneevents` table: a kept event (its main row and each per-cluster
 * copy), a subscription's watch state, and a subscription's extension types. Version 1 is also what the
 * first release wrote without `schemaVersion` (the same properties).
 */
import type { ControlPlaneWatchState } from '../../../application/ports.js';
import { SECURITY_EXTENSION_CONTROL, WATCHED_OPERATIONS, type ControlPlaneEvent } from '../../../domain/control-plane-events.js';
import { defineRecordCodec, jsonProp, type StoredEntity } from './record-codec.js';

const text = { type: 'string' } as const;

/** Absent stays absent: JSON round trips and API answers carry no `undefined` keys. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

const readEvent = (e: StoredEntity): unknown => {
  const event = jsonProp(e, 'event');
  return typeof event === 'object' && event !== null ? withoutUndefined(event) : event;
};

export const controlPlaneEventCodec = defineRecordCodec<ControlPlaneEvent>({
  kind: 'control-plane-event',
  version: 1,
  schema: {
    type: 'object',
    required: ['eventDataId', 'kind', 'operation', 'status', 'caller', 'eventTimestamp', 'subscriptionId', 'resourceGroup', 'resourceId', 'severity'],
    additionalProperties: false,
    properties: {
      eventDataId: text,
      kind: { enum: [...new Set(WATCHED_OPERATIONS.map((o) => o.kind))] },
      operation: text,
      status: text,
      subStatus: text,
      caller: text,
      callerAppId: text,
      eventTimestamp: text,
      submissionTimestamp: text,
      subscriptionId: text,
      resourceGroup: text,
      resourceId: text,
      clusterId: text,
      clusterName: text,
      clusterIds: { type: 'array', items: text },
      extensionName: text,
      securityExtension: { enum: Object.keys(SECURITY_EXTENSION_CONTROL) },
      severity: { enum: ['high', 'medium', 'low'] },
      correlationId: text,
      clientIpAddress: text,
      location: text,
    },
  },
  encode: (event) => ({ subscriptionId: event.subscriptionId, operation: event.operation.toLowerCase(), eventTimestamp: event.eventTimestamp, event: JSON.stringify(event) }),
  readers: { 1: readEvent },
});

const optional = (e: StoredEntity, name: string): unknown => (e[name] === '' || e[name] === undefined ? undefined : e[name]);

/**
 * The last failure: its own columns (`lastFailure*`), kept after later successes. Rows written before
 * them only have `lastError`, the message while failing, read as a failure at the last attempt.
 * `lastError` is still written while failing, so an earlier release reading a newer row sees the same.
 */
function readLastFailure(e: StoredEntity): unknown {
  const at = optional(e, 'lastFailureAt');
  if (at !== undefined) {
    return withoutUndefined({ at, stage: optional(e, 'lastFailureStage'), code: optional(e, 'lastFailureCode'), message: optional(e, 'lastFailureMessage') ?? '', hint: optional(e, 'lastFailureHint') });
  }
  const legacy = optional(e, 'lastError');
  if (typeof legacy !== 'string') return legacy;
  const read = /^Activity Log not read/.test(legacy);
  return { at: optional(e, 'lastAttemptAt'), stage: read ? 'read' : 'store', code: read ? 'ActivityLogReadFailed' : 'EventsNotStored', message: legacy };
}

const failing = (state: ControlPlaneWatchState): boolean =>
  state.lastFailure !== undefined && (state.lastSuccessAt === undefined || Date.parse(state.lastFailure.at) >= Date.parse(state.lastSuccessAt));

const readWatchState = (e: StoredEntity): unknown => {
  const from = optional(e, 'coverageFrom');
  const to = optional(e, 'coverageTo');
  return withoutUndefined({
    subscriptionId: e['subscriptionId'],
    coverage: from !== undefined && to !== undefined ? { from, to } : undefined,
    lastAttemptAt: optional(e, 'lastAttemptAt'),
    lastSuccessAt: optional(e, 'lastSuccessAt'),
    lastFailure: readLastFailure(e),
  });
};

/** Version 2 added the `lastFailure*` columns; version 1 rows carry `lastError` only (same reader). */
export const controlPlaneWatchCodec = defineRecordCodec<ControlPlaneWatchState>({
  kind: 'control-plane-watch',
  version: 2,
  schema: {
    type: 'object',
    required: ['subscriptionId'],
    additionalProperties: false,
    properties: {
      subscriptionId: text,
      coverage: { type: 'object', required: ['from', 'to'], additionalProperties: false, properties: { from: text, to: text } },
      lastAttemptAt: text,
      lastSuccessAt: text,
      lastFailure: {
        type: 'object',
        required: ['at', 'stage', 'code', 'message'],
        additionalProperties: false,
        properties: { at: text, stage: { enum: ['read', 'store', 'poison'] }, code: text, message: text, hint: text },
      },
    },
  },
  encode: (state) => ({
    subscriptionId: state.subscriptionId.toLowerCase(),
    coverageFrom: state.coverage?.from ?? '',
    coverageTo: state.coverage?.to ?? '',
    lastAttemptAt: state.lastAttemptAt ?? '',
    lastSuccessAt: state.lastSuccessAt ?? '',
    lastError: failing(state) ? (state.lastFailure?.message ?? '').slice(0, 2000) : '',
    lastFailureAt: state.lastFailure?.at ?? '',
    lastFailureStage: state.lastFailure?.stage ?? '',
    lastFailureCode: (state.lastFailure?.code ?? '').slice(0, 200),
    lastFailureMessage: (state.lastFailure?.message ?? '').slice(0, 2000),
    lastFailureHint: (state.lastFailure?.hint ?? '').slice(0, 2000),
  }),
  readers: { 1: readWatchState, 2: readWatchState },
});

/** Extension name → type of one cluster (lower-cased), as the nightly collect last listed them. */
export interface ClusterExtensionTypes {
  readonly clusterId: string;
  readonly types: Readonly<Record<string, string>>;
}

export const controlPlaneExtensionTypesCodec = defineRecordCodec<ClusterExtensionTypes>({
  kind: 'control-plane-extension-types',
  version: 1,
  schema: {
    type: 'object',
    required: ['clusterId', 'types'],
    additionalProperties: false,
    properties: { clusterId: text, types: { type: 'object', additionalProperties: text } },
  },
  encode: (r) => ({ types: JSON.stringify(r.types) }),
  readers: {
    1: (e) => ({ clusterId: typeof e['rowKey'] === 'string' ? e['rowKey'] : undefined, types: jsonProp(e, 'types') }),
  },
});

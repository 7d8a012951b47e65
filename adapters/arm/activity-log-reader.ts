/**
 * Production {@link ActivityLogReader}: the Azure Activity Log of a subscription through
 * `@azure/arm-monitor` (`MonitorClient.activityLogs.list`, api-version 2015-04-01), with the app's ARM
 * pipeline (endpoint, credential, retry on 429/503 + `Retry-After`, per-request timeout).
 *
 * The SDK's pager follows each `nextLink` as returned; the bearer token goes with it, so a policy of
 * this reader refuses any request to another origin than the configured ARM endpoint.
 */
import { MonitorClient, type EventData } from '@azure/arm-monitor';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { ActivityLogReader } from '../../application/ports.js';
import { activityLogFilter, type ActivityLogEntry } from '../../domain/control-plane-events.js';
import { sdkClientOptions, type ArmConnection } from './arm-client-options.js';
import { armFailure } from './arm-errors.js';
import { DEFAULT_ARM_REQUEST_TIMEOUT_MS } from './azure-inventory-reader.js';
import { PerSubscriptionClients } from './per-subscription-clients.js';

/** The only fields the watch reads: smaller pages than the whole `EventData` (claims are large). */
export const ACTIVITY_LOG_SELECT = [
  'eventDataId',
  'eventTimestamp',
  'submissionTimestamp',
  'operationName',
  'status',
  'subStatus',
  'caller',
  'claims',
  'resourceId',
  'authorization',
  'subscriptionId',
  'correlationId',
  'httpRequest',
].join(',');

const OBJECT_ID_CLAIM = 'http://schemas.microsoft.com/identity/claims/objectidentifier';

/** Refuses requests (a followed `nextLink`) to another origin than `origin`: the bearer token would go with them. */
export function sameOriginPolicy(origin: string): PipelinePolicy {
  return {
    name: 'armSameOrigin',
    sendRequest: (request, next) => {
      if (new URL(request.url).origin !== origin) return Promise.reject(new Error(`refused to send an ARM request outside ${origin}`));
      return next(request);
    },
  };
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const time = (v: unknown): string | undefined => (v instanceof Date && !Number.isNaN(v.getTime()) ? v.toISOString() : text(v));

/** SDK `EventData` → entry; undefined when it lacks what identifies it (id, time, operation, resource). */
export function toActivityLogEntry(e: EventData, subscriptionId: string): ActivityLogEntry | undefined {
  const eventDataId = text(e.eventDataId);
  const eventTimestamp = time(e.eventTimestamp);
  const operationName = text(e.operationName?.value);
  // `resourceId` is optional in EventData (the official example has none); the authorization scope names the resource too.
  const resourceId = text(e.resourceId) ?? text(e.authorization?.scope);
  if (eventDataId === undefined || eventTimestamp === undefined || operationName === undefined || resourceId === undefined) return undefined;
  const claims = e.claims ?? {};
  return {
    eventDataId,
    eventTimestamp,
    submissionTimestamp: time(e.submissionTimestamp),
    operationName,
    status: text(e.status?.value) ?? '',
    subStatus: text(e.subStatus?.value),
    caller: text(e.caller),
    callerAppId: text(claims['appid']),
    callerObjectId: text(claims[OBJECT_ID_CLAIM]),
    resourceId,
    subscriptionId: text(e.subscriptionId) ?? subscriptionId,
    correlationId: text(e.correlationId),
    clientIpAddress: text(e.httpRequest?.clientIpAddress),
  };
}

export class ArmActivityLogReader implements ActivityLogReader {
  private readonly clients = new PerSubscriptionClients<MonitorClient>((subscriptionId) => {
    const options = sdkClientOptions({ ...this.connection, requestTimeoutMs: this.timeoutMs });
    const origin = new URL(options.endpoint).origin;
    return new MonitorClient(this.connection.credential, subscriptionId, {
      ...options,
      additionalPolicies: [...(options.additionalPolicies ?? []), { policy: sameOriginPolicy(origin), position: 'perCall' }],
    });
  });
  private readonly timeoutMs: number;

  constructor(private readonly connection: ArmConnection) {
    this.timeoutMs = connection.requestTimeoutMs ?? DEFAULT_ARM_REQUEST_TIMEOUT_MS;
  }

  async list(subscriptionId: string, from: Date, to: Date): Promise<ActivityLogEntry[]> {
    const out: ActivityLogEntry[] = [];
    try {
      for await (const e of this.client(subscriptionId).activityLogs.list(activityLogFilter(from, to), { select: ACTIVITY_LOG_SELECT })) {
        const entry = toActivityLogEntry(e, subscriptionId);
        if (entry !== undefined) out.push(entry);
      }
    } catch (e) {
      // Classified like every ARM read (a refusal is permanent, throttling carries its Retry-After).
      throw armFailure('activityLogs.list', subscriptionId, e, this.timeoutMs);
    }
    return out;
  }

  private client(subscriptionId: string): MonitorClient {
    return this.clients.get(subscriptionId);
  }

}

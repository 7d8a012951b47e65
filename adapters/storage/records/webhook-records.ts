/** Stored shapes of the webhook tables: subscriptions (`webhooks`) and deliveries (`webhookdeliveries`). */
import type { WebhookDelivery, WebhookSubscription } from '../../../domain/webhook-subscription.js';
import { WEBHOOK_FORMATS } from '../../../domain/webhook-subscription.js';
import { readChunks, writeChunks } from '../chunked-property.js';
import { unescapeKey } from '../table-keys.js';
import { defined } from '../table-store.js';
import { UnreadablePropertyError, defineRecordCodec, jsonProp, parseJson, type StoredEntity } from './record-codec.js';

const text = { type: 'string' } as const;

export const webhookCodec = defineRecordCodec<WebhookSubscription>({
  kind: 'webhook',
  version: 1,
  schema: {
    type: 'object',
    required: ['id', 'url', 'events', 'format', 'filters', 'enabled', 'createdAt', 'createdBy', 'secrets'],
    properties: {
      id: text,
      url: text,
      events: { type: 'array', items: text },
      format: { enum: [...WEBHOOK_FORMATS] },
      filters: {
        type: 'object',
        properties: { subscriptionIds: { type: 'array', items: text }, minimumSeverity: { enum: ['high', 'medium', 'low'] } },
      },
      description: text,
      enabled: { type: 'boolean' },
      disabledReason: text,
      disabledAt: text,
      createdAt: text,
      createdBy: text,
      secretRotatedAt: text,
      secrets: { type: 'object', required: ['current'], properties: { current: text, previous: text, previousExpiresAt: text } },
    },
  },
  encode: (s) =>
    defined({
      id: s.id,
      url: s.url,
      events: JSON.stringify(s.events),
      format: s.format,
      filters: JSON.stringify(s.filters),
      description: s.description,
      enabled: s.enabled,
      disabledReason: s.disabledReason,
      disabledAt: s.disabledAt,
      createdAt: s.createdAt,
      createdBy: s.createdBy,
      secretRotatedAt: s.secretRotatedAt,
      secretCurrent: s.secrets.current,
      secretPrevious: s.secrets.previous,
      secretPreviousExpiresAt: s.secrets.previousExpiresAt,
    }),
  readers: {
    1: (e: StoredEntity) => ({
      id: e['id'],
      url: e['url'],
      events: jsonProp(e, 'events') ?? [],
      format: e['format'],
      filters: jsonProp(e, 'filters') ?? {},
      description: e['description'],
      enabled: e['enabled'] === true,
      disabledReason: e['disabledReason'],
      disabledAt: e['disabledAt'],
      createdAt: e['createdAt'],
      createdBy: e['createdBy'],
      secretRotatedAt: e['secretRotatedAt'],
      secrets: { current: e['secretCurrent'] ?? '', previous: e['secretPrevious'], previousExpiresAt: e['secretPreviousExpiresAt'] },
    }),
  },
});

export const deliveryCodec = defineRecordCodec<WebhookDelivery>({
  kind: 'webhook-delivery',
  version: 1,
  schema: {
    type: 'object',
    required: ['id', 'webhookId', 'eventId', 'eventType', 'createdAt', 'status', 'attempts', 'event'],
    properties: {
      id: text,
      webhookId: text,
      eventId: text,
      eventType: text,
      createdAt: text,
      status: { enum: ['pending', 'retrying', 'delivered', 'failed', 'dead-lettered', 'canceled'] },
      attempts: {
        type: 'array',
        items: {
          type: 'object',
          required: ['attempt', 'at', 'outcome'],
          properties: {
            attempt: { type: 'integer' },
            at: text,
            outcome: { enum: ['delivered', 'failed', 'refused'] },
            statusCode: { type: 'integer' },
            error: text,
            responseExcerpt: text,
            nextAttemptAt: text,
          },
        },
      },
      nextAttemptAt: text,
      reason: text,
      event: text,
      redeliveryOf: text,
    },
  },
  encode: (d) =>
    defined({
      webhookId: d.webhookId,
      eventId: d.eventId,
      eventType: d.eventType,
      createdAt: d.createdAt,
      status: d.status,
      attempts: JSON.stringify(d.attempts),
      nextAttemptAt: d.nextAttemptAt,
      reason: d.reason,
      redeliveryOf: d.redeliveryOf,
      ...writeChunks('event', d.event),
    }),
  readers: {
    1: (e: StoredEntity) => {
      // Kept as the JSON text it was published as; checked to be JSON.
      const event = e['event_n'] === undefined ? '{}' : readChunks(e, 'event');
      if (event === undefined) throw new UnreadablePropertyError('/event_0..n are not complete chunks');
      parseJson(event, 'event');
      return {
        // The id is the row key (escaped).
        id: typeof e['rowKey'] === 'string' ? unescapeKey(e['rowKey']) : undefined,
        webhookId: e['webhookId'],
        eventId: e['eventId'],
        eventType: e['eventType'],
        createdAt: e['createdAt'],
        status: e['status'],
        attempts: jsonProp(e, 'attempts') ?? [],
        nextAttemptAt: e['nextAttemptAt'],
        reason: e['reason'],
        event,
        redeliveryOf: e['redeliveryOf'],
      };
    },
  },
});


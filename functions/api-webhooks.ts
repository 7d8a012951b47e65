/** Webhook subscriptions: create (secret shown once), list, get, delete, rotate, deliveries, redeliver. */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { registerOperations } from '../adapters/http/azure-functions.js';
import { toCollection } from '../adapters/http/collections.js';
import { defineOperation, type Operation } from '../adapters/http/operation.js';
import type { NewWebhookInput } from '../domain/webhook-subscription.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/api-runtime.js').then((m) => m.getApiRuntime());

type Paging = { top: number; continuationToken?: string };

export function webhookOperations(): Operation[] {
  return [
    defineOperation<object, object, NewWebhookInput>('createWebhook', async ({ services: { webhooks }, body, principal, url }) => {
      const created = await webhooks.create(body, principal?.subject ?? 'unknown');
      const location = new URL(`/api/v1/webhooks/${encodeURIComponent(created.webhook.id)}`, url).toString();
      return { status: 201, body: created, headers: { location }, auditTarget: `webhooks/${created.webhook.id} (${created.webhook.format})` };
    }),
    defineOperation<object, Paging>('listWebhooks', async ({ services: { webhooks }, query, url }) => ({
      status: 200,
      body: toCollection(await webhooks.list(query.top, query.continuationToken), url),
    })),
    defineOperation<{ webhookId: string }>('getWebhook', async ({ services: { webhooks }, params }) => ({ status: 200, body: await webhooks.get(params.webhookId) })),
    defineOperation<{ webhookId: string }>('deleteWebhook', async ({ services: { webhooks }, params }) => {
      await webhooks.delete(params.webhookId);
      return { status: 204, auditTarget: `webhooks/${params.webhookId}` };
    }),
    defineOperation<{ webhookId: string }>('rotateWebhookSecret', async ({ services: { webhooks }, params }) => ({
      status: 200,
      body: await webhooks.rotateSecret(params.webhookId),
      auditTarget: `webhooks/${params.webhookId} (secret rotated)`,
    })),
    defineOperation<{ webhookId: string }, Paging>('listWebhookDeliveries', async ({ services: { webhooks }, params, query, url }) => ({
      status: 200,
      body: toCollection(await webhooks.listDeliveries(params.webhookId, query.top, query.continuationToken), url),
    })),
    defineOperation<{ webhookId: string; deliveryId: string }>('redeliverWebhookDelivery', async ({ services: { webhooks }, params }) => ({
      status: 202,
      body: await webhooks.redeliver(params.webhookId, params.deliveryId),
      auditTarget: `webhooks/${params.webhookId}/deliveries/${params.deliveryId}`,
    })),
  ];
}

export const [createWebhook, listWebhooks, getWebhook, deleteWebhook, rotateWebhookSecret, listWebhookDeliveries, redeliverWebhookDelivery] = webhookOperations() as [
  Operation, Operation, Operation, Operation, Operation, Operation, Operation,
];

registerOperations([createWebhook, listWebhooks, getWebhook, deleteWebhook, rotateWebhookSecret, listWebhookDeliveries, redeliverWebhookDelivery], runtime);

/** Webhook subscriptions: create (secret shown once), list, get, delete, rotate, deliveries, redeliver. */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { registerOperations } from '../adapters/http/azure-functions.js';
import { toCollection } from '../adapters/http/collections.js';
import { defineOperation, type Operation } from '../adapters/http/operation.js';
import type { NewWebhookInput } from '../domain/webhook-subscription.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/composition-root.js').then((m) => m.getApiRuntime());
const webhooks = (): Promise<import('../application/webhook-service.js').WebhookService> =>
  import('../bootstrap/composition-root.js').then((m) => m.getWebhookServices()).then((s) => s.webhooks);

type Paging = { top: number; continuationToken?: string };

export function webhookOperations(): Operation[] {
  return [
    defineOperation<object, object, NewWebhookInput>('createWebhook', async ({ body, principal, url }) => {
      const created = await (await webhooks()).create(body, principal?.subject ?? 'unknown');
      const location = new URL(`/api/v1/webhooks/${encodeURIComponent(created.webhook.id)}`, url).toString();
      return { status: 201, body: created, headers: { location }, auditTarget: `webhooks/${created.webhook.id} (${created.webhook.format})` };
    }),
    defineOperation<object, Paging>('listWebhooks', async ({ query, url }) => ({
      status: 200,
      body: toCollection(await (await webhooks()).list(query.top, query.continuationToken), url),
    })),
    defineOperation<{ webhookId: string }>('getWebhook', async ({ params }) => ({ status: 200, body: await (await webhooks()).get(params.webhookId) })),
    defineOperation<{ webhookId: string }>('deleteWebhook', async ({ params }) => {
      await (await webhooks()).delete(params.webhookId);
      return { status: 204, auditTarget: `webhooks/${params.webhookId}` };
    }),
    defineOperation<{ webhookId: string }>('rotateWebhookSecret', async ({ params }) => ({
      status: 200,
      body: await (await webhooks()).rotateSecret(params.webhookId),
      auditTarget: `webhooks/${params.webhookId} (secret rotated)`,
    })),
    defineOperation<{ webhookId: string }, Paging>('listWebhookDeliveries', async ({ params, query, url }) => ({
      status: 200,
      body: toCollection(await (await webhooks()).listDeliveries(params.webhookId, query.top, query.continuationToken), url),
    })),
    defineOperation<{ webhookId: string; deliveryId: string }>('redeliverWebhookDelivery', async ({ params }) => ({
      status: 202,
      body: await (await webhooks()).redeliver(params.webhookId, params.deliveryId),
      auditTarget: `webhooks/${params.webhookId}/deliveries/${params.deliveryId}`,
    })),
  ];
}

export const [createWebhook, listWebhooks, getWebhook, deleteWebhook, rotateWebhookSecret, listWebhookDeliveries, redeliverWebhookDelivery] = webhookOperations() as [
  Operation, Operation, Operation, Operation, Operation, Operation, Operation,
];

registerOperations([createWebhook, listWebhooks, getWebhook, deleteWebhook, rotateWebhookSecret, listWebhookDeliveries, redeliverWebhookDelivery], runtime);

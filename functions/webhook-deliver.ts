/** One webhook delivery attempt per queue message; retries are re-queued with a visibility delay. */
import { app, type InvocationContext } from '@azure/functions';
import { getWebhookServices } from '../bootstrap/composition-root.js';
import { parseWebhookDeliveryMessage, WEBHOOK_QUEUES } from '../application/messages.js';
import './app-start.js';

app.storageQueue('webhookDeliver', {
  queueName: WEBHOOK_QUEUES.deliveries,
  connection: 'AzureWebJobsStorage',
  handler: async (payload: unknown, context: InvocationContext): Promise<void> => {
    const message = parseWebhookDeliveryMessage(payload);
    const { webhooks } = await getWebhookServices();
    const delivery = await webhooks.processDelivery(message);
    if (delivery === undefined) context.warn(`webhook ${message.webhookId}: delivery ${message.deliveryId} not found`);
    else context.log(`webhook ${message.webhookId}: delivery ${delivery.id} attempt ${message.attempt} → ${delivery.status}`);
  },
});

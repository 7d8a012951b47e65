/**
 * One webhook delivery attempt per queue message; retries are re-queued with a visibility delay. On the
 * message's last delivery (host.json `maxDequeueCount`) a failure records what is known (an attempt made
 * whose record failed) or dead-letters the delivery with its redacted cause, instead of leaving it
 * `pending` while the message sits in `webhook-deliveries-poison`.
 */
import { app, type InvocationContext } from '@azure/functions';
import { getContainer } from './app-start.js';
import { parseWebhookDeliveryMessage, WEBHOOK_QUEUES } from '../application/messages.js';
import { deliveryOf } from '../adapters/functions/queue-delivery.js';
import { redactSecrets } from '../adapters/http/log-redaction.js';

app.storageQueue('webhookDeliver', {
  queueName: WEBHOOK_QUEUES.deliveries,
  connection: 'AzureWebJobsStorage',
  handler: async (payload: unknown, context: InvocationContext): Promise<void> => {
    const message = parseWebhookDeliveryMessage(payload);
    const delivery = deliveryOf(context);
    try {
      const { webhooks } = await getContainer();
      const view = await webhooks.processDelivery(message, delivery);
      if (view === undefined) context.warn(`webhook ${message.webhookId}: delivery ${message.deliveryId} not found`);
      else context.log(`webhook ${message.webhookId}: delivery ${view.id} attempt ${message.attempt} → ${view.status}`);
    } catch (error) {
      // Even the dead-letter path failed (storage still down): the message goes to the poison queue.
      // Say so, with the ids an operator needs to redeliver it.
      if (delivery.isLast) {
        context.error(`webhook ${message.webhookId}: delivery ${message.deliveryId} attempt ${message.attempt} lost to ${WEBHOOK_QUEUES.deliveries}-poison: ${redactSecrets(error instanceof Error ? error.message : String(error))}`);
      }
      throw error;
    }
  },
});

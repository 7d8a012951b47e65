/** Collects and evaluates one subscription of a run (one message per run and subscription). */
import { app, type InvocationContext } from '@azure/functions';
import { getContainer } from './app-start.js';
import { parseCollectSubscriptionMessage, QUEUES } from '../application/messages.js';
import { deliveryOf } from '../adapters/functions/queue-delivery.js';

app.storageQueue('evaluationCollectSubscription', {
  queueName: QUEUES.collectSubscription,
  connection: 'AzureWebJobsStorage',
  handler: async (payload: unknown, context: InvocationContext): Promise<void> => {
    const message = parseCollectSubscriptionMessage(payload);
    const { collector } = (await getContainer()).evaluation;
    const outcome = await collector.collectSubscription(message, deliveryOf(context));
    const subject = `run ${message.runId}: subscription ${message.subscriptionId}`;
    if (outcome.kind === 'collected') {
      const losses = [
        outcome.clustersIncomplete > 0 ? `${outcome.clustersIncomplete} incomplete` : '',
        outcome.eventsNotPublished > 0 ? `${outcome.eventsNotPublished} event(s) not published` : '',
      ].filter((x) => x !== '');
      context.log(`${subject}: ${outcome.clusters} cluster(s)${losses.length > 0 ? ` (${losses.join(', ')})` : ''}`);
    } else if (outcome.kind === 'failed') context.warn(`${subject} recorded as failed; ${outcome.staleClusters} cluster(s) marked stale`);
    else if (outcome.kind === 'deferred') context.warn(`${subject} throttled on attempt ${outcome.attempt}; deferred by ${outcome.retryAfterSeconds} s`);
    else context.warn(`${subject} skipped: ${outcome.reason}`);
  },
});

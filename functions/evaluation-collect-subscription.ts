/** Collects and evaluates one subscription of a run (one message per run and subscription). */
import { app, type InvocationContext } from '@azure/functions';
import { getContainer } from '../bootstrap/composition-root.js';
import { MAX_DEQUEUE_COUNT, parseCollectSubscriptionMessage, QUEUES } from '../application/messages.js';
import { dequeueCountOf } from '../adapters/functions/queue-delivery.js';
import './app-start.js';

app.storageQueue('evaluationCollectSubscription', {
  queueName: QUEUES.collectSubscription,
  connection: 'AzureWebJobsStorage',
  handler: async (payload: unknown, context: InvocationContext): Promise<void> => {
    const message = parseCollectSubscriptionMessage(payload);
    const { evaluation } = await getContainer();
    const outcome = await evaluation.collectSubscription(message, { dequeueCount: dequeueCountOf(context), maxDequeueCount: MAX_DEQUEUE_COUNT });
    if (outcome.kind === 'collected') context.log(`run ${message.runId}: subscription ${message.subscriptionId}: ${outcome.clusters} cluster(s)`);
    else if (outcome.kind === 'failed') context.warn(`run ${message.runId}: subscription ${message.subscriptionId} recorded as failed; ${outcome.staleClusters} cluster(s) marked stale`);
    else context.warn(`run ${message.runId}: subscription ${message.subscriptionId} skipped: ${outcome.reason}`);
  },
});

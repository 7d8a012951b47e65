/**
 * Collect messages the host moved to `evaluation-collect-poison`: every delivery ended without the
 * collector recording an outcome (function timeout, crash, a storage failure while recording). The
 * subscription is recorded as failed and its clusters marked stale, so the run still completes.
 */
import { app, type InvocationContext } from '@azure/functions';
import { getContainer } from './app-start.js';
import { MAX_DEQUEUE_COUNT, parseCollectSubscriptionMessage, QUEUES } from '../application/messages.js';

app.storageQueue('evaluationCollectPoison', {
  queueName: QUEUES.collectSubscriptionPoison,
  connection: 'AzureWebJobsStorage',
  handler: async (payload: unknown, context: InvocationContext): Promise<void> => {
    let message;
    try {
      message = parseCollectSubscriptionMessage(payload);
    } catch (error) {
      // Not attributable to a run: log and drop (throwing would only loop in the poison queue).
      context.error(`malformed collect message dropped from ${QUEUES.collectSubscriptionPoison}: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    const { collector } = (await getContainer()).evaluation;
    const reason = `poison: no outcome recorded after ${MAX_DEQUEUE_COUNT} deliveries (function timeout, host crash or a storage failure while recording)`;
    const outcome = await collector.collectPoisoned(message, reason);
    const subject = `run ${message.runId}: subscription ${message.subscriptionId}`;
    if (outcome.kind === 'failed') context.warn(`${subject} poisoned: recorded as failed; ${outcome.staleClusters} cluster(s) marked stale`);
    else if (outcome.kind === 'already-recorded') context.warn(`${subject} poisoned after its outcome was recorded; kept`);
    else context.warn(`${subject} poison message skipped: ${outcome.reason}`);
  },
});

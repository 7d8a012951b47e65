/** Completes a run: status, fleet summary, history retention (idempotent; may run more than once). */
import { app, type InvocationContext } from '@azure/functions';
import { getContainer } from '../bootstrap/composition-root.js';
import { MAX_DEQUEUE_COUNT, parseFinalizeRunMessage, QUEUES } from '../application/messages.js';
import { dequeueCountOf } from '../adapters/functions/queue-delivery.js';
import './app-start.js';

app.storageQueue('evaluationFinalizeRun', {
  queueName: QUEUES.finalizeRun,
  connection: 'AzureWebJobsStorage',
  handler: async (payload: unknown, context: InvocationContext): Promise<void> => {
    const message = parseFinalizeRunMessage(payload);
    const { evaluation } = await getContainer();
    const result = await evaluation.finalizeRun(message.runId, { lastAttempt: dequeueCountOf(context) >= MAX_DEQUEUE_COUNT });
    if (result === undefined) context.warn(`run ${message.runId}: nothing to finalize`);
    else context.log(`run ${message.runId} ${result.run.status}: summary of ${result.summary.totals.clusters} cluster(s)`);
  },
});

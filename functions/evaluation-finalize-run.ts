/** Completes a run: status, fleet summary, history retention (idempotent; may run more than once). */
import { app, type InvocationContext } from '@azure/functions';
import { getContainer } from './app-start.js';
import { parseFinalizeRunMessage, QUEUES } from '../application/messages.js';
import { deliveryOf } from '../adapters/functions/queue-delivery.js';

app.storageQueue('evaluationFinalizeRun', {
  queueName: QUEUES.finalizeRun,
  connection: 'AzureWebJobsStorage',
  handler: async (payload: unknown, context: InvocationContext): Promise<void> => {
    const message = parseFinalizeRunMessage(payload);
    const { finalizer } = (await getContainer()).evaluation;
    const result = await finalizer.finalizeRun(message.runId, deliveryOf(context));
    if (result === undefined) context.warn(`run ${message.runId}: nothing to finalize`);
    else context.log(`run ${message.runId} ${result.run.status}: summary of ${result.summary.totals.clusters} cluster(s)`);
  },
});

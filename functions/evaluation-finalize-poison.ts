/**
 * Finalize messages the host moved to `evaluation-finalize-poison`: finalized once more as a last
 * attempt, or the run is ended `failed` with the reason — never left `running`.
 */
import { app, type InvocationContext } from '@azure/functions';
import { getContainer } from './app-start.js';
import { MAX_DEQUEUE_COUNT, parseFinalizeRunMessage, QUEUES } from '../application/messages.js';

app.storageQueue('evaluationFinalizePoison', {
  queueName: QUEUES.finalizeRunPoison,
  connection: 'AzureWebJobsStorage',
  handler: async (payload: unknown, context: InvocationContext): Promise<void> => {
    let message;
    try {
      message = parseFinalizeRunMessage(payload);
    } catch (error) {
      context.error(`malformed finalize message dropped from ${QUEUES.finalizeRunPoison}: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    const { finalizer } = (await getContainer()).evaluation;
    const outcome = await finalizer.finalizePoisoned(message.runId, `poison: finalize did not complete in ${MAX_DEQUEUE_COUNT} deliveries`);
    if (outcome.kind === 'finalized') context.warn(`run ${message.runId} finalized from the poison queue: ${outcome.run.status}`);
    else if (outcome.kind === 'failed') context.warn(`run ${message.runId}: ${outcome.run?.status ?? 'not updated'} after a poisoned finalize: ${outcome.error}`);
    else context.warn(`run ${message.runId}: poisoned finalize skipped: ${outcome.reason}`);
  },
});

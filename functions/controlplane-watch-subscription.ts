/** Reads one subscription's Azure Activity Log from its watermark (one message per subscription and tick). */
import { app, type InvocationContext } from '@azure/functions';
import { getContainer } from './app-start.js';
import { CONTROL_PLANE_QUEUES, parseControlPlaneWatchMessage } from '../application/messages.js';

app.storageQueue('controlPlaneWatchSubscription', {
  queueName: CONTROL_PLANE_QUEUES.watch,
  connection: 'AzureWebJobsStorage',
  handler: async (payload: unknown, context: InvocationContext): Promise<void> => {
    const message = parseControlPlaneWatchMessage(payload);
    const { controlPlane } = await getContainer();
    // A failure is recorded on the subscription's watch state, and the watermark stays where it was, so
    // nothing is skipped; a transient one is thrown for the queue to retry.
    const result = await controlPlane.watchQueued(message.subscriptionId);
    if (result.kind === 'not-retried') {
      context.warn(`control-plane watch ${message.subscriptionId}: ${result.code}, recorded and not retried (the next tick tries again)`);
      return;
    }
    const { outcome } = result;
    context.log(`control-plane watch ${outcome.subscriptionId}: ${outcome.read} read, ${outcome.kept} kept, ${outcome.published} published`);
  },
});

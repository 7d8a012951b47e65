/** Reads one subscription's Azure Activity Log from its watermark (one message per subscription and tick). */
import { app, type InvocationContext } from '@azure/functions';
import { getContainer } from '../bootstrap/composition-root.js';
import { CONTROL_PLANE_QUEUES, parseControlPlaneWatchMessage } from '../application/messages.js';
import './app-start.js';

app.storageQueue('controlPlaneWatchSubscription', {
  queueName: CONTROL_PLANE_QUEUES.watch,
  connection: 'AzureWebJobsStorage',
  handler: async (payload: unknown, context: InvocationContext): Promise<void> => {
    const message = parseControlPlaneWatchMessage(payload);
    const { controlPlane } = await getContainer();
    // A failure is recorded on the subscription's watch state and thrown: the queue retries, and the
    // watermark stays where it was, so nothing is skipped.
    const outcome = await controlPlane.watchSubscription(message.subscriptionId);
    context.log(`control-plane watch ${outcome.subscriptionId}: ${outcome.read} read, ${outcome.kept} kept, ${outcome.published} published`);
  },
});

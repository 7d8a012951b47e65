/**
 * Watch messages the host moved to `controlplane-watch-poison`: every delivery threw or timed out (an
 * Activity Log that keeps failing, a storage outage; refusals are recorded without retries and never
 * get here). Recorded as the subscription's last failure (`Poisoned`, with the failure the deliveries
 * saw), so `GET /api/v1/control-plane-watch` shows it; the watermark did not move, so the next tick
 * reads the same window again and nothing is lost.
 */
import { app, type InvocationContext } from '@azure/functions';
import { getContainer } from './app-start.js';
import { CONTROL_PLANE_QUEUES, MAX_DEQUEUE_COUNT, parseControlPlaneWatchMessage } from '../application/messages.js';

app.storageQueue('controlPlaneWatchPoison', {
  queueName: CONTROL_PLANE_QUEUES.watchPoison,
  connection: 'AzureWebJobsStorage',
  handler: async (payload: unknown, context: InvocationContext): Promise<void> => {
    let message;
    try {
      message = parseControlPlaneWatchMessage(payload);
    } catch (error) {
      // Names no subscription: log and drop (throwing would only loop in the poison queue).
      context.error(`malformed watch message dropped from ${CONTROL_PLANE_QUEUES.watchPoison}: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    const { controlPlane } = await getContainer();
    const outcome = await controlPlane.recordPoisoned(message, MAX_DEQUEUE_COUNT);
    const subject = `control-plane watch ${message.subscriptionId} (queued ${message.requestedAt})`;
    if (outcome.kind === 'recorded') context.warn(`${subject} poisoned: recorded as failing: ${outcome.failure.message}`);
    else context.warn(`${subject} poisoned, but a read at ${outcome.lastSuccessAt} already covers it; kept as is`);
  },
});

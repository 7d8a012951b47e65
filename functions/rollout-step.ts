/**
 * Advances rollouts one step per message (`rollout-steps`), and fails a rollout whose expected step
 * landed on `rollout-steps-poison` so it is never stuck silently.
 */
import { app, type InvocationContext } from '@azure/functions';
import { getContainer } from './app-start.js';
import { parseRolloutStepMessage, ROLLOUT_QUEUES } from '../application/messages.js';
import { deliveryOf } from '../adapters/functions/queue-delivery.js';

app.storageQueue('rolloutStep', {
  queueName: ROLLOUT_QUEUES.steps,
  connection: 'AzureWebJobsStorage',
  handler: async (payload: unknown, context: InvocationContext): Promise<void> => {
    const message = parseRolloutStepMessage(payload);
    const { rollouts } = await getContainer();
    const outcome = await rollouts.advance(message, deliveryOf(context));
    context.log(`rollout ${message.rolloutId}: ${message.step} of wave ${message.wave + 1} (attempt ${message.attempt}): ${outcome}`);
  },
});

app.storageQueue('rolloutStepPoison', {
  queueName: ROLLOUT_QUEUES.stepsPoison,
  connection: 'AzureWebJobsStorage',
  handler: async (payload: unknown, context: InvocationContext): Promise<void> => {
    let message;
    try {
      message = parseRolloutStepMessage(payload);
    } catch (error) {
      // Not attributable to a rollout: log and drop (throwing would only loop in the poison queue).
      context.error(`malformed rollout step dropped from ${ROLLOUT_QUEUES.stepsPoison}: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    const { rollouts } = await getContainer();
    const outcome = await rollouts.poison(message, `delivered ${deliveryOf(context).attempt} time(s) without completing`);
    context.warn(`rollout ${message.rolloutId}: poisoned ${message.step} of wave ${message.wave + 1}: ${outcome}`);
  },
});

/**
 * Every 5 minutes: re-sends the step message of an active rollout whose message was lost (its send
 * failed, or it is long overdue), so a rollout is never left waiting for a message that will not come.
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getContainer } from './app-start.js';

app.timer('rolloutSweep', {
  schedule: '0 */5 * * * *',
  runOnStartup: false,
  handler: async (_timer: Timer, context: InvocationContext): Promise<void> => {
    const { rollouts } = await getContainer();
    const resent = await rollouts.sweep();
    if (resent.length > 0) context.warn(`re-sent the lost step message of ${resent.length} rollout(s): ${resent.join(', ')}`);
  },
});

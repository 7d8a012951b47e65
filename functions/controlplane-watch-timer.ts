/** Control-plane watch tick: one `controlplane-watch` message per subscription, then event retention. */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getContainer } from './app-start.js';

app.timer('controlPlaneWatchTimer', {
  schedule: '%CONTROLPLANE_WATCH_SCHEDULE%',
  runOnStartup: false,
  handler: async (timer: Timer, context: InvocationContext): Promise<void> => {
    const { controlPlane } = await getContainer();
    const sent = await controlPlane.fanOut();
    context.log(`control-plane watch: ${sent} subscription(s) queued${timer.isPastDue ? ' (past due)' : ''}`);
    // Not worth failing the tick over: the next tick retries it.
    const purged = await controlPlane.applyRetention().catch((error: unknown) => {
      context.warn(`control-plane event retention failed, left for the next tick: ${error instanceof Error ? error.message : String(error)}`);
      return 0;
    });
    if (purged > 0) context.log(`control-plane watch: ${purged} event(s) past retention deleted`);
  },
});

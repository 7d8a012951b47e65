/** Nightly evaluation: opens a run and fans out one collect message per subscription. */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getContainer } from './app-start.js';

app.timer('evaluationTimer', {
  schedule: '%EVALUATION_SCHEDULE%',
  runOnStartup: false,
  handler: async (timer: Timer, context: InvocationContext): Promise<void> => {
    const { starter } = (await getContainer()).evaluation;
    const run = await starter.startRun({ trigger: 'timer' });
    context.log(`evaluation run ${run.id} ${run.status}: ${run.subscriptionsTotal} subscription(s)${timer.isPastDue ? ' (past due)' : ''}`);
  },
});

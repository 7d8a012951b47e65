/**
 * Looks at a started remediation on a schedule (`remediation-checks`), so `remediation.completed` is
 * published without anyone reading the remediation; a check that landed on `remediation-checks-poison`
 * is recorded on the remediation (`pollingStopped`) so polling never ends silently.
 */
import { app, type InvocationContext } from '@azure/functions';
import { getContainer } from './app-start.js';
import { parseRemediationCheckMessage, REMEDIATION_QUEUES } from '../application/messages.js';

app.storageQueue('remediationCheck', {
  queueName: REMEDIATION_QUEUES.checks,
  connection: 'AzureWebJobsStorage',
  handler: async (payload: unknown, context: InvocationContext): Promise<void> => {
    const message = parseRemediationCheckMessage(payload);
    const { remediations } = await getContainer();
    const result = await remediations.check(message);
    const what = `remediation ${message.remediationId}: check ${message.attempt}`;
    switch (result.outcome) {
      case 'completed':
        context.log(`${what}: ${result.status}, remediation.completed published`);
        break;
      case 'rescheduled':
        context.log(`${what}: ${result.reason}; check ${result.attempt} in ${result.delaySeconds} s`);
        break;
      case 'gave-up':
        context.warn(`${what}: polling stopped: ${result.reason}`);
        break;
      case 'stopped':
        context.log(`${what}: polling had already stopped`);
        break;
      case 'missing':
        context.warn(`${what}: no such remediation, check dropped`);
        break;
    }
  },
});

app.storageQueue('remediationCheckPoison', {
  queueName: REMEDIATION_QUEUES.checksPoison,
  connection: 'AzureWebJobsStorage',
  handler: async (payload: unknown, context: InvocationContext): Promise<void> => {
    let message;
    try {
      message = parseRemediationCheckMessage(payload);
    } catch (error) {
      // Not attributable to a remediation: log and drop (throwing would only loop in the poison queue).
      context.error(`malformed remediation check dropped from ${REMEDIATION_QUEUES.checksPoison}: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    const { remediations } = await getContainer();
    // The poison copy is a new message (its dequeue count restarts), so the count is not reported.
    const outcome = await remediations.checkPoisoned(message, `failed on every delivery and reached ${REMEDIATION_QUEUES.checksPoison}`);
    context.warn(`remediation ${message.remediationId}: check ${message.attempt} poisoned: polling stop ${outcome}`);
  },
});

/**
 * Registers no function: only the app-start hook that builds the container, so a bad configuration
 * fails the worker at start-up (naming every problem) instead of at the first invocation, and the
 * worker's HTTP mode. Every function file imports this module.
 */
import { app } from '@azure/functions';
import { getContainer } from '../bootstrap/composition-root.js';

// HTTP streaming: the host forwards requests to the worker and copies responses back as they are
// written, so a findings export or an evidence blob reaches the client chunk by chunk instead of being
// read whole into the worker first (host v4.28+; docs/operations.md). It applies to every HTTP function.
app.setup({ enableHttpStream: true });

app.hook.appStart(async () => {
  await getContainer();
});

/**
 * Registers no function: only the app-start hook, which reads and checks the configuration (the
 * webhook settings included), so a bad configuration fails the worker at start-up (naming every
 * problem) instead of at the first invocation; and it sets the worker's HTTP mode. Every function file
 * imports this module.
 *
 * The composition root is reached only through the dynamic import below: the deployment bundle loads
 * it (and whatever it pulls in) at a function's first invocation, not when the host loads the entry
 * files, and each lazy part of the container is built when a function first uses it.
 */
import { app } from '@azure/functions';
import type { Container } from '../bootstrap/composition-root.js';
import { checkConfiguration } from '../bootstrap/config-check.js';

// HTTP streaming: the host forwards requests to the worker and copies responses back as they are
// written, so a findings export or an evidence blob reaches the client chunk by chunk instead of being
// read whole into the worker first (host v4.28+; docs/operations.md). It applies to every HTTP function.
app.setup({ enableHttpStream: true });

app.hook.appStart(() => {
  checkConfiguration();
});

/** The app's container (`bootstrap/composition-root.ts`), loaded on first use. */
export const getContainer = (): Promise<Container> => import('../bootstrap/composition-root.js').then((m) => m.getContainer());

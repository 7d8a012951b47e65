/**
 * Registers no function: only the app-start hook that builds the container, so a bad configuration
 * fails the worker at start-up (naming every problem) instead of at the first invocation.
 * Every function file imports this module.
 */
import { app } from '@azure/functions';
import { getContainer } from '../bootstrap/composition-root.js';

app.hook.appStart(async () => {
  await getContainer();
});

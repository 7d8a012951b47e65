/**
 * Crash-drill child: only the local Functions runtime with the real `functions/*.ts`, against the
 * Azurite, ARM emulator and token issuer of the parent test (through `AzureWebJobsStorage`,
 * `AZURE_RESOURCE_MANAGER_ENDPOINT`, `IDENTITY_*` and `AUTH_*` in its environment), so storage and
 * ARM outlive this process when the test `kill -9`s it. Host log lines go to the parent over IPC.
 */
import { startLocalStack } from '../../local/local-stack.js';
import { E2E_HOST_JSON } from './e2e-stack.js';

const send = (message: unknown): void => {
  if (process.connected) process.send?.(message);
};

const stack = await startLocalStack({
  port: 0,
  hostJson: E2E_HOST_JSON,
  // Runs start through the API only.
  settings: { EVALUATION_SCHEDULE: '0 0 3 1 1 *' },
  logger: (entry) => send({ type: 'log', functionName: entry.functionName, message: entry.message }),
});
if (stack.azurite !== undefined || stack.emulator !== undefined) throw new Error('the crash-drill host must use the parent\'s Azurite and ARM emulator');
send({ type: 'ready', apiUrl: stack.apiUrl });

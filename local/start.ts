/**
 * `npm start`: the whole system locally on embedded defaults (see README.md, "Quick start").
 *
 *   --persist        keep Azurite data under .data/ instead of memory
 *   --no-evaluation  do not run an evaluation at start
 */
import { startLocalStack } from './local-stack.js';
import { consoleLogger } from './functions-runtime/index.js';

const args = new Set(process.argv.slice(2));
const started = Date.now();

const stack = await startLocalStack({
  dataDir: args.has('--persist') ? '.data' : undefined,
  runTimersOnStart: args.has('--no-evaluation') ? [] : ['evaluationTimer'],
  logger: consoleLogger,
});

const lines: string[] = [
  '',
  `arc-compliance is running (Node ${process.version}, ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
  '',
  `  API            ${stack.apiUrl}/v1`,
  `  Health         ${stack.apiUrl}/health`,
  `  API reference  ${stack.apiUrl}/docs`,
  `  OpenAPI        ${stack.apiUrl}/openapi.json`,
];
if (stack.emulator) lines.push(`  ARM emulator   ${stack.emulator.url}  (demo fleet: ${stack.emulator.fleet.subscriptions.length} subscriptions, ${stack.emulator.fleet.clusters.length} clusters)`);
if (stack.serviceNow) lines.push(`  ServiceNow     ${stack.serviceNow.url}  (stand-in, allowlisted; use it as the url of servicenow-incident / servicenow-event webhooks)`);
lines.push(`  Storage        ${stack.azurite ? `Azurite ${args.has('--persist') ? 'on disk (.data/)' : 'in memory'}` : 'AzureWebJobsStorage'}`);

if (stack.issuer) {
  lines.push('', 'Bearer tokens (valid 12 h), one per app role:');
  for (const client of stack.issuer.clients) {
    const token = await stack.issuer.mintToken({ roles: client.roles, appid: client.clientId, oid: client.objectId, expiresIn: 12 * 3600 });
    lines.push('', `  # ${client.roles.length > 1 ? 'all roles' : client.roles[0]} (${client.clientId})`, `  export TOKEN='${token}'`);
  }
  lines.push('', `  curl -s -H "Authorization: Bearer $TOKEN" ${stack.apiUrl}/v1/summary`);
}
if (stack.changeWebhookSecret) {
  lines.push(
    '',
    'ServiceNow change events (POST /api/v1/integrations/servicenow/change-events) are verified with this generated, local-only secret:',
    `  export SERVICENOW_CHANGE_WEBHOOK_SECRET='${stack.changeWebhookSecret}'`,
  );
}
lines.push('', 'Press Ctrl+C to stop.', '');
process.stdout.write(lines.join('\n'));

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

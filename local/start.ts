/**
 * `npm start`: the whole system locally on embedded defaults (see README.md, "Quick start").
 *
 *   --persist        keep Azurite data under .data/ instead of memory
 *   --no-evaluation  do not run an evaluation at start
 *   --host <address> interface the Functions host binds (default 127.0.0.1; 0.0.0.0 exposes it to the network)
 */
import { startLocalStack } from './local-stack.js';
import { consoleLogger } from './functions-runtime/index.js';
import { roleSetName } from './token-issuer-interactive.js';
import { ensureDashboardBuilt } from '../dashboard/build.js';

const argv = process.argv.slice(2);
const args = new Set(argv);
const started = Date.now();
/** `--host <address>` or `--host=<address>`. */
const hostArg = ((): string | undefined => {
  const i = argv.indexOf('--host');
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith('--host='))?.slice('--host='.length);
})();

// The dashboard's browser assets (esbuild, about a second; skipped when the sources are unchanged).
ensureDashboardBuilt();

const stack = await startLocalStack({
  dataDir: args.has('--persist') ? '.data' : undefined,
  runTimersOnStart: args.has('--no-evaluation') ? [] : ['evaluationTimer'],
  hostname: hostArg,
  logger: consoleLogger,
});

const lines: string[] = [
  '',
  `arc-compliance is running (Node ${process.version}, ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
  '',
  `  Dashboard      ${stack.apiUrl}/dashboard${stack.issuer ? '  (sign in as one of the role sets below; the local issuer uses a self-signed certificate, accept it once)' : ''}`,
  `  API            ${stack.apiUrl}/v1`,
  `  Health         ${stack.apiUrl}/health`,
  `  API reference  ${stack.apiUrl}/docs`,
  `  OpenAPI        ${stack.apiUrl}/openapi.json`,
];
if (stack.emulator) lines.push(`  ARM emulator   ${stack.emulator.url}  (demo fleet: ${stack.emulator.fleet.subscriptions.length} subscriptions, ${stack.emulator.fleet.clusters.length} clusters)`);
if (stack.serviceNow) lines.push(`  ServiceNow     ${stack.serviceNow.url}  (stand-in, allowlisted, SERVICENOW_INSTANCE_URL; use it as the url of servicenow-incident / servicenow-event webhooks)`);
lines.push(`  Storage        ${stack.azurite ? `Azurite ${args.has('--persist') ? 'on disk (.data/)' : 'in memory'}` : 'AzureWebJobsStorage'}`);
lines.push(
  `  Admin API      POST ${stack.host.url}/admin/functions/{name} with header x-functions-key (listening on ${stack.host.hostname})`,
  `  Master key     ${stack.host.masterKey}`,
);

if (stack.issuer) {
  lines.push('', 'Bearer tokens (valid 12 h), one per app role:');
  for (const client of stack.issuer.clients) {
    const token = await stack.issuer.mintToken({ roles: client.roles, appid: client.clientId, oid: client.objectId, expiresIn: 12 * 3600 });
    lines.push('', `  # ${roleSetName(client)} (${client.clientId})`, `  export TOKEN='${token}'`);
  }
  lines.push('', `  curl -s -H "Authorization: Bearer $TOKEN" ${stack.apiUrl}/v1/summary`);
} else {
  // Local tokens would be refused: an AUTH_* setting names another issuer, audience or key set.
  lines.push(
    '',
    `No local tokens: the API trusts AUTH_ISSUER=${process.env['AUTH_ISSUER'] ?? '(unset)'}${process.env['AUTH_JWKS_URI'] ? ` (keys from ${process.env['AUTH_JWKS_URI']})` : ''}.`,
    `  Get an access token for ${process.env['AUTH_AUDIENCE'] ?? 'AUTH_AUDIENCE'}/.default from that issuer, e.g.`,
    `  export TOKEN=$(az account get-access-token --scope "${process.env['AUTH_AUDIENCE'] ?? '<AUTH_AUDIENCE>'}/.default" --query accessToken -o tsv)`,
    '  (docs/operations.md: granting app roles, getting a token); unset AUTH_ISSUER, AUTH_AUDIENCE and AUTH_JWKS_URI to use the local issuer.',
  );
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

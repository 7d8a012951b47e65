/**
 * The dependency floor of `npm run bench:coldstart`: the least any code can do to answer the app's
 * authenticated `GET /api/v1/summary` with the same libraries: verify the bearer token against the
 * issuer's keys (jose), read the latest summary entity from Table Storage (`@azure/data-tables`) and
 * return its JSON, streamed like the app's responses. No validation, no audit, no composition, no
 * error mapping: what is left between this and the app is what the app's own code costs.
 */
import { app } from '@azure/functions';
import { TableClient } from '@azure/data-tables';
import { createRemoteJWKSet, jwtVerify } from 'jose';

app.setup({ enableHttpStream: true });

const setting = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
};
let keys: ReturnType<typeof createRemoteJWKSet> | undefined;
let summaries: TableClient | undefined;

app.http('floorSummary', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'v1/summary',
  handler: async (request) => {
    keys ??= createRemoteJWKSet(new URL(setting('AUTH_JWKS_URI')));
    const token = /^Bearer (.+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
    if (token === undefined) return { status: 401 };
    await jwtVerify(token, keys, { issuer: setting('AUTH_ISSUER'), audience: setting('AUTH_AUDIENCE') });
    summaries ??= TableClient.fromConnectionString(setting('AzureWebJobsStorage'), 'summaries', { allowInsecureConnection: true });
    const entity = await summaries.getEntity<Record<string, unknown>>('summary', 'latest');
    let text = '';
    for (let i = 0; i < Number(entity['summary_n']); i += 1) text += String(entity[`summary_${i}`]);
    return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: text };
  },
});

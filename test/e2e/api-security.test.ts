/**
 * Every secured operation through the local Functions runtime (the real `functions/api-*.ts` on the
 * host, Azurite, the ARM emulator on the demo fleet after one evaluation run), with tokens from the
 * local issuer mounted on the emulator: the same suite as the in-process harness.
 */
import { afterAll, beforeAll } from 'vitest';
import { createApiClient, type ApiClient } from '../support/api-harness.js';
import { describeApiSecurity, sampleRequests, type SampleRequest } from '../support/api-security-suite.js';
import { clusterPath, startE2eStack, type E2eStack } from '../support/e2e-stack.js';

let e: E2eStack;
let client: ApiClient;
let samples: Record<string, SampleRequest>;
let auditToken: string;

beforeAll(async () => {
  e = await startE2eStack();
  const run = await e.timerRun();
  const cluster = e.cluster('store-dub-003');
  client = createApiClient(new URL(e.stack.apiUrl).origin, e.stack.issuer!);
  // The local ServiceNow stand-in is allowlisted, so the create-webhook sample really succeeds here.
  samples = sampleRequests({ clusterPath: clusterPath(cluster).replace(/^\/v1\/clusters\//, ''), clusterId: cluster.resource.id, runId: run.id, webhookUrl: `${e.stack.serviceNow!.url}/arc-hooks` });
  auditToken = await client.token(['Audit.Read']);
});
afterAll(async () => e?.stop());

describeApiSecurity(() => ({
  client,
  samples,
  async auditRecord(requestId) {
    // Newest first: the denial just made is among the last few records.
    const res = await client.request('GET', '/api/v1/audit-log?top=20', { token: auditToken });
    const body = (await res.json()) as { value: { requestId: string; operation: string; outcome: string }[] };
    return body.value.find((r) => r.requestId === requestId);
  },
}));

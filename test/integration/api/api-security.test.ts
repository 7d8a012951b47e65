import { afterAll, beforeAll } from 'vitest';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { SUB_A, clusterId, seedFleet } from '../../support/api-fixtures.js';
import { describeApiSecurity, sampleRequests } from '../../support/api-security-suite.js';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness();
  await seedFleet(h.ports);
});
afterAll(async () => h?.stop());

const samples = sampleRequests({ clusterPath: `${SUB_A}/rg-edge/store-001`, clusterId: clusterId(SUB_A, 'rg-edge', 'store-001'), runId: 'run-2' });

describeApiSecurity(() => ({
  client: h,
  samples,
  auditRecord: async (requestId) => h.ports.auditLog.records.find((r) => r.requestId === requestId),
}));

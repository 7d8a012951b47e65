/**
 * The one subscription-level policy-state query answered in small pages (and one page failing once):
 * every state on every page reaches the evaluation, and the failed page is recovered by the SDK's
 * retry within the same delivery.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clusterPath, startE2eStack, type E2eStack } from '../support/e2e-stack.js';
import type { ClusterView, EvaluationView } from '../../application/compliance-query-service.js';

const PAGE_SIZE = 7;
const FAILED_PAGE = 2;
const CLUSTER_TYPE = 'microsoft.kubernetes/connectedclusters';
/** Controls that read the states of one policy definition, assigned directly or through an initiative. */
const POLICY_CONTROLS: Record<string, string> = {
  'ARC-AC-02': '423dd1ba-798e-40e4-9c4d-b6902674b423',
  'ARC-PL-03': 'febd0533-8e55-448f-b837-bd0e06f16469',
  'ARC-UP-01': 'b1a9997f-2883-4f12-bdff-2280f99b5915',
};

let e: E2eStack;
let run: EvaluationView;
/** The states each subscription's query served, in page order (read from the emulator's snapshot logic). */
const served = new Map<string, Record<string, unknown>[]>();

beforeAll(async () => {
  e = await startE2eStack({
    emulator: { pageSizes: { policyStates: PAGE_SIZE }, faults: { failPageOnce: { route: 'policyStates.queryResults', page: FAILED_PAGE } } },
  });
  const emulator = e.stack.emulator!;
  for (const s of emulator.fleet.subscriptions) {
    served.set(
      s.subscriptionId.toLowerCase(),
      emulator.state.policyStates(s.subscriptionId).filter((r) => String(r['resourceType']).replace(/^\//, '').toLowerCase() === CLUSTER_TYPE),
    );
  }
  run = await e.timerRun();
});
afterAll(async () => {
  await e?.stop();
});

/** What a policy control must say given the states of its definition (docs/controls.md, in order). */
function expectedStatus(states: readonly Record<string, unknown>[]): string {
  const c = states.map((s) => String(s['complianceState']));
  if (c.length === 0) return 'fail';
  if (c.includes('NonCompliant')) return 'fail';
  if (c.some((x) => x !== 'Compliant' && x !== 'Exempt')) return 'fail';
  if (c.includes('Exempt')) return 'exempt';
  return 'pass';
}

it('completes the run although one page of every query failed once', async () => {
  const emulator = e.stack.emulator!;
  expect(run.status).toBe('succeeded');
  expect(run.failures).toEqual([]);
  expect(run.clustersEvaluated).toBe(emulator.fleet.clusters.length);
  // Every subscription's query had more pages than the failing one, and each failed exactly once.
  for (const states of served.values()) expect(states.length).toBeGreaterThan((FAILED_PAGE + 1) * PAGE_SIZE);
  expect(emulator.faults.injected.pageFailure).toBe(served.size);
  const pages = [...served.values()].reduce((n, s) => n + Math.ceil(s.length / PAGE_SIZE), 0);
  // One request per page, plus the one retry of each failed page: no re-read of earlier pages.
  expect(emulator.requests.count('policyStates.queryResults')).toBe(pages + served.size);
});

it('reflects every state of every page in the policy controls of every cluster', async () => {
  for (const c of e.stack.emulator!.fleet.clusters) {
    const id = c.resource.id.toLowerCase();
    const sub = id.split('/')[2]!;
    const states = served.get(sub)!.filter((s) => String(s['resourceId']).toLowerCase() === id);
    const view = (await e.api<ClusterView>(clusterPath(c))).body;
    for (const [controlId, definition] of Object.entries(POLICY_CONTROLS)) {
      const mine = states.filter((s) => String(s['policyDefinitionName']).toLowerCase() === definition);
      const result = view.controls.find((x) => x.controlId === controlId);
      expect(result?.status, `${c.resource.name} ${controlId}`).toBe(expectedStatus(mine));
    }
  }
});

it('fails a control whose only NonCompliant state is on a later page', async () => {
  // Find a cluster and control whose NonCompliant state is served on the failed page or later.
  let found: { name: string; controlId: string } | undefined;
  for (const [, states] of served) {
    states.forEach((s, index) => {
      if (found !== undefined || index < FAILED_PAGE * PAGE_SIZE || s['complianceState'] !== 'NonCompliant') return;
      const definition = String(s['policyDefinitionName']).toLowerCase();
      const controlId = Object.entries(POLICY_CONTROLS).find(([, d]) => d === definition)?.[0];
      if (controlId === undefined) return;
      const resourceId = String(s['resourceId']).toLowerCase();
      const earlier = states.slice(0, index).some((x) => String(x['resourceId']).toLowerCase() === resourceId && x['complianceState'] === 'NonCompliant' && String(x['policyDefinitionName']).toLowerCase() === definition);
      if (!earlier) found = { name: resourceId.split('/').pop()!, controlId };
    });
  }
  expect(found, 'the demo fleet has a NonCompliant state on a later page').toBeDefined();
  const cluster = e.stack.emulator!.fleet.clusters.find((c) => c.resource.name.toLowerCase() === found!.name)!;
  const view = (await e.api<ClusterView>(clusterPath(cluster))).body;
  expect(view.controls.find((x) => x.controlId === found!.controlId)).toMatchObject({ status: 'fail', reason: 'noncompliant' });
});

/**
 * The emulator's compliance-lag knob (Azure Policy's eventual consistency): with `until-scan`, policy
 * states keep reflecting the assignments and exemptions as they were when the last triggered
 * evaluation completed; `{ cycleMs }` adds a standard evaluation cycle; `live` (the default) derives
 * from the current assignments. Driven over HTTPS with managed-identity tokens, as clients see it.
 */
import type { ManagedIdentityCredential } from '@azure/identity';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startArmEmulator, type ArmEmulator } from '../../../local/arm-emulator/index.js';
import { armToken, rawArm, useEmulatorIdentity } from './support/emulator-clients.js';
import { SUB_A, baselineAssignment, tinyDerivePolicyStates, tinyFleet } from './support/tiny-fleet.js';

const ASSIGNMENT = `/subscriptions/${SUB_A}/providers/Microsoft.Authorization/policyAssignments/pss-baseline`;
const API = 'api-version=2024-10-01';
const DENY_WEST = [{ kind: 'policyEffect', value: 'Deny', selectors: [{ kind: 'resourceLocation', in: ['westeurope'] }] }];
const DENY_ALL = [{ kind: 'policyEffect', value: 'Deny', selectors: [] }];
// tinyFleet(3) in SUB_A: c0 edge-rg westeurope, c1 store-rg East US, c2 edge-rg northeurope.

let emulator: ArmEmulator;
let credential: ManagedIdentityCredential;

beforeAll(async () => {
  emulator = await startArmEmulator({ fleet: tinyFleet(3), derivePolicyStates: tinyDerivePolicyStates, evaluationDelayMs: 150, complianceLag: 'until-scan' });
  credential = useEmulatorIdentity(emulator);
});
afterAll(async () => {
  await emulator?.stop();
});
afterEach(() => {
  // Back to the fleet's original assignment, then a fresh lag baseline for the next test.
  emulator.state.complianceLag = 'live';
  emulator.fleet.policyAssignments.splice(0, 1, baselineAssignment(SUB_A));
  emulator.fleet.policyExemptions.length = 0;
  emulator.state.complianceLag = 'until-scan';
});

async function arm(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown; headers: Record<string, string | string[] | undefined> }> {
  return rawArm(emulator, method, path, { token: await armToken(credential, emulator), body });
}

async function putOverrides(overrides: unknown[], assignment = ASSIGNMENT): Promise<void> {
  const current = emulator.fleet.policyAssignments.find((a) => a.id.toLowerCase() === assignment.toLowerCase())!;
  const res = await arm('PUT', `${assignment}?api-version=2025-03-01`, { properties: { ...(current['properties'] as object), overrides } });
  expect(res.status).toBe(201);
}

/** Cluster name → the set of `policyDefinitionAction`s its pss-baseline states report in SUB_A, as served over HTTPS. */
async function actions(scope = `/subscriptions/${SUB_A}`): Promise<Record<string, string>> {
  const res = await arm('POST', `${scope}/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults?${API}`);
  expect(res.status).toBe(200);
  const out: Record<string, Set<string>> = {};
  for (const s of (res.body as { value: { resourceId: string; policyAssignmentId: string; policyDefinitionAction: string }[] }).value) {
    if (s.policyAssignmentId !== ASSIGNMENT.toLowerCase()) continue;
    (out[s.resourceId.split('/').pop()!] ??= new Set()).add(s.policyDefinitionAction);
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort().join(',')]));
}

/** POSTs triggerEvaluation at `scope` and returns its operation URL (202 + Location). */
async function trigger(scope = `/subscriptions/${SUB_A}`): Promise<string> {
  const res = await arm('POST', `${scope}/providers/Microsoft.PolicyInsights/policyStates/latest/triggerEvaluation?${API}`);
  expect(res.status).toBe(202);
  return String(res.headers['location']);
}

/** Polls the operation until it answers 200 (bounded). */
async function completed(location: string): Promise<void> {
  const url = new URL(location);
  for (let i = 0; i < 100; i++) {
    if ((await arm('GET', `${url.pathname}${url.search}`)).status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('evaluation never completed');
}

describe('complianceLag: until-scan', () => {
  it('keeps reporting the old effect after an assignment write, until a triggered evaluation completes', async () => {
    expect(await actions()).toEqual({ c0: 'audit', c1: 'audit', c2: 'audit' });
    await putOverrides(DENY_WEST);
    // ARM holds the new assignment at once; Policy Insights has not evaluated it.
    const read = await arm('GET', `${ASSIGNMENT}?api-version=2025-03-01`);
    expect((read.body as { properties: { overrides?: unknown } }).properties.overrides).toEqual(DENY_WEST);
    expect(await actions()).toEqual({ c0: 'audit', c1: 'audit', c2: 'audit' });

    const op = await trigger();
    await completed(op);
    expect(await actions()).toEqual({ c0: 'deny', c1: 'audit', c2: 'audit' });
  });

  it('shows what was in force when the evaluation completed: a later write waits for the next one', async () => {
    const op = await trigger();
    // Written after the trigger but before it completes: the scan sees it.
    await putOverrides(DENY_WEST);
    await completed(op);
    expect(await actions()).toEqual({ c0: 'deny', c1: 'audit', c2: 'audit' });

    await putOverrides(DENY_ALL);
    expect(await actions()).toEqual({ c0: 'deny', c1: 'audit', c2: 'audit' });
    await completed(await trigger());
    expect(await actions()).toEqual({ c0: 'deny', c1: 'deny', c2: 'deny' });
  });

  it('a resource-group scan re-evaluates only the clusters of that resource group', async () => {
    await putOverrides(DENY_ALL);
    await completed(await trigger(`/subscriptions/${SUB_A}/resourceGroups/edge-rg`));
    expect(await actions()).toEqual({ c0: 'deny', c1: 'audit', c2: 'deny' });
    // The same lag at resource-group query scope, and summarize agrees with the query.
    expect(await actions(`/subscriptions/${SUB_A}/resourceGroups/store-rg`)).toEqual({ c1: 'audit' });
    const summary = await arm('POST', `/subscriptions/${SUB_A}/providers/Microsoft.PolicyInsights/policyStates/latest/summarize?${API}`);
    const effects = (summary.body as { value: { policyAssignments: { policyAssignmentId: string; policyDefinitions: { effect: string }[] }[] }[] }).value[0]!.policyAssignments
      .filter((a) => a.policyAssignmentId === ASSIGNMENT.toLowerCase())
      .flatMap((a) => a.policyDefinitions.map((d) => d.effect));
    expect(new Set(effects).has('audit')).toBe(true);
    // A subscription scan then catches up the rest.
    await completed(await trigger());
    expect(await actions()).toEqual({ c0: 'deny', c1: 'deny', c2: 'deny' });
  });

  it('lags deletes and direct edits of the fleet too, while cluster facts stay live', async () => {
    const del = await arm('DELETE', `${ASSIGNMENT}?api-version=2025-03-01`);
    expect(del.status).toBe(200);
    expect(await actions()).toEqual({ c0: 'audit', c1: 'audit', c2: 'audit' });
    // Workload violations are cluster facts, not policy inputs: fixing c0 shows at once.
    const c0 = emulator.fleet.clusters[0]!;
    const violations = c0.violations;
    c0.violations = [];
    try {
      const res = await arm('POST', `/subscriptions/${SUB_A}/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults?${API}&$filter=${encodeURIComponent("complianceState eq 'NonCompliant'")}`);
      expect((res.body as { value: unknown[] }).value).toEqual([]);
    } finally {
      c0.violations = violations;
    }
    await completed(await trigger());
    expect(await actions()).toEqual({});
  });

  it('an evaluation still running does not change the states', async () => {
    await putOverrides(DENY_WEST);
    // The route's delay is fixed per emulator: a scan completing an hour from now is recorded directly.
    const now = Date.now();
    emulator.state.evaluations.set('slow', { id: 'slow', scope: `/subscriptions/${SUB_A}`, startedAt: now, completesAt: now + 3_600_000 });
    try {
      expect(await actions()).toEqual({ c0: 'audit', c1: 'audit', c2: 'audit' });
    } finally {
      emulator.state.evaluations.delete('slow');
    }
  });
});

describe('complianceLag: cycle and live', () => {
  it('with { cycleMs }, a write shows once the cycle has passed, without a scan', async () => {
    emulator.state.complianceLag = { cycleMs: 1500 };
    await putOverrides(DENY_WEST);
    expect(await actions()).toEqual({ c0: 'audit', c1: 'audit', c2: 'audit' });
    let seen: Record<string, string> = {};
    for (let i = 0; i < 100 && seen['c0'] !== 'deny'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      seen = await actions();
    }
    expect(seen).toEqual({ c0: 'deny', c1: 'audit', c2: 'audit' });
  });

  it("'live' (the default) reports a write at once", async () => {
    emulator.state.complianceLag = 'live';
    expect(emulator.state.complianceLag).toBe('live');
    await putOverrides(DENY_WEST);
    expect(await actions()).toEqual({ c0: 'deny', c1: 'audit', c2: 'audit' });
  });

  it('refuses a negative or non-finite cycle', () => {
    expect(() => (emulator.state.complianceLag = { cycleMs: -1 })).toThrow(RangeError);
    expect(() => (emulator.state.complianceLag = { cycleMs: Number.NaN })).toThrow(RangeError);
  });

  it('defaults to live when the option is not given', async () => {
    const other = await startArmEmulator({ fleet: tinyFleet(1), derivePolicyStates: tinyDerivePolicyStates });
    try {
      expect(other.state.complianceLag).toBe('live');
    } finally {
      await other.stop();
    }
  });
});

/**
 * The rollout's verify back-off end to end, against Azure Policy's eventual consistency: the ARM emulator
 * runs with `complianceLag: 'until-scan'`, so after a wave's apply Policy Insights keeps reporting the
 * old effect (audit) until the evaluation the verify step triggers has completed. The rollout must
 * then record `verify-pending` (wave still `verifying`, waiting for deny results), back off, and verify
 * the wave only once the scan has completed — through the local Functions runtime, Azurite and real
 * tokens, with the demo fleet.
 *
 * Timing: the scan takes 3 s; `ROLLOUT_VERIFY_TIMEOUT_SECONDS` = 10 caps the first back-off (15 s by
 * default) at what is left of the 10 s, and the re-check that follows sees deny before the timeout is
 * judged (a wave that reports deny is verified, whatever the elapsed time).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RolloutView } from '../../application/rollout-service.js';
import { DEMO_SUBSCRIPTIONS } from '../../local/arm-emulator/fleet/demo-fleet.js';
import { startE2eStack, type E2eStack } from '../support/e2e-stack.js';
import { APPROVE, MANAGE, READ, assignmentId, emulatorPolicyStates, identity, rolloutClient, type RolloutClient } from '../support/rollout-e2e.js';

const SUB = DEMO_SUBSCRIPTIONS.retail;
const PARENT = assignmentId(`/subscriptions/${SUB}`, 'allowed-images');
const WAVE = ['store-dev-weu-005', 'store-test-weu-006'];
const EVALUATION_DELAY_MS = 3000;

const operator = identity([MANAGE, APPROVE, READ]);

let e: E2eStack;
let c: RolloutClient;

beforeAll(async () => {
  e = await startE2eStack({
    settings: { ROLLOUT_GATE_RECHECK_SECONDS: '1', ROLLOUT_VERIFY_TIMEOUT_SECONDS: '10' },
    emulator: { complianceLag: 'until-scan', evaluationDelayMs: EVALUATION_DELAY_MS },
  });
  c = rolloutClient(e, operator);
  const run = await e.timerRun();
  expect(run.status).toBe('succeeded');
}, 60_000);
afterAll(async () => e?.stop());

/** pss actions of the wave's clusters for the parent assignment, as the emulator's Policy Insights serves them. */
async function waveActions(): Promise<Set<string>> {
  const states = await emulatorPolicyStates(e, SUB);
  return new Set(states.filter((s) => WAVE.some((n) => s.resourceId.endsWith(`/${n}`)) && s.policyAssignmentId === PARENT.toLowerCase()).map((s) => s.policyDefinitionAction));
}

it('verify sees the old effect after apply, backs off (verify-pending), and verifies the wave once the triggered evaluation has completed', async () => {
  expect(await waveActions()).toEqual(new Set(['audit']));
  const created = await c.call<RolloutView>(operator, 'POST', '/v1/rollouts', {
    policyAssignmentId: PARENT,
    waves: [{ name: 'west-europe', locations: ['westeurope'] }],
    gates: { bakeMinutes: 0, requireApproval: false, maxNonCompliant: 100 },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.id;

  // Applied, not yet evaluated: the wave waits in `verifying` for deny results from its clusters.
  const waiting = await c.waitFor(id, 'verify waiting for deny results', (r) => r.state !== 'running' || (r.waves[0]!.state === 'verifying' && (r.events ?? []).some((ev) => ev.type === 'verify-pending')));
  expect(waiting.state).toBe('running');
  expect((waiting.waves[0]!.reasons ?? []).join('\n')).toMatch(/waiting for deny results/);
  for (const name of WAVE) expect((waiting.waves[0]!.reasons ?? []).join('\n')).toContain(name);

  const done = await c.waitFor(id, 'completed', (r) => ['completed', 'failed', 'rolled_back', 'paused', 'aborted'].includes(r.state), 45_000);
  expect(done.state, done.cause).toBe('completed');
  const events = done.events ?? [];
  const types = events.map((ev) => ev.type).filter((t) => ['wave-applied', 'verify-pending', 'wave-verified'].includes(t));
  expect(types).toEqual(['wave-applied', 'verify-pending', 'wave-verified']);

  // Verify triggered one evaluation of the subscription, and the wave was verified only after it completed.
  const triggers = (e.stack.emulator?.requests.log ?? []).filter((r) => r.route === 'policyStates.triggerEvaluation' && r.subscriptionId?.toLowerCase() === SUB.toLowerCase());
  expect(triggers.map((r) => r.status)).toEqual([202]);
  const verifiedAt = Date.parse(events.find((ev) => ev.type === 'wave-verified')!.at);
  expect(verifiedAt).toBeGreaterThanOrEqual(triggers[0]!.at + EVALUATION_DELAY_MS);

  // Policy Insights now reports deny for the wave (the completed scan saw the override).
  expect(await waveActions()).toEqual(new Set(['deny']));
}, 90_000);

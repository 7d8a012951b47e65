/**
 * Permanent ARM failures fail fast: a subscription the identity may not read (403 `AuthorizationFailed`)
 * and one that no longer exists (404 `SubscriptionNotFound`), both in ARM's official error format from
 * the emulator, are recorded on the first delivery of their collect message — with the ARM code and a
 * hint naming the role to grant — instead of after every queue retry; the run ends `partial` within
 * seconds. (Server errors keep the retry policy: `evaluation-failed-subscription.test.ts`.)
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { startE2eStack, type E2eStack } from '../support/e2e-stack.js';
import { DEMO_SUBSCRIPTIONS } from '../../local/arm-emulator/fleet/demo-fleet.js';

const DENIED = DEMO_SUBSCRIPTIONS.retail;
const REMOVED = DEMO_SUBSCRIPTIONS.factories;
const HEALTHY = DEMO_SUBSCRIPTIONS.branches;

let e: E2eStack;
beforeAll(async () => {
  e = await startE2eStack();
});
afterEach(() => {
  e.stack.emulator!.faults.clear();
});
afterAll(async () => {
  await e?.stop();
});

const collectExecutions = (outcome: 'Succeeded' | 'Failed'): number =>
  e.logs.filter((l) => l.functionName === 'evaluationCollectSubscription' && l.message.startsWith('Executed') && l.message.includes(outcome)).length;

it('records a refused and a removed subscription on the first attempt, with the ARM code and a hint', async () => {
  const faults = e.stack.emulator!.faults;
  faults.denyAccess({ subscriptionId: DENIED, route: 'connectedClusters.listBySubscription' });
  faults.removeSubscription(REMOVED);
  const run = await e.timerRun(45_000);

  expect(run.status).toBe('partial');
  expect(run.subscriptions).toEqual({ total: 3, succeeded: 1, failed: 2 });
  const byId = new Map(run.failures.map((f) => [f.subscriptionId, f]));
  expect(byId.get(DENIED)).toMatchObject({
    code: 'AuthorizationFailed',
    error: expect.stringContaining(`does not have authorization to perform action 'Microsoft.Kubernetes/connectedClusters/read'`),
    hint: expect.stringMatching(new RegExp(`lacks Reader to perform Microsoft\\.Kubernetes/connectedClusters/read: grant it at /subscriptions/${DENIED}`, 'i')),
  });
  expect(byId.get(REMOVED)).toMatchObject({ code: 'SubscriptionNotFound', error: expect.stringContaining(`The subscription '${REMOVED}' could not be found.`), hint: expect.stringMatching(/AZURE_SUBSCRIPTION_IDS/) });
  expect(byId.has(HEALTHY)).toBe(false);

  // One request each: no queue retry (and the SDK does not retry a 403 or 404).
  const requests = e.stack.emulator!.requests;
  expect(requests.count('connectedClusters.listBySubscription', DENIED)).toBe(1);
  expect(requests.count('connectedClusters.listBySubscription', REMOVED)).toBe(1);
  // Every collect delivery ended in an outcome: none failed for the host to redeliver.
  expect(collectExecutions('Failed')).toBe(0);
});

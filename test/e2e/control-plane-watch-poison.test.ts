/**
 * A watch message that exhausts its retries through the local Functions runtime: the Activity Log of one
 * subscription refuses every read (403 `AuthorizationFailed`), the host moves its `controlplane-watch`
 * message to `controlplane-watch-poison` after `MAX_DEQUEUE_COUNT` deliveries, and
 * `controlPlaneWatchPoison` records it on the subscription's watch state: `GET /api/v1/control-plane-watch`
 * shows it failing (`Poisoned`, naming the refusal, with the hint) while the others read fine. Once
 * access is back, the next tick reads from the unchanged watermark and the subscription is `ok` again.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CONTROL_PLANE_QUEUES, MAX_DEQUEUE_COUNT } from '../../application/messages.js';
import type { ControlPlaneWatchReport } from '../../application/control-plane-query-service.js';
import { DEMO_SUBSCRIPTIONS } from '../../local/arm-emulator/fleet/demo-fleet.js';
import { startE2eStack, waitFor, type E2eStack } from '../support/e2e-stack.js';

const DENIED = DEMO_SUBSCRIPTIONS.factories;
let e: E2eStack;

beforeAll(async () => {
  e = await startE2eStack();
}, 60_000);
afterAll(async () => e?.stop());

const watchReport = async (): Promise<ControlPlaneWatchReport> => {
  const res = await e.api<ControlPlaneWatchReport>('/v1/control-plane-watch');
  expect(res.status).toBe(200);
  return res.body;
};

it('records a poisoned watch message as the failing subscription, and the next tick after access is back reads it again', async () => {
  e.stack.emulator!.faults.denyAccess({ subscriptionId: DENIED, route: 'activityLogs.list' });
  await e.stack.host.invokeTimer('controlPlaneWatchTimer');
  const poisoned = await waitFor(
    'the poisoned watch message to be recorded',
    async () => {
      const report = await watchReport();
      return report.value.find((v) => v.subscriptionId === DENIED && v.lastFailure?.stage === 'poison') !== undefined ? report : undefined;
    },
    45_000,
  );
  // The subscription's deliveries all ran and failed on the refusal: nothing was retried beyond the host's count.
  const attempts = e.logs.filter((l) => l.functionName === 'controlPlaneWatchSubscription' && /AuthorizationFailed/.test(l.message)).length;
  expect(attempts).toBeGreaterThanOrEqual(MAX_DEQUEUE_COUNT);
  expect(poisoned.failing).toBe(1);
  const denied = poisoned.value[0]!;
  expect(denied).toMatchObject({ subscriptionId: DENIED, status: 'failing', lastFailure: { stage: 'poison', code: 'Poisoned' } });
  expect(denied.lastFailure!.message).toContain('AuthorizationFailed');
  expect(denied.lastFailure!.hint).toMatch(/Reader/);
  expect(denied.watermark).toBeUndefined();
  expect(poisoned.value.slice(1).map((v) => [v.subscriptionId, v.status])).toEqual([DEMO_SUBSCRIPTIONS.branches, DEMO_SUBSCRIPTIONS.retail].sort().map((s) => [s, 'ok']));
  expect(e.logs.some((l) => l.functionName === 'controlPlaneWatchPoison' && /poisoned: recorded as failing/.test(l.message))).toBe(true);
  await e.waitForQueueEmpty(CONTROL_PLANE_QUEUES.watchPoison);

  e.stack.emulator!.faults.clear();
  await e.stack.host.invokeTimer('controlPlaneWatchTimer');
  const healed = await waitFor('the subscription to be read again', async () => {
    const report = await watchReport();
    return report.failing === 0 ? report : undefined;
  });
  const again = healed.value.find((v) => v.subscriptionId === DENIED)!;
  expect(again).toMatchObject({ status: 'ok', watermark: expect.any(String), lastFailure: { stage: 'poison', code: 'Poisoned' } });
}, 90_000);

/**
 * Failed Activity Log reads through the local Functions runtime, as `GET /api/v1/control-plane-watch`
 * shows them:
 * - a subscription whose log keeps answering 500: the host retries its `controlplane-watch` message
 *   `MAX_DEQUEUE_COUNT` times, then moves it to `controlplane-watch-poison`, and `controlPlaneWatchPoison`
 *   records it (`Poisoned`, naming the last failure);
 * - a subscription whose log refuses the identity (403 `AuthorizationFailed`): recorded with the code and
 *   the hint on the first delivery and not retried (every retry would be refused the same way).
 * Once the log answers again, the next tick reads both from their unchanged watermarks and they are `ok`,
 * their last failure kept on record.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CONTROL_PLANE_QUEUES, MAX_DEQUEUE_COUNT } from '../../application/messages.js';
import type { ControlPlaneWatchReport } from '../../application/control-plane-query-service.js';
import { DEMO_SUBSCRIPTIONS } from '../../local/arm-emulator/fleet/demo-fleet.js';
import { startE2eStack, waitFor, type E2eStack } from '../support/e2e-stack.js';

const FAILING = DEMO_SUBSCRIPTIONS.factories;
const REFUSED = DEMO_SUBSCRIPTIONS.branches;
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

it('poisons a subscription whose log keeps failing, records a refusal without retries, and reads both again once the log answers', async () => {
  e.stack.emulator!.faults.failSubscription(FAILING);
  e.stack.emulator!.faults.denyAccess({ subscriptionId: REFUSED, route: 'activityLogs.list' });
  await e.stack.host.invokeTimer('controlPlaneWatchTimer');
  const report = await waitFor(
    'the poisoned watch message to be recorded',
    async () => {
      const r = await watchReport();
      return r.value.find((v) => v.subscriptionId === FAILING && v.lastFailure?.stage === 'poison') !== undefined ? r : undefined;
    },
    60_000,
  );
  await e.waitForQueueEmpty(CONTROL_PLANE_QUEUES.watchPoison);

  expect(report.failing).toBe(2);
  expect(report.value.map((v) => [v.subscriptionId, v.status])).toEqual([
    ...[FAILING, REFUSED].sort().map((s) => [s, 'failing']),
    [DEMO_SUBSCRIPTIONS.retail, 'ok'],
  ]);
  const failing = report.value.find((v) => v.subscriptionId === FAILING)!;
  expect(failing.lastFailure).toMatchObject({ stage: 'poison', code: 'Poisoned', message: expect.stringContaining(`after ${MAX_DEQUEUE_COUNT} deliveries; the last one failed with InternalServerError`) });
  expect(failing.watermark).toBeUndefined();
  const refused = report.value.find((v) => v.subscriptionId === REFUSED)!;
  expect(refused.lastFailure).toMatchObject({ stage: 'read', code: 'AuthorizationFailed', hint: expect.stringMatching(/Reader/) });
  expect(e.logs.some((l) => l.functionName === 'controlPlaneWatchPoison' && /poisoned: recorded as failing/.test(l.message))).toBe(true);
  expect(e.logs.some((l) => l.functionName === 'controlPlaneWatchSubscription' && /AuthorizationFailed, recorded and not retried/.test(l.message))).toBe(true);

  e.stack.emulator!.faults.clear();
  await e.stack.host.invokeTimer('controlPlaneWatchTimer');
  const healed = await waitFor('both subscriptions to be read again', async () => {
    const r = await watchReport();
    return r.failing === 0 ? r : undefined;
  });
  for (const [sub, code] of [[FAILING, 'Poisoned'], [REFUSED, 'AuthorizationFailed']] as const) {
    expect(healed.value.find((v) => v.subscriptionId === sub)).toMatchObject({ status: 'ok', watermark: expect.any(String), lastFailure: { code } });
  }
}, 120_000);

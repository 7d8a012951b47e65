/**
 * Benchmark child: the HTTPS ARM emulator (with the managed-identity endpoint) serving a scale-mode
 * fleet, in its own process. Answers `stats` with the request accounting and the budget inputs.
 */
import { startArmEmulator } from '../../local/arm-emulator/index.js';
import { clustersInSubscription, derivePolicyStates, generateFleet } from '../../local/arm-emulator/fleet/index.js';
import { isRecord, serveParent } from './ipc.js';

const scale = JSON.parse(process.env['BENCH_FLEET'] ?? '{}') as unknown;
if (!isRecord(scale)) throw new Error('BENCH_FLEET must be a JSON object');
const n = (key: string): number => {
  const v = scale[key];
  if (typeof v !== 'number') throw new Error(`BENCH_FLEET.${key} missing`);
  return v;
};
const now = new Date();
const fleet = generateFleet(
  { mode: 'scale', subscriptions: n('subscriptions'), clustersPerSubscription: n('clustersPerSubscription'), policyStatesPerCluster: n('policyStatesPerCluster'), extensionsPerCluster: n('extensionsPerCluster') },
  now,
);
const POLICY_STATE_PAGE = 1000;
const emulator = await startArmEmulator({ fleet, derivePolicyStates, pageSizes: { policyStates: POLICY_STATE_PAGE } });

serveParent(
  { ...emulator.env(), clusters: fleet.clusters.length, subscriptions: fleet.subscriptions.length },
  {
    /** Per-subscription request counts and each subscription's budget `3 + clusters×2 + policy pages`. */
    stats: () => {
      // Counted for every request (the request log stops at 100,000 entries, fewer than a 50,000-cluster run makes).
      const perSubscription = new Map(Object.entries(emulator.requests.perSubscription()));
      const identity = emulator.requests.snapshot()['identity.token'] ?? 0;
      const subscriptions = fleet.subscriptions.map((s) => {
        const id = s.subscriptionId.toLowerCase();
        const clusters = clustersInSubscription(fleet, id).length;
        const states = derivePolicyStates(fleet, s.subscriptionId, now).filter((r) => String(r['resourceType'] ?? '').toLowerCase().replace(/^\//, '') === 'microsoft.kubernetes/connectedclusters').length;
        const policyPages = Math.max(1, Math.ceil(states / POLICY_STATE_PAGE));
        return { subscriptionId: id, clusters, policyStates: states, requests: perSubscription.get(id) ?? 0, budget: 3 + clusters * 2 + policyPages };
      });
      return {
        total: emulator.requests.count(),
        byRoute: emulator.requests.snapshot(),
        identityTokens: identity,
        logged: emulator.requests.log.length,
        subscriptions,
      };
    },
  },
  () => emulator.stop(),
);

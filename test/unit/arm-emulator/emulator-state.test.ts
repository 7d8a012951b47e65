import { describe, expect, it } from 'vitest';
import { EmulatorState } from '../../../local/arm-emulator/server/emulator-state.js';
import { generateFleet } from '../../../local/arm-emulator/fleet/index.js';

const NOW = new Date('2026-05-01T02:00:00Z');

describe('emulator state: known subscriptions', () => {
  it('answers as a scan of the live subscriptions, through removals, re-insertions and same-length refills', () => {
    const fleet = generateFleet({ mode: 'scale', seed: 4, subscriptions: 3, clustersPerSubscription: 0, policyStatesPerCluster: 0, extensionsPerCluster: 0 }, NOW);
    const state = new EmulatorState(fleet, () => [], () => NOW, { resources: 100, policyStates: 1000, activityLog: 200 }, 0, 0);
    const [a, b, c] = fleet.subscriptions.map((s) => s.subscriptionId);
    expect([a, b, c].map((id) => state.hasSubscription(id!.toUpperCase()))).toEqual([true, true, true]);
    expect(state.hasSubscription('00000000-0000-0000-0000-000000000000')).toBe(false);
    const [removed] = fleet.subscriptions.splice(0, 1);
    expect([a, b, c].map((id) => state.hasSubscription(id!))).toEqual([false, true, true]);
    fleet.subscriptions.push(removed!);
    expect([a, b, c].map((id) => state.hasSubscription(id!))).toEqual([true, true, true]);
    const other = generateFleet({ mode: 'scale', seed: 9, subscriptions: 3, clustersPerSubscription: 0, policyStatesPerCluster: 0, extensionsPerCluster: 0 }, NOW);
    fleet.subscriptions.length = 0;
    fleet.subscriptions.push(...other.subscriptions.map((s, i) => ({ ...s, subscriptionId: `${i}${s.subscriptionId.slice(1)}`.replace(/^./, String(i + 1)) })));
    expect([a, b, c].map((id) => state.hasSubscription(id!))).toEqual([a, b, c].map((id) => fleet.subscriptions.some((s) => s.subscriptionId === id)));
    expect(fleet.subscriptions.every((s) => state.hasSubscription(s.subscriptionId))).toBe(true);
  });
});

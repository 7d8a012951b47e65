/**
 * The inventory reader's answers to a hung or throttled ARM, through the real SDK pipeline against the
 * emulator: a per-attempt timeout fails the read (not retried, so it cannot eat the function timeout),
 * and a 429 that outlasts the SDK's retries fails with the service's Retry-After attached, for the
 * queue retry to honour.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ManagedIdentityCredential } from '@azure/identity';
import { startArmEmulator, type ArmEmulator } from '../../../local/arm-emulator/index.js';
import { ArmInventoryReader, ArmRetryLaterError } from '../../../adapters/arm/azure-inventory-reader.js';
import { DependencyError } from '../../../domain/errors.js';
import { emulatorConnection, useEmulatorIdentity } from './support/emulator-clients.js';
import { SUB_A, clusterId, tinyDerivePolicyStates, tinyFleet } from './support/tiny-fleet.js';

const TIMEOUT_MS = 300;

let emulator: ArmEmulator;
let credential: ManagedIdentityCredential;
let reader: ArmInventoryReader;

beforeAll(async () => {
  emulator = await startArmEmulator({ fleet: tinyFleet(3), derivePolicyStates: tinyDerivePolicyStates });
  credential = useEmulatorIdentity(emulator);
  reader = new ArmInventoryReader({ ...emulatorConnection(emulator, credential), maxConcurrency: 2, requestTimeoutMs: TIMEOUT_MS });
});
afterAll(async () => {
  await emulator?.stop();
});
beforeEach(() => {
  emulator.faults.clear();
  emulator.requests.reset();
});

describe('a hung ARM call', () => {
  it('fails after the per-request timeout, once, without SDK retries', async () => {
    // Warm the token first: only the ARM call itself should be timed.
    await reader.listConnectedClusters(SUB_A);
    emulator.requests.reset();
    emulator.faults.latency({ route: 'extensions.list', ms: 1_000 });
    const error = await reader.listExtensions(clusterId(SUB_A, 'edge-rg', 'c0')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as Error).message).toBe(`ARM extensions.list failed: no complete answer within ${TIMEOUT_MS} ms (request timed out)`);
    // The emulator logs a request when it answers (after the latency): wait until even a third SDK
    // retry (each aborted after 300 ms) would have been answered, then count.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(emulator.requests.log.filter((r) => r.route === 'extensions.list')).toHaveLength(1);
  });

  it('fails a subscription-level read the same way, while unhurried calls pass', async () => {
    emulator.faults.latency({ route: 'policyStates.queryResults', ms: 5_000 });
    await expect(reader.queryClusterPolicyStates(SUB_A)).rejects.toThrow(/policyStates\.queryResults failed: no complete answer within 300 ms/);
    expect(await reader.listConnectedClusters(SUB_A)).toHaveLength(3);
  });

  it('lets a slow answer through when it arrives within the timeout', async () => {
    const patient = new ArmInventoryReader({ ...emulatorConnection(emulator, credential), maxConcurrency: 2, requestTimeoutMs: 5_000 });
    emulator.faults.latency({ route: 'extensions.list', ms: 600 });
    expect(await patient.listExtensions(clusterId(SUB_A, 'edge-rg', 'c0'))).not.toHaveLength(0);
  });
});

describe('throttling that outlasts the SDK retries', () => {
  it('fails with the Retry-After of the last 429 attached, after exactly the SDK attempts', async () => {
    emulator.faults.throttle({ route: 'connectedClusters.listBySubscription', count: 10, retryAfterSeconds: 0 });
    const error = await reader.listConnectedClusters(SUB_A).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArmRetryLaterError);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as ArmRetryLaterError).retryAfterSeconds).toBe(0);
    expect((error as Error).message).toMatch(/^ARM connectedClusters\.list failed \(429 TooManyRequests\): .* \(Retry-After 0 s\)$/);
    // 1 attempt + the SDK's 3 retries; nothing more from the reader.
    expect(emulator.requests.count('connectedClusters.listBySubscription')).toBe(4);
  });

  it('attaches nothing to failures without Retry-After', async () => {
    emulator.faults.failSubscription(SUB_A);
    const error = await reader.listConnectedClusters(SUB_A).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect(error).not.toBeInstanceOf(ArmRetryLaterError);
    expect((error as Partial<ArmRetryLaterError>).retryAfterSeconds).toBeUndefined();
  });
});

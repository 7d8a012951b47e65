/**
 * `controlplane.change.detected` to a `format: "ocsf"` webhook, through the real pieces: the watch reads
 * the ARM emulator's Activity Log with `@azure/arm-monitor`, stores events on Azurite and publishes to
 * the webhook service, which signs (Standard Webhooks) and posts OCSF 1.8.0 API Activity events to a
 * loopback receiver. Every delivered body is validated against the schema files; a break-glass download
 * arrives as exactly one signed event naming the caller.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startArmEmulator, type ArmEmulator } from '../../../local/arm-emulator/index.js';
import { generateFleet, derivePolicyStates, DEMO_SUBSCRIPTIONS } from '../../../local/arm-emulator/fleet/index.js';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { TableStore } from '../../../adapters/storage/table-store.js';
import { TableControlPlaneEventRepository } from '../../../adapters/storage/table-control-plane-repository.js';
import { ArmActivityLogReader } from '../../../adapters/arm/activity-log-reader.js';
import { GuardedHttpClient } from '../../../adapters/webhooks/guarded-http-client.js';
import { AesGcmSecretProtector } from '../../../adapters/webhooks/secret-protector.js';
import { ControlPlaneWatchService } from '../../../application/control-plane-watch-service.js';
import { WebhookService } from '../../../application/webhook-service.js';
import type { ControlPlaneWatchMessage, WebhookDeadLetterMessage, WebhookDeliveryMessage } from '../../../application/messages.js';
import { BREAK_GLASS_OPERATION } from '../../../domain/control-plane-events.js';
import { parseAllowlist } from '../../../domain/webhook-ssrf.js';
import { InMemoryClusterStateRepository, InMemoryWebhookDeliveryRepository, InMemoryWebhookSubscriptionRepository, RecordingMessageQueue, InMemoryInboundMessageIdStore, FixedClock } from '../../support/in-memory-ports.js';
import { OcsfSchema } from '../../support/ocsf-validator.js';
import { startReceiver, type Receiver } from '../webhooks/support.js';
import { referenceVerify } from '../../unit/webhooks/standard-webhooks-reference.js';
import { uniquePrefix } from '../storage/fixtures.js';
import { emulatorConnection, useEmulatorIdentity } from './support/emulator-clients.js';
import { silentLogger } from '../../../application/logger.js';

const START = new Date('2026-03-01T12:00:00.000Z');
const RETAIL = DEMO_SUBSCRIPTIONS.retail;
const PRODUCT = { name: 'arc-compliance', vendorName: 'arc-compliance', version: '9.9.9' };

let emulator: ArmEmulator;
let azurite: RunningAzurite;
let receiver: Receiver;

beforeAll(async () => {
  emulator = await startArmEmulator({ fleet: generateFleet({ mode: 'demo' }, START), derivePolicyStates, now: () => START });
  azurite = await startAzurite();
  receiver = await startReceiver((_req, _i, res) => res.writeHead(204).end());
});
afterAll(async () => {
  await receiver?.stop();
  await emulator?.stop();
  await azurite?.stop();
});

describe('controlplane.change.detected in the ocsf format', () => {
  it('delivers each new Activity Log event as one signed, schema-valid OCSF API Activity; the break-glass download names its caller', async () => {
    const clock = new FixedClock(START.getTime());
    const queue = new RecordingMessageQueue<WebhookDeliveryMessage>();
    let n = 0;
    const webhooks = new WebhookService({
      subscriptions: new InMemoryWebhookSubscriptionRepository(),
      deliveries: new InMemoryWebhookDeliveryRepository(),
      queue,
      deadLetters: new RecordingMessageQueue<WebhookDeadLetterMessage>(),
      secrets: new AesGcmSecretProtector(randomBytes(32)),
      http: new GuardedHttpClient({ allowlist: parseAllowlist(['127.0.0.1']).allowlist }),
      serviceNow: undefined,
      product: PRODUCT,
      clock,
      newId: () => `ocsf${(n += 1)}`,
      randomBytes: (size) => randomBytes(size),
      random: () => 0.5,
      attemptClaims: new InMemoryInboundMessageIdStore(),
      log: silentLogger,
    });
    const { secret } = await webhooks.create({ url: `${receiver.url}/siem`, events: ['controlplane.change.detected'], format: 'ocsf' }, 'user-1');
    const clusters = emulator.fleet.clusters
      .filter((c) => c.resource.id.toLowerCase().startsWith(`/subscriptions/${RETAIL}/`))
      .map((c) => ({ id: c.resource.id, resourceGroup: c.resource.id.split('/')[4]!, location: String(c.resource['location']) }));
    const events = await TableControlPlaneEventRepository.open(await TableStore.open({ connectionString: azurite.connectionString }, { tablePrefix: uniquePrefix() }));
    const watch = new ControlPlaneWatchService({
      activityLog: new ArmActivityLogReader(emulatorConnection(emulator, useEmulatorIdentity(emulator))),
      events,
      clusters: new InMemoryClusterStateRepository(),
      inventory: { listSubscriptions: async () => [] },
      queue: new RecordingMessageQueue<ControlPlaneWatchMessage>(),
      clock,
      settings: { lookbackDays: 30, ownIdentities: ['5e8f2a91-3c47-4d6b-9a10-7b2e4c6d8f01'], subscriptionIds: undefined, retentionDays: 90 },
      publisher: webhooks,
    });

    const outcome = await watch.watchSubscription(RETAIL, { clusters });
    expect(outcome.published).toBeGreaterThan(1);
    for (let next = queue.take(); next !== undefined; next = queue.take()) await webhooks.processDelivery(next.message);

    expect(receiver.received).toHaveLength(outcome.published);
    const schema = new OcsfSchema();
    const activities: Record<string, unknown>[] = [];
    for (const got of receiver.received) {
      expect(got.headers['content-type']).toBe('application/json');
      expect(await referenceVerify(secret!, got.headers, got.body, START.getTime() / 1000)).toBe(true);
      const body = JSON.parse(got.body) as Record<string, unknown>[];
      expect(body).toHaveLength(1);
      expect(schema.validate(body[0], 'api_activity')).toEqual([]);
      activities.push(body[0]!);
    }

    const breakGlass = activities.filter((a) => (a['api'] as { operation: string }).operation === BREAK_GLASS_OPERATION);
    expect(breakGlass).toHaveLength(1);
    const stored = (await events.list({ top: 100 })).items.find((e) => e.operation === BREAK_GLASS_OPERATION)!;
    expect(breakGlass[0]).toMatchObject({
      class_uid: 6003,
      type_uid: 600302,
      status_id: 1,
      severity_id: 4,
      time: Date.parse(stored.eventTimestamp),
      actor: { user: { name: stored.caller } },
      cloud: { provider: 'Azure', account: { uid: RETAIL.toLowerCase() } },
      metadata: { version: '1.8.0', uid: stored.eventDataId, product: { version: '9.9.9' } },
      unmapped: { kind: 'break-glass-credential' },
    });
    expect(stored.caller).not.toBe('unknown');
    const location = clusters.find((c) => c.id.toLowerCase() === stored.clusterId)!.location;
    expect(location).toMatch(/^[a-z0-9]+$/);
    expect(breakGlass[0]).toMatchObject({ cloud: { region: location } });
    expect((breakGlass[0]!['resources'] as { uid: string }[])[0]!.uid).toBe(stored.clusterId);
    const headerIds = receiver.received.map((r) => r.headers['webhook-id']);
    expect(new Set(headerIds).size).toBe(headerIds.length);
  });
});

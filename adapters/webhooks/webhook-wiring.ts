/**
 * Builds the webhook and ServiceNow services from configuration: Table Storage repositories, the
 * delivery queues, the AES-GCM secret protector, the guarded HTTP client with the allowlist, the
 * ServiceNow client. `bootstrap/composition-root.ts` calls it; tests call it with overrides.
 */
import type { OcsfProduct } from '../../domain/ocsf-finding.js';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AppConfig } from '../../config/settings.js';
import { WEBHOOK_QUEUES, type WebhookDeadLetterMessage, type WebhookDeliveryMessage } from '../../application/messages.js';
import type { Clock, EventPublisher, RolloutApprovals } from '../../application/ports.js';
import { ChangeEventReceiver } from '../../application/servicenow-change-events.js';
import { ServiceNowDelivery } from '../../application/servicenow-delivery.js';
import { WebhookService, type WebhookLogger } from '../../application/webhook-service.js';
import { parseAllowlist } from '../../domain/webhook-ssrf.js';
import { StorageMessageQueue, type QueueConnection } from '../storage/storage-queue.js';
import type { TableStorageConnection } from '../storage/table-store.js';
import {
  TableInboundMessageIdStore,
  TableWebhookDeliveryRepository,
  TableWebhookSubscriptionRepository,
  WebhookTables,
} from '../storage/table-webhook-store.js';
import { GuardedHttpClient, type HostResolver } from './guarded-http-client.js';
import { AesGcmSecretProtector, parseSecretKey, UnconfiguredSecretProtector } from './secret-protector.js';
import { ServiceNowClient } from './servicenow-client.js';
import { TableServiceNowWatermarks } from './table-servicenow-watermarks.js';

export interface WebhookServices {
  readonly webhooks: WebhookService;
  /** What evaluation, rollouts and remediation publish events through. */
  readonly publisher: EventPublisher;
  readonly changeEvents: ChangeEventReceiver;
}

export interface WebhookWiringInput {
  readonly config: Pick<AppConfig, 'webhookAllowlist' | 'webhooks'>;
  readonly tables: TableStorageConnection;
  readonly queues: QueueConnection;
  readonly tablePrefix?: string | undefined;
  readonly clock: Clock;
  /** The rollout service's approvals; change events answer 502 until it is wired. */
  readonly approvals?: RolloutApprovals | undefined;
  readonly resolve?: HostResolver | undefined;
  readonly log?: WebhookLogger | undefined;
  /** `metadata.product` of OCSF findings (ocsf webhooks). */
  readonly product?: OcsfProduct | undefined;
}

const consoleLog: WebhookLogger = { info: (m) => console.info(m), warn: (m) => console.warn(m) };

export async function createWebhookServices(input: WebhookWiringInput): Promise<WebhookServices> {
  const { allowlist, problems } = parseAllowlist(input.config.webhookAllowlist);
  if (problems.length > 0) throw new Error(problems.join('; '));
  const tables = await WebhookTables.open(input.tables, input.tablePrefix !== undefined ? { tablePrefix: input.tablePrefix } : {});
  const http = new GuardedHttpClient({ allowlist, ...(input.resolve !== undefined ? { resolve: input.resolve } : {}) });
  const sn = input.config.webhooks.serviceNow;
  // Configuration refuses auth without an instance URL; a config built by hand is held to the same rule.
  if (sn.auth !== undefined && sn.instanceUrl === undefined) throw new Error('SERVICENOW_INSTANCE_URL is required when SERVICENOW_AUTH is set');
  const serviceNow =
    sn.auth !== undefined && sn.instanceUrl !== undefined
      ? new ServiceNowDelivery(
          new ServiceNowClient(http, sn.auth, input.clock, sn.instanceUrl),
          { category: sn.category, assignmentGroup: sn.assignmentGroup },
          {
            instanceUrl: sn.instanceUrl,
            watermarks: await TableServiceNowWatermarks.open(input.tables, input.tablePrefix !== undefined ? { tablePrefix: input.tablePrefix } : {}),
          },
        )
      : undefined;
  const key = input.config.webhooks.secretKey;
  const inboundIds = new TableInboundMessageIdStore(tables);
  const webhooks = new WebhookService({
    subscriptions: new TableWebhookSubscriptionRepository(tables),
    deliveries: new TableWebhookDeliveryRepository(tables),
    queue: new StorageMessageQueue<WebhookDeliveryMessage>(input.queues, WEBHOOK_QUEUES.deliveries),
    deadLetters: new StorageMessageQueue<WebhookDeadLetterMessage>(input.queues, WEBHOOK_QUEUES.deadLetter),
    secrets: key !== undefined ? new AesGcmSecretProtector(parseSecretKey(key)) : new UnconfiguredSecretProtector(),
    http,
    serviceNow,
    clock: input.clock,
    newId: randomUUID,
    randomBytes: (size) => randomBytes(size),
    random: Math.random,
    log: input.log ?? consoleLog,
    attemptClaims: inboundIds,
    deliveryRetentionDays: input.config.webhooks.deliveryRetentionDays,
    product: input.product,
  });
  const changeEvents = new ChangeEventReceiver({
    secrets: sn.changeWebhookSecrets,
    ids: inboundIds,
    approvals: input.approvals,
    clock: input.clock,
  });
  return { webhooks, publisher: webhooks, changeEvents };
}

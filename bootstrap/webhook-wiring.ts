/**
 * The webhook adapters from configuration: Table Storage repositories, the delivery queues, the
 * AES-GCM secret protector, the guarded HTTP client with the allowlist, the ServiceNow client; and the
 * `WebhookService` over them. It needs nothing from the other services, so the composition root builds
 * it first and hands it to evaluation, rollouts and remediations as their event publisher; the
 * change-event receiver, which needs the rollouts, is built after them from `inboundIds`.
 */
import type { OcsfProduct } from '../domain/ocsf-finding.js';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AppConfig } from '../config/settings.js';
import { WEBHOOK_QUEUES, type WebhookDeadLetterMessage, type WebhookDeliveryMessage } from '../application/messages.js';
import type { Clock } from '../application/ports.js';
import { ServiceNowDelivery } from '../application/servicenow-delivery.js';
import { WebhookService } from '../application/webhook-service.js';
import { consoleLogger, type Logger } from '../application/logger.js';
import { parseAllowlist } from '../domain/webhook-ssrf.js';
import { StorageMessageQueue, type QueueConnection } from '../adapters/storage/storage-queue.js';
import type { TableStorageConnection } from '../adapters/storage/table-store.js';
import {
  TableInboundMessageIdStore,
  TableWebhookDeliveryRepository,
  TableWebhookSubscriptionRepository,
  WebhookTables,
} from '../adapters/storage/table-webhook-store.js';
import { GuardedHttpClient, type HostResolver } from '../adapters/webhooks/guarded-http-client.js';
import { AesGcmSecretProtector, parseSecretKey, UnconfiguredSecretProtector } from '../adapters/webhooks/secret-protector.js';
import { ServiceNowClient } from '../adapters/webhooks/servicenow-client.js';
import { TableServiceNowWatermarks } from '../adapters/webhooks/table-servicenow-watermarks.js';
import { webhookConfigProblems } from './config-check.js';

export interface WebhookWiring {
  readonly webhooks: WebhookService;
  /** Inbound message ids and delivery-attempt claims (`webhookinbound`), shared with the change-event receiver. */
  readonly inboundIds: TableInboundMessageIdStore;
}

export interface WebhookWiringInput {
  readonly config: Pick<AppConfig, 'webhookAllowlist' | 'webhooks'>;
  readonly tables: TableStorageConnection;
  readonly queues: QueueConnection;
  readonly tablePrefix?: string | undefined;
  readonly clock: Clock;
  readonly resolve?: HostResolver | undefined;
  readonly log?: Logger | undefined;
  /** `metadata.product` of OCSF findings (ocsf webhooks). */
  readonly product?: OcsfProduct | undefined;
}

export async function createWebhookService(input: WebhookWiringInput): Promise<WebhookWiring> {
  const problems = webhookConfigProblems(input.config);
  if (problems.length > 0) throw new Error(problems.join('; '));
  const { allowlist } = parseAllowlist(input.config.webhookAllowlist);
  const tables = await WebhookTables.open(input.tables, input.tablePrefix !== undefined ? { tablePrefix: input.tablePrefix } : {});
  const http = new GuardedHttpClient({ allowlist, ...(input.resolve !== undefined ? { resolve: input.resolve } : {}) });
  const sn = input.config.webhooks.serviceNow;
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
    log: input.log ?? consoleLogger,
    attemptClaims: inboundIds,
    deliveryRetentionDays: input.config.webhooks.deliveryRetentionDays,
    product: input.product,
  });
  return { webhooks, inboundIds };
}

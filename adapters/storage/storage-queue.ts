/**
 * `MessageQueue<T>` over Azure Storage Queues. Messages are JSON, base64-encoded exactly as the
 * Functions host's queue output binding writes them (host.json `messageEncoding: base64`), so a
 * queue trigger decodes them the same way whichever side sent them. The queue is created on first
 * use, once.
 */
import { QueueClient } from '@azure/storage-queue';
import type { TokenCredential } from '@azure/core-auth';
import type { MessageQueue } from '../../application/ports.js';
import { forEachLimited } from '../../application/worker-pool.js';

export type QueueConnection =
  | { readonly connectionString: string }
  | { readonly queueServiceUri: string; readonly credential: TokenCredential };

/** Largest visibility delay the service accepts: 7 days. */
const MAX_DELAY_SECONDS = 7 * 24 * 3600;
const SEND_CONCURRENCY = 8;

/**
 * Send options of a delayed message. The default time-to-live (7 days) runs from the send, so a
 * message delayed close to 7 days would expire as it becomes visible: it lives 7 days past its delay.
 */
export function delayedSendOptions(delaySeconds: number): { visibilityTimeout: number; messageTimeToLive: number } {
  const visibilityTimeout = Math.max(0, Math.min(MAX_DELAY_SECONDS, Math.round(delaySeconds)));
  return { visibilityTimeout, messageTimeToLive: visibilityTimeout + MAX_DELAY_SECONDS };
}

export function encodeQueueMessage(message: unknown): string {
  return Buffer.from(JSON.stringify(message), 'utf8').toString('base64');
}

export class StorageMessageQueue<T> implements MessageQueue<T> {
  private readonly client: QueueClient;
  private ready: Promise<unknown> | undefined;

  constructor(connection: QueueConnection, readonly queueName: string) {
    this.client =
      'connectionString' in connection
        ? new QueueClient(connection.connectionString, queueName)
        : new QueueClient(`${connection.queueServiceUri.replace(/\/+$/, '')}/${queueName}`, connection.credential);
  }

  private ensure(): Promise<unknown> {
    // A failed creation is retried by the next send instead of being cached.
    this.ready ??= this.client.createIfNotExists().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  async send(message: T, options: { visibilityDelaySeconds?: number } = {}): Promise<void> {
    await this.ensure();
    const delay = options.visibilityDelaySeconds;
    await this.client.sendMessage(encodeQueueMessage(message), {
      ...(delay !== undefined ? delayedSendOptions(delay) : {}),
    });
  }

  async sendMany(messages: readonly T[]): Promise<void> {
    await this.ensure();
    await forEachLimited(messages, SEND_CONCURRENCY, (m) => this.send(m));
  }
}

/**
 * Storage queue trigger listener with the Storage extension's `extensions.queues` semantics
 * (Microsoft.Azure.WebJobs.Extensions.Storage.Queues `QueueListener` / `QueueProcessor`):
 * - messages are fetched `batchSize` at a time; a new batch is fetched once the messages still running
 *   drop to `newBatchThreshold`;
 * - an empty poll backs off exponentially (randomized) from 100 ms up to `maxPollingInterval`; a poll
 *   that finds messages resets it; poll errors (storage down) are logged and backed off the same way;
 * - success deletes the message; failure makes it visible again after `visibilityTimeout`; the failure
 *   at `dequeueCount >= maxDequeueCount` copies it (same text) to `<queue>-poison` and deletes it; a
 *   message already dequeued more than `maxDequeueCount` times is poisoned before invocation;
 * - with `messageEncoding: base64` the text is base64-decoded; a message that does not decode is poisoned.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { DequeuedMessageItem, QueueClient } from '@azure/storage-queue';
import type { FunctionRegistration } from './core-api.js';
import type { RpcInvocationRequest, RpcInvocationResponse, RpcTypedData } from './core-types.js';
import type { QueuesOptions } from './host-options.js';
import type { HostLogger, InvocationInput } from './invocation.js';
import { queueClientFor } from './output-bindings.js';

/** Minimum polling interval of the Storage extension (`QueuePollingIntervals.Minimum`). */
export const MIN_POLLING_INTERVAL_MS = 100;
/**
 * Default visibility of a message while its function runs (the extension's 10 minutes, renewed at
 * half-time): how long a message whose host died mid-invocation stays invisible before another host
 * (or the restarted one) receives it again. `LOCAL_QUEUE_PROCESSING_VISIBILITY_SECONDS` changes it.
 */
export const DEFAULT_PROCESSING_VISIBILITY_SECONDS = 600;

export interface QueueTrigger {
  readonly registration: FunctionRegistration;
  readonly triggerName: string;
  readonly queueName: string;
  readonly connectionString: string;
}

export interface QueueListenerDeps {
  invoke(registration: FunctionRegistration, input: InvocationInput): Promise<RpcInvocationResponse>;
  readonly log: HostLogger;
  readonly clients: Map<string, QueueClient>;
  /** Visibility of a running message, renewed at half-time (default {@link DEFAULT_PROCESSING_VISIBILITY_SECONDS}). */
  readonly processingVisibilitySeconds?: number | undefined;
}

/** Strict base64 check: .NET's `Convert.FromBase64String`, which the host uses, rejects anything else. */
export function decodeBase64Message(text: string): string | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return undefined;
  return Buffer.from(compact, 'base64').toString('utf8');
}

/** Next idle delay: doubled with ±20 % jitter, within [min, max] (RandomizedExponentialBackoffStrategy). */
export function nextBackoff(currentMs: number, maxMs: number): number {
  const doubled = currentMs * 2 * (0.8 + Math.random() * 0.4);
  return Math.min(maxMs, Math.max(MIN_POLLING_INTERVAL_MS, doubled));
}

const iso = (date: Date | undefined): RpcTypedData => ({ json: JSON.stringify(date?.toISOString() ?? null) });

export class QueueListener {
  readonly #trigger: QueueTrigger;
  readonly #options: QueuesOptions;
  readonly #deps: QueueListenerDeps;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #pollErrorLogged = false;

  constructor(trigger: QueueTrigger, options: QueuesOptions, deps: QueueListenerDeps) {
    this.#trigger = trigger;
    this.#options = options;
    this.#deps = deps;
  }

  get #processingVisibilitySeconds(): number {
    return this.#deps.processingVisibilitySeconds ?? DEFAULT_PROCESSING_VISIBILITY_SECONDS;
  }

  get functionName(): string {
    return this.#trigger.registration.name;
  }

  /** Invokes the function with a message text without a queue (the host's admin invoke); no metadata. */
  async invokeDirect(text: string): Promise<RpcInvocationResponse> {
    return this.#deps.invoke(this.#trigger.registration, {
      inputData: [{ name: this.#trigger.triggerName, data: { string: text } }],
      triggerMetadata: { QueueTrigger: { string: text } },
      reason: 'This function was programmatically called via the host APIs.',
    });
  }

  get poisonQueueName(): string {
    return `${this.#trigger.queueName}-poison`;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops polling and waits for running invocations to finish (their messages are then settled). */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
    await Promise.allSettled([...this.#inFlight]);
  }

  #log(level: 'information' | 'warning' | 'error' | 'debug', message: string): void {
    this.#deps.log({ level, category: 'host', functionName: this.#trigger.registration.name, message });
  }

  async #client(queueName: string): Promise<QueueClient> {
    return queueClientFor(this.#trigger.connectionString, queueName, this.#deps.clients);
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let idleDelay = MIN_POLLING_INTERVAL_MS;
    while (!signal.aborted) {
      // Throttle: fetch a new batch only when the running messages have dropped to the threshold.
      while (this.#inFlight.size > this.#options.newBatchThreshold && !signal.aborted) await Promise.race(this.#inFlight);
      if (signal.aborted) break;
      let messages: DequeuedMessageItem[];
      try {
        const client = await this.#client(this.#trigger.queueName);
        const result = await client.receiveMessages({
          numberOfMessages: this.#options.batchSize,
          visibilityTimeout: this.#processingVisibilitySeconds,
          abortSignal: signal,
        });
        messages = result.receivedMessageItems;
        if (this.#pollErrorLogged) this.#log('information', `Queue '${this.#trigger.queueName}' is reachable again.`);
        this.#pollErrorLogged = false;
      } catch (error) {
        if (signal.aborted) break;
        // Storage unavailable or the queue vanished (e.g. in-memory Azurite restarted): forget that the
        // queue was created, log once per outage, and back off.
        this.#deps.clients.clear();
        if (!this.#pollErrorLogged) {
          this.#log('warning', `Polling queue '${this.#trigger.queueName}' failed, retrying with back-off: ${error instanceof Error ? error.message : String(error)}`);
          this.#pollErrorLogged = true;
        }
        idleDelay = nextBackoff(idleDelay, this.#options.maxPollingIntervalMs);
        await this.#sleep(idleDelay);
        continue;
      }
      if (messages.length === 0) {
        idleDelay = nextBackoff(idleDelay, this.#options.maxPollingIntervalMs);
        await this.#sleep(idleDelay);
        continue;
      }
      idleDelay = MIN_POLLING_INTERVAL_MS;
      for (const message of messages) {
        const task = this.#process(message).catch((error: unknown) => {
          this.#log('error', `Settling message ${message.messageId} failed: ${error instanceof Error ? error.message : String(error)}`);
        });
        this.#inFlight.add(task);
        void task.finally(() => this.#inFlight.delete(task));
      }
    }
  }

  async #sleep(ms: number): Promise<void> {
    try {
      await delay(ms, undefined, { signal: this.#abort.signal });
    } catch {
      // Aborted: the loop condition ends the listener.
    }
  }

  async #poison(message: DequeuedMessageItem, why: string): Promise<void> {
    const poison = await this.#client(this.poisonQueueName);
    await poison.sendMessage(message.messageText);
    const source = await this.#client(this.#trigger.queueName);
    await source.deleteMessage(message.messageId, message.popReceipt);
    this.#log('warning', `Message has reached MaxDequeueCount of ${this.#options.maxDequeueCount}. Moving message to queue '${this.poisonQueueName}'. (${why}; id=${message.messageId})`);
  }

  async #process(message: DequeuedMessageItem): Promise<void> {
    const { maxDequeueCount, messageEncoding, visibilityTimeoutMs } = this.#options;
    if (message.dequeueCount > maxDequeueCount) {
      await this.#poison(message, `dequeued ${message.dequeueCount} times`);
      return;
    }
    const text = messageEncoding === 'base64' ? decodeBase64Message(message.messageText) : message.messageText;
    if (text === undefined) {
      this.#log('error', `Message ${message.messageId} on queue '${this.#trigger.queueName}' is not valid base64 (host.json messageEncoding is "base64").`);
      await this.#poison(message, 'message could not be decoded');
      return;
    }
    const triggerMetadata: NonNullable<RpcInvocationRequest['triggerMetadata']> = {
      QueueTrigger: { string: text },
      DequeueCount: { int: message.dequeueCount },
      Id: { string: message.messageId },
      PopReceipt: { string: message.popReceipt },
      InsertionTime: iso(message.insertedOn),
      ExpirationTime: iso(message.expiresOn),
      NextVisibleTime: iso(message.nextVisibleOn),
      sys: { json: JSON.stringify({ MethodName: this.#trigger.registration.name, UtcNow: new Date().toISOString(), RandGuid: randomUUID() }) },
    };
    const client = await this.#client(this.#trigger.queueName);
    // Keep the message invisible while a long invocation runs: renew the lease at half-time, as the
    // extension does. Each update returns a new pop receipt, which settling the message needs.
    let popReceipt = message.popReceipt;
    let renewing: Promise<void> = Promise.resolve();
    const renewal = setInterval(() => {
      renewing = client
        .updateMessage(message.messageId, popReceipt, undefined, this.#processingVisibilitySeconds)
        .then((updated) => {
          if (updated.popReceipt !== undefined) popReceipt = updated.popReceipt;
        })
        .catch((error: unknown) => this.#log('warning', `Renewing message ${message.messageId} failed: ${error instanceof Error ? error.message : String(error)}`));
    }, (this.#processingVisibilitySeconds * 1000) / 2);
    renewal.unref();
    let succeeded = true;
    try {
      await this.#deps.invoke(this.#trigger.registration, {
        inputData: [{ name: this.#trigger.triggerName, data: { string: text } }],
        triggerMetadata,
        reason: `New queue message detected on '${this.#trigger.queueName}'.`,
      });
    } catch {
      succeeded = false; // already logged by the invocation pipeline
    } finally {
      clearInterval(renewal);
      await renewing;
    }
    const settled = { ...message, popReceipt };
    if (succeeded) {
      await client.deleteMessage(settled.messageId, settled.popReceipt);
    } else if (message.dequeueCount >= maxDequeueCount) {
      await this.#poison(settled, `failed ${message.dequeueCount} times`);
    } else {
      await client.updateMessage(settled.messageId, settled.popReceipt, undefined, Math.ceil(visibilityTimeoutMs / 1000));
    }
  }
}

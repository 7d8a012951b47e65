/**
 * Output bindings the local host executes after an invocation, as the host does with the RPC response:
 * the `$return` binding takes `returnValue`, named bindings take their `outputData` entry.
 * Supported: Storage queue (`output.storageQueue`, binding type `queue`), written base64-encoded like
 * the host (or raw with `messageEncoding: "none"`). Other output types are reported, not dropped silently.
 */
import { QueueClient } from '@azure/storage-queue';
import type { FunctionRegistration } from './core-api.js';
import type { RpcInvocationResponse, RpcTypedData } from './core-types.js';
import { resolveAppSettings, resolveStorageConnection, type QueuesOptions } from './host-options.js';

export class QueueNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueNameError';
  }
}

/** Resolves `%SETTING%`, lower-cases and validates a queue name, as the Storage extension does. */
export function normalizeQueueName(raw: unknown, env: NodeJS.ProcessEnv = process.env): string {
  if (typeof raw !== 'string' || raw === '') throw new QueueNameError('A queue binding needs a "queueName".');
  const name = resolveAppSettings(raw, env).toLowerCase();
  if (!/^[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]$/.test(name)) {
    throw new QueueNameError(`Invalid queue name "${name}": 3-63 characters, letters, digits and single hyphens, starting and ending with a letter or digit.`);
  }
  return name;
}

/** Encodes message text for the queue the way the host's QueueClient does for the configured encoding. */
export function encodeQueueMessage(text: string, encoding: QueuesOptions['messageEncoding']): string {
  return encoding === 'base64' ? Buffer.from(text, 'utf8').toString('base64') : text;
}

/**
 * Turns the RPC value of a queue output into message texts. A JSON array writes one message per
 * element (how JavaScript functions send several messages); objects are serialized as JSON.
 */
export function queueMessagesFrom(data: RpcTypedData | null | undefined): string[] {
  if (data === null || data === undefined) return [];
  const asText = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));
  if (typeof data.string === 'string') return [data.string];
  if (typeof data.json === 'string') {
    const parsed = JSON.parse(data.json) as unknown;
    return Array.isArray(parsed) ? parsed.map(asText) : [asText(parsed)];
  }
  if (data.bytes !== undefined && data.bytes !== null) return [Buffer.from(data.bytes).toString('utf8')];
  if (typeof data.int === 'number') return [String(data.int)];
  if (typeof data.double === 'number') return [String(data.double)];
  if (data.collectionString?.string) return [...data.collectionString.string];
  if (data.collectionBytes?.bytes) return data.collectionBytes.bytes.map((b) => Buffer.from(b).toString('utf8'));
  throw new Error('Unsupported value for a queue output binding.');
}

const ensuredQueues = new WeakMap<QueueClient, Promise<unknown>>();

/** A queue client for a binding; creates the queue once if it does not exist (the host does too). */
export async function queueClientFor(connectionString: string, queueName: string, cache: Map<string, QueueClient>): Promise<QueueClient> {
  const key = `${connectionString}\u0000${queueName}`;
  let client = cache.get(key);
  if (client === undefined) {
    client = new QueueClient(connectionString, queueName);
    cache.set(key, client);
  }
  let ensured = ensuredQueues.get(client);
  if (ensured === undefined) {
    ensured = client.createIfNotExists();
    ensuredQueues.set(client, ensured);
    // A failed create (storage down) must be retried on the next use, not cached.
    ensured.catch(() => ensuredQueues.delete(client));
  }
  await ensured;
  return client;
}

/** Executes the output bindings of one invocation response. Throws if a binding cannot be written. */
const nonHttpOutputs = new WeakMap<FunctionRegistration, boolean>();

/** Whether the function has output bindings this runtime writes (HTTP functions usually have none). */
export function hasNonHttpOutputs(registration: FunctionRegistration): boolean {
  let has = nonHttpOutputs.get(registration);
  if (has === undefined) {
    has = Object.values(registration.bindings).some((b) => b.direction === 'out' && (b.type ?? '').toLowerCase() !== 'http');
    nonHttpOutputs.set(registration, has);
  }
  return has;
}

export async function applyOutputBindings(
  registration: FunctionRegistration,
  response: RpcInvocationResponse,
  options: { readonly queues: QueuesOptions; readonly clients: Map<string, QueueClient>; readonly env?: NodeJS.ProcessEnv },
): Promise<void> {
  for (const [name, binding] of Object.entries(registration.bindings)) {
    if (binding.direction !== 'out') continue;
    const type = (binding.type ?? '').toLowerCase();
    if (type === 'http') continue;
    const data = name === '$return' ? response.returnValue : response.outputData?.find((o) => o.name === name)?.data;
    if (data === null || data === undefined) continue;
    if (type !== 'queue') throw new Error(`Output binding "${name}" of type "${binding.type}" is not supported by the local runtime.`);
    const queueName = normalizeQueueName(binding['queueName'], options.env);
    const client = await queueClientFor(resolveStorageConnection(binding['connection'], options.env), queueName, options.clients);
    for (const text of queueMessagesFrom(data)) await client.sendMessage(encodeQueueMessage(text, options.queues.messageEncoding));
  }
}

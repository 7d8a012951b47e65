/**
 * Starts Azurite (Microsoft's Azure Storage emulator) in-process: table + queue + blob services on
 * ephemeral loopback ports, in memory by default or on disk under a folder.
 *
 * Azurite ships no typed public API for embedding, so this imports its server classes directly
 * (the same classes its own CLI composes).
 */
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { servePartitionQueriesFromIndex } from './azurite-partition-queries.js';

const require = createRequire(import.meta.url);

interface AzuriteServer {
  start(): Promise<void>;
  close(): Promise<void>;
  clean(): Promise<void>;
  getHttpServerAddress(): string;
}
type ServerCtor = new (config: unknown) => AzuriteServer;
type ConfigCtor = new (...args: unknown[]) => unknown;

const load = (path: string): { default: unknown } => require(`azurite/dist/src/${path}`) as { default: unknown };

/** Well-known development account of every Azure Storage emulator (public, documented values). */
export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteOptions {
  /** Folder for on-disk persistence; in memory when omitted. */
  readonly location?: string | undefined;
  /** Fixed ports (0 = ephemeral). */
  readonly blobPort?: number;
  readonly queuePort?: number;
  readonly tablePort?: number;
  readonly host?: string;
}

export interface RunningAzurite {
  readonly connectionString: string;
  readonly blobEndpoint: string;
  readonly queueEndpoint: string;
  readonly tableEndpoint: string;
  /** Stops the queue service only and starts it again on the same port: a dependency restart. */
  restartQueue(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the three services and returns a connection string that every Azure Storage SDK accepts. */
export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const host = options.host ?? '127.0.0.1';
  const inMemory = options.location === undefined;
  const dir = options.location;
  if (dir !== undefined) mkdirSync(dir, { recursive: true });
  const at = (file: string): string => (dir === undefined ? file : join(dir, file));

  const BlobConfiguration = load('blob/BlobConfiguration').default as ConfigCtor;
  const BlobServer = load('blob/BlobServer').default as ServerCtor;
  const QueueConfiguration = load('queue/QueueConfiguration').default as ConfigCtor;
  const QueueServer = load('queue/QueueServer').default as ServerCtor;
  const TableConfiguration = load('table/TableConfiguration').default as ConfigCtor;
  const TableServer = load('table/TableServer').default as ServerCtor;

  // Positional constructor arguments mirror Azurite's own CLI (see azurite/dist/src/*/main.js).
  const blobConfig = (port: number): unknown =>
    new BlobConfiguration(host, port, 0, at('__azurite_db_blob__.json'), at('__azurite_db_blob_extent__.json'),
      [{ locationId: 'Default', locationPath: at('__blobstorage__'), maxConcurrency: 10 }],
      false, undefined, false, undefined, false, true, '', '', '', undefined, false, inMemory);
  const queueConfig = (port: number): unknown =>
    new QueueConfiguration(host, port, 0, at('__azurite_db_queue__.json'), at('__azurite_db_queue_extent__.json'),
      [{ locationId: 'Default', locationPath: at('__queuestorage__'), maxConcurrency: 10 }],
      false, undefined, false, undefined, false, true, '', '', '', undefined, false, inMemory);
  const tableConfig = (port: number): unknown =>
    new TableConfiguration(host, port, 0, at('__azurite_db_table__.json'), false, false, undefined, undefined,
      false, true, '', '', '', undefined, false, inMemory);

  // Single-partition queries read the partition, as Azure Table Storage does (see the module).
  servePartitionQueriesFromIndex();
  const blob = new BlobServer(blobConfig(options.blobPort ?? 0));
  let queue = new QueueServer(queueConfig(options.queuePort ?? 0));
  const table = new TableServer(tableConfig(options.tablePort ?? 0));
  await Promise.all([blob.start(), queue.start(), table.start()]);

  const endpoint = (server: AzuriteServer): string => `http://${server.getHttpServerAddress().replace(/^https?:\/\//, '')}/${DEV_ACCOUNT}`;
  const blobEndpoint = endpoint(blob);
  const queueEndpoint = endpoint(queue);
  const tableEndpoint = endpoint(table);
  const queuePort = Number(new URL(queueEndpoint).port);

  return {
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};` +
      `BlobEndpoint=${blobEndpoint};QueueEndpoint=${queueEndpoint};TableEndpoint=${tableEndpoint};`,
    blobEndpoint,
    queueEndpoint,
    tableEndpoint,
    async restartQueue() {
      await queue.close();
      queue = new QueueServer(queueConfig(queuePort));
      await queue.start();
    },
    async stop() {
      await Promise.allSettled([blob.close(), queue.close(), table.close()]);
    },
  };
}

/**
 * Crash drills: storage (Azurite), ARM (the emulator, with the local token issuer mounted on it) and a
 * webhook receiver run in the test process; the Functions host runs in a child process
 * (`crash-drill-host.ts`) that the test kills with SIGKILL mid-work and starts again on the same
 * storage. `LOCAL_QUEUE_PROCESSING_VISIBILITY_SECONDS` is short, so the messages the dead host held
 * come back within seconds, as they would after the queue extension's 10 minutes in Azure.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueClient } from '@azure/storage-queue';
import { TableClient, TableServiceClient, type TableEntity } from '@azure/data-tables';
import { startAzurite, type RunningAzurite } from '../../local/azurite.js';
import { startArmEmulator, type ArmEmulator } from '../../local/arm-emulator/index.js';
import { derivePolicyStates, generateFleet } from '../../local/arm-emulator/fleet/index.js';
import { createTokenIssuer, type TokenIssuer } from '../../local/token-issuer.js';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from './webhook-receiver.js';

/** How long a message the killed host held stays invisible. */
export const DRILL_VISIBILITY_SECONDS = 3;

export interface HostLogLine {
  readonly functionName: string | undefined;
  readonly message: string;
}

export interface DrillHost {
  readonly apiUrl: string;
  readonly process: ChildProcess;
  /** SIGKILL: no appTerminate hook, no message settled, no in-flight write finished. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface CrashDrill {
  readonly azurite: RunningAzurite;
  readonly emulator: ArmEmulator;
  readonly issuer: TokenIssuer;
  readonly receiver: WebhookReceiver;
  /** Every webhook request the receiver got, across host lives. */
  readonly received: ReceivedWebhook[];
  /** Host log lines of every life of the host, in order. */
  readonly logs: HostLogLine[];
  startHost(): Promise<DrillHost>;
  /** A call to the API of the running host with a token holding `roles`. */
  api<T = unknown>(host: DrillHost, method: string, path: string, roles: readonly string[], body?: unknown): Promise<{ status: number; body: T }>;
  table(name: string): TableClient;
  queue(name: string): QueueClient;
  entities(name: string): Promise<TableEntity[]>;
  historyEntities(): Promise<TableEntity[]>;
  stop(): Promise<void>;
}

export async function startCrashDrill(options: { readonly settings?: Readonly<Record<string, string>> } = {}): Promise<CrashDrill> {
  const azurite = await startAzurite();
  const emulator = await startArmEmulator({ fleet: generateFleet({ mode: 'demo' }, new Date()), derivePolicyStates });
  const issuer = await createTokenIssuer({ baseUrl: emulator.url });
  emulator.mount(issuer.handle);
  const received: ReceivedWebhook[] = [];
  const receiver = await startWebhookReceiver(received);
  const dir = await mkdtemp(join(tmpdir(), 'crash-drill-'));
  const caFile = join(dir, 'arm-emulator-ca.pem');
  await writeFile(caFile, emulator.caCertPem);
  const logs: HostLogLine[] = [];
  const hosts = new Set<DrillHost>();
  const env: Record<string, string> = {
    AzureWebJobsStorage: azurite.connectionString,
    AZURE_RESOURCE_MANAGER_ENDPOINT: emulator.url,
    IDENTITY_ENDPOINT: emulator.identityEndpoint,
    IDENTITY_HEADER: emulator.identityHeader,
    NODE_EXTRA_CA_CERTS: caFile,
    AUTH_ISSUER: issuer.issuer,
    AUTH_AUDIENCE: issuer.audience,
    AUTH_JWKS_URI: issuer.jwksUri,
    WEBHOOK_ALLOWLIST: `127.0.0.1:${receiver.port}`,
    LOCAL_QUEUE_PROCESSING_VISIBILITY_SECONDS: String(DRILL_VISIBILITY_SECONDS),
    // Stable across host lives, as Key Vault keeps them in Azure (the local stack would generate new ones).
    WEBHOOK_SECRET_KEY: randomBytes(32).toString('base64'),
    SERVICENOW_CHANGE_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
    ...options.settings,
  };

  const startHost = async (): Promise<DrillHost> => {
    const child = fork(new URL('./crash-drill-host.ts', import.meta.url), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const apiUrl = await new Promise<string>((resolve, reject) => {
      child.on('message', (m: unknown) => {
        const msg = m as { type?: string; apiUrl?: string; functionName?: string; message?: string };
        if (msg.type === 'log') logs.push({ functionName: msg.functionName, message: msg.message ?? '' });
        if (msg.type === 'ready' && typeof msg.apiUrl === 'string') resolve(msg.apiUrl);
      });
      child.once('exit', (code) => reject(new Error(`the drill host exited (${String(code)}) before it was ready`)));
    });
    const host: DrillHost = {
      apiUrl,
      process: child,
      async kill() {
        child.kill('SIGKILL');
        await exited;
        hosts.delete(host);
      },
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
        hosts.delete(host);
      },
    };
    hosts.add(host);
    return host;
  };

  const tokens = new Map<string, string>();
  const api = async <T>(host: DrillHost, method: string, path: string, roles: readonly string[], body?: unknown): Promise<{ status: number; body: T }> => {
    const key = roles.join(' ');
    let token = tokens.get(key);
    if (token === undefined) {
      token = await issuer.mintToken({ roles });
      tokens.set(key, token);
    }
    const res = await fetch(`${host.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  };

  const table = (name: string): TableClient => TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true });
  const entities = async (name: string): Promise<TableEntity[]> => {
    const out: TableEntity[] = [];
    for await (const e of table(name).listEntities()) out.push(e as TableEntity);
    return out;
  };
  const historyEntities = async (): Promise<TableEntity[]> => {
    const service = TableServiceClient.fromConnectionString(azurite.connectionString, { allowInsecureConnection: true });
    const out: TableEntity[] = [];
    for await (const t of service.listTables()) if (t.name !== undefined && /^history\d{6}$/.test(t.name)) out.push(...(await entities(t.name)));
    return out;
  };

  return {
    azurite,
    emulator,
    issuer,
    receiver,
    received,
    logs,
    startHost,
    api,
    table,
    queue: (name) => new QueueClient(azurite.connectionString, name),
    entities,
    historyEntities,
    async stop() {
      for (const h of [...hosts]) await h.kill().catch(() => undefined);
      await receiver.close().catch(() => undefined);
      await emulator.stop().catch(() => undefined);
      await azurite.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

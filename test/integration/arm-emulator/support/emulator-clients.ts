/**
 * How tests talk to the emulator through the real SDKs.
 *
 * - TLS: the emulator's CA goes to SDK clients as `tlsOptions: { ca }` (Node reads
 *   `NODE_EXTRA_CA_CERTS` only at process start, so an in-process test cannot use it; a spawned
 *   child gets `emulator.env()`, which sets it).
 * - Identity: `ManagedIdentityCredential` picks the App Service source from `IDENTITY_ENDPOINT` +
 *   `IDENTITY_HEADER`; MSAL caches that source per process, so a test file uses one emulator.
 */
import { request } from 'node:https';
import { ManagedIdentityCredential } from '@azure/identity';
import type { ArmEmulator } from '../../../../local/arm-emulator/index.js';
import type { ArmConnection } from '../../../../adapters/arm/arm-client-options.js';

export function useEmulatorIdentity(emulator: ArmEmulator): ManagedIdentityCredential {
  process.env['IDENTITY_ENDPOINT'] = emulator.identityEndpoint;
  process.env['IDENTITY_HEADER'] = emulator.identityHeader;
  return new ManagedIdentityCredential();
}

/** Connection for the adapters; retry delays shortened (429 waits still follow Retry-After). */
export function emulatorConnection(emulator: ArmEmulator, credential = useEmulatorIdentity(emulator)): ArmConnection {
  return { endpoint: emulator.url, credential, caCertPem: emulator.caCertPem, retryOptions: { retryDelayInMs: 5, maxRetryDelayInMs: 20 } };
}

/** Options for constructing SDK clients directly in tests. */
export function sdkOptions(emulator: ArmEmulator): { endpoint: string; tlsOptions: { ca: string }; retryOptions: { retryDelayInMs: number; maxRetryDelayInMs: number } } {
  return { endpoint: emulator.url, tlsOptions: { ca: emulator.caCertPem }, retryOptions: { retryDelayInMs: 5, maxRetryDelayInMs: 20 } };
}

/** A raw HTTPS request to the emulator (for asserting exact wire bodies and status codes). */
export function rawArm(
  emulator: ArmEmulator,
  method: string,
  pathAndQuery: string,
  options: { token?: string | undefined; body?: unknown } = {},
): Promise<{ status: number; body: unknown; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request(
      new URL(pathAndQuery, emulator.url),
      {
        method,
        ca: emulator.caCertPem,
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : (JSON.parse(text) as unknown), headers: res.headers });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A token for raw requests, through the real credential. */
export async function armToken(credential: ManagedIdentityCredential, emulator: ArmEmulator): Promise<string> {
  const t = await credential.getToken(`${emulator.url}/.default`);
  if (!t) throw new Error('no token');
  return t.token;
}

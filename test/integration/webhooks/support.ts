/** Shared helpers of the webhook integration tests: loopback receivers and the change-event endpoint. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuditRecord, Clock } from '../../../application/ports.js';
import type { ApiRuntime, ApiServices } from '../../../adapters/http/api-runtime.js';
import type { ChangeEventReceiver } from '../../../application/servicenow-change-events.js';
import { receiveServiceNowChangeEvent } from '../../../functions/api-servicenow-change-events.js';
import { silentLogger } from '../../../application/logger.js';

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | undefined>;
  readonly body: string;
}

export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly received: ReceivedRequest[];
  stop(): Promise<void>;
}

/** A loopback HTTP receiver; `respond` decides each answer from the request and its index. */
export async function startReceiver(respond: (req: ReceivedRequest, index: number, res: ServerResponse) => void): Promise<Receiver> {
  const received: ReceivedRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      const r = { method: req.method ?? '', path: req.url ?? '', headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      respond(r, received.length - 1, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Calls the app's change-event operation (the same `Operation.handle` the Functions host runs) with a
 * runtime holding just the receiver; `audit` collects the records it writes.
 */
export function changeEventEndpoint(
  receiver: ChangeEventReceiver,
  options: { readonly maxBodyBytes: number; readonly clock?: Clock; readonly audit?: AuditRecord[] },
): (request: { readonly headers: { get(name: string): string | null }; readonly body: AsyncIterable<Uint8Array> | null }) => Promise<{ status: number; headers: Readonly<Record<string, string>>; body: string }> {
  const records = options.audit ?? [];
  const runtime: ApiRuntime = {
    services: { changeEvents: receiver } as Partial<ApiServices> as ApiServices,
    authenticator: { authenticate: () => Promise.reject(new Error('the change-event operation takes no bearer token')) },
    auditLog: { append: async (r) => void records.push(r), list: async () => ({ items: records, continuationToken: undefined }) },
    maxRequestBodyBytes: options.maxBodyBytes,
    clock: options.clock ?? { now: () => new Date() },
    newId: () => `audit-${records.length + 1}`,
    logger: silentLogger,
  };
  return async (request) => {
    const url = `http://127.0.0.1${receiveServiceNowChangeEvent.path}`;
    const response = await receiveServiceNowChangeEvent.handle({ method: 'POST', url, headers: request.headers, params: {}, body: request.body }, runtime);
    let body = '';
    if (typeof response.body === 'string') body = response.body;
    else if (response.body instanceof Uint8Array) body = Buffer.from(response.body).toString('utf8');
    else if (response.body !== undefined) for await (const chunk of response.body) body += Buffer.from(chunk).toString('utf8');
    return { status: response.status, headers: response.headers, body };
  };
}

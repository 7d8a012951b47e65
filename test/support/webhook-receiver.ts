/**
 * A webhook receiver on loopback for the e2e suites: records every request (headers joined as the
 * Standard Webhooks reference verifier reads them, the body as text, the arrival time in whole seconds
 * for the signature's timestamp tolerance) and answers 204.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  readonly headers: Record<string, string | undefined>;
  readonly body: string;
  readonly receivedAtSeconds: number;
}

export interface WebhookReceiver {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts a receiver that appends each request to `received` (the caller's array, so tests keep reading it directly). */
export async function startWebhookReceiver(received: ReceivedWebhook[]): Promise<WebhookReceiver> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]));
      received.push({ headers, body: Buffer.concat(chunks).toString('utf8'), receivedAtSeconds: Math.floor(Date.now() / 1000) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

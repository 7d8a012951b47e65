/** Shared helpers of the webhook integration tests: a fake clock, a capturing queue, loopback receivers. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock, InboundMessageIdStore, MessageQueue } from '../../../application/ports.js';

export class FakeClock implements Clock {
  constructor(private t: number) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(seconds: number): void {
    this.t += seconds * 1000;
  }
}

export class CapturingQueue<T> implements MessageQueue<T> {
  readonly sent: { message: T; delay: number | undefined }[] = [];
  async send(message: T, options: { visibilityDelaySeconds?: number } = {}): Promise<void> {
    this.sent.push({ message, delay: options.visibilityDelaySeconds });
  }
  async sendMany(messages: readonly T[]): Promise<void> {
    for (const m of messages) await this.send(m);
  }
  /** Removes and returns the oldest message. */
  take(): { message: T; delay: number | undefined } | undefined {
    return this.sent.shift();
  }
}

export class MemoryInboundIds implements InboundMessageIdStore {
  readonly ids = new Set<string>();
  async claim(source: string, id: string): Promise<boolean> {
    const key = `${source}|${id}`;
    if (this.ids.has(key)) return false;
    this.ids.add(key);
    return true;
  }
  async release(source: string, id: string): Promise<void> {
    this.ids.delete(`${source}|${id}`);
  }
}

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

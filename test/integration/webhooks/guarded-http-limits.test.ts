/**
 * The guarded client's limits against loopback servers: the connect timeout (a TLS handshake that never
 * completes), the whole-exchange timeout (headers sent, body never finished) and the response-size cap
 * (an endless body is cut at the cap and answered, not waited for). The other limits are generous, so
 * each test can only pass through the limit it is about.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GuardedHttpClient } from '../../../adapters/webhooks/guarded-http-client.js';
import { parseAllowlist } from '../../../domain/webhook-ssrf.js';

const allowlist = parseAllowlist(['127.0.0.1']).allowlist;
const LONG = 20_000;
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function listen(server: Server | TcpServer, sockets: Set<Socket>): Promise<number> {
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

describe('guarded HTTP client limits', () => {
  it('gives up when the connection is not established within the connect timeout', async () => {
    // Accepts TCP but never answers the TLS ClientHello: an https connection never completes.
    const sockets = new Set<Socket>();
    const port = await listen(createTcpServer(() => undefined), sockets);
    const client = new GuardedHttpClient({ allowlist, connectTimeoutMs: 150, responseTimeoutMs: LONG });
    const result = await client.request({ method: 'POST', url: `https://127.0.0.1:${port}/hook`, headers: {}, body: '{}' });
    expect(result).toEqual({ kind: 'network', error: 'could not connect within 150 ms' });
  });

  it('gives up when the whole exchange does not finish within the response timeout', async () => {
    const sockets = new Set<Socket>();
    const server = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial'); // …and never ends
    });
    const port = await listen(server, sockets);
    const client = new GuardedHttpClient({ allowlist, connectTimeoutMs: LONG, responseTimeoutMs: 200 });
    const result = await client.request({ method: 'POST', url: `http://127.0.0.1:${port}/hook`, headers: {}, body: '{}' });
    expect(result).toEqual({ kind: 'network', error: 'no complete response within 200 ms' });
  });

  it('reads at most maxResponseBytes of a body and answers without waiting for the rest', async () => {
    const sockets = new Set<Socket>();
    let written = 0;
    const server = createHttpServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain', 'retry-after': '7' });
      const chunk = 'x'.repeat(16 * 1024);
      // An endless body: only the cap can end the read before the (long) response timeout.
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk)) written += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    const port = await listen(server, sockets);
    const client = new GuardedHttpClient({ allowlist, connectTimeoutMs: LONG, responseTimeoutMs: LONG, maxResponseBytes: 1000 });
    const result = await client.request({ method: 'POST', url: `http://127.0.0.1:${port}/hook`, headers: {}, body: '{}' });
    expect(result).toMatchObject({ kind: 'response', status: 500, retryAfter: '7' });
    expect(result.kind === 'response' ? result.body : '').toBe('x'.repeat(1000));
    expect(written).toBeGreaterThan(1000);
  });

  it('keeps 64 KiB by default', async () => {
    const sockets = new Set<Socket>();
    const server = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('y'.repeat(200 * 1024));
    });
    const port = await listen(server, sockets);
    const result = await new GuardedHttpClient({ allowlist }).request({ method: 'GET', url: `http://127.0.0.1:${port}/`, headers: {} });
    expect(result.kind === 'response' ? result.body.length : -1).toBe(64 * 1024);
  });
});

/**
 * The local runtime with HTTP streaming on (`app.setup({ enableHttpStream: true })`): requests reach the
 * function through the library's own proxy server, as the Functions host forwards them, and responses
 * come back as they are produced: the first bytes arrive while the producer is still blocked, and a
 * response far larger than the memory it may use passes through without being buffered.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFunctionsHost, type HostLogEntry, type RunningFunctionsHost } from '../../../local/functions-runtime/index.js';
import { streamProbe } from '../../fixtures/functions-app/stream-probe.js';

const ENTRY = 'test/fixtures/functions-app/stream-functions.ts';
const MiB = 1024 * 1024;

describe('local Functions runtime: HTTP streaming', () => {
  let host: RunningFunctionsHost;
  const logs: HostLogEntry[] = [];
  const api = (path: string): string => `${host.url}/api/${path}`;

  beforeAll(async () => {
    host = await startFunctionsHost({ entry: ENTRY, port: 0, hostJson: { version: '2.0' }, maxRequestBodyBytes: 1024, logger: (e) => logs.push(e) });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('serves route parameters, query, headers, body bytes and cookies through the proxy', async () => {
    const item = await fetch(api('items/42'));
    expect(item.status).toBe(200);
    expect(await item.json()).toMatchObject({ id: '42', fn: 'getItem' });
    expect(await (await fetch(api('files/a/b/c.txt?q=1'))).json()).toEqual({ path: 'a/b/c.txt', q: '1' });

    const echo = await fetch(api('echo?x=1'), { method: 'POST', body: 'raw body bytes', headers: { 'content-type': 'text/plain', 'x-custom': 'custom value', 'x-ms-invocation-id': 'client-chosen' } });
    expect(echo.status).toBe(201);
    expect(await echo.text()).toBe('raw body bytes');
    expect(echo.headers.get('x-echo-header')).toBe('custom value');
    expect(echo.headers.get('x-method')).toBe('POST');
    // The URL the function sees is the one the client asked for (X-Forwarded-Host/-Proto), not the proxy's.
    expect(echo.headers.get('x-url')).toBe(api('echo?x=1'));
    expect(echo.headers.get('set-cookie')).toMatch(/^session=abc; Path=\/; HttpOnly/);
    // The client's own correlation header is replaced by the invocation's id.
    expect(echo.headers.get('x-ms-invocation-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps 404, 405, 500 and the body limit as without streaming', async () => {
    expect((await fetch(api('nope/at/all'))).status).toBe(404);
    expect((await fetch(api('items/42'), { method: 'PUT' })).status).toBe(405);
    const boom = await fetch(api('boom'));
    expect(boom.status).toBe(500);
    expect(await boom.text()).toBe('');
    expect(logs.some((l) => /Executed 'Functions\.boom' \(Failed/.test(l.message))).toBe(true);
    const tooLarge = await fetch(api('echo'), { method: 'POST', body: 'x'.repeat(2048) });
    expect(tooLarge.status).toBe(413);
  });

  it('delivers the first chunk while the producer is still blocked', async () => {
    const state = streamProbe();
    const res = await fetch(api('stream/gated'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('first line\n');
    // The response has started, yet the function has not finished producing it.
    expect(state.waiting).toBe(true);
    expect(state.finished).toBe(false);
    state.release();
    let rest = '';
    for (let next = await reader.read(); !next.done; next = await reader.read()) rest += new TextDecoder().decode(next.value);
    expect(rest).toBe('second line\n');
    expect(state.finished).toBe(true);
  });

  it('streams a 128 MiB body: what is in flight stays bounded, not the size of the body', async () => {
    // The library writes each chunk to its proxy socket without waiting for 'drain', so a producer that
    // never yields to the event loop would be buffered by the library; this one is I/O-paced like a
    // real one (the app adds real backpressure on top: adapters/http/worker-http-stream.ts).
    const size = 128;
    const baseline = process.memoryUsage.rss();
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 5);
    let received = 0;
    let maxInFlight = 0;
    try {
      await new Promise<void>((resolve, reject) => {
        httpRequest(api(`stream/big/${size}`), (res) => {
          if (res.statusCode !== 200 || res.headers['transfer-encoding'] !== 'chunked') {
            reject(new Error(`status ${String(res.statusCode)}, transfer-encoding ${String(res.headers['transfer-encoding'])}`));
            return;
          }
          res.on('data', (chunk: Buffer) => {
            received += chunk.length;
            maxInFlight = Math.max(maxInFlight, streamProbe().produced - received);
          });
          res.on('end', resolve);
          res.on('error', reject);
        })
          .on('error', reject)
          .end();
      });
    } finally {
      clearInterval(sampler);
    }
    expect(received).toBe(size * MiB);
    // Produced but not yet received, at any time: what socket buffers hold (the kernel's grow to a few
    // MiB on loopback), never the body.
    expect(maxInFlight).toBeLessThan(32 * MiB);
    // RSS also covers garbage not yet collected (every chunk is a fresh 64 KiB), so its bound is looser.
    expect((peak - baseline) / MiB).toBeLessThan(size / 2);
  }, 60_000);

  /** Reads the first chunk, then stops reading for `pauseMs` (a slow client), then reads the rest. */
  async function readWithPause(path: string, pauseMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      httpRequest(api(path), (res) => {
        let received = 0;
        res.once('data', () => {
          res.pause();
          setTimeout(() => res.resume(), pauseMs);
        });
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
        });
        res.on('end', () => resolve(received));
        res.on('error', reject);
      })
        .on('error', reject)
        .end();
    });
  }

  it('a client that stops reading holds the producer back when the app paces its body; the library alone would not', async () => {
    expect(await readWithPause('stream/fast/32?paced=1', 300)).toBe(32 * MiB);
    // Paced: what waits unsent in the worker is about one chunk, whatever the size of the body.
    expect(streamProbe().maxBacklog).toBeLessThan(1 * MiB);
    // Without pacing the library writes chunk after chunk into its proxy response without waiting for
    // 'drain': most of the body waits in the worker's memory.
    expect(await readWithPause('stream/fast/32', 300)).toBe(32 * MiB);
    expect(streamProbe().maxBacklog).toBeGreaterThan(16 * MiB);
  });
});

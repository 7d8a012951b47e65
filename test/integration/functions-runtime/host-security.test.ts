/**
 * What keeps the local host from being an open door: it listens on loopback by default, the admin API
 * (`/admin/*`) needs the master key as the real host's does, and request bodies are capped like the
 * host's `FUNCTIONS_REQUEST_BODY_SIZE_LIMIT` (413 beyond it, before any function runs).
 */
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFunctionsHost, type HostLogEntry, type RunningFunctionsHost } from '../../../local/functions-runtime/index.js';

const ENTRY = 'test/fixtures/functions-app/http-functions.ts';
const LIMIT = 1024;
const KEY = 'local-test-master-key';

/** A non-loopback IPv4 address of this machine, if it has one. */
function lanAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

describe('local Functions runtime: binding, admin key and request size limit', () => {
  let host: RunningFunctionsHost;
  const logs: HostLogEntry[] = [];
  const executions = (fn: string): number => logs.filter((l) => l.message.startsWith(`Executing 'Functions.${fn}'`)).length;

  beforeAll(async () => {
    // Both through the host's own settings (no options): the override paths npm start relies on.
    process.env['FUNCTIONS_REQUEST_BODY_SIZE_LIMIT'] = String(LIMIT);
    process.env['LOCAL_FUNCTIONS_MASTER_KEY'] = KEY;
    host = await startFunctionsHost({ entry: ENTRY, port: 0, hostJson: { version: '2.0' }, logger: (e) => logs.push(e) });
  });
  afterAll(async () => {
    await host?.stop();
    delete process.env['FUNCTIONS_REQUEST_BODY_SIZE_LIMIT'];
    delete process.env['LOCAL_FUNCTIONS_MASTER_KEY'];
  });

  it('listens on 127.0.0.1 only by default', async () => {
    expect(host.hostname).toBe('127.0.0.1');
    expect(host.url).toBe(`http://127.0.0.1:${host.port}`);
    expect((await fetch(`${host.url}/api/health`)).status).toBe(200);
    const lan = lanAddress();
    if (lan !== undefined) await expect(fetch(`http://${lan}:${host.port}/api/health`)).rejects.toThrow();
  });

  it('takes the master key from LOCAL_FUNCTIONS_MASTER_KEY and the body limit from FUNCTIONS_REQUEST_BODY_SIZE_LIMIT', () => {
    expect(host.masterKey).toBe(KEY);
    expect(host.maxRequestBodyBytes).toBe(LIMIT);
  });

  it('answers 401 on /admin/* without the master key or with a wrong one', async () => {
    const paths = ['/admin/functions/echo', '/admin/functions/anything', '/admin/host/status', '/ADMIN/functions/echo'];
    for (const path of paths) {
      expect((await fetch(`${host.url}${path}`, { method: 'POST', body: '{}' })).status, path).toBe(401);
      expect((await fetch(`${host.url}${path}`, { method: 'POST', body: '{}', headers: { 'x-functions-key': 'wrong' } })).status, path).toBe(401);
      expect((await fetch(`${host.url}${path}?code=wrong`, { method: 'POST', body: '{}' })).status, path).toBe(401);
    }
    expect((await fetch(`${host.url}/admin/functions/echo`)).status).toBe(401);
  });

  it('accepts the master key as x-functions-key or ?code= (then 404: no such non-HTTP function)', async () => {
    const viaHeader = await fetch(`${host.url}/admin/functions/nope`, { method: 'POST', body: '{}', headers: { 'x-functions-key': KEY } });
    expect(viaHeader.status).toBe(404);
    const viaQuery = await fetch(`${host.url}/admin/functions/nope?code=${encodeURIComponent(KEY)}`, { method: 'POST', body: '{}' });
    expect(viaQuery.status).toBe(404);
    // HTTP functions are not run through the admin API.
    expect((await fetch(`${host.url}/admin/functions/echo`, { method: 'POST', body: '{}', headers: { 'x-functions-key': KEY } })).status).toBe(404);
  });

  it('runs an HTTP function with a body at the limit and answers 413 one byte over, without invoking it', async () => {
    const atLimit = await fetch(`${host.url}/api/echo`, { method: 'POST', body: Buffer.alloc(LIMIT, 1) });
    expect(atLimit.status).toBe(201);
    expect((await atLimit.arrayBuffer()).byteLength).toBe(LIMIT);
    const before = executions('echo');
    const over = await fetch(`${host.url}/api/echo`, { method: 'POST', body: Buffer.alloc(LIMIT + 1, 1) });
    expect(over.status).toBe(413);
    expect(executions('echo')).toBe(before);
  });

  it('answers 413 to a chunked body that grows past the limit (no content-length to check up front)', async () => {
    const before = executions('echo');
    const chunk = new Uint8Array(LIMIT / 2 + 10);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(chunk);
        controller.enqueue(chunk);
        controller.close();
      },
    });
    const res = await fetch(`${host.url}/api/echo`, { method: 'POST', body, duplex: 'half' });
    expect(res.status).toBe(413);
    expect(executions('echo')).toBe(before);
  });

  it('applies the same limit to admin requests that carry the key', async () => {
    const res = await fetch(`${host.url}/admin/functions/nope`, {
      method: 'POST',
      body: JSON.stringify({ input: 'x'.repeat(LIMIT) }),
      headers: { 'x-functions-key': KEY },
    });
    expect(res.status).toBe(413);
  });

  it('keeps serving after refusing oversized bodies', async () => {
    expect((await fetch(`${host.url}/api/health`)).status).toBe(200);
  });
});

describe('local Functions runtime: an empty master key', () => {
  it('refuses to start, since a request with no key at all would match it', async () => {
    let started: RunningFunctionsHost | undefined;
    let refusal: unknown;
    try {
      started = await startFunctionsHost({ entry: ENTRY, port: 0, hostJson: { version: '2.0' }, masterKey: '', logger: () => undefined }).catch((error: unknown) => {
        refusal = error;
        return undefined;
      });
      if (started !== undefined) {
        // Had it started, the admin API would take a call without any key.
        const res = await fetch(`${started.url}/admin/functions/nope`, { method: 'POST', body: '{}' });
        expect(res.status, 'admin API reachable without a key').toBe(401);
      }
      expect(String(refusal)).toMatch(/master key must not be empty/);
    } finally {
      await started?.stop();
    }
  });
});

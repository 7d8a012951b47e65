import { app } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureRegistrations, startFunctionsHost, type HostLogEntry, type RunningFunctionsHost } from '../../../local/functions-runtime/index.js';
import { probe } from '../../fixtures/functions-app/probe.js';

const ENTRY = 'test/fixtures/functions-app/http-functions.ts';

describe('local Functions runtime: HTTP triggers', () => {
  let host: RunningFunctionsHost;
  const logs: HostLogEntry[] = [];
  const api = (path: string): string => `${host.url}/api/${path}`;

  beforeAll(async () => {
    host = await startFunctionsHost({ entry: ENTRY, port: 0, hostJson: { version: '2.0' }, logger: (e) => logs.push(e) });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('captures the registrations with the library-built binding metadata', async () => {
    const registrations = await captureRegistrations(ENTRY);
    const getItem = registrations.find((r) => r.name === 'getItem');
    const trigger = Object.values(getItem?.bindings ?? {}).find((b) => b.type === 'httpTrigger');
    expect(trigger).toMatchObject({ direction: 'in', route: 'items/{id}', methods: ['GET', 'DELETE'], authLevel: 'anonymous' });
    expect(getItem?.bindings['$return']).toMatchObject({ type: 'http', direction: 'out' });
    expect(registrations.map((r) => r.name)).toEqual(host.registrations.map((r) => r.name));
    expect(registrations.map((r) => r.name)).toContain('echo');
  });

  it('runs appStart hooks before serving', async () => {
    const response = await fetch(api('health'));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ appStarted: 1 });
    expect(probe().appStarted).toBe(1);
  });

  it('binds route parameters; literal segments (case-insensitive) win over parameters', async () => {
    const item = await fetch(api('items/42'));
    expect(item.status).toBe(200);
    expect(item.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await item.json()) as { id: string; fn: string; invocationId: string };
    expect(body).toMatchObject({ id: '42', fn: 'getItem' });
    expect(body.invocationId).toMatch(/^[0-9a-f-]{36}$/);

    expect(await (await fetch(api('items/special'))).text()).toBe('literal wins');
    expect(await (await fetch(api('ITEMS/Special'))).text()).toBe('literal wins');
    expect(await (await fetch(api('items/a%20b/part-1'))).text()).toBe('a b:part-1');
  });

  it('supports a final catch-all parameter', async () => {
    expect(await (await fetch(api('files/a/b/c.txt?q=1'))).json()).toEqual({ path: 'a/b/c.txt', q: '1' });
    expect(await (await fetch(api('files'))).json()).toEqual({ path: null, q: null });
  });

  it('answers 404 for unknown routes and 405 with Allow for wrong methods', async () => {
    expect((await fetch(api('nope/at/all'))).status).toBe(404);
    expect((await fetch(`${host.url}/health`)).status).toBe(404); // outside the route prefix
    const wrong = await fetch(api('items/42'), { method: 'PUT' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('DELETE, GET');
    expect((await fetch(api('items/7'), { method: 'DELETE' })).status).toBe(200);
  });

  it('passes raw body bytes and headers through, and returns status, headers, cookies and bytes', async () => {
    const payload = Buffer.from([0, 1, 2, 250, 251, 252, 255]);
    const response = await fetch(api('echo?x=1'), {
      method: 'POST',
      body: payload,
      headers: { 'content-type': 'application/x-test', 'x-custom': 'hello' },
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toBe('application/x-test');
    expect(response.headers.get('x-echo-header')).toBe('hello');
    expect(response.headers.get('x-method')).toBe('POST');
    expect(response.headers.get('x-url')).toBe(`${api('echo')}?x=1`);
    expect(response.headers.get('set-cookie')).toBe('session=abc; Path=/; HttpOnly');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(payload);
  });

  it('refuses the hooks it does not run (appStart is the only one) instead of ignoring them', () => {
    expect(() => app.hook.preInvocation(() => undefined)).toThrow(/"preInvocation" hooks are not supported by the local runtime/);
    expect(() => app.hook.postInvocation(() => undefined)).toThrow(/not supported by the local runtime/);
    expect(() => app.hook.appTerminate(() => undefined)).toThrow(/not supported by the local runtime/);
    expect(() => app.hook.log(() => undefined)).toThrow(/not supported by the local runtime/);
  });

  it('defaults the route to the function name', async () => {
    expect(await (await fetch(api('noRoute'))).text()).toBe('route defaults to the function name');
  });

  it('answers 500 when the handler throws, 204 when it returns nothing, and logs both', async () => {
    const failed = await fetch(api('boom'));
    expect(failed.status).toBe(500);
    expect(await failed.text()).toBe('');
    expect((await fetch(api('nothing'))).status).toBe(204);
    const userLog = logs.find((l) => l.category === 'user' && l.message === 'about to fail');
    expect(userLog).toMatchObject({ level: 'error', functionName: 'boom' });
    const executed = logs.find((l) => l.functionName === 'boom' && l.message.startsWith("Executed 'Functions.boom' (Failed"));
    expect(executed?.message).toMatch(/Id=[0-9a-f-]{36}, Duration=\d+ms\)$/);
    expect(executed?.invocationId).toBe(userLog?.invocationId);
  });
});

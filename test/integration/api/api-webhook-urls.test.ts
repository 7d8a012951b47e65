/**
 * Webhook URLs through the API, in process: IPv6 forms carrying a refused IPv4 address are refused at
 * creation, and a name that resolves to one is refused again at delivery; URLs with control characters,
 * whitespace or backslashes are refused, and the others are stored and returned normalised.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_APP_ROLES } from '../../../adapters/http/app-roles.js';
import { documented, type ErrorBody } from '../../support/api-expect.js';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';

let h: ApiHarness;
let manage: string;

beforeAll(async () => {
  h = await startApiHarness();
  manage = await h.token(ALL_APP_ROLES, { oid: 'webhook-url-caller' });
});
afterAll(async () => h?.stop());

const create = (url: string) => h.request('POST', '/api/v1/webhooks', { token: manage, body: { url, events: ['*'] } });

async function expectRefused(url: string, message: RegExp): Promise<void> {
  const before = h.ports.webhookSubscriptions.items.size;
  const res = await create(url);
  expect(res.status, url).toBe(400);
  const body = (await documented('createWebhook', res)) as ErrorBody;
  expect(body.error, url).toMatchObject({ code: 'InvalidRequest', target: 'url' });
  expect([body.error.message, ...(body.error.details ?? []).map((d) => d.message)].join(' | '), url).toMatch(message);
  expect(h.ports.webhookSubscriptions.items.size, url).toBe(before);
}

describe('IPv6 forms carrying an internal IPv4 address', () => {
  it.each([
    ['https://[::ffff:0:a9fe:a9fe]/', /metadata/], // IPv4-translated
    ['https://[::ffff:0:7f00:1]/', /loopback/],
    ['https://[64:ff9b:1::a9fe:a9fe]/', /metadata/], // NAT64 local-use
    ['https://[64:ff9b:1:7f00:0:100::]/', /reserved/],
    ['https://[64:ff9b::10.0.0.1]/', /private/],
    ['https://[::169.254.169.254]/', /metadata/],
    ['https://[2002:a9fe:a9fe::1]/', /metadata/],
    ['https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/', /loopback/], // Teredo client 127.0.0.1
    ['https://[fe80::5efe:a9fe:a9fe]/', /metadata/], // ISATAP
  ])('%s is refused at creation and nothing is stored', async (url, message) => {
    await expectRefused(url, message);
  });

  it('a name resolving to one at delivery time is refused then, and nothing is sent', async () => {
    const res = await create('https://hooks.example.com/rebind');
    expect(res.status).toBe(201);
    const { webhook } = (await res.json()) as { webhook: { id: string } };
    const sent = h.ports.webhookHttp.requests.length;
    for (const address of ['::ffff:0:a9fe:a9fe', '64:ff9b:1::a9fe:a9fe', '::ffff:0:7f00:1']) {
      h.ports.webhookResolver.hosts.set('hooks.example.com', ['93.184.215.14', address]);
      const result = await h.ports.webhookHttp.request({ method: 'POST', url: 'https://hooks.example.com/rebind', headers: {}, body: '{}' });
      expect(result, address).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/metadata|loopback/) });
    }
    expect(h.ports.webhookHttp.requests.length).toBe(sent);
    h.ports.webhookResolver.hosts.set('hooks.example.com', ['93.184.215.14']);
    expect(h.ports.webhookSubscriptions.items.has(webhook.id)).toBe(true);
  });
});

describe('URL text', () => {
  it.each([
    'http://hooks.example.com/a\r\nX-Inj: 1',
    'https://hooks.example.com/a\nb',
    'https://hooks.example.com/a\tb',
    'https://hooks.example.com/a b',
    ' https://hooks.example.com/a',
    'https://hooks.example.com/a\u00a0',
    'https://hooks.example.com/a\u2028b',
    'https://hooks.example.com/\u0000',
    'https://hooks.example.com/\u007f',
    'https://hooks.example.com/\u0085',
    'https://127.0.0.1:34885\\@169.254.169.254/',
    'https://hooks.example.com\\@evil.example/',
    'https://hooks.example.com/a\\b',
  ])('%j is refused (control characters, whitespace, backslashes)', async (url) => {
    await expectRefused(url, /control characters|whitespace|backslash/);
  });

  it('a URL stored before the rule is refused at delivery, and nothing is sent', async () => {
    const sent = h.ports.webhookHttp.requests.length;
    for (const url of ['https://hooks.example.com/a\r\nX-Inj: 1', 'https://hooks.example.com\\@169.254.169.254/']) {
      const result = await h.ports.webhookHttp.request({ method: 'POST', url, headers: {}, body: '{}' });
      expect(result, url).toEqual({ kind: 'refused', reason: 'the URL contains control characters, whitespace or backslashes' });
    }
    expect(h.ports.webhookHttp.requests.length).toBe(sent);
  });

  it('is stored and returned as the normalised URL.href', async () => {
    for (const [sent, normalised] of [
      ['HTTPS://Hooks.Example.COM:443/a/./b/../c?x=1#f', 'https://hooks.example.com/a/c?x=1#f'],
      ['https://hooks.example.com', 'https://hooks.example.com/'],
      ['https://hooks.example.com/caf\u00e9?q=\u00e9', 'https://hooks.example.com/caf%C3%A9?q=%C3%A9'],
    ] as const) {
      const res = await create(sent);
      expect(res.status, sent).toBe(201);
      const { webhook } = (await documented('createWebhook', res)) as { webhook: { id: string; url: string } };
      expect(webhook.url).toBe(normalised);
      expect(h.ports.webhookSubscriptions.items.get(webhook.id)?.url).toBe(normalised);
      const read = await h.request('GET', `/api/v1/webhooks/${webhook.id}`, { token: manage });
      expect(((await documented('getWebhook', read)) as { url: string }).url).toBe(normalised);
    }
  });
});

/**
 * The API reference page in headless Debian Chromium (never a downloaded browser): it loads from our
 * own origin only, logs no console errors and lists the operations of the document. Served by the
 * local Functions runtime (the real `functions/api-service.ts` registrations on the host).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { listDocumentedOperations } from '../../adapters/http/validation.js';
import { createApiClient, type ApiClient } from '../support/api-harness.js';
import { startE2eStack, type E2eStack } from '../support/e2e-stack.js';

let e: E2eStack;
let h: ApiClient;
let browser: Browser;

beforeAll(async () => {
  e = await startE2eStack();
  h = createApiClient(new URL(e.stack.apiUrl).origin, e.stack.issuer!);
  browser = await chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});
afterAll(async () => {
  await browser?.close();
  await e?.stop();
});

it('loads Swagger UI with no console errors and lists every operation', async () => {
  const page = await browser.newPage();
  const problems: string[] = [];
  const foreign: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('request', (r) => {
    if (!r.url().startsWith(h.url) && !r.url().startsWith('data:')) foreign.push(r.url());
  });
  const res = await page.goto(`${h.url}/api/docs`);
  expect(res?.status()).toBe(200);
  expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
  await page.waitForSelector('.opblock', { timeout: 20_000 });
  const operationIds = listDocumentedOperations().map((o) => o.operationId);
  const summaries = await page.$$eval('.opblock-summary-path', (els) => els.map((e) => e.getAttribute('data-path') ?? e.textContent ?? ''));
  const count = await page.locator('.opblock').count();
  expect(count).toBe(operationIds.length);
  expect(summaries).toContain('/api/v1/clusters');
  expect(await page.locator('.title').first().textContent()).toContain('arc-compliance API');
  expect(problems).toEqual([]);
  expect(foreign).toEqual([]);
});

it('serves only allow-listed assets', async () => {
  expect((await h.request('GET', '/api/docs/package.json')).status).toBe(404);
  for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) expect((await h.request('GET', `/api/docs/${name}`)).status, name).toBe(404);
  expect((await h.request('GET', '/api/docs/..%2Fpackage.json')).status).toBe(400);
  const css = await h.request('GET', '/api/docs/swagger-ui.css');
  expect(css.status).toBe(200);
  expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
});

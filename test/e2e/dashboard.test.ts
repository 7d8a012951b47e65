/**
 * The posture dashboard in Debian's Chromium, against the whole local stack after an evaluation run:
 * a person signs in through the local issuer (authorization code + PKCE, the same MSAL code path as in
 * Azure), every view renders the API's own figures, axe-core finds no serious or critical violation,
 * nothing logs a console error or calls another origin, text stored through the API stays text, and a
 * 401 or 403 is shown for what it is. Screenshots go to test-results/dashboard/ (and to docs/images/
 * with UPDATE_DOCS_SCREENSHOTS=1).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ensureDashboardBuilt } from '../../dashboard/build.js';
import { formatInt, formatScore, formatShare } from '../../dashboard/src/format.js';
import { roleSetName } from '../../local/token-issuer-interactive.js';
import { startE2eStack, type E2eStack } from '../support/e2e-stack.js';
import { launchChromium, newPersonContext, seriousAxeViolations, signIn, viewReady, watchPage, type PageWatch } from '../support/dashboard-browser.js';

const SHOTS = [join('test-results', 'dashboard'), ...(process.env['UPDATE_DOCS_SCREENSHOTS'] === '1' ? [join('docs', 'images')] : [])];
const ALL = ['Compliance.Read', 'Compliance.Evaluate', 'Compliance.Exempt', 'Remediation.Run', 'Enforcement.Manage', 'Enforcement.Approve', 'Webhooks.Manage', 'Audit.Read'];

let e: E2eStack;
let origin: string;
let dashboardUrl: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;

async function screenshot(p: Page, name: string): Promise<void> {
  for (const dir of SHOTS) {
    mkdirSync(dir, { recursive: true });
    await p.screenshot({ path: join(dir, `dashboard-${name}.png`), fullPage: true });
  }
}

async function figure(p: Page, key: string): Promise<string> {
  return ((await p.locator(`[data-figure="${key}"]`).first().textContent()) ?? '').trim();
}

async function visit(view: string, query = ''): Promise<void> {
  await page.goto(`${dashboardUrl}#view=${view}${query}`);
  await viewReady(page, view);
}

beforeAll(async () => {
  ensureDashboardBuilt();
  e = await startE2eStack();
  origin = new URL(e.stack.apiUrl).origin;
  dashboardUrl = `${e.stack.apiUrl}/dashboard`;
  await e.timerRun();
  browser = await launchChromium();
  context = await newPersonContext(browser);
  page = await context.newPage();
  watch = watchPage(page, origin);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await e?.stop();
});

describe('the page shell', () => {
  it('is anonymous, with a CSP allowing scripts and styles from this origin only and the issuer for sign-in', async () => {
    const res = await fetch(dashboardUrl);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("style-src 'self';");
    expect(csp).toContain(`connect-src 'self' ${new URL(e.stack.issuer!.issuer).origin};`);
    expect(csp).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=/);
    expect((await fetch(`${dashboardUrl}/manifest.json`)).status).toBe(404);
    expect((await fetch(`${dashboardUrl}/constructor`)).status).toBe(404);
    expect((await fetch(`${dashboardUrl}/..%2Fpackage.json`)).status).toBe(400);
    const script = /src="\/api\/dashboard\/([^"]+\.js)"/.exec(html)?.[1];
    const asset = await fetch(`${dashboardUrl}/${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toContain('immutable');
  });
});

describe('signed in as all roles', () => {
  it('signs in through the local issuer: one button per role set, named as npm start prints them', async () => {
    await page.goto(dashboardUrl);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL((u) => u.pathname.endsWith('/oauth2/v2.0/authorize'));
    const authorize = new URL(page.url());
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('response_type')).toBe('code');
    const names = await page.getByRole('button').allTextContents();
    expect(names.map((n) => n.trim())).toEqual(e.stack.issuer!.clients.map((c) => roleSetName(c)));
    expect(names).toContain('all roles');
    expect(names).toContain('Compliance.Read');
    await page.getByRole('button', { name: 'all roles', exact: true }).click();
    await viewReady(page, 'overview');
    expect(new URL(page.url()).hash).toBe('');
    watch.reset();
  });

  it('Overview shows the figures of /api/v1/summary', async () => {
    await visit('overview');
    const summary = (await e.api<{ totals: { clusters: number; compliant: number; noncompliant: number; averageScore: number } }>('/v1/summary')).body;
    const t = summary.totals;
    expect(await figure(page, 'clusters')).toBe(formatInt(t.clusters));
    expect(await figure(page, 'compliant-share')).toBe(formatShare(t.compliant, t.clusters));
    expect(await figure(page, 'average-score')).toBe(formatScore(t.averageScore));
    expect(await figure(page, 'noncompliant')).toBe(formatInt(t.noncompliant));
    const runs = (await e.api<{ value: { status: string }[] }>('/v1/evaluations?top=1')).body;
    expect(await figure(page, 'last-run-status')).toContain(runs.value[0]!.status);
    for (const name of ['Overview', 'Clusters']) await expect(page.getByRole('link', { name, exact: true }).count()).resolves.toBe(1);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, 'overview');
  });

  it('Clusters lists the API page; a cluster shows its controls, drift timeline and the exceptions that apply, stored markup as text', async () => {
    await page.getByRole('link', { name: 'Clusters', exact: true }).click();
    await viewReady(page, 'clusters');
    const listed = (await e.api<{ value: { id: string; name: string; score: number }[] }>('/v1/clusters?top=100')).body.value;
    const rows = page.locator('table tbody tr');
    expect(await rows.count()).toBe(listed.length);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, 'clusters');

    const target = listed[0]!;
    const markup = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script><b>bold</b>';
    const created = await fetch(`${e.stack.apiUrl}/v1/exceptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await e.stack.issuer!.mintToken({ roles: ALL })}`, 'content-type': 'application/json' },
      body: JSON.stringify({ controlId: 'ARC-TD-01', scope: target.id, justification: markup, ticket: '<i>CHG0001</i>', expiresAt: new Date(Date.now() + 20 * 86_400_000).toISOString() }),
    });
    expect(created.status).toBe(201);

    await page.getByRole('link', { name: target.name, exact: true }).click();
    await viewReady(page, 'cluster');
    expect(await figure(page, 'cluster-score')).toBe(formatScore(target.score));
    await expect(page.getByText(markup, { exact: true }).count()).resolves.toBe(1);
    await expect(page.getByText('<i>CHG0001</i>', { exact: true }).count()).resolves.toBe(1);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(await page.locator('main img, main script, main b, main i').count()).toBe(0);
    expect(await page.getByRole('table', { name: 'Status per control and night' }).count()).toBe(1);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, 'cluster');
  });

  it('works at 390×844 and in dark mode', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await visit('overview');
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'overview-mobile');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize({ width: 1280, height: 800 });
    await visit('overview');
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, 'overview-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('logged no console error and called no other origin on any view', () => {
    expect(watch.consoleErrors).toEqual([]);
    expect(watch.foreignRequests).toEqual([]);
  });

  it('a 401 from the API sends the person back to sign-in', async () => {
    await page.route('**/api/v1/summary', (route) => route.fulfill({ status: 401, contentType: 'application/json', body: '{"error":{"code":"Unauthorized","message":"expired"}}' }));
    await page.goto(dashboardUrl);
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('Sign in again');
    await page.unroute('**/api/v1/summary');
  });
});

describe('signed in without Compliance.Read', () => {
  it('names the missing app role instead of showing a blank view', async () => {
    const other = await newPersonContext(browser);
    const p = await other.newPage();
    await signIn(p, dashboardUrl, 'Audit.Read');
    await expect(p.getByRole('alert').textContent()).resolves.toContain('Compliance.Read');
    await other.close();
  });
});

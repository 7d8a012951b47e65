/**
 * The posture dashboard in Debian's Chromium, against the whole local stack after an evaluation run:
 * a person signs in through the local issuer (authorization code + PKCE, the same MSAL code path as in
 * Azure), every view renders the API's own figures, axe-core finds no serious or critical violation,
 * nothing logs a console error or calls another origin, text stored through the API stays text, and a
 * 401 or 403 is shown for what it is. Screenshots go to test-results/dashboard/ (and to docs/images/
 * with UPDATE_DOCS_SCREENSHOTS=1).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ensureDashboardBuilt } from '../../dashboard/build.js';
import { cellText, formatInt, formatScore, formatShare } from '../../dashboard/src/format.js';
import { roleSetName } from '../../local/token-issuer-interactive.js';
import { startE2eStack, type E2eStack } from '../support/e2e-stack.js';
import { demoFleetWithExtensionFindings } from '../support/remediation-fleet.js';
import { DefaultAzureCredential } from '@azure/identity';
import { ArmPolicyAdmin } from '../../adapters/arm/policy-admin.js';
import { POLICY_IDS } from '../../domain/control-catalog.js';
import { DEMO_SUBSCRIPTIONS } from '../../local/arm-emulator/fleet/index.js';
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

/** Chromium reports every 4xx answer as a console error: drop the one a test provoked on purpose. */
function forgetExpected(pattern: RegExp): void {
  const i = watch.consoleErrors.findIndex((m) => pattern.test(m));
  expect(i, `expected console message ${pattern}`).toBeGreaterThanOrEqual(0);
  watch.consoleErrors.splice(i, 1);
}

async function visit(view: string, query = ''): Promise<void> {
  await page.goto(`${dashboardUrl}#view=${view}${query}`);
  await viewReady(page, view);
}

beforeAll(async () => {
  ensureDashboardBuilt();
  // Failing ARC-PL-01 clusters under an assigned DeployIfNotExists policy: a remediation can start.
  e = await startE2eStack({ fleet: demoFleetWithExtensionFindings(new Date()), emulator: { remediationDelayMs: 1500 } });
  origin = new URL(e.stack.apiUrl).origin;
  dashboardUrl = `${e.stack.apiUrl}/dashboard`;
  // Generous: the run shares two cores with whatever else the suite runs.
  await e.timerRun(90_000);
  browser = await launchChromium();
  context = await newPersonContext(browser);
  page = await context.newPage();
  watch = watchPage(page, origin);
}, 180_000);

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
    // Per-framework posture: one row per framework, from the summary, each as its report counts it.
    await page.locator('#by-framework table').waitFor();
    const frameworks = (await e.api<{ value: { id: string }[] }>('/v1/frameworks')).body.value;
    const perFramework = (await e.api<{ perFramework: Record<string, { passing: number; failing: number; notAssessed: number; manual: number }> }>('/v1/summary')).body.perFramework;
    const fwRows = page.locator('#by-framework tbody tr');
    expect(await fwRows.count()).toBe(frameworks.length);
    for (const [i, f] of frameworks.entries()) {
      const report = (await e.api<{ requirements: { status: string }[] }>(`/v1/frameworks/${f.id}/report`)).body.requirements;
      const n = (status: string): string => String(report.filter((r) => r.status === status).length);
      const cells = (await fwRows.nth(i).locator('td').allTextContents()).slice(1, 6);
      expect(cells, f.id).toEqual([String(report.length), n('passing'), n('failing'), n('not_assessed'), n('manual')]);
      const p = perFramework[f.id]!;
      expect(cells.slice(1)).toEqual([p.passing, p.failing, p.notAssessed, p.manual].map(String));
    }
    for (const name of ['Overview', 'Trend', 'Controls', 'Clusters', 'Rollouts', 'Exceptions', 'Operations']) await expect(page.getByRole('link', { name, exact: true }).count()).resolves.toBe(1);
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

  it('Trend shows the runs of /api/v1/trends as a chart and a table', async () => {
    await page.getByRole('link', { name: 'Trend', exact: true }).click();
    await viewReady(page, 'trend');
    const trends = (await e.api<{ value: { averageScore: number }[] }>('/v1/trends?days=30')).body.value;
    expect(await page.locator('table tbody tr').count()).toBe(trends.length);
    expect(await page.locator('table tbody tr td').nth(2).textContent()).toBe(formatScore(trends[0]!.averageScore));
    await page.locator('.chart svg').waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, 'trend');
    // Filtered on the server: the page's rows are the API's filtered points, and they differ from the fleet's.
    const filtered = (await e.api<{ value: { clusters: number; averageScore: number; noncompliant: number }[] }>('/v1/trends?days=30&environment=prod&location=westeurope')).body.value;
    expect(filtered.length).toBe(trends.length);
    expect(filtered[0]!.clusters).toBeGreaterThan(0);
    expect(filtered[0]!.clusters).toBeLessThan((trends[0] as unknown as { clusters: number }).clusters);
    await visit('overview');
    await visit('trend', '&days=30&environment=prod&location=westeurope');
    const rows = page.locator('table tbody tr');
    expect(await rows.count()).toBe(filtered.length);
    for (const [i, p] of filtered.entries()) {
      const cells = await rows.nth(i).locator('td').allTextContents();
      expect(cells.slice(1)).toEqual([String(p.clusters), formatScore(p.averageScore), String(p.noncompliant)]);
    }
  });

  it('Controls: the heatmap cells are the server aggregate, production-only failures flagged, a row drills into its clusters', async () => {
    await page.getByRole('link', { name: 'Controls', exact: true }).click();
    await viewReady(page, 'controls');
    type Tally = { pass: number; fail: number; unknown: number; not_applicable: number; exempt: number };
    const matrix = (await e.api<{ controls: string[]; groups: { clusters: number; cells: Record<string, Tally> }[] }>('/v1/control-matrix')).body;
    const rows = page.locator('table.heatmap tbody tr');
    expect(await rows.count()).toBe(matrix.groups.length);
    for (const [i, g] of matrix.groups.entries()) {
      const cells = await rows.nth(i).locator('td.heat').allTextContents();
      expect(cells).toEqual(matrix.controls.map((id) => cellText(g.cells[id])));
    }
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, 'controls');
    await rows.first().locator('th a').click();
    await viewReady(page, 'controls');
    expect(await page.locator('table tbody tr').count()).toBe(matrix.groups[0]!.clusters);
    expect(new URL(page.url()).hash).toContain('drill=1');
  });

  it('Control detail: tally, failing clusters with evidence, and a remediation started with Remediation.Run', async () => {
    await visit('control', '&id=ARC-PL-01');
    const tally = (await e.api<{ perControl: Record<string, { fail: number; pass: number }> }>('/v1/summary')).body.perControl['ARC-PL-01']!;
    expect(await figure(page, 'control-tally')).toContain(`${formatInt(tally.fail)} failing · ${formatInt(tally.pass)} passing`);
    expect(await page.getByRole('table', { name: /Clusters failing ARC-PL-01/ }).locator('tbody tr').count()).toBe(Math.min(tally.fail, 100));
    // Not assigned in the retail subscription yet: the API's refusal and its guidance are shown.
    await page.getByLabel('Failing clusters of subscription').selectOption(DEMO_SUBSCRIPTIONS.retail);
    await page.getByRole('button', { name: 'Start remediation' }).click();
    await expect(page.locator('.problem[role="alert"]').textContent()).resolves.toContain('Assign the built-in DeployIfNotExists policy');
    forgetExpected(/status of 422/);
    // The operator assigns the DeployIfNotExists policy; the same button now starts it.
    const admin = new ArmPolicyAdmin({ endpoint: e.stack.emulator!.url, credential: new DefaultAzureCredential(), caCertPem: e.stack.emulator!.caCertPem });
    await admin.replaceAssignment(`/subscriptions/${DEMO_SUBSCRIPTIONS.retail}/providers/Microsoft.Authorization/policyAssignments/deploy-policy-extension`, {
      displayName: 'Install the Azure Policy extension',
      policyDefinitionId: `/providers/Microsoft.Authorization/policyDefinitions/${POLICY_IDS.arcPolicyExtensionDeployIfNotExists}`,
      parameters: { effect: { value: 'DeployIfNotExists' } },
      identity: { type: 'SystemAssigned' },
      location: 'westeurope',
    });
    await page.getByRole('button', { name: 'Start remediation' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toMatch(/Remediation .* started/);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, 'control');
  }, 60_000);

  it('Rollouts: waves with their state and gate reasons; a wave approved, and the creator refused by separation of duties', async () => {
    const issuer = e.stack.issuer!;
    const person = issuer.clients.find((c) => c.clientId === 'local-admin')!;
    const create = async (oid: string, subscription: string, location: string): Promise<string> => {
      const res = await fetch(`${e.stack.apiUrl}/v1/rollouts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await issuer.mintToken({ roles: ['Enforcement.Manage', 'Compliance.Read'], oid })}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          policyAssignmentId: `/subscriptions/${subscription}/providers/Microsoft.Authorization/policyAssignments/pss-baseline`,
          waves: [{ name: 'first', locations: [location] }],
          gates: { bakeMinutes: 0, maxNonCompliant: 0, requireApproval: true },
        }),
      });
      expect(res.status, await res.clone().text()).toBe(201);
      return ((await res.json()) as { id: string }).id;
    };
    const theirs = await create(randomUUID(), DEMO_SUBSCRIPTIONS.retail, 'westeurope');
    const own = await create(person.objectId, DEMO_SUBSCRIPTIONS.branches, 'westeurope');

    await visit('rollouts', `&id=${theirs}`);
    await page.getByLabel('Comment (optional)').fill('<b>CHG0042</b>');
    await page.getByRole('button', { name: 'Approve first' }).click();
    await page.getByText(/Approved by .*: “<b>CHG0042<\/b>”/).waitFor();
    expect(await page.locator('main b').count()).toBe(0);
    const approved = (await e.api<{ waves: { approval?: { by: string; comment?: string } }[] }>(`/v1/rollouts/${theirs}`)).body;
    expect(approved.waves[0]!.approval).toMatchObject({ by: person.objectId, comment: '<b>CHG0042</b>' });
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, 'rollouts');

    await visit('rollouts', `&id=${own}`);
    await page.getByRole('button', { name: 'Approve first' }).click();
    await expect(page.locator('.problem[role="alert"]').textContent()).resolves.toContain('must not be the creator');
    forgetExpected(/status of 403/);
  });

  it('Exceptions: expiring within 15 days (the one created above), the calendar; Operations: the runs and the remediations of the API', async () => {
    await page.getByRole('link', { name: 'Exceptions', exact: true }).click();
    await viewReady(page, 'exceptions');
    const active = (await e.api<{ value: { expiresAt: string }[] }>('/v1/exceptions?status=active&top=1000')).body.value;
    const soon = active.filter((x) => Date.parse(x.expiresAt) - Date.now() <= 15 * 86_400_000).length;
    expect(await page.locator('#expiring tbody tr td:not(.empty)').locator('xpath=..').count()).toBe(soon);
    expect(await page.getByText('<img src=x', { exact: false }).count()).toBeGreaterThan(0);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, 'exceptions');

    // Statuses are read from ARM on each request: wait until the remediation started above has finished, so page and API agree.
    await expect.poll(async () => (await e.api<{ value: { status: string }[] }>('/v1/remediations?top=20')).body.value.every((r) => r.status !== 'running'), { timeout: 30_000, interval: 500 }).toBe(true);
    await page.getByRole('link', { name: 'Operations', exact: true }).click();
    await viewReady(page, 'operations');
    const runs = (await e.api<{ value: unknown[] }>('/v1/evaluations?top=20')).body.value;
    expect(await page.getByRole('table', { name: 'Recent evaluation runs' }).locator('tbody tr').count()).toBe(runs.length);
    // The stored remediations as the API lists them (the one started above among them), each row's id and status.
    const remediations = (await e.api<{ value: { id: string; status: string; controlId: string }[] }>('/v1/remediations?top=20')).body.value;
    expect(remediations.length).toBeGreaterThanOrEqual(1);
    const remediationRows = page.getByRole('table', { name: 'Remediations' }).locator('tbody tr');
    expect(await remediationRows.count()).toBe(remediations.length);
    for (const [i, r] of remediations.entries()) {
      const cells = await remediationRows.nth(i).locator('td').allTextContents();
      expect([cells[1], cells.at(-1)]).toEqual([r.controlId, r.id]);
      expect(cells[2]).toContain(r.status);
    }
    expect(await seriousAxeViolations(page)).toEqual([]);
    await screenshot(page, 'operations');
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

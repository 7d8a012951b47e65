/**
 * The cluster page's control-plane changes in Debian's Chromium, against the whole local stack: after an
 * evaluation run, new Activity Log entries for a provisioned cluster (an admin kubeconfig download by a
 * caller whose name is markup, an extension deletion) are read by the watch timer through the local
 * Functions runtime; the page then lists exactly the API's events for the cluster, in its order, with
 * the caller as text. The same tick is refused another subscription's log (403, recorded without
 * retries): Operations lists it first as failing, as `GET /api/v1/control-plane-watch` does. When the
 * events cannot be read, both pages say so in place instead of showing an empty table.
 * axe-core finds no serious or critical violation; nothing logs a console error or calls another origin.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ensureDashboardBuilt } from '../../dashboard/build.js';
import { formatTime } from '../../dashboard/src/format.js';
import { CONTROL_PLANE_QUEUES } from '../../application/messages.js';
import type { ControlPlaneWatchReport } from '../../application/control-plane-query-service.js';
import { DEMO_SUBSCRIPTIONS } from '../../local/arm-emulator/fleet/demo-fleet.js';
import { operationEntries, type DemoActivitySpec } from '../../local/arm-emulator/fleet/activity-log.js';
import type { FleetCluster } from '../../local/arm-emulator/fleet-model.js';
import { clusterPath, startE2eStack, waitFor, type E2eStack } from '../support/e2e-stack.js';
import { launchChromium, newPersonContext, seriousAxeViolations, signIn, viewReady, watchPage, type PageWatch } from '../support/dashboard-browser.js';

/** A caller name as an attacker could shape it (a guest account's display name ends up in `caller`). */
const MARKUP_CALLER = '<img src=x onerror="window.__xss=1">oncall@contoso.example';
const DELETER = 'platform-admin@contoso.example';

interface EventRow {
  readonly eventDataId: string;
  readonly kind: string;
  readonly caller: string;
  readonly status: string;
  readonly severity: string;
  readonly eventTimestamp: string;
  readonly operation: string;
}

let e: E2eStack;
let browser: Browser;
let page: Page;
let watch: PageWatch;
let cluster: FleetCluster;

async function screenshot(name: string): Promise<void> {
  const dir = join('test-results', 'dashboard');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `dashboard-${name}.png`), fullPage: true });
}

beforeAll(async () => {
  ensureDashboardBuilt();
  e = await startE2eStack();
  await e.timerRun(90_000);
  cluster = e.cluster('branch-atl-024');
  const [subscriptionId, resourceGroup] = [cluster.resource.id.split('/')[2]!, cluster.resource.id.split('/')[4]!];
  let n = 0;
  const entries = (spec: Omit<DemoActivitySpec, 'subscriptionId' | 'resourceGroup' | 'cluster' | 'method'> & { method?: string }) =>
    operationEntries({ subscriptionId, resourceGroup, cluster: 'branch-atl-024', method: 'POST', ...spec }, e.stack.emulator!.fleet.tenantId, new Date(), () => `dab0a2d0-0000-4000-8000-${String((n += 1)).padStart(12, '0')}`);
  e.stack.emulator!.fleet.activityLog!.push(
    ...entries({ path: '/providers/Microsoft.HybridContainerService/provisionedClusterInstances/default/listAdminKubeconfig', operation: 'Microsoft.HybridContainerService/provisionedClusterInstances/listAdminKubeconfig/action', caller: MARKUP_CALLER, daysAgo: 20 / (24 * 60) }),
    ...entries({ path: '/providers/Microsoft.KubernetesConfiguration/extensions/azurepolicy', operation: 'Microsoft.KubernetesConfiguration/extensions/delete', caller: DELETER, daysAgo: 10 / (24 * 60), method: 'DELETE' }),
  );
  // The identity lost its read on one subscription's Activity Log.
  e.stack.emulator!.faults.denyAccess({ subscriptionId: DEMO_SUBSCRIPTIONS.factories, route: 'activityLogs.list' });
  await e.stack.host.invokeTimer('controlPlaneWatchTimer');
  await waitFor('the watch to store the new entries', async () => {
    const listed = await e.api<{ value: EventRow[] }>(`${clusterPath(cluster)}/control-plane-events`);
    return listed.body.value.some((v) => v.caller === DELETER) && listed.body.value.some((v) => v.caller === MARKUP_CALLER) ? true : undefined;
  }, 45_000);
  await waitFor('the refusal to be recorded', async () => {
    const report = (await e.api<ControlPlaneWatchReport>('/v1/control-plane-watch')).body;
    return report.value.some((v) => v.lastFailure?.code === 'AuthorizationFailed') ? true : undefined;
  }, 45_000);
  await e.waitForQueueEmpty(CONTROL_PLANE_QUEUES.watch);

  browser = await launchChromium();
  page = await (await newPersonContext(browser)).newPage();
  watch = watchPage(page, new URL(e.stack.apiUrl).origin);
  await signIn(page, `${e.stack.apiUrl}/dashboard`, 'Compliance.Read');
  watch.reset();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await e?.stop();
});

it("the cluster page lists the cluster's control-plane events as the API does, callers as text", async () => {
  const api = (await e.api<{ value: EventRow[]; nextLink?: string }>(`${clusterPath(cluster)}/control-plane-events?top=50`)).body;
  // The timer's read and the demo history (a role assignment on the cluster's resource group), newest first.
  expect(api.value.map((v) => v.kind).slice(0, 2)).toEqual(['extension-deleted', 'break-glass-credential']);
  expect(api.nextLink).toBeUndefined();

  await page.goto(`${e.stack.apiUrl}/dashboard#view=cluster&id=${encodeURIComponent(cluster.resource.id)}`);
  await viewReady(page, 'cluster');
  const table = page.getByRole('table', { name: 'Control-plane changes of branch-atl-024 (Activity Log)' });
  const rows = table.locator('tbody tr');
  expect(await rows.count()).toBe(api.value.length);
  const shown = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
  expect(shown.map((cells) => [cells[0], cells[1], cells[3], cells[4], cells[5], cells[6]])).toEqual(
    api.value.map((v) => [formatTime(v.eventTimestamp), v.kind, v.severity, v.status, v.caller, v.operation]),
  );
  expect(shown[0]![2]).toBe('extension azurepolicy (azure-policy)');
  expect(shown[1]![2]).toBe('provisioned cluster instance');

  // The markup caller is a text node: nothing ran, no element was made of it.
  await expect(table.getByText(MARKUP_CALLER, { exact: true }).count()).resolves.toBe(1);
  expect(await page.evaluate('window.__xss')).toBeUndefined();
  expect(await page.locator('main img, main script').count()).toBe(0);
  await screenshot('cluster-control-plane');

  expect(await seriousAxeViolations(page)).toEqual([]);
  expect(watch.consoleErrors).toEqual([]);
  expect(watch.foreignRequests).toEqual([]);
}, 60_000);

it('Operations lists the Activity Log watch per subscription as the API does, the failing one first', async () => {
  const report = (await e.api<ControlPlaneWatchReport>('/v1/control-plane-watch')).body;
  expect(report.failing).toBe(1);
  expect(report.value[0]).toMatchObject({ subscriptionId: DEMO_SUBSCRIPTIONS.factories, status: 'failing', lastFailure: { stage: 'read', code: 'AuthorizationFailed' } });

  await page.goto(`${e.stack.apiUrl}/dashboard#view=operations`);
  await viewReady(page, 'operations');
  expect(await page.locator('[data-figure="watch-failing"]').textContent()).toContain(`1 of ${report.value.length} subscriptions failing`);
  const rows = page.getByRole('table', { name: 'Activity Log watch per subscription' }).locator('tbody tr');
  const shown = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').replace(/^[✓✗] /, ''))));
  expect(shown).toEqual(
    report.value.map((w) => [
      w.subscriptionId,
      w.status,
      formatTime(w.watermark),
      formatTime(w.lastSuccessAt),
      w.lastFailure === undefined ? '' : `${formatTime(w.lastFailure.at)} ${w.lastFailure.code} (${w.lastFailure.stage})`,
      w.lastFailure === undefined ? '' : `${w.lastFailure.message}${w.lastFailure.hint !== undefined ? ` ${w.lastFailure.hint}` : ''}`,
    ]),
  );
  expect(shown[0]![4]).toContain('AuthorizationFailed (read)');
  expect(shown[0]![5]).toMatch(/^Activity Log not read: .*403.* The app's identity lacks/);
  await screenshot('operations-watch');

  expect(await seriousAxeViolations(page)).toEqual([]);
  // Compliance.Read cannot list webhooks: the dead-letter section says so, and Chromium logs each 403.
  await expect(page.getByText('Webhook deliveries need the app role').count()).resolves.toBe(1);
  expect(watch.consoleErrors.filter((m) => !/status of 403/.test(m))).toEqual([]);
  expect(watch.foreignRequests).toEqual([]);
}, 60_000);

it('a failed read of the control-plane events is said on Operations and on the cluster page, not shown as no change', async () => {
  // The API answers the events reads with an outage in its error shape; everything else is real.
  const outage = { error: { code: 'DependencyUnavailable', message: 'Table storage did not answer in time.' } };
  const eventsRead = /\/api\/v1\/(?:clusters\/[^?]*\/)?control-plane-events(?:\?|$)/;
  await page.route(eventsRead, (route) =>
    route.fulfill({ status: 503, contentType: 'application/json', headers: { 'x-request-id': 'outage-test' }, body: JSON.stringify(outage) }),
  );
  try {
    watch.reset();
    const expected = `Control-plane changes could not be read (DependencyUnavailable): ${outage.error.message}`;
    await page.goto(`${e.stack.apiUrl}/dashboard#view=operations`);
    await viewReady(page, 'operations');
    await expect(page.getByRole('alert').filter({ hasText: expected }).count()).resolves.toBe(1);
    await expect(page.getByRole('table', { name: 'Latest control-plane changes (Activity Log)' }).count()).resolves.toBe(0);
    await expect(page.getByText('No control-plane change recorded.').count()).resolves.toBe(0);
    // The rest of the page still shows: the watch table is read from its own endpoint.
    await expect(page.getByRole('table', { name: 'Activity Log watch per subscription' }).count()).resolves.toBe(1);

    await page.goto(`${e.stack.apiUrl}/dashboard#view=cluster&id=${encodeURIComponent(cluster.resource.id)}`);
    await viewReady(page, 'cluster');
    await expect(page.getByRole('alert').filter({ hasText: expected }).count()).resolves.toBe(1);
    await expect(page.getByRole('table', { name: 'Control-plane changes of branch-atl-024 (Activity Log)' }).count()).resolves.toBe(0);
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(watch.foreignRequests).toEqual([]);
  } finally {
    await page.unroute(eventsRead);
  }
}, 60_000);

it('Operations flags a subscription of the latest evaluation that the watch never read, after the failing one', async () => {
  // The real report, with one subscription that was read turned into one never read (the API side of it is
  // tested in test/integration/api/api-control-plane-events.test.ts): how the page shows it.
  const watchRead = /\/api\/v1\/control-plane-watch$/;
  let unread = '';
  await page.route(watchRead, async (route) => {
    const response = await route.fetch();
    const report = (await response.json()) as ControlPlaneWatchReport;
    const [first, ...others] = report.value.filter((v) => v.status === 'ok');
    unread = first!.subscriptionId;
    const value = [...report.value.filter((v) => v.status === 'failing'), { subscriptionId: unread, status: 'never-read' as const }, ...others];
    await route.fulfill({ response, json: { value, failing: report.failing, neverRead: 1 } });
  });
  try {
    await page.goto(`${e.stack.apiUrl}/dashboard#view=operations`);
    await viewReady(page, 'operations');
    expect(await page.locator('[data-figure="watch-never-read"]').textContent()).toContain('1 subscription of the latest evaluation never read by the watch');
    const rows = page.getByRole('table', { name: 'Activity Log watch per subscription' }).locator('tbody tr');
    const shown = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').replace(/^[✓✗!] /, ''))));
    expect(shown[0]![1]).toBe('failing');
    expect(shown[1]).toEqual([unread, 'never-read', '—', '—', '', '']);
    expect(await seriousAxeViolations(page)).toEqual([]);
  } finally {
    await page.unroute(watchRead);
  }
}, 60_000);

/**
 * Driving the dashboard in Debian's Chromium (never a downloaded browser) through playwright-core:
 * launch, sign-in through the local issuer's authorize page, a watch on console errors and on
 * requests to other origins, and axe-core (from npm, evaluated in the page through the DevTools
 * protocol, so the page's CSP stays as strict as it is in production).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/**
 * A context for one person. The local issuer runs on the ARM emulator's HTTPS port with a self-signed
 * certificate (a person accepts it once; the test context accepts it).
 */
export function newPersonContext(browser: Browser, viewport = { width: 1280, height: 800 }, colorScheme: 'light' | 'dark' = 'light'): Promise<BrowserContext> {
  return browser.newContext({ ignoreHTTPSErrors: true, viewport, colorScheme, acceptDownloads: true });
}

export interface PageWatch {
  readonly consoleErrors: string[];
  readonly foreignRequests: string[];
  /** Forget what was seen so far (e.g. the sign-in's calls to the issuer). */
  reset(): void;
}

export function watchPage(page: Page, appOrigin: string): PageWatch {
  const consoleErrors: string[] = [];
  const foreignRequests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(`${appOrigin}/`) && !url.startsWith('data:') && !url.startsWith('blob:')) foreignRequests.push(url);
  });
  return {
    consoleErrors,
    foreignRequests,
    reset() {
      consoleErrors.length = 0;
      foreignRequests.length = 0;
    },
  };
}

/** Signs in through the dashboard's button and the local issuer's page, as the named role set. */
export async function signIn(page: Page, dashboardUrl: string, roleSet: string): Promise<void> {
  await page.goto(dashboardUrl);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: roleSet, exact: true }).click();
  await page.waitForSelector('main[data-ready]', { timeout: 20_000 });
}

/** Waits until the view named in the URL has rendered (after a navigation). */
export async function viewReady(page: Page, view: string): Promise<void> {
  await page.locator(`main[data-view="${view}"]:not([aria-busy])`).waitFor({ timeout: 20_000 });
}

let axeSource: string | undefined;

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: number;
  readonly targets: readonly string[];
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(axeSource);
  const result = await page.evaluate<AxeViolation[]>(`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length, targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) })))`);
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

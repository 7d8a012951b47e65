/**
 * `npm run bench:dashboard` — weight and speed of the dashboard's overview in Debian's Chromium
 * (playwright-core, as the dashboard test drives it), with a 10,000-cluster fleet and with the 30-cluster
 * demo fleet, in the same run.
 *
 * Processes: this one (Chromium and the report) and, per fleet, this file with
 * `BENCH_DASHBOARD_ROLE=app`: the whole local stack (Azurite, the ARM emulator serving that fleet with
 * the local token issuer, the local Functions runtime running the real `functions/*.ts`). Both fleets are
 * evaluated in process and written through the real Table repositories (`evaluation/seed-fleet.ts`,
 * as `npm run bench:api` does), so the two differ only in size.
 *
 * - JavaScript weight: one overview navigation per fleet with the browser cache disabled; every script
 *   response Chromium received (its network events), each body gzipped (zlib level 6, what a gzip
 *   front end sends) and summed. The bytes actually on the wire are reported too (the app serves
 *   them uncompressed; Azure Front Door or App Service compress them).
 * - Time: from navigation start to the overview's figures painted (Element Timing of the "Clusters"
 *   figure), for a signed-in person with a warm HTTP cache (the assets are immutable); `--runs`
 *   navigations per fleet, alternating between the fleets, after one warm-up each; medians. Every
 *   navigation (warm-up included) waits for the framework table before the next one starts. The
 *   overview's API requests (Resource Timing) are reported per path, to show which one dominates.
 *
 * Options: --subscriptions N (200) --clusters M per subscription (50) --runs R (7).
 * The last line printed is one JSON object: `{ "jsGzipKB", "overviewMsDemo", "overviewMs10k", "ratio" }`.
 */
import { gzipSync } from 'node:zlib';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';

const ROLE = process.env['BENCH_DASHBOARD_ROLE'];

/** One fleet behind the whole local stack, evaluated and stored before the parent is told it is ready. */
async function appRole(): Promise<void> {
  const { serveParent } = await import('./evaluation/ipc.js');
  const { startLocalStack } = await import('../local/local-stack.js');
  const { getContainer } = await import('../bootstrap/composition-root.js');
  const { generateFleet } = await import('../local/arm-emulator/fleet/index.js');
  const { seedEvaluatedFleet } = await import('./evaluation/seed-fleet.js');
  console.info = () => undefined;
  const spec = JSON.parse(process.env['BENCH_FLEET'] ?? '{}') as { mode: 'demo' } | { mode: 'scale'; subscriptions: number; clustersPerSubscription: number; policyStatesPerCluster: number; extensionsPerCluster: number };
  const now = new Date();
  const fleet = generateFleet(spec, now);
  const stack = await startLocalStack({
    port: 0,
    fleet,
    hostJson: fileURLToPath(new URL('./evaluation/host.json', import.meta.url)),
    logger: () => undefined,
    settings: { EVALUATION_SCHEDULE: '0 0 3 1 1 *', CONTROLPLANE_WATCH_SCHEDULE: '0 0 3 1 1 *' },
  });
  const container = await getContainer();
  const seeded = await seedEvaluatedFleet(container.repositories, fleet, now);
  serveParent({ apiUrl: stack.apiUrl, ...seeded }, {}, () => stack.stop());
}

interface FleetUnderTest {
  readonly name: 'demo' | '10k';
  readonly dashboardUrl: string;
  readonly clusters: number;
  page?: Page;
  context?: BrowserContext;
  readonly figuresMs: number[];
  readonly frameworksMs: number[];
  readonly requestMs: Map<string, number[]>;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** Navigates to the overview afresh (a full load, not a hash change) and waits for its figures. */
async function loadOverview(page: Page, dashboardUrl: string): Promise<void> {
  await page.goto('about:blank');
  await page.goto(dashboardUrl);
  await page.locator('main[data-view="overview"]:not([aria-busy]) [data-figure="clusters"]').waitFor({ timeout: 120_000 });
}

/** Scripts the overview loads with the cache disabled: gzipped size of each body, bytes on the wire. */
async function javascriptWeight(fleet: FleetUnderTest): Promise<{ files: number; rawKB: number; gzipKB: number; wireKB: number }> {
  const page = fleet.page!;
  const cdp = await fleet.context!.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const scripts = new Map<string, { url: string; wire: number }>();
  cdp.on('Network.responseReceived', (e) => {
    if (e.type === 'Script') scripts.set(e.requestId, { url: e.response.url, wire: 0 });
  });
  cdp.on('Network.loadingFinished', (e) => {
    const s = scripts.get(e.requestId);
    if (s !== undefined) s.wire = e.encodedDataLength;
  });
  await loadOverview(page, fleet.dashboardUrl);
  await overviewComplete(page);
  await page.waitForLoadState('networkidle');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
  await cdp.detach();
  let raw = 0;
  let gzip = 0;
  let wire = 0;
  for (const s of scripts.values()) {
    const body = Buffer.from(await (await fetch(s.url)).arrayBuffer());
    raw += body.length;
    gzip += gzipSync(body, { level: 6 }).length;
    wire += s.wire;
  }
  return { files: scripts.size, rawKB: raw / 1024, gzipKB: gzip / 1024, wireKB: wire / 1024 };
}

/**
 * Until the overview is complete: the framework table painted and nothing busy. A navigation that left
 * framework reports running on the server would slow the next one, measured or not.
 */
async function overviewComplete(page: Page): Promise<void> {
  await page.locator('main #by-framework table').waitFor({ timeout: 300_000 });
  await page.waitForSelector('main [aria-busy]', { state: 'detached', timeout: 300_000 });
}

/** One measured navigation: figures painted, framework posture filled in, the API requests' durations. */
async function measure(fleet: FleetUnderTest): Promise<void> {
  const page = fleet.page!;
  await loadOverview(page, fleet.dashboardUrl);
  const figures = await page.evaluate<number>(`new Promise((resolve) => {
    const pick = (entries) => entries.find((e) => e.identifier === 'figure-clusters');
    const found = pick(performance.getEntriesByType('element'));
    if (found) return resolve(found.renderTime || found.loadTime);
    const po = new PerformanceObserver((list) => { const e = pick(list.getEntries()); if (e) { po.disconnect(); resolve(e.renderTime || e.loadTime); } });
    po.observe({ type: 'element', buffered: true });
    setTimeout(() => resolve(-1), 5000);
  })`);
  if (figures <= 0) throw new Error(`${fleet.name}: Chromium reported no Element Timing entry for the overview's figures`);
  fleet.figuresMs.push(figures);
  await overviewComplete(page);
  fleet.frameworksMs.push(await page.evaluate<number>('performance.now()'));
  const entries = await page.evaluate<{ name: string; ms: number }[]>(`performance.getEntriesByType('resource').map((e) => ({ name: e.name, ms: e.responseEnd - e.startTime }))`);
  for (const e of entries) {
    const url = new URL(e.name);
    if (!url.pathname.includes('/api/v1/')) continue;
    const key = `${url.pathname.replace(/^.*\/api\/v1\//, '').replace(/frameworks\/[^/]+\/report/, 'frameworks/*/report')}${url.search}`;
    const list = fleet.requestMs.get(key) ?? [];
    list.push(e.ms);
    fleet.requestMs.set(key, list);
  }
}

async function main(): Promise<void> {
  const { BenchChild } = await import('./evaluation/ipc.js');
  const { ensureDashboardBuilt } = await import('../dashboard/build.js');
  const { launchChromium, newPersonContext, signIn } = await import('../test/support/dashboard-browser.js');
  const { values } = parseArgs({
    options: {
      subscriptions: { type: 'string', default: '200' },
      clusters: { type: 'string', default: '50' },
      runs: { type: 'string', default: '7' },
    },
  });
  const runs = Number(values.runs);
  const scale = { mode: 'scale', subscriptions: Number(values.subscriptions), clustersPerSubscription: Number(values.clusters), policyStatesPerCluster: 40, extensionsPerCluster: 4 };
  const log = (m: string): void => void process.stderr.write(`${m}\n`);
  ensureDashboardBuilt();

  const self = new URL(import.meta.url);
  const children = [
    BenchChild.start('demo', self, { BENCH_DASHBOARD_ROLE: 'app', BENCH_FLEET: JSON.stringify({ mode: 'demo' }) }),
    BenchChild.start('10k', self, { BENCH_DASHBOARD_ROLE: 'app', BENCH_FLEET: JSON.stringify(scale) }),
  ];
  const browser = await launchChromium();
  try {
    const ready = await Promise.all(children.map((c) => c.ready));
    const fleets: FleetUnderTest[] = ready.map((r, i) => {
      log(`${i === 0 ? 'demo' : '10k'}: ${String(r['clusters'])} clusters ${String(r['status'])} in ${Number(r['seconds']).toFixed(1)} s`);
      return { name: i === 0 ? 'demo' : '10k', dashboardUrl: `${String(r['apiUrl'])}/dashboard`, clusters: Number(r['clusters']), figuresMs: [], frameworksMs: [], requestMs: new Map() };
    });
    for (const f of fleets) {
      f.context = await newPersonContext(browser);
      f.page = await f.context.newPage();
      await signIn(f.page, f.dashboardUrl, 'Compliance.Read');
    }
    const weights = [];
    for (const f of fleets) {
      const w = await javascriptWeight(f);
      weights.push(w.gzipKB);
      log(`${f.name}: overview JavaScript ${w.files} files, ${w.rawKB.toFixed(1)} KB raw, ${w.gzipKB.toFixed(1)} KB gzipped, ${w.wireKB.toFixed(1)} KB on the wire (served uncompressed by the app)`);
    }
    // Warm-up (JIT, connections, cache), each complete before anything is measured.
    for (const f of fleets) {
      await loadOverview(f.page!, f.dashboardUrl);
      await overviewComplete(f.page!);
    }
    for (let i = 0; i < runs; i += 1) for (const f of i % 2 === 0 ? fleets : [...fleets].reverse()) await measure(f);
    for (const f of fleets) {
      log(`${f.name} (${f.clusters} clusters): figures painted ${f.figuresMs.map((x) => x.toFixed(0)).join(', ')} ms → median ${median(f.figuresMs).toFixed(0)} ms; framework posture filled in: median ${median(f.frameworksMs).toFixed(0)} ms`);
      for (const [path, ms] of [...f.requestMs].sort((a, b) => median(b[1]) - median(a[1]))) log(`  GET /api/v1/${path}: median ${median(ms).toFixed(0)} ms (${ms.length} requests)`);
    }
    const [demo, big] = fleets as [FleetUnderTest, FleetUnderTest];
    const overviewMsDemo = Math.round(median(demo.figuresMs));
    const overviewMs10k = Math.round(median(big.figuresMs));
    log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ${browser.version()}, ${new Date().toISOString()}; ${runs} navigations per fleet`);
    console.log(JSON.stringify({ jsGzipKB: Number(Math.max(...weights).toFixed(1)), overviewMsDemo, overviewMs10k, ratio: Number((median(big.figuresMs) / median(demo.figuresMs)).toFixed(2)) }));
  } finally {
    await browser.close();
    for (const c of children.reverse()) await c.stop();
  }
}

// Dispatched last: the helpers above are initialised by then.
if (ROLE === 'app') await appRole();
else await main();

/**
 * The posture dashboard: an anonymous page shell and the browser assets built by `dashboard/build.ts`
 * (into `dist/dashboard/`, which the deployment package includes). Every figure the page shows comes
 * from `/api/v1` with the signed-in person's bearer token, so app roles apply exactly as for API callers.
 *
 * The shell carries no script of its own (CSP `script-src 'self'`, no inline script or style, no other
 * origin except the token issuer, which the sign-in code must reach to redeem its code); the sign-in
 * settings travel in a `<meta>` element, HTML-escaped.
 */
import { readFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NotFoundError } from '../../domain/errors.js';

export interface DashboardSignIn {
  /** `DASHBOARD_CLIENT_ID`; undefined: the page says sign-in is not configured. */
  readonly clientId: string | undefined;
  /** `AUTH_ISSUER` (`https://login.microsoftonline.com/{tenant}/v2.0`). */
  readonly issuer: string | undefined;
  /** `AUTH_AUDIENCE` (the first one when several are accepted): the token is requested for `{audience}/.default`. */
  readonly audience: string | undefined;
}

interface Manifest {
  readonly script: string;
  readonly style: string;
  readonly preload: readonly string[];
  readonly files: Readonly<Record<string, string>>;
}

export interface DashboardAsset {
  readonly contentType: string;
  readonly body: Uint8Array;
}

/** The package (or repository) root: the nearest folder above this module holding package.json. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('no package.json above the dashboard adapter');
    dir = parent;
  }
  return dir;
}

let assetDir: string | undefined;
let manifest: Manifest | undefined;
const cache = new Map<string, Promise<DashboardAsset>>();

function loadManifest(): Manifest | undefined {
  if (manifest !== undefined) return manifest;
  assetDir ??= join(packageRoot(), 'dist', 'dashboard');
  try {
    manifest = JSON.parse(readFileSync(join(assetDir, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
  return manifest;
}

/** Origin of the issuer, which the browser calls to redeem the sign-in code (CSP `connect-src`). */
function issuerOrigin(signIn: DashboardSignIn): string | undefined {
  try {
    return signIn.issuer === undefined ? undefined : new URL(signIn.issuer).origin;
  } catch {
    return undefined;
  }
}

export function dashboardCsp(signIn: DashboardSignIn): string {
  const issuer = issuerOrigin(signIn);
  return (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
    `connect-src 'self'${issuer !== undefined ? ` ${issuer}` : ''}; frame-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`
  );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What the browser code needs to sign in: MSAL's authority (the issuer without `/v2.0`) and the scope. */
export function signInConfig(signIn: DashboardSignIn): Record<string, string> | undefined {
  if (signIn.clientId === undefined || signIn.issuer === undefined || signIn.audience === undefined) return undefined;
  const authority = signIn.issuer.replace(/\/v2\.0\/?$/, '');
  const audience = signIn.audience.split(',')[0]?.trim() ?? signIn.audience;
  return { clientId: signIn.clientId, authority, knownAuthority: new URL(authority).host, scope: `${audience.replace(/\/+$/, '')}/.default` };
}

/** The page shell, or undefined when the assets are not built. */
export function dashboardHtml(signIn: DashboardSignIn): string | undefined {
  const m = loadManifest();
  if (m === undefined) return undefined;
  const config = JSON.stringify(signInConfig(signIn) ?? {});
  const preload = m.preload.map((p) => `  <link rel="modulepreload" href="/api/dashboard/${escapeHtml(p)}">\n`).join('');
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light dark">
  <meta name="arc-dashboard-sign-in" content="${escapeHtml(config)}">
  <title>arc-compliance posture</title>
  <link rel="icon" href="/api/dashboard/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/api/dashboard/${escapeHtml(m.style)}">
${preload}  <script type="module" src="/api/dashboard/${escapeHtml(m.script)}"></script>
</head>
<body>
  <div id="app" aria-live="polite"><p class="boot">Loading the dashboard…</p></div>
  <noscript>The dashboard needs JavaScript. The same figures are in the API: /api/docs.</noscript>
</body>
</html>
`;
}

/** A built asset by file name, or undefined for anything not in the build's manifest (no path traversal possible). */
export function getDashboardAsset(name: string): Promise<DashboardAsset> | undefined {
  const m = loadManifest();
  if (m === undefined || assetDir === undefined || !Object.hasOwn(m.files, name)) return undefined;
  const contentType = m.files[name];
  if (typeof contentType !== 'string') return undefined;
  let cached = cache.get(name);
  if (cached === undefined) {
    cached = readFile(join(assetDir, name)).then((body) => ({ contentType, body: new Uint8Array(body) }));
    cached.catch(() => cache.delete(name));
    cache.set(name, cached);
  }
  return cached;
}

/** {@link getDashboardAsset}, or a 404 in the API's error shape for a name the build did not produce. */
export function requireDashboardAsset(name: string): Promise<DashboardAsset> {
  const asset = getDashboardAsset(name);
  if (asset === undefined) throw new NotFoundError(`No asset ${name}.`, 'asset');
  return asset;
}

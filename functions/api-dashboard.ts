/**
 * The posture dashboard's page shell and assets (anonymous; the page reads `/api/v1` with the signed-in
 * person's token). See `adapters/http/dashboard-page.ts` and docs/dashboard.md.
 */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { registerOperations } from '../adapters/http/azure-functions.js';
import { dashboardCsp, dashboardHtml, requireDashboardAsset } from '../adapters/http/dashboard-page.js';
import { HttpError } from '../adapters/http/http-errors.js';
import { defineOperation } from '../adapters/http/operation.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/api-runtime.js').then((m) => m.getApiRuntime());

export const getDashboardPage = defineOperation('getDashboardPage', async ({ services }) => {
  const html = dashboardHtml(services.dashboard);
  if (html === undefined) throw new HttpError('InternalError', 'The dashboard assets are not built (npm run build:dashboard).');
  return { status: 200, raw: { contentType: 'text/html; charset=utf-8', body: html, cacheControl: 'no-cache', csp: dashboardCsp(services.dashboard) } };
});

export const getDashboardAssetOperation = defineOperation<{ asset: string }>('getDashboardAsset', async ({ params, services }) => {
  const asset = await requireDashboardAsset(params.asset);
  return {
    status: 200,
    raw: { contentType: asset.contentType, body: asset.body, cacheControl: params.asset === 'favicon.svg' ? 'public, max-age=86400' : 'public, max-age=31536000, immutable', csp: dashboardCsp(services.dashboard) },
  };
});

registerOperations([getDashboardPage, getDashboardAssetOperation], runtime);

/**
 * Anonymous service endpoints: health, the OpenAPI document, the API reference page and its assets;
 * and the catch-all that answers requests no operation's route takes.
 */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { APP_ROLES } from '../adapters/http/app-roles.js';
import { registerOperations, registerUnmatchedRoute } from '../adapters/http/azure-functions.js';
import { API_VERSION } from '../adapters/http/api-version.js';
import { defineOperation } from '../adapters/http/operation.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/api-runtime.js').then((m) => m.getApiRuntime());
const HEALTH_TIMEOUT_MS = 5000;
// The document and the reference page are loaded by their first request, not by every cold start.
let docs: Promise<typeof import('../adapters/http/docs-page.js')> | undefined;
const docsPage = (): Promise<typeof import('../adapters/http/docs-page.js')> => (docs ??= import('../adapters/http/docs-page.js'));

export const getHealth = defineOperation('getHealth', async ({ services, principal }) => {
  const checks = await Promise.all(
    services.healthChecks.map(async (c) => {
      try {
        const r = await Promise.race([c.check(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out')), HEALTH_TIMEOUT_MS).unref())]);
        const extra = { ...(r?.version !== undefined ? { version: r.version } : {}), ...(r?.detail !== undefined ? { detail: r.detail } : {}), ...(r?.count !== undefined ? { count: r.count } : {}) };
        return { name: c.name, status: r?.status ?? ('healthy' as const), ...extra };
      } catch {
        // The reason stays in the logs of the dependency; an anonymous endpoint reveals only the outcome.
        return { name: c.name, status: 'unhealthy' as const };
      }
    }),
  );
  const all = [{ name: 'node', status: 'healthy' as const, version: process.version }, ...checks];
  // Degraded still serves (200): the instance works, and an operator has something to look at.
  const status = all.some((c) => c.status === 'unhealthy') ? 'unhealthy' : all.some((c) => c.status === 'degraded') ? 'degraded' : 'healthy';
  // Versions tell an attacker which known flaws to try: only readers of the compliance data see them (and details).
  const full = principal?.roles.includes(APP_ROLES.complianceRead) === true;
  const body = full ? { version: API_VERSION, checks: all } : { checks: all.map((c) => ({ name: c.name, status: c.status, ...('count' in c ? { count: c.count } : {}) })) };
  return { status: status === 'unhealthy' ? 503 : 200, body: { status, ...body } };
});

export const getOpenApiDocument = defineOperation('getOpenApiDocument', async () => ({
  status: 200,
  raw: { contentType: 'application/json; charset=utf-8', body: (await docsPage()).OPENAPI_JSON, cacheControl: 'public, max-age=300' },
}));

export const getDocsPage = defineOperation('getDocsPage', async () => {
  const { DOCS_HTML, DOCS_CSP } = await docsPage();
  return { status: 200, raw: { contentType: 'text/html; charset=utf-8', body: DOCS_HTML, cacheControl: 'no-cache', csp: DOCS_CSP } };
});

export const getDocsAssetOperation = defineOperation<{ asset: string }>('getDocsAsset', async ({ params }) => {
  const { requireDocsAsset, DOCS_CSP } = await docsPage();
  const asset = await requireDocsAsset(params.asset);
  return { status: 200, raw: { contentType: asset.contentType, body: asset.body, cacheControl: 'public, max-age=3600', csp: DOCS_CSP } };
});

registerOperations([getHealth, getOpenApiDocument, getDocsPage, getDocsAssetOperation], runtime);

// Unknown paths and wrong methods under /api: 404/405 in the API's error shape, with a request id and
// an audit record for unsafe methods, instead of the host's empty answers.
registerUnmatchedRoute(runtime);

/** Fleet summary, framework reports (JSON or CSV) and trends: all read from precomputed summaries. */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { registerOperations } from '../adapters/http/azure-functions.js';
import { defineOperation } from '../adapters/http/operation.js';
import type { Framework } from '../domain/model.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/composition-root.js').then((m) => m.getApiRuntime());

export const getSummary = defineOperation('getSummary', async ({ services }) => ({
  status: 200,
  body: await services.compliance.getSummary(),
}));

export const getFrameworkReport = defineOperation<{ framework: Framework }, { format: 'json' | 'csv' }>('getFrameworkReport', async ({ services, params, query }) => {
  if (query.format === 'csv') {
    return {
      status: 200,
      raw: { contentType: 'text/csv; charset=utf-8', body: await services.compliance.getFrameworkReportCsv(params.framework) },
      headers: { 'content-disposition': `attachment; filename="${params.framework}-report.csv"` },
    };
  }
  return { status: 200, body: await services.compliance.getFrameworkReport(params.framework) };
});

export const getTrends = defineOperation<object, { days: number }>('getTrends', async ({ services, query, now }) => ({
  status: 200,
  body: await services.compliance.getTrends(query.days, now),
}));

registerOperations([getSummary, getFrameworkReport, getTrends], runtime);

/** `GET /api/v1/frameworks`, `GET /api/v1/frameworks/{framework}/report` (JSON, or CSV by `format` or `Accept`). */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { registerOperations } from '../adapters/http/azure-functions.js';
import { prefersCsv } from '../adapters/http/content-negotiation.js';
import { defineOperation } from '../adapters/http/operation.js';
import type { FrameworkId } from '../domain/frameworks.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/api-runtime.js').then((m) => m.getApiRuntime());

export const listFrameworks = defineOperation('listFrameworks', async ({ services }) => ({
  status: 200,
  body: { value: services.frameworks.listFrameworks() },
}));

interface ReportQuery {
  readonly format?: 'json' | 'csv';
  readonly environment?: string;
  readonly subscriptionId?: string;
  readonly location?: string;
}

export const getFrameworkReport = defineOperation<{ framework: FrameworkId }, ReportQuery>('getFrameworkReport', async ({ services, params, query, accept }) => {
  const filters = { environment: query.environment, subscriptionId: query.subscriptionId, location: query.location };
  if (prefersCsv(query.format, accept)) {
    return {
      status: 200,
      raw: { contentType: 'text/csv; charset=utf-8', body: await services.frameworks.getReportCsv(params.framework, filters) },
      headers: { 'content-disposition': `attachment; filename="${params.framework}-report.csv"`, vary: 'Accept' },
    };
  }
  const headers: Readonly<Record<string, string>> = { vary: 'Accept' };
  return { status: 200, body: await services.frameworks.getReport(params.framework, filters), headers };
});

registerOperations([listFrameworks, getFrameworkReport], runtime);

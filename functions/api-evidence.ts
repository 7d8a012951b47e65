/** A run's evidence (manifest, blobs streamed as stored, verification) and its findings in OCSF. */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { registerOperations } from '../adapters/http/azure-functions.js';
import { defineOperation } from '../adapters/http/operation.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/api-runtime.js').then((m) => m.getApiRuntime());

type RunParams = { evaluationId: string };

export const getEvidence = defineOperation<RunParams>('getEvidence', async ({ services, params }) => ({
  status: 200,
  body: await services.evidence.getEvidence(params.evaluationId, `/api/v1/evaluations/${encodeURIComponent(params.evaluationId)}/evidence`),
}));

export const verifyEvidence = defineOperation<RunParams, { depth?: number }>('verifyEvidence', async ({ services, params, query }) => ({
  status: 200,
  body: await services.evidence.verify(params.evaluationId, query.depth),
}));

export const getEvidenceBlob = defineOperation<RunParams & { blobName: string }>('getEvidenceBlob', async ({ services, params }) => {
  const blob = await services.evidence.openBlob(params.evaluationId, params.blobName);
  return {
    status: 200,
    // Served as stored (gzip bytes, not a Content-Encoding), so what a client hashes is what the manifest lists.
    raw: { contentType: blob.contentType, body: blob.stream },
    headers: { 'content-length': String(blob.bytes), 'x-evidence-blob': blob.name, 'content-disposition': `attachment; filename="${params.blobName}"` },
  };
});

export const exportFindings = defineOperation<RunParams, { format: 'ocsf' }>('exportFindings', async ({ services, params }) => {
  const findings = await services.findings.exportOcsf(params.evaluationId);
  return {
    status: 200,
    raw: { contentType: 'application/x-ndjson; charset=utf-8', body: findings.stream },
    headers: { 'x-subscriptions-not-collected': String(findings.subscriptionsNotCollected) },
  };
});

registerOperations([getEvidence, verifyEvidence, getEvidenceBlob, exportFindings], runtime);

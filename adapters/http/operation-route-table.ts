/**
 * The operation routes, derived from the OpenAPI document on first use: what tsx, the tests and the
 * local tools use. The deployment bundle replaces this module with the same rows as data
 * (`infra/scripts/validators-aot.ts`), so the document is not part of a cold start.
 */
import type { OperationRoute } from './operation-routes.js';
import { listDocumentedOperations } from './validation.js';

/** An {@link OperationRoute} as plain data (JSON): the ETag statuses as a sorted list. */
export type OperationRouteRow = Omit<OperationRoute, 'etagStatuses'> & { readonly etagStatuses: readonly number[] };

/** One row per documented operation. */
export function operationRouteTable(): readonly OperationRouteRow[] {
  return listDocumentedOperations().map((o) => ({
    operationId: o.operationId,
    method: o.method,
    path: o.path,
    requiredRole: o.requiredRole,
    anonymous: o.anonymous,
    optionalAuth: o.optionalAuth,
    hasBody: o.hasBody,
    bodyRequired: o.bodyRequired,
    etag: o.etag,
    etagStatuses: [...o.etagStatuses].sort((a, b) => a - b),
  }));
}

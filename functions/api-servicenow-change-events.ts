/**
 * `POST /api/v1/integrations/servicenow/change-events`: ServiceNow change request updates, signed per
 * Standard Webhooks (not a bearer token), so it reads the raw body itself (adapters/webhooks/change-event-endpoint.ts).
 */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { registerOperations } from '../adapters/http/azure-functions.js';
import type { Operation } from '../adapters/http/operation.js';
import { getDocumentedOperation } from '../adapters/http/validation.js';
import { handleChangeEvent } from '../adapters/webhooks/change-event-endpoint.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/api-runtime.js').then((m) => m.getApiRuntime());

const OPERATION_ID = 'receiveServiceNowChangeEvent';

export function changeEventOperation(): Operation {
  const spec = getDocumentedOperation(OPERATION_ID);
  return {
    operationId: OPERATION_ID,
    method: spec.method,
    path: spec.path,
    route: spec.path.replace(/^\/api\//, ''),
    spec,
    handle: (request, rt) =>
      handleChangeEvent(request, rt.services.changeEvents, {
        maxBodyBytes: rt.maxRequestBodyBytes,
        logError: (m, p) => rt.logger.error(m, p),
        // A warning, not an error: refusals are expected noise until they are not (alert on their rate).
        logRefusal: (m, p) => console.warn(`${m} ${JSON.stringify(p)}`),
        audit: { log: rt.auditLog, newId: rt.newId, clock: rt.clock, operationId: OPERATION_ID, path: spec.path },
      }),
  };
}

export const receiveServiceNowChangeEvent = changeEventOperation();

registerOperations([receiveServiceNowChangeEvent], runtime);

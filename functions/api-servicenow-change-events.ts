/**
 * `POST /api/v1/integrations/servicenow/change-events`: ServiceNow change request updates, signed per
 * Standard Webhooks (not a bearer token): the operation hands the handler the raw signed body
 * (adapters/http/change-event-endpoint.ts).
 */
import type { ApiRuntime } from '../adapters/http/api-runtime.js';
import { registerOperations } from '../adapters/http/azure-functions.js';
import { defineOperation } from '../adapters/http/operation.js';
import { changeEventHandler, UNVERIFIED_CALLER } from '../adapters/http/change-event-endpoint.js';

const runtime = (): Promise<ApiRuntime> => import('../bootstrap/api-runtime.js').then((m) => m.getApiRuntime());

export const receiveServiceNowChangeEvent = defineOperation(
  'receiveServiceNowChangeEvent',
  changeEventHandler(),
  { signedBody: { unverifiedCaller: UNVERIFIED_CALLER } },
);

registerOperations([receiveServiceNowChangeEvent], runtime);

/**
 * What the request pipeline needs of each documented operation when it runs: method, path, roles,
 * body rules and which statuses carry an ETag. The OpenAPI document still says all of it
 * (`./operation-route-table.ts` derives the table from the document); the deployment bundle replaces
 * that module with the table as data, computed at build time, so a cold instance neither loads nor
 * walks the document to register its functions or serve a request.
 */
import { operationRouteTable, type OperationRouteRow } from './operation-route-table.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface OperationRoute {
  readonly operationId: string;
  readonly method: HttpMethod;
  /** OpenAPI path, e.g. `/api/v1/clusters/{subscriptionId}/{resourceGroup}/{clusterName}`. */
  readonly path: string;
  readonly requiredRole: string | undefined;
  /** No token needed: `security` is empty or lists the empty requirement `{}`. */
  readonly anonymous: boolean;
  /**
   * Anonymous, but the document also lists a bearer requirement (`security: [{}, { bearerAuth: [role] }]`):
   * a valid token, when one comes, is passed to the handler as the principal (and may see more).
   */
  readonly optionalAuth: boolean;
  readonly hasBody: boolean;
  /** False when the document marks the request body optional (no body = `{}`). */
  readonly bodyRequired: boolean;
  /** True when the 200 response declares an ETag header. */
  readonly etag: boolean;
  /** Statuses whose documented response declares an ETag header (the pipeline sends one on each). */
  readonly etagStatuses: ReadonlySet<number>;
}

let byId: Map<string, OperationRoute> | undefined;

function fromRow(row: OperationRouteRow): OperationRoute {
  const { etagStatuses, ...rest } = row;
  return { ...rest, etagStatuses: new Set(etagStatuses) };
}

/** The route of one documented operation; throws for an operationId the document does not have. */
export function getOperationRoute(operationId: string): OperationRoute {
  byId ??= new Map(operationRouteTable().map((row) => [row.operationId, fromRow(row)]));
  const found = byId.get(operationId);
  if (found === undefined) throw new Error(`operationId ${operationId} is not in the OpenAPI document`);
  return found;
}

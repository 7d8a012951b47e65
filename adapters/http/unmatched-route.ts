/**
 * What answers a request no operation's route took: 404 `NotFound` for an unknown path, 405
 * `MethodNotAllowed` (with `Allow`) for a path served with other methods, in the one error shape with
 * `x-request-id`, so clients never see the host's bare 404/405. Calls with an unsafe method are
 * audited (someone tried to change something), naming the caller when a valid token came with it.
 *
 * The Functions adapter registers it as a catch-all function; the `node:http` adapter calls it for
 * what its router does not match. A request the router does match (the host gave the catch-all a
 * request another function serves) is passed to that operation rather than refused.
 */
import type { ApiRuntime } from './api-runtime.js';
import { NotFoundError } from '../../domain/errors.js';
import { toErrorResponse } from './error-mapping.js';
import { MethodNotAllowedError } from './http-errors.js';
import { redactSecrets } from './log-redaction.js';
import { audit, callerIfAny, errorResponse, requestIdOf, type ApiRequest, type ApiResponse } from './operation.js';
import type { Router } from './router.js';

/** The `operation` of audit records for requests no operation served. */
export const UNMATCHED_ROUTE_OPERATION = 'unmatchedRoute';

/**
 * RFC 9110 §9.2.1 safe methods the API answers: they change nothing, so refusing them is not worth an
 * audit record. TRACE is safe too but never served: it is a probe (cross-site tracing), so it is audited.
 */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Answers a request no operation's route took. `request.params` (the host's `{*path}`) are ignored: the router matches the path itself. */
export async function handleUnmatchedRoute(request: ApiRequest, router: Router, runtime: ApiRuntime): Promise<ApiResponse> {
  const url = new URL(request.url);
  const method = request.method.toUpperCase();
  const match = router.match(method, url.pathname);
  if (match !== undefined && match !== 'method-not-allowed') return match.operation.handle({ ...request, params: match.params }, runtime);

  const requestId = requestIdOf(request);
  const allow = match === 'method-not-allowed' ? router.allowedMethods(url.pathname) : [];
  const error = allow.length > 0 ? new MethodNotAllowedError(method, allow) : new NotFoundError('No operation is served at this path. See /api/openapi.json.', 'path');
  const mapped = toErrorResponse(error);
  if (!SAFE_METHODS.has(method)) {
    const principal = await callerIfAny(request, runtime, requestId, UNMATCHED_ROUTE_OPERATION);
    await audit(runtime, {
      requestId,
      principal,
      operationId: UNMATCHED_ROUTE_OPERATION,
      // The path is the caller's text: bounded, and stripped of anything shaped like a secret.
      target: redactSecrets(`${method} ${url.pathname}`.slice(0, 1024)),
      status: mapped.status,
      errorCode: mapped.body.error.code,
      at: runtime.clock.now(),
      // Without a valid token the caller could not have done anything here anyway.
      outcome: principal === undefined ? 'denied' : 'failed',
    });
  }
  return errorResponse(mapped, requestId);
}

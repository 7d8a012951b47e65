/**
 * `defineOperation(operationId, handler, options)`: the wrapper every `functions/api-*.ts` handler goes
 * through.
 *
 * In order: request id, authentication and role (from the document's `x-required-role`), body limit,
 * content type and JSON parsing (or, for an operation that takes no body, refusal of any body with fields;
 * or, for an inbound webhook, the raw signed bytes), validation of path/query/body against the document,
 * the handler, ETag/304, security headers, the one error mapping, redacted logging of unexpected errors
 * and outages, and an audit record — succeeded, failed or denied — for every mutating call and every
 * read of an operation that asks for it (`auditReads`). One audit rule: a record that cannot be
 * written is logged, never turned into an error, whatever the call was.
 */
import { createHash, randomUUID } from 'node:crypto';
import { ForbiddenOperationError, InvalidRequestError } from '../../domain/errors.js';
import type { ApiRuntime, ApiServices } from './api-runtime.js';
import type { Principal } from './auth.js';
import type { Logger } from '../../application/logger.js';
import { toErrorResponse, type MappedError } from './error-mapping.js';
import { HttpError } from './http-errors.js';
import { describeError, redactProperties } from './log-redaction.js';
import { getOperationRoute, type HttpMethod, type OperationRoute } from './operation-routes.js';
import { loadRequestValidators } from './request-validation.js';

/** A transport-neutral request: the Azure Functions and node:http adapters both produce it. */
export interface ApiRequest {
  readonly method: string;
  /** Absolute URL. */
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  /** Raw path parameters as the router matched them (already URL-decoded). */
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly body: AsyncIterable<Uint8Array> | null;
}

/** A response body produced while it is sent (exports, evidence blobs): never buffered whole. */
export type StreamedBody = AsyncIterable<Uint8Array>;

export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array | StreamedBody;
}

export function isStreamedBody(body: ApiResponse['body']): body is StreamedBody {
  return typeof body === 'object' && body !== null && !(body instanceof Uint8Array) && Symbol.asyncIterator in body;
}

/**
 * What the audit record of a call says beyond the principal and status, set by the handler as soon as
 * it knows (so it is kept when the handler then throws). `OperationResult.auditTarget`/`auditDetail`
 * take precedence on success.
 */
export interface AuditNote {
  /** What the call acted on (default: the request path). */
  target?: string | undefined;
  /** Kept on a successful call; on a failed one appended to the error code (`Unauthorized: stale`). */
  detail?: string | undefined;
  /** The caller of a call without a bearer token (a signed webhook), recorded as `callerAppId`. */
  callerAppId?: string | undefined;
}

export interface OperationContext<P = Record<string, unknown>, Q = Record<string, unknown>, B = unknown> {
  readonly requestId: string;
  /** Undefined only on anonymous operations (on those with optional authentication: unless a valid token came). */
  readonly principal: Principal | undefined;
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly url: URL;
  /** The request's `Accept` header, for operations that offer more than one representation. */
  readonly accept: string | null;
  readonly services: ApiServices;
  readonly now: Date;
  readonly headers: { get(name: string): string | null };
  /** The exact body bytes as UTF-8, for operations defined with `signedBody` (else undefined). */
  readonly rawBody: string | undefined;
  readonly audit: AuditNote;
  /** The invocation's logger (lines carry the function name and invocation id). */
  readonly log: Logger;
}

export interface OperationOptions {
  /** Audit this read like a mutation (every call, succeeded, failed or denied). */
  readonly auditReads?: boolean;
  /**
   * An inbound webhook authenticated by a signature over the exact body bytes instead of a bearer
   * token: the body is read raw (within the body limit), neither parsed nor validated, and handed to
   * the handler as `rawBody` to verify. The audit record names `unverifiedCaller` until the handler
   * names the verified one (`audit.callerAppId`): an unsigned body must not put a name in the log.
   */
  readonly signedBody?: { readonly unverifiedCaller: string };
}

export interface OperationResult {
  readonly status: number;
  /** JSON body. */
  readonly body?: unknown;
  /** A non-JSON body (CSV, HTML, static assets), or a stream (never given an ETag). */
  readonly raw?: { readonly contentType: string; readonly body: string | Uint8Array | StreamedBody; readonly cacheControl?: string; readonly csp?: string };
  readonly headers?: Readonly<Record<string, string>>;
  /** What the audit record names as target (default: the request path). */
  readonly auditTarget?: string;
  /** A note kept on the audit record of a successful call (e.g. an approver's comment). */
  readonly auditDetail?: string;
}

export interface Operation {
  readonly operationId: string;
  readonly method: HttpMethod;
  readonly path: string;
  /** Azure Functions route (relative to the `api` route prefix). */
  readonly route: string;
  readonly spec: OperationRoute;
  handle(request: ApiRequest, runtime: ApiRuntime): Promise<ApiResponse>;
}

export type OperationHandler<P, Q, B> = (ctx: OperationContext<P, Q, B>) => Promise<OperationResult>;

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const JSON_CONTENT_TYPE = /^application\/json\s*(;\s*charset=utf-8\s*)?$/i;
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/** An id a caller sent (`x-request-id`, `webhook-id`) that is safe to echo and log. */
export function isSafeId(value: string | null): value is string {
  return value !== null && SAFE_REQUEST_ID.test(value);
}

/** The caller's `x-request-id` when it is safe to echo, otherwise a new one. */
export function requestIdOf(request: ApiRequest): string {
  const incoming = request.headers.get('x-request-id');
  return isSafeId(incoming) ? incoming : randomUUID();
}

async function readBody(request: ApiRequest, limit: number): Promise<Buffer> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw new HttpError('PayloadTooLarge', `The request body exceeds ${limit} bytes.`);
  if (request.body === null) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.byteLength;
    if (size > limit) throw new HttpError('PayloadTooLarge', `The request body exceeds ${limit} bytes.`);
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return Buffer.concat(chunks);
}

/**
 * For operations the document gives no request body: no body, an empty body or an empty JSON object
 * (`{}`, what HTTP clients, ServiceNow REST steps and Logic Apps send on a POST action by default) are
 * accepted. An object with fields is refused naming each field (400 `UnknownField`), so a client that
 * believes it is passing options learns that nothing reads them; anything else is refused as a body
 * (400 `UnexpectedBody`, 413 over the limit).
 */
async function refuseBody(request: ApiRequest, limit: number): Promise<void> {
  const raw = await readBody(request, limit);
  if (raw.byteLength === 0) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    parsed = undefined;
  }
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const fields = Object.keys(parsed);
    if (fields.length === 0) return;
    throw new InvalidRequestError(
      `This operation takes no request body fields; unknown field${fields.length > 1 ? 's' : ''}: ${fields.join(', ')}.`,
      fields[0],
      fields.map((field) => ({ code: 'UnknownField', message: 'unknown field', target: field })),
    );
  }
  throw new InvalidRequestError('This operation takes no request body.', 'body', [{ code: 'UnexpectedBody', message: 'no request body is accepted', target: 'body' }]);
}

/**
 * The JSON body of an operation that takes one. When the document marks the body optional
 * (`requestBody.required: false`, every field optional), no body or an empty one is the empty object.
 */
async function parseJsonBody(request: ApiRequest, limit: number, optional: boolean): Promise<unknown> {
  const raw = await readBody(request, limit);
  if (raw.byteLength === 0) {
    if (optional) return {};
    throw new InvalidRequestError('A JSON request body is required.', 'body');
  }
  const contentType = request.headers.get('content-type');
  if (contentType === null || !JSON_CONTENT_TYPE.test(contentType.trim())) {
    throw new HttpError('UnsupportedMediaType', 'The request body must be application/json.', 'content-type');
  }
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    throw new InvalidRequestError('The request body is not valid JSON.', 'body');
  }
}

/** Strong ETag of the exact response bytes. */
export function etagOf(bytes: string | Uint8Array): string {
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 32)}"`;
}

function ifNoneMatchHits(header: string | null, etag: string): boolean {
  if (header === null) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/**
 * Serialized JSON (and its ETag, once asked for) of frozen bodies, by identity. A frozen body is one a
 * repository shares between requests (the latest summary, deep-frozen): it cannot change, so its
 * bytes and hash are computed once instead of on every request. Other bodies are serialized each time.
 */
interface SerializedBody {
  readonly json: string;
  /** UTF-8 of `json`, kept for shared (frozen) bodies only; consumers copy it (`new Response` does). */
  readonly bytes?: Uint8Array;
  etag?: string;
}

const frozenBodies = new WeakMap<object, SerializedBody>();

function isFrozenObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && Object.isFrozen(value);
}

/**
 * `JSON.stringify` of a plain object whose top-level values may be shared frozen objects (a collection
 * `{ value: <cached page items>, nextLink }`): those values come from the memo. Same text as
 * `JSON.stringify(body)`: undefined/function/symbol values are skipped, `toJSON` is honoured.
 */
function stringifyWithFrozenParts(body: Record<string, unknown>): string {
  let out = '{';
  for (const key of Object.keys(body)) {
    const value = body[key];
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
    const json = isFrozenObject(value) ? serialize(value).json : JSON.stringify(value);
    if (json === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${json}`;
  }
  return `${out}}`;
}

function memoOf(json: string): SerializedBody {
  const utf8 = Buffer.from(json, 'utf8');
  return { json, bytes: new Uint8Array(utf8.buffer, utf8.byteOffset, utf8.byteLength) };
}

/**
 * Bodies made of one shared frozen part plus primitives (a collection `{ value: <cached page items>,
 * nextLink }`), memoized on that part by the primitives: repeated requests for the same cached page get
 * the same bytes (and ETag) instead of a 45 KB string spliced and encoded per request. A few variants per
 * part (the same page reached through different URLs); the memo goes when the part does.
 */
const compositeBodies = new WeakMap<object, Map<string, SerializedBody>>();
const COMPOSITES_PER_PART = 4;

function serializeComposite(body: Record<string, unknown>): SerializedBody {
  let part: object | undefined;
  let key = '';
  for (const name of Object.keys(body)) {
    const value = body[name];
    if (isFrozenObject(value)) {
      if (part !== undefined) return { json: stringifyWithFrozenParts(body) };
      part = value;
      key += `${JSON.stringify(name)}:#,`;
    } else if (value === undefined) {
      key += `${JSON.stringify(name)}:u,`;
    } else if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      key += `${JSON.stringify(name)}:${JSON.stringify(value)},`;
    } else {
      return { json: stringifyWithFrozenParts(body) };
    }
  }
  if (part === undefined) return { json: JSON.stringify(body) };
  let variants = compositeBodies.get(part);
  if (variants === undefined) {
    variants = new Map();
    compositeBodies.set(part, variants);
  }
  let memo = variants.get(key);
  if (memo === undefined) {
    memo = memoOf(stringifyWithFrozenParts(body));
    if (variants.size >= COMPOSITES_PER_PART) variants.delete(variants.keys().next().value as string);
    variants.set(key, memo);
  }
  return memo;
}

function serialize(body: unknown): SerializedBody {
  if (!isFrozenObject(body)) {
    const plain = typeof body === 'object' && body !== null && Object.getPrototypeOf(body) === Object.prototype && typeof (body as { toJSON?: unknown }).toJSON !== 'function';
    return plain ? serializeComposite(body as Record<string, unknown>) : { json: JSON.stringify(body) };
  }
  let memo = frozenBodies.get(body);
  if (memo === undefined) {
    memo = memoOf(JSON.stringify(body));
    frozenBodies.set(body, memo);
  }
  return memo;
}

function routeOf(path: string): string {
  return path.replace(/^\/api\//, '');
}

export function defineOperation<P = Record<string, unknown>, Q = Record<string, unknown>, B = unknown>(
  operationId: string,
  handler: OperationHandler<P, Q, B>,
  options: OperationOptions = {},
): Operation {
  const spec = getOperationRoute(operationId);
  const mutating = spec.method !== 'GET';
  const audited = mutating || options.auditReads === true;
  const signed = options.signedBody;

  async function handle(request: ApiRequest, runtime: ApiRuntime): Promise<ApiResponse> {
    const requestId = requestIdOf(request);
    const url = new URL(request.url);
    const now = runtime.clock.now();
    let principal: Principal | undefined;
    let result: OperationResult | undefined;
    let response: ApiResponse;
    let errorCode: string | undefined;
    const note: AuditNote = signed !== undefined ? { callerAppId: signed.unverifiedCaller } : {};
    try {
      if (!spec.anonymous) {
        principal = await runtime.authenticator.authenticate(request.headers.get('authorization'));
        if (spec.requiredRole !== undefined && !principal.roles.includes(spec.requiredRole)) {
          throw new ForbiddenOperationError(`The caller lacks the app role ${spec.requiredRole}.`, spec.requiredRole);
        }
      } else if (spec.optionalAuth) principal = await callerIfAny(request, runtime, requestId, operationId);
      const validators = await loadRequestValidators(operationId);
      const params = validators.path(request.params);
      const query = validators.query(url.searchParams);
      let body: unknown;
      let rawBody: string | undefined;
      if (signed !== undefined) rawBody = (await readBody(request, runtime.maxRequestBodyBytes)).toString('utf8');
      else if (spec.hasBody) body = validators.body(await parseJsonBody(request, runtime.maxRequestBodyBytes, !spec.bodyRequired));
      else if (mutating) await refuseBody(request, runtime.maxRequestBodyBytes);
      result = await handler({
        requestId,
        principal,
        params: params as P,
        query: query as Q,
        body: body as B,
        url,
        accept: request.headers.get('accept'),
        services: runtime.services,
        log: runtime.logger,
        now,
        headers: request.headers,
        rawBody,
        audit: note,
      });
      response = render(result, request, spec, requestId, principal !== undefined);
      // The answer depends on the token: a shared cache must not hand one caller's view to another.
      if (spec.optionalAuth) response = { ...response, headers: { ...response.headers, vary: 'authorization' } };
    } catch (err) {
      const mapped = toErrorResponse(err);
      errorCode = mapped.body.error.code;
      logMappedError(runtime, mapped, err, { requestId, operationId });
      response = errorResponse(mapped, requestId);
    }
    if (audited) {
      await audit(runtime, {
        requestId,
        principal,
        callerAppId: note.callerAppId,
        operationId,
        target: result?.auditTarget ?? note.target ?? url.pathname,
        status: response.status,
        errorCode: errorCode !== undefined && note.detail !== undefined ? `${errorCode}: ${note.detail}` : errorCode,
        detail: result?.auditDetail ?? note.detail,
        at: now,
      });
    }
    return response;
  }

  return { operationId, method: spec.method, path: spec.path, route: routeOf(spec.path), spec, handle };
}

/**
 * The caller of a valid token, for operations that do not require one: no token or a bad one is just
 * anonymous. An invalid token is expected noise; an unreachable issuer is an outage worth logging.
 */
export async function callerIfAny(request: ApiRequest, runtime: ApiRuntime, requestId: string, operationId: string): Promise<Principal | undefined> {
  const header = request.headers.get('authorization');
  if (header === null || header === '') return undefined;
  try {
    return await runtime.authenticator.authenticate(header);
  } catch (err) {
    const mapped = toErrorResponse(err);
    if (mapped.body.error.code !== 'Unauthorized') logMappedError(runtime, mapped, err, { requestId, operationId });
    return undefined;
  }
}

/** An error in the one shape, with the request id and the headers every API response carries. */
export function errorResponse(mapped: MappedError, requestId: string): ApiResponse {
  return {
    status: mapped.status,
    headers: { ...baseHeaders(requestId, true), 'content-type': 'application/json; charset=utf-8', 'content-security-policy': API_CSP, ...mapped.headers },
    body: JSON.stringify(mapped.body),
  };
}

/**
 * Logs what the mapping says an operator must see (unexpected errors with their stack, outages with
 * their cause chain), with secrets redacted: SDK messages can quote connection strings, SAS URLs or tokens.
 */
export function logMappedError(runtime: ApiRuntime, mapped: MappedError, err: unknown, context: { readonly requestId: string; readonly operationId: string }): void {
  if (!mapped.log) return;
  runtime.logger.error(
    mapped.unexpected ? 'Unhandled error in API operation' : `API operation failed: ${mapped.body.error.code}`,
    redactProperties({ ...context, status: mapped.status, code: mapped.body.error.code, error: describeError(err, mapped.unexpected) }),
  );
}

function baseHeaders(requestId: string, noStore: boolean): Record<string, string> {
  const headers: Record<string, string> = { 'x-request-id': requestId, 'x-content-type-options': 'nosniff' };
  if (noStore) headers['cache-control'] = 'no-store';
  return headers;
}

function render(result: OperationResult, request: ApiRequest, spec: OperationRoute, requestId: string, authenticated: boolean): ApiResponse {
  const headers = baseHeaders(requestId, authenticated);
  if (result.headers !== undefined) Object.assign(headers, result.headers);
  let body: string | Uint8Array | StreamedBody | undefined;
  let json: SerializedBody | undefined;
  if (result.raw !== undefined) {
    body = result.raw.body;
    headers['content-type'] = result.raw.contentType;
    headers['content-security-policy'] = result.raw.csp ?? API_CSP;
    if (!authenticated) headers['cache-control'] = result.raw.cacheControl ?? 'no-store';
  } else if (result.body !== undefined) {
    json = serialize(result.body);
    body = json.bytes ?? json.json;
    headers['content-type'] = 'application/json; charset=utf-8';
    headers['content-security-policy'] = API_CSP;
    if (!authenticated) headers['cache-control'] = 'no-store';
  } else if (!authenticated) {
    headers['cache-control'] = 'no-store';
  }
  // The ETag goes on every status whose response the document declares with one (200, and 201 for a
  // created resource); only a 200 can turn into 304.
  if (body !== undefined && !isStreamedBody(body) && spec.etagStatuses.has(result.status)) {
    const etag = json !== undefined ? (json.etag ??= etagOf(body)) : etagOf(body);
    headers['etag'] = etag;
    if (result.status === 200 && ifNoneMatchHits(request.headers.get('if-none-match'), etag)) {
      delete headers['content-type'];
      return { status: 304, headers };
    }
  }
  return body === undefined ? { status: result.status, headers } : { status: result.status, headers, body };
}

export interface AuditEntry {
  readonly requestId: string;
  readonly principal: Principal | undefined;
  /** The caller of a call without a principal (a signed webhook). */
  readonly callerAppId?: string | undefined;
  readonly operationId: string;
  readonly target: string;
  readonly status: number;
  readonly errorCode: string | undefined;
  /** Kept when there is no error code (a failed call records its code instead). */
  readonly detail?: string | undefined;
  readonly at: Date;
  /** Default: from the status (401/403 denied, other 4xx/5xx failed). */
  readonly outcome?: 'succeeded' | 'failed' | 'denied';
}

/** Appends the audit record of a mutating call; a failure to write it is logged, never thrown. */
export async function audit(runtime: ApiRuntime, entry: AuditEntry): Promise<void> {
  const outcome = entry.outcome ?? (entry.status === 401 || entry.status === 403 ? 'denied' : entry.status >= 400 ? 'failed' : 'succeeded');
  try {
    await runtime.auditLog.append({
      id: runtime.newId(),
      at: entry.at.toISOString(),
      requestId: entry.requestId,
      callerObjectId: entry.principal?.objectId,
      callerAppId: entry.principal?.appId ?? entry.callerAppId,
      roles: entry.principal?.roles ?? [],
      operation: entry.operationId,
      target: entry.target,
      outcome,
      detail: entry.errorCode ?? entry.detail,
    });
  } catch (err) {
    // The mutation already happened (or was refused); losing its audit record must be visible to operators.
    runtime.logger.error(
      'Audit record could not be written',
      redactProperties({ requestId: entry.requestId, operationId: entry.operationId, error: describeError(err, false) }),
    );
  }
}


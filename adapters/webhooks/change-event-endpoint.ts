/**
 * The HTTP side of inbound ServiceNow change events. It cannot use the bearer-token operation wrapper:
 * the caller authenticates with a Standard Webhooks signature over the exact body bytes, so the raw
 * body is read here (bounded), handed to the receiver, and every error goes through the one error
 * mapping. Unauthenticated, stale and replayed calls are 401 and change nothing.
 *
 * Like every mutating API call (adapters/http/operation.ts), each call leaves an audit record —
 * succeeded, failed or denied — naming the caller `servicenow:<approvedBy or change number>` and the
 * target `rollouts/{id}/waves/{wave}`. A refused call's body is not authentic: its target is recorded as
 * claimed, its caller as `servicenow:unverified` (an unsigned body must not put a name in the log), and
 * the refusal is logged (reason and ids only, never a header value that could carry a secret).
 */
import { randomUUID } from 'node:crypto';
import type { AuditLog, AuditRecord, Clock } from '../../application/ports.js';
import { changeActor, InboundAuthenticationError, type ChangeEventOutcome, type ChangeEventReceiver } from '../../application/servicenow-change-events.js';
import { parseChangeEvent, type ChangeEvent } from '../../domain/servicenow-mapping.js';
import { toErrorResponse } from '../http/error-mapping.js';
import { HttpError } from '../http/http-errors.js';

export interface RawRequest {
  readonly headers: { get(name: string): string | null };
  readonly body: AsyncIterable<Uint8Array> | null;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export type EndpointLog = (message: string, properties: Record<string, unknown>) => void;

export interface ChangeEventEndpointOptions {
  readonly maxBodyBytes: number;
  readonly logError?: EndpointLog;
  /** Refused calls (401): reason, request id, claimed target. */
  readonly logRefusal?: EndpointLog;
  /** The API's audit log; absent writes no record (tests of the HTTP behaviour alone). */
  readonly audit?: { readonly log: AuditLog; readonly newId: () => string; readonly clock: Clock; readonly operationId: string; readonly path: string };
}

/** The caller of a call whose signature did not verify. */
export const UNVERIFIED_CALLER = 'servicenow:unverified';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

async function readRaw(body: AsyncIterable<Uint8Array> | null, limit: number): Promise<string> {
  if (body === null) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) throw new HttpError('PayloadTooLarge', `The request body exceeds ${limit} bytes.`);
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The change a body describes, if it parses (authentic or not: the caller decides what to trust). */
function claimedChange(body: string | undefined): ChangeEvent | undefined {
  if (body === undefined) return undefined;
  try {
    const parsed = parseChangeEvent(JSON.parse(body) as unknown);
    return parsed.ok ? parsed.value : undefined;
  } catch {
    return undefined;
  }
}

export async function handleChangeEvent(
  request: RawRequest,
  receiver: ChangeEventReceiver | (() => Promise<ChangeEventReceiver>),
  options: ChangeEventEndpointOptions,
): Promise<RawResponse> {
  const incoming = request.headers.get('x-request-id');
  const requestId = incoming !== null && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
  const base = { 'x-request-id': requestId, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
  const at = options.audit?.clock.now() ?? new Date();
  let body: string | undefined;
  let verified = false;
  let outcome: ChangeEventOutcome | undefined;
  let response: RawResponse;
  let errorDetail: string | undefined;
  try {
    const declared = request.headers.get('content-length');
    if (declared !== null && Number(declared) > options.maxBodyBytes) throw new HttpError('PayloadTooLarge', `The request body exceeds ${options.maxBodyBytes} bytes.`);
    body = await readRaw(request.body, options.maxBodyBytes);
    const r = typeof receiver === 'function' ? await receiver() : receiver;
    // The receiver verifies before anything else: whatever it throws but an authentication error
    // comes after the signature was checked.
    verified = true;
    outcome = await r.receive({ headers: request.headers, body });
    response = { status: 200, headers: base, body: JSON.stringify(outcome) };
  } catch (error) {
    const refused = error instanceof InboundAuthenticationError;
    if (refused) verified = false;
    // One message for every authentication failure: a caller learns nothing about which check failed.
    const mapped = toErrorResponse(refused ? new HttpError('Unauthorized', 'The change event is not authentic (signature, timestamp or id).') : error);
    errorDetail = refused ? `${mapped.body.error.code}: ${error.reason}` : mapped.body.error.code;
    if (mapped.unexpected) options.logError?.('Unhandled error in change event', { requestId, error: error instanceof Error ? error.message : String(error) });
    if (refused) {
      const claimed = claimedChange(body);
      const webhookId = request.headers.get('webhook-id');
      options.logRefusal?.('ServiceNow change event refused', {
        requestId,
        reason: error.reason,
        ...(webhookId !== null && SAFE_REQUEST_ID.test(webhookId) ? { webhookId } : {}),
        ...(claimed !== undefined ? { claimedTarget: `rollouts/${claimed.rolloutId}/waves/${claimed.waveId}` } : {}),
      });
    }
    response = { status: mapped.status, headers: { ...base, ...mapped.headers }, body: JSON.stringify(mapped.body) };
  }
  if (options.audit !== undefined) {
    const change = claimedChange(body);
    const record: AuditRecord = {
      id: options.audit.newId(),
      at: at.toISOString(),
      requestId,
      callerObjectId: undefined,
      callerAppId: verified && change !== undefined ? changeActor(change) : UNVERIFIED_CALLER,
      roles: [],
      operation: options.audit.operationId,
      target: outcome !== undefined ? `rollouts/${outcome.rolloutId}/waves/${outcome.waveId}` : change !== undefined ? `rollouts/${change.rolloutId}/waves/${change.waveId}` : options.audit.path,
      outcome: response.status === 401 || response.status === 403 ? 'denied' : response.status >= 400 ? 'failed' : 'succeeded',
      detail: outcome !== undefined ? `${outcome.action} (change ${outcome.changeNumber})` : errorDetail,
    };
    try {
      await options.audit.log.append(record);
    } catch (error) {
      // The change already happened (or was refused); losing its audit record must be visible to operators.
      options.logError?.('Audit record could not be written', { requestId, operationId: options.audit.operationId, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return response;
}

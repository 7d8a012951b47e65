/**
 * The HTTP side of inbound ServiceNow change events. It cannot use the bearer-token operation wrapper:
 * the caller authenticates with a Standard Webhooks signature over the exact body bytes, so the raw
 * body is read here (bounded), handed to the receiver, and every error goes through the one error
 * mapping. Unauthenticated, stale and replayed calls are 401 and change nothing.
 */
import { randomUUID } from 'node:crypto';
import { InboundAuthenticationError, type ChangeEventReceiver } from '../../application/servicenow-change-events.js';
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

export async function handleChangeEvent(
  request: RawRequest,
  receiver: ChangeEventReceiver | (() => Promise<ChangeEventReceiver>),
  options: { readonly maxBodyBytes: number; readonly logError?: (message: string, properties: Record<string, unknown>) => void },
): Promise<RawResponse> {
  const incoming = request.headers.get('x-request-id');
  const requestId = incoming !== null && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
  const base = { 'x-request-id': requestId, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
  try {
    const declared = request.headers.get('content-length');
    if (declared !== null && Number(declared) > options.maxBodyBytes) throw new HttpError('PayloadTooLarge', `The request body exceeds ${options.maxBodyBytes} bytes.`);
    const body = await readRaw(request.body, options.maxBodyBytes);
    const r = typeof receiver === 'function' ? await receiver() : receiver;
    const outcome = await r.receive({ headers: request.headers, body });
    return { status: 200, headers: base, body: JSON.stringify(outcome) };
  } catch (error) {
    // One message for every authentication failure: a caller learns nothing about which check failed.
    const mapped = toErrorResponse(error instanceof InboundAuthenticationError ? new HttpError('Unauthorized', 'The change event is not authentic (signature, timestamp or id).') : error);
    if (mapped.unexpected) options.logError?.('Unhandled error in change event', { requestId, error: error instanceof Error ? error.message : String(error) });
    return { status: mapped.status, headers: { ...base, ...mapped.headers }, body: JSON.stringify(mapped.body) };
  }
}

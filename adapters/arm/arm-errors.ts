/**
 * The one way every ARM adapter turns an SDK failure (after the SDK's own retries) into an application
 * error: a {@link ArmRequestError} carrying the HTTP status, the ARM error code and its classification
 * (`domain/arm-failure.ts`: permanent refusals and missing or disabled subscriptions versus throttling,
 * timeouts and server errors), or an {@link ArmRetryLaterError} when the service asked to be retried
 * later. Messages keep the ARM text (it names the action and scope a refusal was about) but never
 * request details that could hold secrets.
 */
import type { RetryAfterHint } from '../../application/ports.js';
import { classifyArmFailure, type ArmFailure } from '../../domain/arm-failure.js';
import { DependencyError } from '../../domain/errors.js';

/** An ARM call that failed after the SDK's retries, with what ARM said and what it means. */
export class ArmRequestError extends DependencyError {
  constructor(
    message: string,
    target: string,
    /** HTTP status of the answer; undefined when none came (timeout, network). */
    readonly status: number | undefined,
    readonly armFailure: ArmFailure,
    options?: { cause?: unknown },
  ) {
    super(message, target, options);
  }

  /** The ARM error code, or `HTTP <status>` / `RequestTimeout` / `NetworkError` without one. */
  get armCode(): string {
    return this.armFailure.code;
  }
}

/** An ARM read still answered 429/503 with `Retry-After` after the SDK's own retries. */
export class ArmRetryLaterError extends ArmRequestError implements RetryAfterHint {
  constructor(
    message: string,
    target: string,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown; status?: number; armFailure?: ArmFailure },
  ) {
    super(message, target, options?.status ?? 429, options?.armFailure ?? classifyArmFailure({ status: options?.status ?? 429 }), options);
  }
}

export function statusOf(e: unknown): number | undefined {
  const status = typeof e === 'object' && e !== null && 'statusCode' in e ? (e as { statusCode?: unknown }).statusCode : undefined;
  return typeof status === 'number' ? status : undefined;
}

/** `error.code` of the ARM error body, as the SDK's `RestError` carries it (`code`, else `details.error.code`). */
export function armCodeOf(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && code !== '' && !/^(REQUEST_SEND_ERROR|PARSE_ERROR)$/.test(code)) return code;
  const details = (e as { details?: { error?: { code?: unknown } } }).details;
  const nested = details?.error?.code;
  return typeof nested === 'string' && nested !== '' ? nested : undefined;
}

/**
 * Seconds the service asked to wait, from a 429/503 answer's `retry-after-ms`, `x-ms-retry-after-ms` or
 * `Retry-After` (seconds or an HTTP date) — the headers the SDK's throttling policy reads.
 */
export function retryAfterSecondsOf(e: unknown, now: number = Date.now()): number | undefined {
  const status = statusOf(e);
  if (status !== 429 && status !== 503) return undefined;
  const headers = typeof e === 'object' && e !== null ? (e as { response?: { headers?: { get?: unknown } } }).response?.headers : undefined;
  const get = (name: string): string | undefined => {
    if (typeof headers?.get !== 'function') return undefined;
    const value: unknown = (headers.get as (n: string) => unknown).call(headers, name);
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  };
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const ms = Number(get(name));
    if (get(name) !== undefined && Number.isFinite(ms) && ms >= 0) return ms / 1000;
  }
  const value = get('retry-after');
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}

/**
 * Wraps an SDK failure as a typed, classified error. `timeoutMs`: the adapter's request timeout, named
 * in the message of a request it aborted.
 */
export function armFailure(operation: string, target: string, e: unknown, timeoutMs?: number): ArmRequestError {
  // Only the adapters' own timeout policy aborts requests (no abort signal is passed in).
  if (e instanceof Error && e.name === 'AbortError') {
    return new ArmRequestError(`ARM ${operation} failed: no complete answer within ${timeoutMs ?? '?'} ms (request timed out)`, target, undefined, classifyArmFailure({ timedOut: true }), { cause: e });
  }
  const status = statusOf(e);
  const code = armCodeOf(e);
  const text = e instanceof Error ? e.message : String(e);
  const failure = classifyArmFailure({ status, code, message: text });
  const detail = [status, code].filter((x) => x !== undefined).join(' ');
  const message = `ARM ${operation} failed${detail ? ` (${detail})` : ''}: ${text}`;
  const retryAfter = retryAfterSecondsOf(e);
  if (retryAfter !== undefined) return new ArmRetryLaterError(`${message} (Retry-After ${retryAfter} s)`, target, retryAfter, { cause: e, status, armFailure: failure });
  return new ArmRequestError(message, target, status, failure, { cause: e });
}

/**
 * The one place that knows HTTP statuses for error codes. Every error leaving an operation goes through
 * {@link toErrorResponse}; unknown errors become 500 `InternalError` without their message or stack.
 */
import { isRestError, type RestError } from '@azure/core-rest-pipeline';
import { AppError, MAX_ERROR_DETAILS, type ErrorCode, type ErrorDetail } from '../../domain/errors.js';
import { HttpError, MethodNotAllowedError, UnauthorizedError, type HttpErrorCode } from './http-errors.js';

export type ApiErrorCode = ErrorCode | HttpErrorCode;

const STATUS: Readonly<Record<ApiErrorCode, number>> = Object.freeze({
  InvalidRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  Conflict: 409,
  PreconditionFailed: 412,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  NotRemediable: 422,
  LimitExceeded: 422,
  InternalError: 500,
  DependencyFailed: 502,
  StoredRecordInvalid: 500,
  AuthenticationUnavailable: 503,
});

/** Codes whose errors the pipeline logs although they are ours: an outage an operator must see. */
const LOGGED: ReadonlySet<ApiErrorCode> = new Set<ApiErrorCode>(['AuthenticationUnavailable', 'DependencyFailed', 'StoredRecordInvalid']);

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly target?: string;
    readonly details?: readonly ErrorDetail[];
    /** How many details were left out beyond {@link MAX_ERROR_DETAILS}; absent when none were. */
    readonly detailsOmitted?: number;
  };
}

export interface MappedError {
  readonly status: number;
  readonly body: ErrorBody;
  readonly headers: Record<string, string>;
  /** True when the error was not one of ours: the caller must log it (with the request id). */
  readonly unexpected: boolean;
  /** True when the caller must log the error (with the request id): unexpected errors and outages. */
  readonly log: boolean;
}

export function statusForCode(code: ApiErrorCode): number {
  return STATUS[code];
}

/** Quotes a value for an RFC 7235 auth-param (no CR/LF, escaped quotes). */
function authParam(value: string): string {
  return `"${value.replace(/[\r\n]/g, ' ').replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** Node socket and DNS failures: the Azure SDK surfaces them as a RestError without a status. */
const NETWORK_CODES = new Set(['REQUEST_SEND_ERROR', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * An Azure SDK failure that is the dependency's fault, as a status: 502 when it answered with a server
 * error, 503 when it throttled us (429) or could not be reached (the SDK's retry policy already
 * retried both). Other RestErrors (400, 403, 404, 409, 412 …) mean our request was wrong: a bug,
 * left to the 500 path.
 */
function dependencyStatus(err: RestError): 502 | 503 | undefined {
  const status = err.statusCode;
  if (status === undefined) return err.code !== undefined && NETWORK_CODES.has(err.code) ? 503 : undefined;
  if (status === 429) return 503;
  return status >= 500 ? 502 : undefined;
}

/** The dependency's `Retry-After`, passed on only as a plain number of seconds (at most an hour). */
function retryAfterOf(err: RestError): string | undefined {
  const value = err.response?.headers.get('retry-after');
  return value !== undefined && /^\d{1,4}$/.test(value.trim()) && Number(value) <= 3600 ? value.trim() : undefined;
}

/** The first {@link MAX_ERROR_DETAILS} details and a count of the rest. */
function detailsOf(details: readonly ErrorDetail[] | undefined): Pick<ErrorBody['error'], 'details' | 'detailsOmitted'> {
  if (details === undefined || details.length === 0) return {};
  if (details.length <= MAX_ERROR_DETAILS) return { details };
  return { details: details.slice(0, MAX_ERROR_DETAILS), detailsOmitted: details.length - MAX_ERROR_DETAILS };
}

export function toErrorResponse(err: unknown): MappedError {
  if (err instanceof AppError || err instanceof HttpError) {
    const code = err.code;
    const headers: Record<string, string> = {};
    if (err instanceof UnauthorizedError) {
      headers['www-authenticate'] = `Bearer error="invalid_token", error_description=${authParam(err.description)}`;
    }
    if (err instanceof MethodNotAllowedError) headers['allow'] = err.allow.join(', ');
    return {
      status: STATUS[code] ?? 500,
      headers,
      unexpected: false,
      log: LOGGED.has(code),
      body: {
        error: {
          code,
          message: err.message,
          ...(err.target !== undefined ? { target: err.target } : {}),
          ...detailsOf(err.details),
        },
      },
    };
  }
  if (isRestError(err)) {
    const status = dependencyStatus(err);
    if (status !== undefined) {
      // The SDK's message can name accounts, tables, keys or request URLs: it goes to the log only.
      const retryAfter = status === 503 ? retryAfterOf(err) : undefined;
      return {
        status,
        headers: retryAfter !== undefined ? { 'retry-after': retryAfter } : {},
        unexpected: false,
        log: true,
        body: {
          error: {
            code: 'DependencyFailed',
            message: status === 503 ? 'An Azure dependency is unavailable or throttling; try again later.' : 'An Azure dependency failed.',
          },
        },
      };
    }
  }
  return {
    status: 500,
    headers: {},
    unexpected: true,
    log: true,
    body: { error: { code: 'InternalError', message: 'An unexpected error occurred. Quote the x-request-id header when reporting it.' } },
  };
}

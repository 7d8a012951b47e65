/**
 * The one place that knows HTTP statuses for error codes. Every error leaving an operation goes through
 * {@link toErrorResponse}; unknown errors become 500 `InternalError` without their message or stack.
 */
import { AppError, type ErrorCode, type ErrorDetail } from '../../domain/errors.js';
import { HttpError, UnauthorizedError, type HttpErrorCode } from './http-errors.js';

export type ApiErrorCode = ErrorCode | HttpErrorCode;

const STATUS: Readonly<Record<ApiErrorCode, number>> = Object.freeze({
  InvalidRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  PreconditionFailed: 412,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  NotRemediable: 422,
  LimitExceeded: 422,
  InternalError: 500,
  DependencyFailed: 502,
});

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly target?: string;
    readonly details?: readonly ErrorDetail[];
  };
}

export interface MappedError {
  readonly status: number;
  readonly body: ErrorBody;
  readonly headers: Record<string, string>;
  /** True when the error was not one of ours: the caller must log it (with the request id). */
  readonly unexpected: boolean;
}

export function statusForCode(code: ApiErrorCode): number {
  return STATUS[code];
}

/** Quotes a value for an RFC 7235 auth-param (no CR/LF, escaped quotes). */
function authParam(value: string): string {
  return `"${value.replace(/[\r\n]/g, ' ').replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

export function toErrorResponse(err: unknown): MappedError {
  if (err instanceof AppError || err instanceof HttpError) {
    const code = err.code as ApiErrorCode;
    const headers: Record<string, string> = {};
    if (err instanceof UnauthorizedError) {
      headers['www-authenticate'] = `Bearer error="invalid_token", error_description=${authParam(err.description)}`;
    }
    return {
      status: STATUS[code] ?? 500,
      headers,
      unexpected: false,
      body: {
        error: {
          code,
          message: err.message,
          ...(err.target !== undefined ? { target: err.target } : {}),
          ...(err.details !== undefined && err.details.length > 0 ? { details: err.details } : {}),
        },
      },
    };
  }
  return {
    status: 500,
    headers: {},
    unexpected: true,
    body: { error: { code: 'InternalError', message: 'An unexpected error occurred. Quote the x-request-id header when reporting it.' } },
  };
}

/**
 * Errors raised by the HTTP pipeline itself (authentication, routing, transport limits). Like the
 * domain's AppError they carry stable codes only; `error-mapping.ts` turns codes into statuses.
 */
import type { ErrorDetail } from '../../domain/errors.js';

export type HttpErrorCode =
  | 'Unauthorized'
  | 'MethodNotAllowed'
  | 'PayloadTooLarge'
  | 'UnsupportedMediaType'
  | 'AuthenticationUnavailable'
  | 'InternalError';

export class HttpError extends Error {
  constructor(
    readonly code: HttpErrorCode,
    message: string,
    readonly target?: string,
    readonly details?: readonly ErrorDetail[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpError';
  }
}

/** Missing or invalid bearer token. `description` goes into `WWW-Authenticate` (never the token itself). */
export class UnauthorizedError extends HttpError {
  constructor(readonly description: string) {
    super('Unauthorized', description);
    this.name = 'UnauthorizedError';
  }
}

/**
 * The token could not be checked because the issuer's signing keys (JWKS, OpenID discovery) are out
 * of reach: the caller's token may well be valid, so this is not `invalid_token` but a retryable outage.
 * `cause` holds what failed, for the log only.
 */
export class AuthenticationUnavailableError extends HttpError {
  constructor(cause: unknown) {
    super('AuthenticationUnavailable', 'The token issuer\'s signing keys cannot be retrieved; try again later.', undefined, undefined, { cause });
    this.name = 'AuthenticationUnavailableError';
  }
}

/** The path exists but not with this method; `allow` lists the methods it serves. */
export class MethodNotAllowedError extends HttpError {
  constructor(
    method: string,
    readonly allow: readonly string[],
  ) {
    super('MethodNotAllowed', `${method} is not allowed on this path; it serves ${allow.join(', ')}.`);
    this.name = 'MethodNotAllowedError';
  }
}

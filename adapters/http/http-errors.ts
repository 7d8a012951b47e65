/**
 * Errors raised by the HTTP pipeline itself (authentication, transport limits). Like the domain's
 * AppError they carry stable codes only; `error-mapping.ts` turns codes into statuses.
 */
import type { ErrorDetail } from '../../domain/errors.js';

export type HttpErrorCode = 'Unauthorized' | 'PayloadTooLarge' | 'UnsupportedMediaType' | 'InternalError';

export class HttpError extends Error {
  constructor(
    readonly code: HttpErrorCode,
    message: string,
    readonly target?: string,
    readonly details?: readonly ErrorDetail[],
  ) {
    super(message);
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

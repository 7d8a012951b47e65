/**
 * Typed application errors with stable codes. The domain and application layers throw these;
 * `adapters/http/error-mapping.ts` is the one place that maps codes to HTTP statuses.
 */
export type ErrorCode =
  | 'InvalidRequest'
  | 'NotFound'
  | 'Conflict'
  | 'PreconditionFailed'
  | 'NotRemediable'
  | 'LimitExceeded'
  | 'Forbidden'
  | 'DependencyFailed'
  | 'StoredRecordInvalid';

/**
 * Details an error response lists at most; the rest are only counted (`detailsOmitted`). One detail per
 * unknown parameter or field would otherwise let a request of a few KB produce a response of 100+ KB.
 */
export const MAX_ERROR_DETAILS = 20;

export interface ErrorDetail {
  readonly code: string;
  readonly message: string;
  readonly target?: string;
}

/** Base class: `code` is part of the public API contract and never changes meaning. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly target?: string,
    readonly details?: readonly ErrorDetail[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidRequestError extends AppError {
  constructor(message: string, target?: string, details?: readonly ErrorDetail[]) {
    super('InvalidRequest', message, target, details);
  }
}
export class NotFoundError extends AppError {
  constructor(message: string, target?: string) {
    super('NotFound', message, target);
  }
}
export class ConflictError extends AppError {
  constructor(message: string, target?: string) {
    super('Conflict', message, target);
  }
}
/** Optimistic-concurrency failure (ETag mismatch). */
export class PreconditionFailedError extends AppError {
  constructor(message: string, target?: string) {
    super('PreconditionFailed', message, target);
  }
}
/** A request that is well-formed but cannot be acted upon (no automatic remediation, plan over limits). */
export class UnprocessableError extends AppError {
  constructor(code: 'NotRemediable' | 'LimitExceeded', message: string, target?: string, details?: readonly ErrorDetail[]) {
    super(code, message, target, details);
  }
}
export class ForbiddenOperationError extends AppError {
  constructor(message: string, target?: string) {
    super('Forbidden', message, target);
  }
}
/** An Azure or storage dependency failed after retries. */
export class DependencyError extends AppError {
  constructor(message: string, target?: string, options?: { cause?: unknown }) {
    super('DependencyFailed', message, target, undefined, options);
  }
}

/**
 * A stored record that no reader of this release accepts (damaged, or written by a newer release in
 * a shape this one does not know). Raised where one record was asked for; listings skip such a
 * record instead. Either way it is reported (logged with its keys, counted in `GET /api/health`).
 */
export class StoredRecordInvalidError extends AppError {
  constructor(
    /** Stored record kind, e.g. `cluster-state`. */
    readonly kind: string,
    readonly keys: { readonly partitionKey: string; readonly rowKey: string },
    /** What failed: validation messages with their paths (never the stored values). */
    readonly reasons: readonly string[],
  ) {
    super('StoredRecordInvalid', `The stored ${kind} record could not be read: it does not have a shape this release can read. It has been reported to the operators.`);
  }
}

/**
 * Control exceptions through the API: create (validated by the domain rules), list with their status,
 * get, revoke. Expired exceptions are kept and listed as `expired`; the evaluator ignores them.
 */
import { NotFoundError } from '../domain/errors.js';
import { isActive, validateNewException, type NewExceptionInput } from '../domain/exceptions.js';
import type { ControlException } from '../domain/model.js';
import { pageOf } from './compliance-query-service.js';
import type { ExceptionRepository, Page } from './ports.js';

export type ExceptionStatus = 'active' | 'expired';

export interface ExceptionView extends ControlException {
  readonly status: ExceptionStatus;
}

export function toExceptionView(e: ControlException, now: Date): ExceptionView {
  return {
    id: e.id,
    controlId: e.controlId,
    scope: e.scope,
    justification: e.justification,
    ticket: e.ticket,
    createdBy: e.createdBy,
    createdAt: e.createdAt,
    expiresAt: e.expiresAt,
    status: isActive(e, now) ? 'active' : 'expired',
  };
}

export class ExceptionService {
  constructor(
    private readonly exceptions: ExceptionRepository,
    private readonly newId: () => string,
  ) {}

  async create(input: NewExceptionInput, createdBy: string, now: Date): Promise<ExceptionView> {
    const valid = validateNewException(input, now);
    const exception: ControlException = {
      id: this.newId(),
      controlId: valid.controlId,
      scope: valid.scope,
      justification: valid.justification,
      ticket: valid.ticket,
      createdBy,
      createdAt: now.toISOString(),
      expiresAt: valid.expiresAt,
    };
    await this.exceptions.create(exception);
    return toExceptionView(exception, now);
  }

  /** Newest first; the exception table is small (bounded by people writing tickets), so it is read whole. */
  async list(filter: { readonly status?: ExceptionStatus | undefined; readonly top: number; readonly continuationToken?: string | undefined }, now: Date): Promise<Page<ExceptionView>> {
    const all = (await this.exceptions.list())
      .map((e) => toExceptionView(e, now))
      .filter((e) => filter.status === undefined || e.status === filter.status)
      .sort((a, b) => (a.createdAt === b.createdAt ? a.id.localeCompare(b.id) : b.createdAt.localeCompare(a.createdAt)));
    return pageOf(all, filter.top, filter.continuationToken);
  }

  async get(id: string, now: Date): Promise<ExceptionView> {
    const e = await this.exceptions.get(id);
    if (e === undefined) throw new NotFoundError(`Exception ${id} does not exist.`, 'exceptionId');
    return toExceptionView(e, now);
  }

  async delete(id: string): Promise<void> {
    if (!(await this.exceptions.delete(id))) throw new NotFoundError(`Exception ${id} does not exist.`, 'exceptionId');
  }
}

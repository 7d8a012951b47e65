/**
 * Control exceptions through the API: create (validated by the domain rules), list with their status,
 * get, revoke. Expired exceptions are kept and listed as `expired`; the evaluator ignores them.
 */
import { NotFoundError } from '../domain/errors.js';
import { isActive, validateNewException, type NewExceptionInput } from '../domain/exceptions.js';
import type { ControlException } from '../domain/model.js';
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

  /**
   * Latest `expiresAt` first, so active exceptions come before expired ones and the most recently
   * expired lead the expired. One page is read per call (with `status`, from that status's range
   * only): expired exceptions are kept forever, so reading them all on every request would grow
   * without bound.
   */
  async list(filter: { readonly status?: ExceptionStatus | undefined; readonly top: number; readonly continuationToken?: string | undefined }, now: Date): Promise<Page<ExceptionView>> {
    const page = await this.exceptions.listPage({ status: filter.status, at: now.toISOString(), top: filter.top, continuationToken: filter.continuationToken });
    return { items: page.items.map((e) => toExceptionView(e, now)), continuationToken: page.continuationToken };
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

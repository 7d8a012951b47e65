/** Read side of the audit log (records are written by the HTTP pipeline for every mutating call). */
import type { AuditLog, AuditRecord, Page } from './ports.js';

export interface AuditRecordView {
  readonly id: string;
  readonly at: string;
  readonly requestId: string;
  readonly callerObjectId: string | null;
  readonly callerAppId: string | null;
  readonly roles: readonly string[];
  readonly operation: string;
  readonly target: string;
  readonly outcome: AuditRecord['outcome'];
  readonly detail?: string;
}

export class AuditService {
  constructor(private readonly log: AuditLog) {}

  async list(top: number, continuationToken?: string): Promise<Page<AuditRecordView>> {
    const page = await this.log.list(top, continuationToken);
    return {
      items: page.items.map((r) => ({
        id: r.id,
        at: r.at,
        requestId: r.requestId,
        callerObjectId: r.callerObjectId ?? null,
        callerAppId: r.callerAppId ?? null,
        roles: r.roles,
        operation: r.operation,
        target: r.target,
        outcome: r.outcome,
        ...(r.detail !== undefined ? { detail: r.detail } : {}),
      })),
      continuationToken: page.continuationToken,
    };
  }
}

/**
 * Inbound ServiceNow change-request updates (`POST /api/v1/integrations/servicenow/change-events`):
 * Standard Webhooks signature with the shared secret(s), 5-minute timestamp tolerance, replayed
 * `webhook-id`s refused; then `approved` satisfies the rollout wave's approval gate (recorded as the
 * ServiceNow approver) and `rejected` / `canceled` pause the rollout. A refused call changes nothing.
 */
import { AppError, DependencyError, InvalidRequestError } from '../domain/errors.js';
import { changeDecision, parseChangeEvent, type ChangeEvent } from '../domain/servicenow-mapping.js';
import { DEFAULT_TOLERANCE_SECONDS, verifyWebhook } from '../domain/webhook-signature.js';
import type { Clock, InboundMessageIdStore, RolloutApprovals } from './ports.js';

export const CHANGE_EVENT_SOURCE = 'servicenow-change';

/** Who acted, as the rollout records it and the audit log names the caller: `servicenow:<approvedBy or change number>`. */
export function changeActor(change: Pick<ChangeEvent, 'approvedBy' | 'number'>): string {
  return `servicenow:${change.approvedBy ?? change.number}`;
}

/** The call is not authentic: missing or bad signature, stale timestamp, or a replayed id. */
export class InboundAuthenticationError extends Error {
  constructor(readonly reason: 'not-configured' | 'missing-headers' | 'malformed-timestamp' | 'stale' | 'bad-signature' | 'replayed') {
    super(`change event refused: ${reason}`);
    this.name = 'InboundAuthenticationError';
  }
}

export interface ChangeEventOutcome {
  readonly action: 'approved' | 'paused' | 'ignored';
  readonly rolloutId: string;
  readonly waveId: string;
  readonly changeNumber: string;
}

export interface ChangeEventReceiverDeps {
  /** `whsec_` secrets shared with ServiceNow (two during a rotation); empty refuses every call. */
  readonly secrets: readonly string[];
  readonly ids: InboundMessageIdStore;
  /** Implemented by the rollout service; undefined until it is wired. */
  readonly approvals: RolloutApprovals | undefined;
  readonly clock: Clock;
  readonly toleranceSeconds?: number;
}

export class ChangeEventReceiver {
  constructor(private readonly deps: ChangeEventReceiverDeps) {}

  async receive(request: { readonly headers: { get(name: string): string | null }; readonly body: string }): Promise<ChangeEventOutcome> {
    if (this.deps.secrets.length === 0) throw new InboundAuthenticationError('not-configured');
    const now = this.deps.clock.now();
    const verified = verifyWebhook({
      headers: request.headers,
      body: request.body,
      secrets: this.deps.secrets,
      nowSeconds: Math.floor(now.getTime() / 1000),
      toleranceSeconds: this.deps.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS,
    });
    if (!verified.ok) throw new InboundAuthenticationError(verified.reason);

    let json: unknown;
    try {
      json = JSON.parse(request.body);
    } catch {
      throw new InvalidRequestError('The body is not valid JSON.', 'body');
    }
    const parsed = parseChangeEvent(json);
    if (!parsed.ok) throw new InvalidRequestError(`The change event is invalid: ${parsed.problem}.`, 'data');
    const change = parsed.value;

    // Claimed only for authentic, well-formed messages. The id is forgotten after
    // WEBHOOK_INBOUND_RETENTION_DAYS (webhook-service.ts); by then this very message is long stale.
    if (!(await this.deps.ids.claim(CHANGE_EVENT_SOURCE, verified.id, now.toISOString()))) throw new InboundAuthenticationError('replayed');

    const outcome = { rolloutId: change.rolloutId, waveId: change.waveId, changeNumber: change.number };
    const decision = changeDecision(change.state);
    if (decision === 'ignore') return { action: 'ignored', ...outcome };
    if (this.deps.approvals === undefined) {
      await this.deps.ids.release(CHANGE_EVENT_SOURCE, verified.id);
      throw new DependencyError('Rollout approvals are not available in this deployment.', 'rolloutId');
    }
    const request2 = {
      rolloutId: change.rolloutId,
      waveId: change.waveId,
      changeNumber: change.number,
      changeState: change.state,
      actor: changeActor(change),
      receivedAt: now.toISOString(),
    };
    try {
      if (decision === 'approve') await this.deps.approvals.approveFromChange(request2);
      else await this.deps.approvals.pauseFromChange(request2);
    } catch (error) {
      // A transient failure may be retried by ServiceNow with the same id; a definite answer may not.
      if (!(error instanceof AppError)) await this.deps.ids.release(CHANGE_EVENT_SOURCE, verified.id);
      throw error;
    }
    return { action: decision === 'approve' ? 'approved' : 'paused', ...outcome };
  }
}

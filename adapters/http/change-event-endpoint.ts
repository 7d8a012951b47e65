/**
 * The handler of inbound ServiceNow change events (`receiveServiceNowChangeEvent`). The caller
 * authenticates with a Standard Webhooks signature over the exact body bytes, not a bearer token, so
 * the operation is defined with `signedBody`: the operation wrapper reads the raw body (bounded),
 * assigns the request id, maps errors and writes the audit record like for every other call; this
 * handler verifies through the receiver and says what the record names. Unauthenticated, stale and
 * replayed calls are 401 and change nothing.
 *
 * The audit record names the caller `servicenow:<approvedBy or change number>` and the target
 * `rollouts/{id}/waves/{wave}`. A refused call's body is not authentic: its target is recorded as
 * claimed, its caller as {@link UNVERIFIED_CALLER}, and the refusal is logged (reason and ids only,
 * never a header value that could carry a secret).
 */
import { changeActor, InboundAuthenticationError, type ChangeEventOutcome } from '../../application/servicenow-change-events.js';
import { parseChangeEvent, type ChangeEvent } from '../../domain/servicenow-mapping.js';
import { HttpError } from './http-errors.js';
import { isSafeId, type OperationHandler } from './operation.js';

/** The caller of a call whose signature did not verify. */
export const UNVERIFIED_CALLER = 'servicenow:unverified';

/** The change a body describes, if it parses (authentic or not: the caller decides what to trust). */
function claimedChange(body: string): ChangeEvent | undefined {
  try {
    const parsed = parseChangeEvent(JSON.parse(body) as unknown);
    return parsed.ok ? parsed.value : undefined;
  } catch {
    return undefined;
  }
}

const target = (c: { readonly rolloutId: string; readonly waveId: string }): string => `rollouts/${c.rolloutId}/waves/${c.waveId}`;

/**
 * Refused calls (401) are logged as warnings, not errors: refusals are expected noise until they are
 * not (alert on their rate). The line names the reason, request id, webhook id and claimed target.
 */
export function changeEventHandler(): OperationHandler<object, object, unknown> {
  return async ({ services, headers, rawBody, requestId, audit, log }) => {
    const body = rawBody ?? '';
    const claimed = claimedChange(body);
    if (claimed !== undefined) audit.target = target(claimed);
    let outcome: ChangeEventOutcome;
    try {
      outcome = await services.changeEvents.receive({ headers, body });
    } catch (error) {
      if (!(error instanceof InboundAuthenticationError)) {
        // The receiver verifies before anything else: any other failure came after the signature held.
        if (claimed !== undefined) audit.callerAppId = changeActor(claimed);
        throw error;
      }
      audit.detail = error.reason;
      const webhookId = headers.get('webhook-id');
      log.warn('ServiceNow change event refused', {
        requestId,
        reason: error.reason,
        ...(isSafeId(webhookId) ? { webhookId } : {}),
        ...(claimed !== undefined ? { claimedTarget: target(claimed) } : {}),
      });
      // One message for every authentication failure: a caller learns nothing about which check failed.
      throw new HttpError('Unauthorized', 'The change event is not authentic (signature, timestamp or id).');
    }
    if (claimed !== undefined) audit.callerAppId = changeActor(claimed);
    return { status: 200, body: outcome, auditTarget: target(outcome), auditDetail: `${outcome.action} (change ${outcome.changeNumber})` };
  };
}

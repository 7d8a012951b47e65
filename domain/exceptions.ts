/**
 * Control exceptions: time-bound, ticketed waivers of one control for one cluster or a whole
 * resource group. Validation of new exceptions and the matching rules the evaluator applies.
 */
import { InvalidRequestError, type ErrorDetail } from './errors.js';
import { getControl, type ControlId } from './control-catalog.js';
import type { ControlException } from './model.js';

/** Longest justification kept (keeps the entity far below Table Storage limits). */
export const MAX_JUSTIFICATION_LENGTH = 2000;
export const MAX_TICKET_LENGTH = 200;

/** What a caller supplies to create an exception (after JSON schema validation at the edge). */
export interface NewExceptionInput {
  readonly controlId: string;
  readonly scope: string;
  readonly justification: string;
  readonly ticket: string;
  /** ISO 8601 date-time with a time zone; required. */
  readonly expiresAt: string | undefined;
}

/** A validated, normalised exception request. */
export interface ValidatedExceptionRequest {
  readonly controlId: ControlId;
  /** Lower-cased ARM id of a connected cluster or a resource group. */
  readonly scope: string;
  readonly scopeKind: 'cluster' | 'resourceGroup';
  readonly justification: string;
  readonly ticket: string;
  /** Normalised to `Date#toISOString()`. */
  readonly expiresAt: string;
}

const GUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
// Resource group names: 1-90 of letters, digits, '-', '_', '.', '(' and ')', not ending in '.'.
const RG = '[-\\w.()]{0,89}[-\\w()]';
const RESOURCE_GROUP_ID = new RegExp(`^/subscriptions/${GUID}/resourcegroups/${RG}$`, 'i');
const CLUSTER_ID = new RegExp(
  `^/subscriptions/${GUID}/resourcegroups/${RG}/providers/microsoft\\.kubernetes/connectedclusters/[A-Za-z0-9][-\\w.]{0,252}$`,
  'i',
);
// Date-time with an explicit zone, so "2026-01-01" or a zone-less time never depends on a server's TZ.
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;

/** Lower-cased ARM id of a resource group. */
export function resourceGroupId(subscriptionId: string, resourceGroup: string): string {
  return `/subscriptions/${subscriptionId}/resourcegroups/${resourceGroup}`.toLowerCase();
}

/** One year after `now` in calendar terms (29 Feb maps to 1 Mar). */
function oneYearAfter(now: Date): Date {
  const limit = new Date(now.getTime());
  limit.setUTCFullYear(limit.getUTCFullYear() + 1);
  return limit;
}

/**
 * Validates and normalises a new exception.
 *
 * Rules: `controlId` is a catalog id (case-insensitive, returned in catalog casing); `scope` is the
 * ARM id of a connected cluster or a resource group (returned lower-case); `justification` and
 * `ticket` are non-blank (trimmed) and bounded; `expiresAt` is required, a zoned ISO date-time,
 * strictly after `now` and at most one calendar year after `now`.
 *
 * @throws InvalidRequestError whose `target` is the first invalid field and whose `details` list
 *   every problem.
 */
export function validateNewException(input: NewExceptionInput, now: Date): ValidatedExceptionRequest {
  const problems: ErrorDetail[] = [];
  const problem = (target: string, message: string): void => {
    problems.push({ code: 'InvalidRequest', message, target });
  };

  const control = getControl(String(input.controlId ?? '').trim().toUpperCase());
  if (control === undefined) problem('controlId', `controlId '${String(input.controlId)}' is not a control of the catalog.`);

  const scope = String(input.scope ?? '').trim().replace(/\/+$/, '');
  let scopeKind: 'cluster' | 'resourceGroup' | undefined;
  if (CLUSTER_ID.test(scope)) scopeKind = 'cluster';
  else if (RESOURCE_GROUP_ID.test(scope)) scopeKind = 'resourceGroup';
  else problem('scope', 'scope must be the ARM id of a connected cluster or of a resource group.');

  const justification = String(input.justification ?? '').trim();
  if (justification === '') problem('justification', 'justification is required.');
  else if (justification.length > MAX_JUSTIFICATION_LENGTH)
    problem('justification', `justification must be at most ${MAX_JUSTIFICATION_LENGTH} characters.`);

  const ticket = String(input.ticket ?? '').trim();
  if (ticket === '') problem('ticket', 'ticket is required.');
  else if (ticket.length > MAX_TICKET_LENGTH) problem('ticket', `ticket must be at most ${MAX_TICKET_LENGTH} characters.`);

  let expiresAt: Date | undefined;
  if (input.expiresAt === undefined || String(input.expiresAt).trim() === '') {
    problem('expiresAt', 'expiresAt is required: exceptions are time-bound.');
  } else if (!ISO_DATE_TIME.test(String(input.expiresAt)) || Number.isNaN(Date.parse(String(input.expiresAt)))) {
    problem('expiresAt', 'expiresAt must be an ISO 8601 date-time with a time zone.');
  } else {
    expiresAt = new Date(Date.parse(String(input.expiresAt)));
    if (expiresAt.getTime() <= now.getTime()) problem('expiresAt', 'expiresAt must be in the future.');
    else if (expiresAt.getTime() > oneYearAfter(now).getTime()) problem('expiresAt', 'expiresAt must be at most one year from now.');
  }

  const first = problems[0];
  if (first !== undefined || control === undefined || scopeKind === undefined || expiresAt === undefined) {
    throw new InvalidRequestError(first?.message ?? 'Invalid exception.', first?.target, problems);
  }
  return {
    controlId: control.id,
    scope: scope.toLowerCase(),
    scopeKind,
    justification,
    ticket,
    expiresAt: expiresAt.toISOString(),
  };
}

/** An exception is active until (not including) its `expiresAt`; an unparseable expiry is never active. */
export function isActive(exception: Pick<ControlException, 'expiresAt'>, at: Date): boolean {
  const expires = Date.parse(exception.expiresAt);
  return !Number.isNaN(expires) && expires > at.getTime();
}

/**
 * The active exception that waives `controlId` for a cluster: same control, scope equal
 * (case-insensitively) to the cluster id or its resource group id, active at `at`. When several
 * match, the one that lasts longest wins (ties: smallest id), so the choice is deterministic.
 */
export function findActiveException(
  exceptions: readonly ControlException[],
  controlId: string,
  scopes: { readonly clusterId: string; readonly resourceGroupId: string },
  at: Date,
): ControlException | undefined {
  const clusterScope = scopes.clusterId.toLowerCase();
  const rgScope = scopes.resourceGroupId.toLowerCase();
  let best: ControlException | undefined;
  for (const e of exceptions) {
    if (e.controlId.toUpperCase() !== controlId.toUpperCase()) continue;
    const scope = e.scope.toLowerCase().replace(/\/+$/, '');
    if (scope !== clusterScope && scope !== rgScope) continue;
    if (!isActive(e, at)) continue;
    if (
      best === undefined ||
      Date.parse(e.expiresAt) > Date.parse(best.expiresAt) ||
      (Date.parse(e.expiresAt) === Date.parse(best.expiresAt) && e.id < best.id)
    ) {
      best = e;
    }
  }
  return best;
}

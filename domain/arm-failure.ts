/**
 * What a failed Azure Resource Manager call means for the work that made it: a refusal, a missing or
 * disabled subscription will not heal within a run (or a rollout step's retries), so it is recorded on
 * the first attempt with its ARM error code and a hint; throttling, timeouts and server errors are
 * worth the retry policy. Pure: the adapters give the HTTP status, the ARM error code and message.
 */

/**
 * - `authorization`: the identity lacks a role (403 `AuthorizationFailed`, `LinkedAuthorizationFailed`,
 *   `RequestDisallowedByPolicy`, a token for another tenant);
 * - `not-found`: the subscription or resource does not exist (404 `SubscriptionNotFound`, …);
 * - `disabled`: the subscription is disabled or not registered for the provider (409
 *   `ReadOnlyDisabledSubscription`, `SubscriptionNotRegistered`, …);
 * - `throttled`: 429 (and 503 with `Retry-After`, which adapters report separately);
 * - `timeout`: no complete answer in time (the request timeout, 408, 504);
 * - `transient`: anything else (5xx, network errors, unknown codes).
 */
export type ArmFailureKind = 'authorization' | 'not-found' | 'disabled' | 'throttled' | 'timeout' | 'transient';

/** A classified ARM failure. */
export interface ArmFailure {
  readonly kind: ArmFailureKind;
  /** True for `authorization`, `not-found` and `disabled`: retrying the same call cannot succeed. */
  readonly permanent: boolean;
  /** The ARM error code (`AuthorizationFailed`), else `HTTP <status>`, `RequestTimeout` or `NetworkError`. */
  readonly code: string;
  /** What an operator should do, for permanent failures. */
  readonly hint: string | undefined;
}

/** What the adapters know about a failed ARM call. */
export interface ArmFailureFacts {
  /** HTTP status, when an answer came. */
  readonly status?: number | undefined;
  /** `error.code` of the ARM error body. */
  readonly code?: string | undefined;
  /** `error.message` of the ARM error body. */
  readonly message?: string | undefined;
  /** The request was aborted by the client's timeout. */
  readonly timedOut?: boolean | undefined;
}

/** The custom role of `infra/fleet-role.json`, as `docs/operations.md` (section 2) names it. */
export const FLEET_CUSTOM_ROLE = 'arc-compliance policy operator';

const DISABLED_CODES = new Set(['readonlydisabledsubscription', 'subscriptiondisabled', 'disabledsubscription', 'subscriptionnotregistered', 'missingsubscriptionregistration']);
const AUTHORIZATION_401_CODES = new Set(['invalidauthenticationtokentenant']);

/** The role that grants an ARM action: Reader for reads, the custom role for the POST actions and writes the app uses. */
export function roleForAction(action: string): string {
  const a = action.toLowerCase();
  if (a.endsWith('/read')) return 'Reader';
  return `the custom role "${FLEET_CUSTOM_ROLE}" (infra/fleet-role.json)`;
}

function quoted(message: string | undefined, label: string): string | undefined {
  if (message === undefined) return undefined;
  return new RegExp(`${label} '([^']+)'`, 'i').exec(message)?.[1];
}

function authorizationHint(code: string, message: string | undefined): string {
  const lower = code.toLowerCase();
  if (lower === 'requestdisallowedbypolicy') {
    return 'A policy assignment (deny) refuses this request: exempt the app\'s changes from it or change the assignment.';
  }
  if (lower === 'invalidauthenticationtokentenant') {
    return 'The subscription belongs to another Entra ID tenant than the app\'s identity: remove it from AZURE_SUBSCRIPTION_IDS or evaluate it from a deployment in its tenant.';
  }
  const action = quoted(message, 'perform action');
  const scope = quoted(message, 'over scope') ?? quoted(message, 'scope');
  const role = action === undefined ? `Reader and the custom role "${FLEET_CUSTOM_ROLE}"` : roleForAction(action);
  const where = scope === undefined ? 'at the fleet scope' : `at ${scope} (or a scope above it)`;
  const what = action === undefined ? '' : ` to perform ${action}`;
  const linked = lower === 'linkedauthorizationfailed' ? ' on a linked scope the request also touches' : '';
  return `The app's identity lacks ${role}${what}${linked}: grant it ${where}, as docs/operations.md (section 2, "Grant the identity at the fleet scope") describes. Access granted in the last minutes may need a token refresh.`;
}

function notFoundHint(code: string): string {
  if (code.toLowerCase() === 'subscriptionnotfound') {
    return 'The subscription does not exist or is not in the app\'s tenant (deleted, moved, or a wrong id): remove it from AZURE_SUBSCRIPTION_IDS or check its tenant.';
  }
  return 'The resource no longer exists (deleted, renamed or moved outside the app).';
}

function disabledHint(code: string): string {
  const lower = code.toLowerCase();
  if (lower === 'subscriptionnotregistered' || lower === 'missingsubscriptionregistration') {
    return 'The subscription is not registered for the resource provider: register it (az provider register --namespace <provider> --subscription <id>).';
  }
  return 'The subscription is disabled (read-only: cancelled, expired or past due): re-enable it, or remove it from AZURE_SUBSCRIPTION_IDS.';
}

/**
 * Classifies a failed ARM call by status and ARM error code.
 *
 * @param facts - what the answer said (or that no answer came in time).
 * @returns the kind, whether it is permanent, the code to record and, when permanent, a hint.
 */
export function classifyArmFailure(facts: ArmFailureFacts): ArmFailure {
  const { status } = facts;
  const armCode = facts.code !== undefined && facts.code.trim() !== '' ? facts.code.trim() : undefined;
  const lower = armCode?.toLowerCase() ?? '';
  const code = armCode ?? (facts.timedOut === true ? 'RequestTimeout' : status !== undefined ? `HTTP ${status}` : 'NetworkError');
  const permanent = (kind: 'authorization' | 'not-found' | 'disabled', hint: string): ArmFailure => ({ kind, permanent: true, code, hint });
  const retry = (kind: 'throttled' | 'timeout' | 'transient'): ArmFailure => ({ kind, permanent: false, code, hint: undefined });

  if (facts.timedOut === true || status === 408 || status === 504) return retry('timeout');
  if (status === 429) return retry('throttled');
  if (DISABLED_CODES.has(lower)) return permanent('disabled', disabledHint(code));
  if (status === 403 || (status === 401 && AUTHORIZATION_401_CODES.has(lower))) return permanent('authorization', authorizationHint(code, facts.message));
  if (status === 404 || lower === 'subscriptionnotfound') return permanent('not-found', notFoundHint(code));
  return retry('transient');
}

/** The {@link ArmFailure} an adapter attached to an error (`armFailure`), on the error or its causes. */
export function armFailureOf(error: unknown): ArmFailure | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth += 1) {
    const found = (e as { armFailure?: unknown }).armFailure;
    if (typeof found === 'object' && found !== null && typeof (found as ArmFailure).permanent === 'boolean' && typeof (found as ArmFailure).code === 'string') return found as ArmFailure;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The permanent ARM failure behind `error`, if it is one (then retrying cannot help). */
export function permanentArmFailureOf(error: unknown): ArmFailure | undefined {
  const failure = armFailureOf(error);
  return failure?.permanent === true ? failure : undefined;
}

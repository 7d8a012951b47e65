/**
 * Webhook subscriptions and their deliveries: stored shapes, the public views (never a secret), and
 * validation of a new subscription.
 */
import { InvalidRequestError, type ErrorDetail } from './errors.js';
import { isWebhookEventType, type WebhookFilters } from './webhook-events.js';
import type { Severity } from './model.js';
import { hasUnsafeUrlCharacters } from './webhook-ssrf.js';

export const WEBHOOK_FORMATS = Object.freeze(['standard', 'ocsf', 'servicenow-incident', 'servicenow-event'] as const);

/**
 * The events `format: "ocsf"` delivers, and their OCSF 1.8.0 class: `cluster.compliance.changed` as
 * Compliance Findings (2003, domain/ocsf-finding.ts), `controlplane.change.detected` as API Activity
 * (6003, domain/ocsf-api-activity.ts).
 */
export const OCSF_EVENT_TYPES = Object.freeze(['cluster.compliance.changed', 'controlplane.change.detected'] as const);
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** How long the previous secret keeps signing after a rotation. */
export const SECRET_ROTATION_OVERLAP_SECONDS = 24 * 3600;
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** Secrets as stored: protected (encrypted or a Key Vault reference), never the plain value. */
export interface StoredSecrets {
  readonly current: string;
  readonly previous?: string | undefined;
  /** When `previous` stops being sent. */
  readonly previousExpiresAt?: string | undefined;
}

export interface WebhookSubscription {
  readonly id: string;
  readonly url: string;
  /** Event types, or `*`. */
  readonly events: readonly string[];
  readonly format: WebhookFormat;
  readonly filters: WebhookFilters;
  readonly description?: string | undefined;
  readonly enabled: boolean;
  readonly disabledReason?: string | undefined;
  readonly disabledAt?: string | undefined;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly secretRotatedAt?: string | undefined;
  readonly secrets: StoredSecrets;
}

/** The API view: everything except the secrets. */
export type WebhookView = Omit<WebhookSubscription, 'secrets'>;

export function toWebhookView(s: WebhookSubscription): WebhookView {
  const { secrets: _secrets, ...view } = s;
  return view;
}

/** The signing secrets still valid at `now` (protected form): current, then previous during the overlap. */
export function activeSecrets(secrets: StoredSecrets, now: Date): string[] {
  const out = [secrets.current];
  if (secrets.previous !== undefined && secrets.previousExpiresAt !== undefined && Date.parse(secrets.previousExpiresAt) > now.getTime()) out.push(secrets.previous);
  return out;
}

/**
 * When the previous secret stops signing (ISO), if it still signs at `now`; undefined otherwise.
 * A rotation is refused until then: only one previous secret is kept, so rotating again would drop it
 * before its 24 h were over.
 */
export function rotationOverlapEnd(secrets: StoredSecrets, now: Date): string | undefined {
  if (secrets.previous === undefined || secrets.previousExpiresAt === undefined) return undefined;
  return Date.parse(secrets.previousExpiresAt) > now.getTime() ? secrets.previousExpiresAt : undefined;
}

/** Secrets after a rotation: the new one signs, the old one keeps signing for 24 h. */
export function rotateSecrets(secrets: StoredSecrets, newProtected: string, now: Date): StoredSecrets {
  return {
    current: newProtected,
    previous: secrets.current,
    previousExpiresAt: new Date(now.getTime() + SECRET_ROTATION_OVERLAP_SECONDS * 1000).toISOString(),
  };
}

export interface NewWebhookInput {
  readonly url: string;
  readonly events: readonly string[];
  readonly format?: WebhookFormat | undefined;
  readonly description?: string | undefined;
  readonly filters?: { readonly subscriptionIds?: readonly string[] | undefined; readonly minimumSeverity?: Severity | undefined } | undefined;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The webhook URL as stored and returned: the WHATWG `URL.href` (lower-case scheme and host, default
 * port dropped, dot segments resolved, non-ASCII percent-encoded), or the problem with the text.
 */
export function normalizeWebhookUrl(text: string): { url: string } | { problem: string } {
  if (hasUnsafeUrlCharacters(text)) return { problem: 'must not contain control characters, whitespace or backslashes' };
  try {
    return { url: new URL(text).href };
  } catch {
    return { problem: 'must be an absolute URL' };
  }
}

/** Semantic checks beyond the request schema; throws `InvalidRequestError` listing every problem. */
export function normalizeNewWebhook(input: NewWebhookInput): { url: string; events: string[]; format: WebhookFormat; filters: WebhookFilters; description: string | undefined } {
  const details: ErrorDetail[] = [];
  if (input.url.length > MAX_WEBHOOK_URL_LENGTH) details.push({ code: 'InvalidValue', message: `at most ${MAX_WEBHOOK_URL_LENGTH} characters`, target: 'url' });
  const url = normalizeWebhookUrl(input.url);
  if ('problem' in url) details.push({ code: 'InvalidValue', message: url.problem, target: 'url' });
  else if (url.url.length > MAX_WEBHOOK_URL_LENGTH) details.push({ code: 'InvalidValue', message: `at most ${MAX_WEBHOOK_URL_LENGTH} characters once normalised`, target: 'url' });
  const events = [...new Set(input.events)];
  if (events.length === 0) details.push({ code: 'InvalidValue', message: 'at least one event type (or "*")', target: 'events' });
  for (const e of events) if (e !== '*' && !isWebhookEventType(e)) details.push({ code: 'InvalidValue', message: `unknown event type ${e}`, target: 'events' });
  const subs = input.filters?.subscriptionIds?.map((s) => s.toLowerCase());
  for (const s of subs ?? []) if (!GUID.test(s)) details.push({ code: 'InvalidValue', message: 'subscription ids are GUIDs', target: 'filters.subscriptionIds' });
  const format = input.format ?? 'standard';
  if (!(WEBHOOK_FORMATS as readonly string[]).includes(format)) details.push({ code: 'InvalidValue', message: `unknown format ${format}`, target: 'format' });
  // Only events with an OCSF mapping may be subscribed in that format: any other would be delivered in no schema.
  if (format === 'ocsf' && (events.length === 0 || events.some((e) => !(OCSF_EVENT_TYPES as readonly string[]).includes(e)))) {
    details.push({ code: 'InvalidValue', message: `the ocsf format delivers ${OCSF_EVENT_TYPES.join(' and ')} only (list those events, not "*")`, target: 'events' });
  }
  if (details.length > 0) throw new InvalidRequestError('The webhook subscription is invalid.', details[0]?.target, details);
  const filters: WebhookFilters = {
    ...(subs !== undefined && subs.length > 0 ? { subscriptionIds: subs } : {}),
    ...(input.filters?.minimumSeverity !== undefined ? { minimumSeverity: input.filters.minimumSeverity } : {}),
  };
  return { url: 'url' in url ? url.url : input.url, events: events.includes('*') ? ['*'] : events, format, filters, description: input.description };
}

// ---------------------------------------------------------------------------------------------
// Deliveries
// ---------------------------------------------------------------------------------------------

export type DeliveryStatus = 'pending' | 'retrying' | 'delivered' | 'failed' | 'dead-lettered' | 'canceled';

/** Response text kept per attempt, at most. */
export const MAX_RESPONSE_EXCERPT_CHARS = 256;

export interface DeliveryAttempt {
  readonly attempt: number;
  readonly at: string;
  readonly outcome: 'delivered' | 'failed' | 'refused';
  readonly statusCode?: number | undefined;
  readonly error?: string | undefined;
  readonly responseExcerpt?: string | undefined;
  /** When the next attempt is due (retries only). */
  readonly nextAttemptAt?: string | undefined;
}

export interface WebhookDelivery {
  readonly id: string;
  readonly webhookId: string;
  /** The event id: `webhook-id` on the wire. */
  readonly eventId: string;
  readonly eventType: string;
  readonly createdAt: string;
  readonly status: DeliveryStatus;
  readonly attempts: readonly DeliveryAttempt[];
  readonly nextAttemptAt?: string | undefined;
  /** Why the delivery ended unsuccessfully (dead letter, 410, subscription gone). */
  readonly reason?: string | undefined;
  /** The event as published (JSON), replayed on every attempt and on redelivery. */
  readonly event: string;
  readonly redeliveryOf?: string | undefined;
}

export type DeliveryView = Omit<WebhookDelivery, 'event'>;

export function toDeliveryView(d: WebhookDelivery): DeliveryView {
  const { event: _event, ...view } = d;
  return view;
}

/** A response excerpt: control characters flattened, at most {@link MAX_RESPONSE_EXCERPT_CHARS}. */
export function responseExcerpt(body: string | undefined): string | undefined {
  if (body === undefined || body === '') return undefined;
  // eslint-disable-next-line no-control-regex
  const flat = body.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  return flat.length <= MAX_RESPONSE_EXCERPT_CHARS ? flat : flat.slice(0, MAX_RESPONSE_EXCERPT_CHARS);
}

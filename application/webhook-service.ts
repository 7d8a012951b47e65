/**
 * Webhook subscriptions and deliveries: create (the `whsec_` secret is returned once), list, delete,
 * rotate (the previous secret keeps signing for 24 h), publish events (one delivery record and one queue
 * message per matching subscription), perform one delivery attempt per queue message with backoff,
 * `Retry-After`, 410 → disable, dead letter after the last attempt, and redeliver.
 */
import { createHash } from 'node:crypto';
import { AppError, ConflictError, InvalidRequestError, NotFoundError } from '../domain/errors.js';
import { redactSecrets } from '../domain/secret-redaction.js';
import { subscriptionWants, type OutboundEvent } from '../domain/webhook-events.js';
import type { OcsfProduct } from '../domain/ocsf-finding.js';
import type { WebhookFormat } from '../domain/webhook-subscription.js';
import { decideAfterAttempt, OutboundCallFailed, parseRetryAfter, type AttemptOutcome, MAX_DELIVERY_ATTEMPTS } from '../domain/webhook-retry.js';
import { formatSecret, SECRET_BYTES, webhookHeaders } from '../domain/webhook-signature.js';
import {
  activeSecrets,
  normalizeNewWebhook,
  responseExcerpt,
  rotateSecrets,
  rotationOverlapEnd,
  toDeliveryView,
  toWebhookView,
  type DeliveryAttempt,
  type DeliveryView,
  type NewWebhookInput,
  type WebhookDelivery,
  type WebhookSubscription,
  type WebhookView,
} from '../domain/webhook-subscription.js';
import type { WebhookDeadLetterMessage, WebhookDeliveryMessage } from './messages.js';
import { QueueDelivery } from './queue-delivery.js';
import type {
  Clock,
  EventPublisher,
  InboundMessageIdStore,
  MessageQueue,
  OutboundHttp,
  Page,
  SecretProtector,
  WebhookDeliveryRepository,
  WebhookSubscriptionRepository,
} from './ports.js';
import { CHANGE_EVENT_SOURCE } from './servicenow-change-events.js';
import type { ServiceNowDelivery } from './servicenow-delivery.js';
import type { Logger } from './logger.js';
import { webhookBody } from './webhook-body.js';

const isServiceNowFormat = (format: WebhookFormat): format is 'servicenow-incident' | 'servicenow-event' => format.startsWith('servicenow');

export interface WebhookServiceDeps {
  readonly subscriptions: WebhookSubscriptionRepository;
  readonly deliveries: WebhookDeliveryRepository;
  readonly queue: MessageQueue<WebhookDeliveryMessage>;
  readonly deadLetters: MessageQueue<WebhookDeadLetterMessage>;
  readonly secrets: SecretProtector;
  readonly http: OutboundHttp;
  /** Absent when ServiceNow is not configured: ServiceNow formats are then refused at creation. */
  readonly serviceNow: ServiceNowDelivery | undefined;
  /** `metadata.product` of findings sent in the ocsf format. */
  readonly product?: OcsfProduct | undefined;
  readonly clock: Clock;
  readonly newId: () => string;
  readonly randomBytes: (size: number) => Uint8Array;
  /** Jitter source in [0, 1). */
  readonly random: () => number;
  readonly log: Logger;
  /**
   * Insert-only claims of delivery attempts: two queue messages for the same attempt (a publish
   * repeated while the first message is in flight) must not both call the receiver. In production
   * this is the `webhookinbound` store, shared with the change-event receiver; each
   * `evaluation.completed` publish prunes both of its sources.
   */
  readonly attemptClaims: InboundMessageIdStore;
  /**
   * Days finished delivery records are kept. Each `evaluation.completed` publish (at least nightly)
   * deletes older ones; absent keeps every record.
   */
  readonly deliveryRetentionDays?: number | undefined;
}

export const ATTEMPT_CLAIMS = 'webhook-attempt';

/** Error detail code (400) of a `servicenow-*` webhook whose URL is not the configured instance. */
export const SERVICENOW_INSTANCE_MISMATCH = 'ServiceNowInstanceMismatch';
/** Error detail code (409) of a rotation while the previous secret still signs. */
export const SECRET_ROTATION_IN_PROGRESS = 'SecretRotationInProgress';

/**
 * Days a `webhookinbound` entry (inbound message id or delivery-attempt claim) is kept at least.
 * Why 8, and why forgetting then keeps the once-only guarantee:
 * - an attempt claim stops a second queue message of the same attempt from calling the receiver
 *   again. Once the attempt is recorded, `attempts.length >= attempt` turns such messages away by
 *   itself; the claim carries the guarantee only for messages already enqueued while the attempt is
 *   in flight (a repeated publish, the host's redelivery, a retry message sent twice). A Storage queue
 *   message lives at most its TTL after it was enqueued: 7 days, the service default (`storage-queue.ts`
 *   sets none; visibility delays, retries ≤ 24 h, count within it). 7 days + 1 day of margin outlives
 *   every one of them. An attempt never recorded (the process died mid-call) stays blocked that long;
 *   afterwards a later publish may perform it again: at-least-once, as receivers are told to dedupe.
 * - inbound change events are accepted only within `DEFAULT_TOLERANCE_SECONDS` (5 min, either way)
 *   of their signed `webhook-timestamp`, and the signature covers id and timestamp: a captured
 *   message replayed later is stale (401) whether or not its id is still remembered, so its id is
 *   needed for 10 minutes. The 8 days also cover a sender that re-signs a retry of the same
 *   `webhook-id` with a fresh timestamp for up to a week.
 * Entries are deleted by UTC day of the claim, whole days before the cutoff only, so they live 8 to
 * 9 days (plus the time until the next evaluation run).
 */
export const WEBHOOK_INBOUND_RETENTION_DAYS = 8;

/** Every source that writes to the `webhookinbound` store. */
const INBOUND_SOURCES: readonly string[] = [ATTEMPT_CLAIMS, CHANGE_EVENT_SOURCE];

export interface CreatedWebhook {
  readonly webhook: WebhookView;
  /** The signing secret: shown once, never retrievable again. Absent for ServiceNow formats. */
  readonly secret: string | undefined;
}

const TERMINAL = new Set(['delivered', 'failed', 'dead-lettered', 'canceled']);

/**
 * Error text recorded on a delivery (attempt errors, dead-letter causes) is shown by the deliveries API
 * and the dead-letter queue: secrets redacted first (a cut could orphan a secret from its name), then
 * bounded and flattened like a response excerpt.
 */
function recordedText(text: string | undefined): string | undefined {
  return responseExcerpt(text === undefined ? undefined : redactSecrets(text));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The outcome with its free text (network error, refusal reason) made fit to record. */
function recordedOutcome(outcome: AttemptOutcome): AttemptOutcome {
  switch (outcome.kind) {
    case 'response':
      return outcome;
    case 'network':
      return { kind: 'network', error: recordedText(outcome.error) ?? 'network error' };
    case 'refused':
      return { kind: 'refused', reason: recordedText(outcome.reason) ?? 'refused' };
  }
}

/**
 * The attempt was made (the receiver was called, or the guard refused the URL) but a later step failed:
 * queuing the retry, disabling the webhook, sending the dead letter or writing the record. Carries what
 * is known, so that the last dequeue records it instead of dead-lettering the delivery as never
 * attempted (which could show a delivery the receiver got as dead-lettered). Its message is the
 * failure's, so retries and logs read as before.
 */
class AttemptNotRecorded extends Error {
  constructor(
    /** The attempt as it was to be recorded. */
    readonly attempt: DeliveryAttempt,
    /** The record to write, when every step before the write was done; undefined when one failed. */
    readonly settled: WebhookDelivery | undefined,
    /** What the attempt met, for a cause: `HTTP 503`, the network error, … */
    readonly met: string,
    cause: unknown,
  ) {
    super(messageOf(cause), { cause });
    this.name = 'AttemptNotRecorded';
  }
}

/** Delivery ids sort newest first (Table Storage returns ascending row keys). */
function timeOrderedId(at: string, suffix: string): string {
  const inverted = String(8_640_000_000_000_000 - Date.parse(at)).padStart(16, '0');
  return `${inverted}-${suffix}`;
}

export class WebhookService implements EventPublisher {
  constructor(private readonly deps: WebhookServiceDeps) {}

  // -------------------------------------------------------------------------------------------
  // Subscriptions
  // -------------------------------------------------------------------------------------------

  async create(input: NewWebhookInput, createdBy: string): Promise<CreatedWebhook> {
    const normalized = normalizeNewWebhook(input);
    if (isServiceNowFormat(normalized.format)) {
      if (this.deps.serviceNow === undefined) throw new InvalidRequestError('ServiceNow is not configured (SERVICENOW_* settings).', 'format');
      // ServiceNow credentials are sent to this URL: only the configured instance may receive them.
      if (!this.deps.serviceNow.accepts(normalized.url)) {
        const message = `A ${normalized.format} webhook must use the configured ServiceNow instance ${this.deps.serviceNow.instanceUrl} (SERVICENOW_INSTANCE_URL) as its url.`;
        throw new InvalidRequestError(message, 'url', [{ code: SERVICENOW_INSTANCE_MISMATCH, message, target: 'url' }]);
      }
    }
    const refused = await this.deps.http.vet(normalized.url);
    if (refused !== undefined) throw new InvalidRequestError(`The webhook URL is not allowed: ${refused}.`, 'url');
    const id = this.deps.newId();
    const now = this.deps.clock.now();
    const secret = !isServiceNowFormat(normalized.format) ? formatSecret(this.deps.randomBytes(SECRET_BYTES)) : undefined;
    const subscription: WebhookSubscription = {
      id,
      url: normalized.url,
      events: normalized.events,
      format: normalized.format,
      filters: normalized.filters,
      description: normalized.description,
      enabled: true,
      createdAt: now.toISOString(),
      createdBy,
      secrets: { current: secret !== undefined ? await this.deps.secrets.protect(secret, id) : '' },
    };
    await this.deps.subscriptions.create(subscription);
    this.deps.log.info(`webhook ${id} created for ${normalized.events.join(',')} (${normalized.format})`);
    return { webhook: toWebhookView(subscription), secret };
  }

  private async require(id: string): Promise<WebhookSubscription> {
    const s = await this.deps.subscriptions.get(id);
    if (s === undefined) throw new NotFoundError(`No webhook ${id}.`, 'webhookId');
    return s;
  }

  async get(id: string): Promise<WebhookView> {
    return toWebhookView(await this.require(id));
  }

  async list(top: number, continuationToken?: string): Promise<Page<WebhookView>> {
    const page = await this.deps.subscriptions.list(top, continuationToken);
    return { items: page.items.map(toWebhookView), continuationToken: page.continuationToken };
  }

  async delete(id: string): Promise<void> {
    if (!(await this.deps.subscriptions.delete(id))) throw new NotFoundError(`No webhook ${id}.`, 'webhookId');
    // Pending deliveries find no subscription and are canceled; the log goes with the webhook.
    await this.deps.deliveries.deleteAll(id);
  }

  /**
   * A new secret, returned once; the previous one keeps signing for 24 h. Refused (409) while an earlier
   * rotation's previous secret still signs: a second rotation would drop that secret at once, before
   * receivers had their 24 h to switch.
   */
  async rotateSecret(id: string): Promise<CreatedWebhook> {
    const s = await this.require(id);
    if (isServiceNowFormat(s.format)) throw new ConflictError('Only standard and ocsf webhooks have a signing secret.', 'webhookId');
    const now = this.deps.clock.now();
    const overlapEnds = rotationOverlapEnd(s.secrets, now);
    if (overlapEnds !== undefined) {
      const message = `The previous signing secret of webhook ${id} is valid until ${overlapEnds}; rotate again after that (or delete and re-create the webhook).`;
      throw new AppError('Conflict', message, 'webhookId', [{ code: SECRET_ROTATION_IN_PROGRESS, message, target: 'webhookId' }]);
    }
    const secret = formatSecret(this.deps.randomBytes(SECRET_BYTES));
    const updated: WebhookSubscription = { ...s, secrets: rotateSecrets(s.secrets, await this.deps.secrets.protect(secret, id), now), secretRotatedAt: now.toISOString() };
    await this.deps.subscriptions.update(updated);
    this.deps.log.info(`webhook ${id}: signing secret rotated`);
    return { webhook: toWebhookView(updated), secret };
  }

  // -------------------------------------------------------------------------------------------
  // Deliveries
  // -------------------------------------------------------------------------------------------

  async listDeliveries(id: string, top: number, continuationToken?: string): Promise<Page<DeliveryView>> {
    await this.require(id);
    const page = await this.deps.deliveries.list(id, top, continuationToken);
    return { items: page.items.map(toDeliveryView), continuationToken: page.continuationToken };
  }

  async getDelivery(id: string, deliveryId: string): Promise<DeliveryView> {
    const d = await this.deps.deliveries.get(id, deliveryId);
    if (d === undefined) throw new NotFoundError(`No delivery ${deliveryId} for webhook ${id}.`, 'deliveryId');
    return toDeliveryView(d);
  }

  /** Sends the delivery's event again as a new delivery (same `webhook-id`, so receivers can dedupe). */
  async redeliver(id: string, deliveryId: string): Promise<DeliveryView> {
    const s = await this.require(id);
    if (!s.enabled) throw new ConflictError(`Webhook ${id} is disabled: ${s.disabledReason ?? 'disabled'}.`, 'webhookId');
    const original = await this.deps.deliveries.get(id, deliveryId);
    if (original === undefined) throw new NotFoundError(`No delivery ${deliveryId} for webhook ${id}.`, 'deliveryId');
    const now = this.deps.clock.now().toISOString();
    const delivery: WebhookDelivery = {
      id: timeOrderedId(now, this.deps.newId().replace(/[^A-Za-z0-9]/g, '').slice(0, 32)),
      webhookId: id,
      eventId: original.eventId,
      eventType: original.eventType,
      createdAt: now,
      status: 'pending',
      attempts: [],
      event: original.event,
      redeliveryOf: original.id,
    };
    await this.deps.deliveries.create(delivery);
    await this.deps.queue.send({ kind: 'webhook-delivery', webhookId: id, deliveryId: delivery.id, attempt: 1 });
    return toDeliveryView(delivery);
  }

  /**
   * Records and queues one delivery per subscription that wants the event. Idempotent per event id:
   * publishing the same event again queues nothing new (a delivery never attempted is queued again).
   */
  async publish(event: OutboundEvent): Promise<void> {
    const subscriptions = (await this.deps.subscriptions.listAll()).filter((s) => subscriptionWants(s, event));
    const json = JSON.stringify(event);
    for (const s of subscriptions) {
      const suffix = createHash('sha256').update(`${s.id}|${event.id}`).digest('hex').slice(0, 32);
      const delivery: WebhookDelivery = {
        id: timeOrderedId(event.timestamp, suffix),
        webhookId: s.id,
        eventId: event.id,
        eventType: event.type,
        createdAt: this.deps.clock.now().toISOString(),
        status: 'pending',
        attempts: [],
        event: json,
      };
      try {
        await this.deps.deliveries.create(delivery);
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        const existing = await this.deps.deliveries.get(s.id, delivery.id);
        if (existing === undefined || existing.attempts.length > 0 || existing.status !== 'pending') continue;
      }
      await this.deps.queue.send({ kind: 'webhook-delivery', webhookId: s.id, deliveryId: delivery.id, attempt: 1 });
    }
    // The nightly evaluation is the one periodic path every deployment has; retention rides on it.
    if (event.type === 'evaluation.completed') {
      // Retention is housekeeping: it must not fail (and so retry) the run's finalize step.
      const warn = (what: string) => (error: unknown): void => this.deps.log.warn(`${what} retention failed: ${error instanceof Error ? error.message : String(error)}`);
      await this.pruneDeliveries().catch(warn('webhook delivery'));
      await this.pruneInboundIds().catch(warn('webhook inbound id'));
      // A table scan (its keys are not time-ordered): only after the nightly run, not on-demand ones.
      if ((event.data as { trigger?: unknown } | undefined)?.trigger !== 'on-demand') await this.pruneServiceNowWatermarks().catch(warn('ServiceNow watermark'));
    }
  }

  /**
   * Forgets ServiceNow watermarks older than the delivery retention plus
   * {@link WEBHOOK_INBOUND_RETENTION_DAYS} (the 7-day queue message TTL plus a day): by then no event
   * that old can be retried automatically (queue TTL) or redelivered by hand (its delivery record is
   * gone), so no watermark that old is needed to keep actions in order (see
   * `ServiceNowDelivery.forgetWatermarksBefore`). Without delivery retention, records and watermarks are
   * kept forever. Returns how many were forgotten.
   */
  async pruneServiceNowWatermarks(): Promise<number> {
    const days = this.deps.deliveryRetentionDays;
    if (days === undefined || this.deps.serviceNow === undefined) return 0;
    const cutoff = new Date(this.deps.clock.now().getTime() - (days + WEBHOOK_INBOUND_RETENTION_DAYS) * 86_400_000).toISOString();
    const deleted = await this.deps.serviceNow.forgetWatermarksBefore(cutoff);
    if (deleted > 0) this.deps.log.info(`ServiceNow watermark retention: ${deleted} watermark(s) before ${cutoff} forgotten`);
    return deleted;
  }

  /**
   * Forgets `webhookinbound` entries (inbound ids, attempt claims) older than
   * {@link WEBHOOK_INBOUND_RETENTION_DAYS}, per source by a row-key range of its partition. Returns
   * how many were deleted.
   */
  async pruneInboundIds(): Promise<number> {
    const store = this.deps.attemptClaims;
    const cutoff = new Date(this.deps.clock.now().getTime() - WEBHOOK_INBOUND_RETENTION_DAYS * 86_400_000).toISOString();
    let deleted = 0;
    for (const source of INBOUND_SOURCES) deleted += await store.forgetClaimedBefore(source, cutoff);
    if (deleted > 0) this.deps.log.info(`webhook inbound retention: ${deleted} id(s) claimed before ${cutoff.slice(0, 10)} forgotten`);
    return deleted;
  }

  /**
   * Deletes finished delivery records older than the retention window, per webhook by a row-key
   * range of its partition (delivery ids are time-ordered). Returns how many were deleted.
   */
  async pruneDeliveries(): Promise<number> {
    const days = this.deps.deliveryRetentionDays;
    if (days === undefined) return 0;
    const cutoff = new Date(this.deps.clock.now().getTime() - days * 86_400_000).toISOString();
    let deleted = 0;
    for (const s of await this.deps.subscriptions.listAll()) deleted += await this.deps.deliveries.deleteFinishedBefore(s.id, cutoff);
    if (deleted > 0) this.deps.log.info(`webhook delivery retention: ${deleted} record(s) before ${cutoff} deleted`);
    return deleted;
  }

  /**
   * Performs the attempt a queue message asks for; a duplicate or stale message does nothing. A failure
   * (storage, the secret key, …) is rethrown for the queue to retry, except on the message's last
   * delivery: the host would move it to the poison queue, which
   * nothing reads, and the delivery would stay `pending` without a word. What is known is recorded
   * instead: an attempt made whose record alone failed is recorded as it ended (a 2xx stays
   * `delivered`); otherwise the delivery is dead-lettered with the (redacted) cause.
   */
  async processDelivery(message: WebhookDeliveryMessage, delivery: QueueDelivery = QueueDelivery.first()): Promise<DeliveryView | undefined> {
    try {
      return await this.processOnce(message, delivery);
    } catch (error) {
      delivery.rethrowUnlessLast(error);
      return this.settleAfterLastDequeue(message, error, delivery.attempt);
    }
  }

  /**
   * The last-delivery path of {@link processDelivery}. Re-reads the record and the attempt's claim, so
   * an attempt that was made is never overwritten as if it had not been. If storage still fails, this
   * throws (poison).
   */
  private async settleAfterLastDequeue(message: WebhookDeliveryMessage, error: unknown, dequeueCount: number): Promise<DeliveryView | undefined> {
    const delivery = await this.deps.deliveries.get(message.webhookId, message.deliveryId);
    if (delivery === undefined) return undefined;
    // The record already shows the attempt (another message recorded it) or the delivery is finished.
    if (TERMINAL.has(delivery.status) || delivery.attempts.length >= message.attempt) return toDeliveryView(delivery);
    const text = recordedText(messageOf(error)) ?? 'unknown error';
    const failed = `its queue message failed ${dequeueCount} times`;
    if (error instanceof AttemptNotRecorded) {
      if (error.settled !== undefined) {
        // Every step of the attempt happened (the receiver answered, a retry is queued, …); only the
        // write failed. Record it as it ended, onto the record as it is now.
        const { status, nextAttemptAt, reason } = error.settled;
        const updated: WebhookDelivery = { ...delivery, status, nextAttemptAt, reason, attempts: [...delivery.attempts, error.attempt] };
        await this.deps.deliveries.update(updated);
        this.deps.log.warn(`webhook ${delivery.webhookId} delivery ${delivery.id}: attempt ${message.attempt} (${error.met}) recorded as ${status} on the last try (${failed}: ${text})`);
        return toDeliveryView(updated);
      }
      const cause = `attempt ${message.attempt} was made (${error.met}) but its outcome could not be recorded (${failed}): ${text}`;
      const { nextAttemptAt: _notQueued, ...made } = error.attempt;
      return this.deadLetter(delivery, message.attempt, cause, made);
    }
    // Not made by this invocation. A claim held now means another message is making (or made, and
    // could not release) this attempt; claiming it ourselves keeps any message from making it while
    // the delivery is dead-lettered.
    const claims = this.deps.attemptClaims;
    const claimId = `${message.webhookId}:${message.deliveryId}:${message.attempt}`;
    let claimed = false;
    let heldElsewhere = false;
    try {
      claimed = await claims.claim(ATTEMPT_CLAIMS, claimId, this.deps.clock.now().toISOString());
      heldElsewhere = !claimed;
    } catch {
      // The claim store is down too: nothing says the attempt was made.
    }
    const cause = heldElsewhere
      ? `attempt ${message.attempt} may have been made by another message, but its outcome could not be recorded (${failed}): ${text}`
      : `attempt ${message.attempt} could not be completed (${failed}): ${text}`;
    try {
      return await this.deadLetter(delivery, message.attempt, cause, undefined);
    } finally {
      // Dead-lettered, the record turns later messages away by itself; not, a republish may try again.
      if (claimed) await claims.release(ATTEMPT_CLAIMS, claimId).catch(() => undefined);
    }
  }

  /** Dead-letters `delivery` at `attempt` with `cause`, recording `made` (the attempt made) if any. */
  private async deadLetter(delivery: WebhookDelivery, attempt: number, cause: string, made: DeliveryAttempt | undefined): Promise<DeliveryView> {
    const at = this.deps.clock.now().toISOString();
    await this.deps.deadLetters.send(deadLetterMessage(delivery, attempt, cause, at));
    this.deps.log.warn(`webhook ${delivery.webhookId} delivery ${delivery.id} dead-lettered: ${cause}`);
    const updated: WebhookDelivery = {
      ...delivery,
      status: 'dead-lettered',
      nextAttemptAt: undefined,
      reason: cause,
      attempts: [...delivery.attempts, made ?? { attempt: attempt, at, outcome: 'failed', error: cause }],
    };
    await this.deps.deliveries.update(updated);
    return toDeliveryView(updated);
  }

  private async processOnce(message: WebhookDeliveryMessage, queued: QueueDelivery): Promise<DeliveryView | undefined> {
    const delivery = await this.deps.deliveries.get(message.webhookId, message.deliveryId);
    if (delivery === undefined) return undefined;
    if (TERMINAL.has(delivery.status) || delivery.attempts.length >= message.attempt) return toDeliveryView(delivery);
    const claims = this.deps.attemptClaims;
    const claimId = `${message.webhookId}:${message.deliveryId}:${message.attempt}`;
    const now = this.deps.clock.now().toISOString();
    // The claim names the message that took it in the same write: a host that dies right after
    // claiming leaves nothing half-written for the redelivery to misread.
    if (!(await claims.claim(ATTEMPT_CLAIMS, claimId, now, queued.messageId))) {
      // Held, and not recorded. A redelivery of the very message whose earlier delivery claimed it (its
      // host died mid-send, so the attempt may or may not have reached the receiver) makes the attempt
      // again: delivered at least once, recorded once. Another message of the same attempt stays out.
      const own = queued.messageId !== undefined && queued.attempt > 1 && (await this.claimedBy(claimId, queued.messageId, now));
      if (!own) {
        this.deps.log.info(`webhook ${message.webhookId}: attempt ${message.attempt} of delivery ${message.deliveryId} is already taken by another message`);
        return toDeliveryView(delivery);
      }
      this.deps.log.warn(`webhook ${message.webhookId}: attempt ${message.attempt} of delivery ${message.deliveryId} was claimed by an earlier delivery of this message that ended without recording it (host stopped mid-send); attempting again`);
    }
    try {
      return await this.performAttempt(message, delivery);
    } catch (error) {
      // Not recorded: the host retries this message, which must be allowed to perform the attempt.
      await claims.release(ATTEMPT_CLAIMS, claimId).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Whether the attempt's claim was made by queue message `messageId`. Claims written before the
   * owner was stored on the claim itself name their message in a separate `<claim>@<message id>`
   * row; during a rolling deployment such a claim is recognised by that row (looked at with an
   * insert-only claim, undone when it was not there).
   */
  private async claimedBy(claimId: string, messageId: string, now: string): Promise<boolean> {
    const claims = this.deps.attemptClaims;
    const owner = await claims.ownerOf(ATTEMPT_CLAIMS, claimId);
    if (owner !== undefined) return owner === messageId;
    const marker = `${claimId}@${messageId}`;
    if (!(await claims.claim(ATTEMPT_CLAIMS, marker, now))) return true;
    await claims.release(ATTEMPT_CLAIMS, marker).catch(() => undefined);
    return false;
  }

  private async performAttempt(message: WebhookDeliveryMessage, delivery: WebhookDelivery): Promise<DeliveryView> {
    const subscription = await this.deps.subscriptions.get(message.webhookId);
    const now = this.deps.clock.now();
    if (subscription === undefined || !subscription.enabled) {
      const canceled: WebhookDelivery = { ...delivery, status: 'canceled', nextAttemptAt: undefined, reason: subscription === undefined ? 'the webhook was deleted' : `the webhook is disabled: ${subscription.disabledReason ?? ''}`.trim() };
      await this.deps.deliveries.update(canceled);
      return toDeliveryView(canceled);
    }
    const event = JSON.parse(delivery.event) as OutboundEvent;
    const { outcome, excerpt } = await this.attempt(subscription, event, now);
    const decision = decideAfterAttempt(message.attempt, outcome, this.deps.random());
    const at = now.toISOString();
    const nextAttemptAt = decision.action === 'retry' ? new Date(now.getTime() + decision.delaySeconds * 1000).toISOString() : undefined;
    const made: DeliveryAttempt = {
      attempt: message.attempt,
      at,
      ...(outcome.kind === 'response' ? { statusCode: outcome.status } : {}),
      ...(outcome.kind === 'network' ? { error: outcome.error } : {}),
      ...(outcome.kind === 'refused' ? { error: outcome.reason } : {}),
      ...(excerpt !== undefined ? { responseExcerpt: excerpt } : {}),
      outcome: decision.action === 'delivered' ? 'delivered' : outcome.kind === 'refused' ? 'refused' : 'failed',
      ...(nextAttemptAt !== undefined ? { nextAttemptAt } : {}),
    };
    // From here on the attempt was made: a failure says so (AttemptNotRecorded), so that the last
    // dequeue records what happened rather than dead-lettering an attempt the receiver may have got.
    let updated: WebhookDelivery | undefined;
    try {
      switch (decision.action) {
        case 'delivered':
          updated = { ...delivery, status: 'delivered', nextAttemptAt: undefined, attempts: [...delivery.attempts, made] };
          break;
        case 'retry':
          // Queue first: if recording fails the host retries this message, which performs the attempt again.
          await this.deps.queue.send({ ...message, attempt: message.attempt + 1 }, { visibilityDelaySeconds: decision.delaySeconds });
          updated = { ...delivery, status: 'retrying', nextAttemptAt, attempts: [...delivery.attempts, made] };
          break;
        case 'disable': {
          await this.deps.subscriptions.update({ ...subscription, enabled: false, disabledReason: decision.reason, disabledAt: at });
          this.deps.log.warn(`webhook ${subscription.id} disabled: ${decision.reason}`);
          updated = { ...delivery, status: 'failed', nextAttemptAt: undefined, reason: decision.reason, attempts: [...delivery.attempts, made] };
          break;
        }
        case 'dead-letter': {
          await this.deps.deadLetters.send(deadLetterMessage(delivery, message.attempt, decision.reason, at));
          this.deps.log.warn(`webhook ${subscription.id} delivery ${delivery.id} dead-lettered: ${decision.reason}`);
          updated = { ...delivery, status: 'dead-lettered', nextAttemptAt: undefined, reason: decision.reason, attempts: [...delivery.attempts, made] };
          break;
        }
      }
      await this.deps.deliveries.update(updated);
    } catch (error) {
      const met = outcome.kind === 'response' ? `the receiver answered HTTP ${outcome.status}` : outcome.kind === 'network' ? outcome.error : `refused: ${outcome.reason}`;
      throw new AttemptNotRecorded(made, updated, met, error);
    }
    return toDeliveryView(updated);
  }

  private async attempt(subscription: WebhookSubscription, event: OutboundEvent, now: Date): Promise<{ outcome: AttemptOutcome; excerpt: string | undefined }> {
    if (isServiceNowFormat(subscription.format)) {
      if (this.deps.serviceNow === undefined) return { outcome: { kind: 'network', error: 'ServiceNow is not configured' }, excerpt: undefined };
      try {
        const result = await this.deps.serviceNow.deliver(subscription.format, subscription.url, event);
        return { outcome: { kind: 'response', status: 200 }, excerpt: recordedText(result.summary) };
      } catch (error) {
        if (error instanceof OutboundCallFailed) return { outcome: recordedOutcome(error.outcome), excerpt: recordedText(error.responseBody) };
        throw error;
      }
    }
    const secrets = await Promise.all(activeSecrets(subscription.secrets, now).map((s) => this.deps.secrets.reveal(s, subscription.id)));
    const body = webhookBody(subscription.format, event, this.deps.product);
    const headers = webhookHeaders({ id: event.id, timestamp: Math.floor(now.getTime() / 1000), body }, secrets);
    const result = await this.deps.http.request({ method: 'POST', url: subscription.url, headers: { ...headers, 'content-type': 'application/json' }, body });
    switch (result.kind) {
      case 'response':
        return { outcome: { kind: 'response', status: result.status, retryAfterSeconds: parseRetryAfter(result.retryAfter, now) }, excerpt: recordedText(result.body) };
      case 'network':
        return { outcome: recordedOutcome({ kind: 'network', error: result.error }), excerpt: undefined };
      case 'refused':
        return { outcome: recordedOutcome({ kind: 'refused', reason: result.reason }), excerpt: undefined };
    }
  }
}

export { MAX_DELIVERY_ATTEMPTS };

/** What the dead-letter queue receives for a delivery given up at `attempts`. */
function deadLetterMessage(delivery: WebhookDelivery, attempts: number, reason: string, at: string): WebhookDeadLetterMessage {
  return { kind: 'webhook-dead-letter', webhookId: delivery.webhookId, deliveryId: delivery.id, eventId: delivery.eventId, eventType: delivery.eventType, attempts, reason, at };
}

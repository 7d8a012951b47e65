/**
 * One delivery of a queue message: which attempt this is and how many the host allows. The queue
 * trigger adapter (`adapters/functions/queue-delivery.ts`) reads it from the host's trigger metadata;
 * every handler asks it the same question, "is this the last delivery?", and on the last one records
 * what happened instead of throwing (the host would move the message to `<queue>-poison` unrecorded).
 */
import { MAX_DEQUEUE_COUNT } from './messages.js';

export class QueueDelivery {
  private constructor(
    /** The attempt this delivery is (1-based), counting attempts spent on earlier copies of the message. */
    readonly attempt: number,
    /** The attempt after which the host gives the message up (host.json `maxDequeueCount`). */
    readonly maxAttempts: number,
    /**
     * The queue's id of the message (the same on every delivery of it), when the trigger told: lets a
     * redelivery after a crash recognise work its own earlier delivery claimed.
     */
    readonly messageId?: string | undefined,
  ) {}

  /** The `dequeueCount`-th delivery of a message the host gives up on after `maxAttempts`. */
  static of(dequeueCount: number, maxAttempts: number = MAX_DEQUEUE_COUNT, messageId?: string): QueueDelivery {
    const attempt = Number.isInteger(dequeueCount) && dequeueCount > 0 ? dequeueCount : 1;
    return new QueueDelivery(attempt, Math.max(1, Math.floor(maxAttempts)), messageId !== undefined && messageId !== '' ? messageId : undefined);
  }

  /** A first delivery: every failure is retried. */
  static first(): QueueDelivery {
    return QueueDelivery.of(1);
  }

  /**
   * A call nothing retries (a run start finalizing in-process, the overdue sweep, a poison handler):
   * failures are recorded as on a last delivery.
   */
  static final(): QueueDelivery {
    return QueueDelivery.of(MAX_DEQUEUE_COUNT, MAX_DEQUEUE_COUNT);
  }

  /**
   * This delivery of a copy that replaced `previousAttempts` earlier ones (a collect re-sent after a
   * throttled read restarts the host's count), so the last attempt is still the `maxAttempts`-th.
   */
  after(previousAttempts: number | undefined): QueueDelivery {
    return new QueueDelivery((previousAttempts ?? 0) + this.attempt, this.maxAttempts, this.messageId);
  }

  /** The host will not deliver this message again: failures are recorded, not thrown. */
  get isLast(): boolean {
    return this.attempt >= this.maxAttempts;
  }

  /** Throws `error` so the queue retries the message, unless this is the last delivery. */
  rethrowUnlessLast(error: unknown): void {
    if (!this.isLast) throw error;
  }

  /** `attempt/maxAttempts`, for logs. */
  toString(): string {
    return `${this.attempt}/${this.maxAttempts}`;
  }
}

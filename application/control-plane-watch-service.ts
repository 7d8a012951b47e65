/**
 * Control-plane watch: reads each subscription's Azure Activity Log from its watermark, keeps the
 * entries that concern an Arc-connected cluster (domain/control-plane-events.ts), stores them keyed
 * by `eventDataId` and publishes one `controlplane.change.detected` per new event. Runs from the
 * `CONTROLPLANE_WATCH_SCHEDULE` timer (one queue message per subscription) and inside each
 * subscription's nightly collect, which also reads the break-glass downloads ARC-TD-04 evaluates.
 *
 * Never twice: the row key comes from the entry, a second read of it finds the row; an event is
 * published until its row says `published` (the event id is derived from `eventDataId`, and publishing
 * is idempotent per event id), so a crash between storing and publishing re-publishes the same event
 * and never a second one. The watermark only moves after every new event is out, and each read starts
 * an hour before it (entries become readable minutes after they happen).
 */
import {
  BREAK_GLASS_OPERATION,
  classifyActivityLogEntry,
  coversLookback,
  extendCoverage,
  nextReadWindow,
  type BreakGlassFact,
  type ControlPlaneEvent,
} from '../domain/control-plane-events.js';
import { armFailureOf, permanentArmFailureOf } from '../domain/arm-failure.js';
import type { ExtensionFact } from '../domain/model.js';
import type { OutboundEvent } from '../domain/webhook-events.js';
import { outboundEventId } from './event-publishing.js';
import type { ControlPlaneWatchMessage } from './messages.js';
import type {
  ActivityLogReader,
  AzureInventoryReader,
  Clock,
  ClusterStateRepository,
  ControlPlaneEventRepository,
  ControlPlaneWatchFailure,
  ControlPlaneWatchState,
  EventPublisher,
  MessageQueue,
} from './ports.js';
import { silentLogger, type Logger } from './logger.js';

export interface ControlPlaneWatchSettings {
  /** `BREAK_GLASS_LOOKBACK_DAYS`: how far back ARC-TD-04 looks, and the first read of a subscription. */
  readonly lookbackDays: number;
  /** arc-compliance's own identity (client id of `AZURE_CLIENT_ID`): its policy changes are not reported. */
  readonly ownIdentities: readonly string[];
  /** Subscriptions to watch; undefined or empty = every enabled subscription the identity sees. */
  readonly subscriptionIds: readonly string[] | undefined;
  /** Events older than this many days are deleted after a watch run (0 = keep). */
  readonly retentionDays: number;
}

export interface ControlPlaneWatchDeps {
  readonly activityLog: ActivityLogReader;
  readonly events: ControlPlaneEventRepository;
  /** Stored clusters: which resource groups hold clusters (role and policy changes on a group). */
  readonly clusters: Pick<ClusterStateRepository, 'listBySubscription'>;
  readonly inventory: Pick<AzureInventoryReader, 'listSubscriptions'>;
  readonly queue: MessageQueue<ControlPlaneWatchMessage>;
  readonly clock: Clock;
  readonly settings: ControlPlaneWatchSettings;
  readonly publisher: EventPublisher;
  readonly log?: Logger | undefined;
}

/** What one read of a subscription did. */
export interface WatchOutcome {
  readonly subscriptionId: string;
  readonly window: { readonly from: string; readonly to: string };
  /** Entries the log returned. */
  readonly read: number;
  /** Entries kept (they concern a cluster). */
  readonly kept: number;
  /** Events published by this read (new, or stored earlier and not yet published). */
  readonly published: number;
}

/** What recording a poisoned watch message did. */
export type WatchPoisonOutcome =
  | { readonly kind: 'recorded'; readonly failure: ControlPlaneWatchFailure }
  /** A read after the message was queued succeeded: its window is covered, nothing was lost. */
  | { readonly kind: 'superseded'; readonly lastSuccessAt: string };

/** A cluster as the watch needs it. */
export interface WatchedCluster {
  readonly id: string;
  readonly resourceGroup: string;
  /** Azure location (`cloud.region` of OCSF deliveries). */
  readonly location?: string | undefined;
}

/** What the nightly collect needs from the watch (implemented by {@link ControlPlaneWatchService}). */
export interface RunControlPlaneSource {
  /** `BREAK_GLASS_LOOKBACK_DAYS`. */
  readonly lookbackDays: number;
  forRun(subscriptionId: string, clusters: readonly WatchedCluster[], runStartedAt: Date): Promise<RunControlPlaneView>;
  recordExtensions(subscriptionId: string, extensions: ReadonlyMap<string, readonly ExtensionFact[]>): Promise<void>;
}

/** What the nightly collect learns from the watch for ARC-TD-04. */
export interface RunControlPlaneView {
  /** Break-glass downloads per cluster (lower-cased id); null when the log could not be read for the run. */
  readonly breakGlass: ReadonlyMap<string, readonly BreakGlassFact[]> | null;
  /** Set when the log could not be read (the control is `unknown`). */
  readonly error?: string | undefined;
}

const DAY_MS = 86_400_000;

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The outbound event of a stored control-plane event (its id derived from the Activity Log's). */
export function controlPlaneOutboundEvent(event: ControlPlaneEvent): OutboundEvent<ControlPlaneEvent> {
  return { id: outboundEventId('controlplane.change.detected', event.eventDataId.toLowerCase()), type: 'controlplane.change.detected', timestamp: event.eventTimestamp, data: event };
}

export class ControlPlaneWatchService implements RunControlPlaneSource {
  private readonly log: Logger;

  constructor(private readonly deps: ControlPlaneWatchDeps) {
    this.log = deps.log ?? silentLogger;
  }

  get lookbackDays(): number {
    return this.deps.settings.lookbackDays;
  }

  /** The timer tick: one watch message per subscription. Returns how many were sent. */
  async fanOut(): Promise<number> {
    const configured = this.deps.settings.subscriptionIds;
    const ids =
      configured !== undefined && configured.length > 0
        ? [...configured]
        : (await this.deps.inventory.listSubscriptions()).filter((s) => s.state.toLowerCase() === 'enabled').map((s) => s.subscriptionId);
    const subscriptions = [...new Set(ids.map((s) => s.toLowerCase()))].sort();
    const requestedAt = this.deps.clock.now().toISOString();
    await this.deps.queue.sendMany(subscriptions.map((subscriptionId) => ({ kind: 'controlplane-watch', subscriptionId, requestedAt })));
    return subscriptions.length;
  }

  /**
   * Reads the subscription's log from its watermark, stores and publishes what is new, then moves the
   * watermark. A read failure is recorded on the watch state (`lastFailure`, with the ARM error code)
   * and rethrown; so is a store or publish failure (the watermark stays, the next attempt publishes
   * the same events).
   */
  async watchSubscription(subscriptionId: string, options: { readonly clusters?: readonly WatchedCluster[] | undefined; readonly lookbackFrom?: Date | undefined } = {}): Promise<WatchOutcome> {
    const { events, settings, clock } = this.deps;
    const sub = subscriptionId.toLowerCase();
    const now = clock.now();
    const previous = await events.getWatchState(sub);
    const window = nextReadWindow(previous?.coverage, now, settings.lookbackDays, options.lookbackFrom);
    let entries;
    try {
      entries = await this.deps.activityLog.list(sub, window.from, window.to);
    } catch (error) {
      await this.saveFailure(previous, sub, {
        at: now.toISOString(),
        stage: 'read',
        code: armFailureOf(error)?.code ?? 'ActivityLogReadFailed',
        message: `Activity Log not read: ${errorText(error)}`,
        hint: permanentArmFailureOf(error)?.hint,
      });
      throw error;
    }
    const clusters = options.clusters ?? (await this.deps.clusters.listBySubscription(sub)).map((c) => ({ id: c.id, resourceGroup: c.resourceGroup, location: c.location }));
    const byGroup = new Map<string, string[]>();
    const clusterLocations = new Map<string, string>();
    for (const c of clusters) {
      if (c.location !== undefined && c.location !== '') clusterLocations.set(c.id.toLowerCase(), c.location);
      const key = c.resourceGroup.toLowerCase();
      byGroup.set(key, [...(byGroup.get(key) ?? []), c.id.toLowerCase()]);
    }
    const needsTypes = entries.some((e) => /\/extensions\//i.test(e.resourceId));
    const extensionTypes = needsTypes ? await events.extensionTypes(sub) : undefined;
    const kept = new Map<string, ControlPlaneEvent>();
    for (const entry of entries) {
      const event = classifyActivityLogEntry(entry, { ownIdentities: settings.ownIdentities, clustersByResourceGroup: byGroup, extensionTypes, clusterLocations });
      if (event !== undefined) kept.set(event.eventDataId.toLowerCase(), event);
    }
    // Oldest first: receivers see a subscription's changes in the order they happened.
    const ordered = [...kept.values()].sort((a, b) => Date.parse(a.eventTimestamp) - Date.parse(b.eventTimestamp));
    let published = 0;
    let failure: unknown;
    for (const event of ordered) {
      try {
        const stored = await events.record(event);
        if (stored.published) continue;
        await this.deps.publisher.publish(controlPlaneOutboundEvent(event));
        await events.markPublished(event);
        published += 1;
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) {
      await this.saveFailure(previous, sub, { at: now.toISOString(), stage: 'store', code: 'EventsNotStored', message: `control-plane events not stored or published: ${errorText(failure)}` });
      throw failure;
    }
    // The last failure stays on record (operators see when and why it last failed), now in the past.
    await events.saveWatchState({ subscriptionId: sub, coverage: extendCoverage(previous?.coverage, window), lastAttemptAt: now.toISOString(), lastSuccessAt: now.toISOString(), lastFailure: previous?.lastFailure });
    this.log.info(`control-plane watch ${sub}: ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} read (${window.from.toISOString()} … ${window.to.toISOString()}), ${kept.size} kept, ${published} published`);
    return { subscriptionId: sub, window: { from: window.from.toISOString(), to: window.to.toISOString() }, read: entries.length, kept: kept.size, published };
  }

  /**
   * A queue delivery's read: as {@link watchSubscription}, but a failure retrying cannot fix (a refusal,
   * a missing or disabled subscription) is recorded and returned instead of thrown, since every further
   * delivery would fail the same way; the next tick tries again. Anything else is rethrown for the queue
   * to retry (and, after the last delivery, the poison queue to record).
   */
  async watchQueued(subscriptionId: string): Promise<{ readonly kind: 'read'; readonly outcome: WatchOutcome } | { readonly kind: 'not-retried'; readonly code: string }> {
    try {
      return { kind: 'read', outcome: await this.watchSubscription(subscriptionId) };
    } catch (error) {
      const permanent = permanentArmFailureOf(error);
      if (permanent === undefined) throw error;
      return { kind: 'not-retried', code: permanent.code };
    }
  }

  private async saveFailure(previous: ControlPlaneWatchState | undefined, sub: string, failure: ControlPlaneWatchFailure): Promise<void> {
    this.log.warn(`control-plane watch ${sub}: ${failure.code}: ${failure.message}`);
    await this.deps.events
      .saveWatchState({ ...(previous ?? {}), subscriptionId: sub, lastAttemptAt: failure.at, lastFailure: failure })
      .catch((e: unknown) => this.log.warn(`control-plane watch ${sub}: watch state not saved: ${errorText(e)}`));
  }

  /**
   * A watch message the host gave up on (`controlplane-watch-poison`): every delivery threw or timed
   * out. Recorded as the subscription's last failure (`Poisoned`, naming the failure the deliveries
   * recorded, if any) so the watch-state view shows it; nothing is re-read here, the next tick reads
   * from the unchanged watermark. A message overtaken by a later successful read changes nothing.
   */
  async recordPoisoned(message: ControlPlaneWatchMessage, deliveries: number): Promise<WatchPoisonOutcome> {
    const sub = message.subscriptionId.toLowerCase();
    const previous = await this.deps.events.getWatchState(sub);
    if (previous?.lastSuccessAt !== undefined && Date.parse(previous.lastSuccessAt) > Date.parse(message.requestedAt)) {
      return { kind: 'superseded', lastSuccessAt: previous.lastSuccessAt };
    }
    const cause = previous?.lastFailure !== undefined && previous.lastFailure.stage !== 'poison' && Date.parse(previous.lastFailure.at) >= Date.parse(message.requestedAt) ? previous.lastFailure : undefined;
    const failure: ControlPlaneWatchFailure = {
      at: this.deps.clock.now().toISOString(),
      stage: 'poison',
      code: 'Poisoned',
      message:
        cause !== undefined
          ? `watch message queued at ${message.requestedAt} gave no outcome after ${deliveries} deliveries; the last one failed with ${cause.code}: ${cause.message}`
          : `watch message queued at ${message.requestedAt} gave no outcome after ${deliveries} deliveries (function timeout, host crash or a storage failure while recording)`,
      hint: cause?.hint,
    };
    await this.deps.events.saveWatchState({ ...(previous ?? {}), subscriptionId: sub, lastFailure: failure });
    return { kind: 'recorded', failure };
  }

  /**
   * The nightly collect's part: reads the log (as the timer does), then the break-glass downloads of
   * each cluster for ARC-TD-04. When the log cannot be read, the stored events still serve if an
   * earlier read covers the whole lookback up to the run start; otherwise `breakGlass` is null and
   * the control is `unknown`. Never throws for a log failure (the rest of the collect goes on).
   */
  async forRun(subscriptionId: string, clusters: readonly WatchedCluster[], runStartedAt: Date): Promise<RunControlPlaneView> {
    let error: string | undefined;
    try {
      // The lookback is counted from the run start, so a subscription collected minutes into the run
      // still reads back to what the run needs.
      await this.watchSubscription(subscriptionId, { clusters, lookbackFrom: runStartedAt });
    } catch (e) {
      error = errorText(e);
    }
    const state = await this.deps.events.getWatchState(subscriptionId.toLowerCase());
    const lookback = this.deps.settings.lookbackDays;
    if (!coversLookback(state?.coverage, runStartedAt, lookback)) {
      return { breakGlass: null, error: error ?? 'the Activity Log read does not cover the lookback up to the run start' };
    }
    const from = new Date(runStartedAt.getTime() - lookback * DAY_MS).toISOString();
    const to = runStartedAt.toISOString();
    const breakGlass = new Map<string, BreakGlassFact[]>();
    for (const c of clusters) {
      const stored = await this.deps.events.listForCluster(c.id, from, to);
      breakGlass.set(
        c.id.toLowerCase(),
        stored.filter((e) => e.operation === BREAK_GLASS_OPERATION).map((e) => ({ eventDataId: e.eventDataId, caller: e.caller, eventTimestamp: e.eventTimestamp, status: e.status })),
      );
    }
    return { breakGlass, ...(error !== undefined ? { error } : {}) };
  }

  /** Remembers each cluster's extension types from a collect (the log names extensions, never their types). */
  async recordExtensions(subscriptionId: string, extensions: ReadonlyMap<string, readonly ExtensionFact[]>): Promise<void> {
    const types = new Map<string, Map<string, string>>();
    for (const [clusterId, facts] of extensions) types.set(clusterId.toLowerCase(), new Map(facts.map((f) => [f.name.toLowerCase(), f.extensionType.toLowerCase()])));
    await this.deps.events.recordExtensionTypes(subscriptionId, types);
  }

  /** Retention: events older than `retentionDays` (0 keeps them). */
  async applyRetention(): Promise<number> {
    const days = this.deps.settings.retentionDays;
    if (days <= 0) return 0;
    return this.deps.events.purgeOlderThan(new Date(this.deps.clock.now().getTime() - days * DAY_MS).toISOString());
  }
}

/**
 * Timer trigger listener following the host's `TimerListener`: at start, a monitored schedule whose
 * recorded next occurrence has passed runs at once with `isPastDue: true`; otherwise `runOnStartup`
 * runs it once; then it fires on each occurrence, scheduling the next one after the invocation ends
 * (no overlap). Monitored schedules record `{ last, next, lastUpdated }` in a {@link ScheduleMonitor}
 * (the host keeps it in blob storage; here memory or a JSON file). The handler receives the host's
 * TimerInfo: `{ schedule: { adjustForDST }, scheduleStatus, isPastDue }`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FunctionRegistration } from './core-api.js';
import type { RpcInvocationResponse } from './core-types.js';
import type { HostLogger, InvocationInput } from './invocation.js';
import type { TimerSchedule } from './timer-schedule.js';

export interface ScheduleStatus {
  /** ISO timestamps, as the host's ScheduleStatus (`0001-01-01…` when never run). */
  readonly last: string;
  readonly next: string;
  readonly lastUpdated: string;
}

export interface ScheduleMonitor {
  get(timerName: string): Promise<ScheduleStatus | undefined>;
  set(timerName: string, status: ScheduleStatus): Promise<void>;
}

/** .NET `default(DateTime)`, what the host reports as `Last` before the first run. */
export const NEVER = '0001-01-01T00:00:00.000Z';

/** Process-lifetime monitor: past-due detection across host restarts within one process. */
export function memoryScheduleMonitor(initial: Record<string, ScheduleStatus> = {}): ScheduleMonitor {
  const statuses = new Map(Object.entries(initial));
  return {
    get: async (name) => statuses.get(name),
    set: async (name, status) => {
      statuses.set(name, status);
    },
  };
}

/** File-backed monitor (e.g. `.data/timer-status.json`), so missed runs are detected across restarts. */
export function fileScheduleMonitor(path: string): ScheduleMonitor {
  const read = (): Record<string, ScheduleStatus> => (existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, ScheduleStatus>) : {});
  return {
    get: async (name) => read()[name],
    set: async (name, status) => {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, JSON.stringify({ ...read(), [name]: status }, null, 2));
    },
  };
}

export interface TimerTrigger {
  readonly registration: FunctionRegistration;
  readonly triggerName: string;
  readonly schedule: TimerSchedule;
  readonly runOnStartup: boolean;
  readonly useMonitor: boolean;
}

export interface TimerListenerDeps {
  invoke(registration: FunctionRegistration, input: InvocationInput): Promise<RpcInvocationResponse>;
  readonly log: HostLogger;
  readonly monitor: ScheduleMonitor;
}

/** Longest delay `setTimeout` accepts; longer waits are re-armed in steps. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export class TimerListener {
  readonly #trigger: TimerTrigger;
  readonly #deps: TimerListenerDeps;
  #status: ScheduleStatus | undefined;
  #timeout: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(trigger: TimerTrigger, deps: TimerListenerDeps) {
    this.#trigger = trigger;
    this.#deps = deps;
  }

  get name(): string {
    return this.#trigger.registration.name;
  }

  /** Past-due check, startup run and first arm, as `TimerListener.StartAsync`. */
  async start(): Promise<void> {
    const now = new Date();
    const { schedule, useMonitor, runOnStartup } = this.#trigger;
    let isPastDue = false;
    if (useMonitor) {
      const recorded = await this.#deps.monitor.get(this.name);
      if (recorded === undefined) {
        // First sight of this timer: record the next occurrence so a miss is noticed later.
        this.#status = { last: NEVER, next: schedule.next(now).toISOString(), lastUpdated: now.toISOString() };
        await this.#deps.monitor.set(this.name, this.#status);
      } else {
        this.#status = recorded;
        const expected = recorded.lastUpdated === NEVER ? Date.parse(recorded.next) : schedule.next(new Date(recorded.lastUpdated)).getTime();
        // A schedule changed to fire earlier than recorded counts from the earlier occurrence.
        const recordedNext = Math.min(Date.parse(recorded.next), expected);
        isPastDue = now.getTime() > recordedNext;
      }
    }
    if (isPastDue) {
      this.#log('information', `Function '${this.name}' is past due on startup. Executing now.`);
      await this.#invokeGuarded(now, { isPastDue: true, originalSchedule: this.#status?.next });
    } else if (runOnStartup) {
      this.#log('information', `Function '${this.name}' is configured to run on startup. Executing now.`);
      await this.#invokeGuarded(now, {});
    }
    this.#arm();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timeout !== undefined) clearTimeout(this.#timeout);
    await this.#running.catch(() => undefined);
  }

  /** Runs the function now (local `runTimersOnStart` / tests); rejects if the invocation fails. */
  async invokeNow(): Promise<RpcInvocationResponse> {
    const run = this.#invoke(new Date(), {});
    this.#running = run.catch(() => undefined);
    return run;
  }

  #log(level: 'information' | 'warning' | 'error', message: string): void {
    this.#deps.log({ level, category: 'host', functionName: this.name, message });
  }

  #arm(): void {
    if (this.#stopped) return;
    const next = this.#trigger.schedule.next(new Date());
    const wait = (): void => {
      if (this.#stopped) return;
      const remaining = next.getTime() - Date.now();
      if (remaining > MAX_TIMEOUT_MS) {
        this.#timeout = setTimeout(wait, MAX_TIMEOUT_MS);
        return;
      }
      this.#timeout = setTimeout(() => {
        if (this.#stopped) return;
        const run = this.#invokeGuarded(new Date(), {}).finally(() => this.#arm());
        this.#running = run;
      }, Math.max(0, remaining));
    };
    wait();
  }

  async #invokeGuarded(now: Date, options: { isPastDue?: boolean; originalSchedule?: string | undefined }): Promise<void> {
    try {
      await this.#invoke(now, options);
    } catch {
      // Logged by the invocation pipeline; a failed run does not stop the schedule.
    }
  }

  async #invoke(now: Date, options: { isPastDue?: boolean; originalSchedule?: string | undefined }): Promise<RpcInvocationResponse> {
    const status = this.#trigger.useMonitor ? this.#status : undefined;
    // The host serializes TimerInfo with PascalCase names; the library camel-cases timer input.
    const timerInfo = {
      Schedule: { AdjustForDST: true },
      ScheduleStatus: status === undefined ? null : { Last: status.last, Next: status.next, LastUpdated: status.lastUpdated },
      IsPastDue: options.isPastDue ?? false,
    };
    try {
      return await this.#deps.invoke(this.#trigger.registration, {
        inputData: [{ name: this.#trigger.triggerName, data: { json: JSON.stringify(timerInfo) } }],
        triggerMetadata: {},
        reason: options.isPastDue ? 'Timer fired (past due).' : `Timer fired at ${now.toISOString()}`,
      });
    } finally {
      if (this.#trigger.useMonitor) {
        this.#status = {
          last: options.originalSchedule ?? now.toISOString(),
          next: this.#trigger.schedule.next(now).toISOString(),
          lastUpdated: now.toISOString(),
        };
        await this.#deps.monitor.set(this.name, this.#status).catch((error: unknown) => {
          this.#log('warning', `Could not record the schedule status: ${error instanceof Error ? error.message : String(error)}`);
        });
      }
    }
  }
}

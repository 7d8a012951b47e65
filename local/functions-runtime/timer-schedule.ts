/**
 * Timer trigger schedules as the host reads them: a six-field NCRONTAB expression
 * (`{second} {minute} {hour} {day} {month} {day-of-week}`) or a TimeSpan (`hh:mm:ss`, a fixed
 * interval), after `%SETTING%` app-setting expressions are resolved. Five-field (classic cron) or
 * malformed expressions are rejected with the host's message. NCRONTAB requires day-of-month AND
 * day-of-week to match, unlike Vixie cron's OR; croner is configured accordingly.
 */
import { Cron } from 'croner';
import { resolveAppSettings } from './host-options.js';

export class TimerScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimerScheduleError';
  }
}

export interface TimerSchedule {
  /** The expression after app-setting resolution. */
  readonly expression: string;
  readonly kind: 'cron' | 'timespan';
  /** The first occurrence strictly after `after`. */
  next(after: Date): Date;
  /** Whether the host monitors it by default (recurrence of at least one minute), for `isPastDue`. */
  readonly monitoredByDefault: boolean;
}

const TIMESPAN = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})$/;

/** Parses a schedule, resolving `%SETTING%` from `env`; throws naming the setting or the bad expression. */
export function parseSchedule(raw: string, env: NodeJS.ProcessEnv = process.env, timezone: string | undefined = env['WEBSITE_TIME_ZONE']): TimerSchedule {
  const expression = resolveAppSettings(raw, env).trim();
  const notRecognized = (): TimerScheduleError =>
    new TimerScheduleError(`The schedule expression '${expression}' was not recognized as a valid cron expression or timespan string.`);

  const span = TIMESPAN.exec(expression);
  if (span) {
    const [, d, h, m, s] = span;
    const ms = (((Number(d ?? 0) * 24 + Number(h)) * 60 + Number(m)) * 60 + Number(s)) * 1000;
    if (ms <= 0 || Number(h) > 23 || Number(m) > 59 || Number(s) > 59) throw notRecognized();
    return { expression, kind: 'timespan', next: (after) => new Date(after.getTime() + ms), monitoredByDefault: ms >= 60_000 };
  }

  if (expression.split(/\s+/).length !== 6) throw notRecognized();
  let cron: Cron;
  try {
    cron = new Cron(expression, { mode: '6-part', domAndDow: true, paused: true, ...(timezone ? { timezone } : {}) });
  } catch {
    throw notRecognized();
  }
  const next = (after: Date): Date => {
    const occurrence = cron.nextRun(after);
    if (occurrence === null) throw new TimerScheduleError(`The schedule expression '${expression}' has no future occurrence.`);
    return occurrence;
  };
  // Recurrence estimated from two consecutive occurrences, as the host does to pick the monitor default.
  const first = cron.nextRun(new Date());
  const second = first === null ? null : cron.nextRun(first);
  const monitoredByDefault = first !== null && second !== null && second.getTime() - first.getTime() >= 60_000;
  return { expression, kind: 'cron', next, monitoredByDefault };
}

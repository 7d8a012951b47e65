import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  fileScheduleMonitor,
  FunctionIndexingError,
  memoryScheduleMonitor,
  parseSchedule,
  startFunctionsHost,
  TimerScheduleError,
  type RunningFunctionsHost,
  type ScheduleMonitor,
} from '../../../local/functions-runtime/index.js';
import { probe, waitFor, type ProbeRecord } from '../../fixtures/functions-app/probe.js';

const ENTRY = 'test/fixtures/functions-app/timer-functions.ts';
const recordsOf = (fn: string): ProbeRecord[] => probe().records.filter((r) => r.fn === fn);
interface TimerInput {
  schedule: { adjustForDST: boolean };
  scheduleStatus: { last: string; next: string; lastUpdated: string } | null;
  isPastDue: boolean;
}

describe('timer schedule parsing (NCRONTAB)', () => {
  const from = new Date('2026-03-02T10:15:30Z');

  it('accepts six-field expressions with seconds', () => {
    expect(parseSchedule('0 */5 * * * *', {}, 'UTC').next(from).toISOString()).toBe('2026-03-02T10:20:00.000Z');
    expect(parseSchedule('*/10 * * * * *', {}, 'UTC').next(from).toISOString()).toBe('2026-03-02T10:15:40.000Z');
    expect(parseSchedule('0 30 9 * * 1-5', {}, 'UTC').next(from).toISOString()).toBe('2026-03-03T09:30:00.000Z');
  });

  it('requires day-of-month AND day-of-week, like NCRONTAB', () => {
    // Friday the 13th, not "every 13th or every Friday".
    expect(parseSchedule('0 0 0 13 * 5', {}, 'UTC').next(from).toISOString()).toBe('2026-03-13T00:00:00.000Z');
    expect(parseSchedule('0 0 0 13 * 1', {}, 'UTC').next(from).toISOString()).toBe('2026-04-13T00:00:00.000Z');
  });

  it('rejects five-field and malformed expressions with the host message', () => {
    for (const bad of ['0 */5 * * *', '0 61 * * * *', 'every minute', '* * * * * * * *', '']) {
      expect(() => parseSchedule(bad, {}), bad).toThrow(TimerScheduleError);
    }
    expect(() => parseSchedule('0 */5 * * *', {})).toThrow("The schedule expression '0 */5 * * *' was not recognized as a valid cron expression or timespan string.");
  });

  it('accepts TimeSpan intervals', () => {
    const schedule = parseSchedule('00:05:00', {});
    expect(schedule.kind).toBe('timespan');
    expect(schedule.next(from).getTime() - from.getTime()).toBe(300_000);
  });

  it('resolves %SETTING% expressions and names a missing setting', () => {
    expect(parseSchedule('%EVAL_SCHEDULE%', { EVAL_SCHEDULE: '0 0 */6 * * *' }, 'UTC').next(from).toISOString()).toBe('2026-03-02T12:00:00.000Z');
    expect(() => parseSchedule('%EVAL_SCHEDULE%', {})).toThrow("'%EVAL_SCHEDULE%' does not resolve to a value.");
  });

  it('monitors schedules of a minute or more by default (isPastDue tracking)', () => {
    expect(parseSchedule('0 0 * * * *', {}).monitoredByDefault).toBe(true);
    expect(parseSchedule('*/30 * * * * *', {}).monitoredByDefault).toBe(false);
  });
});

describe('schedule monitors', () => {
  it('persists schedule status in a JSON file across monitor instances (host restarts)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'timer-status-'));
    try {
      const status = { last: '2026-01-01T00:00:00.000Z', next: '2026-01-01T01:00:00.000Z', lastUpdated: '2026-01-01T00:00:00.000Z' };
      await fileScheduleMonitor(join(dir, 'nested/status.json')).set('a', status);
      await fileScheduleMonitor(join(dir, 'nested/status.json')).set('b', { ...status, last: 'x' });
      expect(await fileScheduleMonitor(join(dir, 'nested/status.json')).get('a')).toEqual(status);
      expect(await fileScheduleMonitor(join(dir, 'missing.json')).get('a')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('local Functions runtime: timer triggers', () => {
  let host: RunningFunctionsHost | undefined;
  afterAll(async () => {
    await host?.stop();
    delete process.env['RT_TIMER_SCHEDULE'];
  });

  it('refuses to start when a schedule setting is missing, naming it', async () => {
    delete process.env['RT_TIMER_SCHEDULE'];
    const attempt = startFunctionsHost({ entry: ENTRY, port: 0, hostJson: {}, logger: () => undefined });
    await expect(attempt).rejects.toThrow(FunctionIndexingError);
    await expect(attempt).rejects.toThrow(/Functions\.settingTimer.*'%RT_TIMER_SCHEDULE%' does not resolve to a value/);
    expect(recordsOf('startupTimer')).toEqual([]); // nothing ran
  });

  it('runs past-due and runOnStartup timers at start, named timers on request, and scheduled ones on time', async () => {
    process.env['RT_TIMER_SCHEDULE'] = '0 0 0 1 1 *';
    const missed = { last: '2026-01-01T08:00:00.000Z', next: '2026-01-01T09:00:00.000Z', lastUpdated: '2026-01-01T08:00:00.000Z' };
    const monitor: ScheduleMonitor = memoryScheduleMonitor({ monitoredTimer: missed });
    host = await startFunctionsHost({ entry: ENTRY, port: 0, hostJson: {}, logger: () => undefined, scheduleMonitor: monitor, runTimersOnStart: ['settingTimer'] });

    // Past due: the recorded next occurrence is in the past.
    const [pastDue] = recordsOf('monitoredTimer');
    expect(pastDue?.input).toEqual({ schedule: { adjustForDST: true }, scheduleStatus: missed, isPastDue: true });
    const recorded = await monitor.get('monitoredTimer');
    expect(recorded?.last).toBe(missed.next);
    expect(Date.parse(recorded?.next ?? '')).toBeGreaterThan(Date.now());

    // runOnStartup: runs once, not past due.
    expect(recordsOf('startupTimer')).toHaveLength(1);
    expect((recordsOf('startupTimer')[0]?.input as TimerInput).isPastDue).toBe(false);

    // runTimersOnStart (local only) runs in the background.
    await waitFor('settingTimer run on start', () => recordsOf('settingTimer')[0]);

    // invokeTimer runs now; the status recorded by the previous run is passed in.
    await host.invokeTimer('settingTimer');
    const second = recordsOf('settingTimer')[1]?.input as TimerInput;
    expect(second.isPastDue).toBe(false);
    expect(second.scheduleStatus?.next).toBe(parseSchedule('0 0 0 1 1 *').next(new Date(second.scheduleStatus?.lastUpdated ?? '')).toISOString());
    expect(Date.parse(second.scheduleStatus?.next ?? '')).toBeGreaterThan(Date.now());

    await expect(host.invokeTimer('failingTimer')).rejects.toThrow(/Functions\.failingTimer\. timer failed/);
    await expect(host.invokeTimer('nope')).rejects.toThrow(/not a timer-triggered function/);

    // The host's admin API runs a non-HTTP function on demand.
    const key = { 'x-functions-key': host.masterKey };
    const admin = await fetch(`${host.url}/admin/functions/settingTimer`, { method: 'POST', body: '{}', headers: key });
    expect(admin.status).toBe(202);
    await waitFor('admin-invoked settingTimer', () => recordsOf('settingTimer')[2]);
    expect((await fetch(`${host.url}/admin/functions/unknown`, { method: 'POST', body: '{}', headers: key })).status).toBe(404);

    // A sub-minute schedule fires by itself and is not monitored (no schedule status).
    const tick = await waitFor('everySecond tick', () => recordsOf('everySecond')[0]);
    expect((tick.input as TimerInput).scheduleStatus).toBeNull();
  });
});

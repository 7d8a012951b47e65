import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureRegistrations, EntryPointError, loadHostOptions, resolveEntryFiles } from '../../../local/functions-runtime/index.js';

describe('entry resolution like the Functions worker', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fn-entry-'));
    mkdirSync(join(dir, 'dist/functions'), { recursive: true });
    mkdirSync(join(dir, 'functions'), { recursive: true });
    for (const f of ['dist/functions/b.js', 'dist/functions/a.js', 'dist/functions/a.js.map', 'functions/a.ts']) writeFileSync(join(dir, f), '');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ main: 'dist/functions/*.js' }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('expands a glob `main` in sorted order, prefers the TypeScript sources behind it', () => {
    expect(resolveEntryFiles({ appRoot: dir, entry: 'dist/functions/*.js' })).toEqual([join(dir, 'dist/functions/a.js'), join(dir, 'dist/functions/b.js')]);
    expect(resolveEntryFiles({ appRoot: dir })).toEqual([join(dir, 'functions/a.ts')]);
    rmSync(join(dir, 'functions/a.ts'));
    expect(resolveEntryFiles({ appRoot: dir })).toEqual([join(dir, 'dist/functions/a.js'), join(dir, 'dist/functions/b.js')]);
  });

  it('accepts lists, plain files and ** patterns; fails when a pattern matches nothing', () => {
    expect(resolveEntryFiles({ appRoot: dir, entry: ['dist/functions/b.js', 'dist/**/*.js'] })).toEqual([join(dir, 'dist/functions/b.js'), join(dir, 'dist/functions/a.js')]);
    expect(() => resolveEntryFiles({ appRoot: dir, entry: 'src/*.js' })).toThrow(EntryPointError);
    expect(() => resolveEntryFiles({ appRoot: dir, entry: 'src/*.js' })).toThrow(/Found zero files matching the supplied pattern/);
  });

  it('captures every function registered by a set of entry files, attributed to its file', async () => {
    const registrations = await captureRegistrations('test/fixtures/functions-app/*-functions.ts');
    const byName = new Map(registrations.map((r) => [r.name, r]));
    expect([...byName.keys()]).toEqual(expect.arrayContaining(['getItem', 'echo', 'processWork', 'alwaysFails', 'enqueue', 'settingTimer', 'everySecond']));
    expect(byName.get('processWork')?.entry).toMatch(/queue-functions\.ts$/);
    const queueTrigger = Object.values(byName.get('processWork')?.bindings ?? {}).find((b) => b.direction === 'in');
    expect(queueTrigger).toMatchObject({ type: 'queueTrigger', queueName: 'rt-work', connection: 'AzureWebJobsStorage' });
    expect(byName.get('processWork')?.bindings['$return']).toMatchObject({ type: 'queue', direction: 'out', queueName: 'rt-results' });
    const timer = Object.values(byName.get('settingTimer')?.bindings ?? {})[0];
    expect(timer).toMatchObject({ type: 'timerTrigger', schedule: '%RT_TIMER_SCHEDULE%' });
    expect(byName.get('getItem')?.rawBindings.map((b) => (JSON.parse(b) as { type: string }).type)).toEqual(['httpTrigger', 'http']);
    // Capturing again returns the same registrations (modules are not re-evaluated).
    expect((await captureRegistrations('test/fixtures/functions-app/queue-functions.ts')).map((r) => r.name)).toEqual(['processWork', 'alwaysFails', 'enqueue']);
  });
});

describe('host.json options', () => {
  it('reads the project host.json with the host semantics', () => {
    const options = loadHostOptions('host.json');
    expect(options.routePrefix).toBe('api');
    expect(options.queues).toMatchObject({ batchSize: 16, newBatchThreshold: 8, maxPollingIntervalMs: 2000, visibilityTimeoutMs: 10_000, maxDequeueCount: 5, messageEncoding: 'base64' });
  });

  it('applies the Storage extension defaults and rejects invalid values', () => {
    const defaults = loadHostOptions({ version: '2.0' });
    expect(defaults.routePrefix).toBe('api');
    expect(defaults.queues).toMatchObject({ batchSize: 16, maxPollingIntervalMs: 60_000, visibilityTimeoutMs: 0, maxDequeueCount: 5, messageEncoding: 'base64' });
    expect(loadHostOptions({ extensions: { http: { routePrefix: '' } } }).routePrefix).toBe('');
    expect(() => loadHostOptions({ extensions: { queues: { batchSize: 64 } } })).toThrow(/batchSize/);
    expect(() => loadHostOptions({ extensions: { queues: { maxPollingInterval: '2s' } } })).toThrow(/TimeSpan/);
  });
});

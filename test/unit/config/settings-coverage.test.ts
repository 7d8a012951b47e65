/**
 * SETTINGS is the list the README table, local.settings.example.json and the Bicep cross-check are
 * built from, so a variable config/settings.ts reads without declaring it would be undocumented and
 * never set in Azure. These tests find the names actually read, statically and at run time.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, SETTINGS, loadConfig } from '../../../config/settings.js';

const source = readFileSync(new URL('../../../config/settings.ts', import.meta.url), 'utf8');
const declared = new Set(SETTINGS.map((s) => s.name));

/**
 * Names config/settings.ts reads: an identifier-like string literal passed as the first argument of
 * a call (`str('X')`, `int('X', …)`, `url('X')`, `env['X']`, `env.X`). The SETTINGS array itself is
 * cut out first, so a name only counts when code reads it.
 */
function namesReadIn(text: string): Set<string> {
  const start = text.indexOf('export const SETTINGS');
  const end = text.indexOf(']);', start);
  const code = start >= 0 && end > start ? text.slice(0, start) + text.slice(end) : text;
  const names = new Set<string>();
  for (const m of code.matchAll(/\b\w+\(\s*'([A-Za-z_][A-Za-z0-9_]*)'/g)) names.add(m[1]!);
  for (const m of code.matchAll(/\benv\[\s*'([A-Za-z_][A-Za-z0-9_]*)'\s*\]/g)) names.add(m[1]!);
  for (const m of code.matchAll(/\benv\.([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!);
  // Call arguments that are not environment names (e.g. a method called with a constant).
  return new Set([...names].filter((n) => /^(?:[A-Z][A-Z0-9_]*|AzureWebJobs\w*)$/.test(n)));
}

/** Runs loadConfig on `env` and returns every key it looked up, whatever the outcome. */
function keysReadBy(env: Record<string, string>): Set<string> {
  const read = new Set<string>();
  const recording = new Proxy(env, {
    get(target, key) {
      if (typeof key === 'string') read.add(key);
      return target[key as string];
    },
  });
  try {
    loadConfig(recording);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
  }
  return read;
}

const minimal = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  AUTH_ISSUER: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0',
  AUTH_AUDIENCE: 'api://arc-compliance',
};

describe('the settings config/settings.ts reads', () => {
  const staticNames = namesReadIn(source);

  it('finds reads in the source (the scanner works)', () => {
    for (const name of ['AzureWebJobsStorage', 'AzureWebJobsStorage__tableServiceUri', 'AUTH_ISSUER', 'ARM_MAX_CONCURRENCY', 'SERVICENOW_USERNAME']) {
      expect(staticNames, name).toContain(name);
    }
    // and ignores what is not a read
    expect(namesReadIn("export const SETTINGS = [{ name: 'ONLY_DOCUMENTED' }]);\nstr('READ_ME'); foo('not a name');")).toEqual(new Set(['READ_ME']));
  });

  it('are all declared in SETTINGS', () => {
    expect([...staticNames].filter((n) => !declared.has(n)), 'read in config/settings.ts but missing from SETTINGS').toEqual([]);
  });

  it('are all declared in SETTINGS, whichever branch runs (keys looked up at run time)', () => {
    const everySet = Object.fromEntries(SETTINGS.map((s) => [s.name, s.default ?? 'x']));
    const envs: Record<string, string>[] = [
      {},
      minimal,
      { ...minimal, SERVICENOW_AUTH: 'basic' },
      { ...minimal, SERVICENOW_AUTH: 'oauth' },
      { AUTH_ISSUER: minimal.AUTH_ISSUER, AUTH_AUDIENCE: minimal.AUTH_AUDIENCE, AzureWebJobsStorage__accountName: 'st', AzureWebJobsStorage__credential: 'managedidentity' },
      everySet,
    ];
    const read = new Set(envs.flatMap((env) => [...keysReadBy(env)]));
    expect(read.size).toBeGreaterThan(10);
    expect([...read].filter((n) => !declared.has(n)), 'looked up by loadConfig but missing from SETTINGS').toEqual([]);
  });

  it('include every SETTINGS entry (no documented setting the app ignores)', () => {
    expect([...declared].filter((n) => !staticNames.has(n)), 'in SETTINGS but never read').toEqual([]);
  });
});

/**
 * The function app's settings are written as a whole on every `azd provision`, so a setting or
 * parameter only "can be changed" if the templates carry it from an azd environment variable to the
 * site. These tests check that chain against the code (config/settings.ts SETTINGS) and against what
 * the operations guide tells operators to run.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../config/settings.js';
import { ROOT, readJson, readText, stripBicepComments } from './infra-files.js';

const main = stripBicepComments(readText('infra/main.bicep'));
const parameterValues = (readJson('infra/main.parameters.json') as { parameters: Record<string, { value: unknown }> }).parameters;
const operations = readText('docs/operations.md');

/** `param name type` declarations of main.bicep. */
const bicepParams = [...main.matchAll(/^param\s+(\w+)\s+(\w+)/gm)].map((m) => m[1]!);

/** main.parameters.json: Bicep parameter → azd environment variable (`${VAR}` or `${VAR=default}`). */
const azdVariableOf = new Map(
  Object.entries(parameterValues).flatMap(([name, { value }]) => {
    const m = typeof value === 'string' ? /^\$\{([A-Z][A-Z0-9_]*)(?:=[^}]*)?\}$/.exec(value) : null;
    return m ? [[name, m[1]!] as const] : [];
  }),
);
const mappedVariables = new Set(azdVariableOf.values());

/** `Name: value` lines of main.bicep from `var appSettings` up to the function app module: every setting it can write. */
function settingsMainBicepWrites(): Map<string, string[]> {
  const start = main.indexOf('var appSettings = {');
  const end = main.indexOf("module functionApp 'modules/function-app.bicep'", start);
  expect(start, 'main.bicep declares var appSettings').toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  const out = new Map<string, string[]>();
  for (const m of main.slice(start, end).matchAll(/^\s+([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.+)$/gm)) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!.trim()]);
  return out;
}

/** The `Name: parameter` entries of `var optionalSettingValues = { … }`. */
function optionalSettingEntries(): [string, string][] {
  const start = main.indexOf('var optionalSettingValues = {');
  expect(start, 'main.bicep declares var optionalSettingValues').toBeGreaterThanOrEqual(0);
  const block = main.slice(start, main.indexOf('\n}', start));
  return [...block.matchAll(/^\s+([A-Z][A-Z0-9_]*)\s*:\s*(\w+)\s*$/gm)].map((m) => [m[1]!, m[2]!]);
}

/** Settings docs/operations.md marks as local only: the backticked names on its `**Local only**` line. */
function localOnlySettings(): Set<string> {
  const line = operations.split('\n').find((l) => l.startsWith('**Local only'));
  expect(line, 'docs/operations.md has a "**Local only**" line').toBeDefined();
  return new Set([...(line ?? '').matchAll(/`([A-Za-z_][A-Za-z0-9_]*)`/g)].map((m) => m[1]!));
}

/** Markdown and hook scripts that tell an operator what to run. */
function instructionFiles(): { path: string; text: string }[] {
  const docs = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
  const scripts = readdirSync(join(ROOT, 'infra', 'scripts')).filter((f) => f.endsWith('.sh')).map((f) => `infra/scripts/${f}`);
  return ['README.md', ...docs, ...scripts].map((path) => ({ path, text: readText(path) }));
}

describe('main.parameters.json', () => {
  it('maps every main.bicep parameter to an azd environment variable, each variable once', () => {
    expect(bicepParams.length).toBeGreaterThan(20);
    expect(bicepParams.filter((p) => !azdVariableOf.has(p)), 'parameters without an azd variable (azd env set would do nothing)').toEqual([]);
    expect(Object.keys(parameterValues).filter((p) => !azdVariableOf.has(p)), 'values that are not ${VAR} / ${VAR=default}').toEqual([]);
    expect(mappedVariables.size).toBe(azdVariableOf.size);
  });
});

describe('what the docs tell operators to set', () => {
  const files = instructionFiles();

  it('every `azd env set NAME` names a variable main.parameters.json maps', () => {
    const told = files.flatMap((f) => [...f.text.matchAll(/azd env set\s+([A-Z][A-Z0-9_]*)/g)].map((m) => ({ path: f.path, name: m[1]! })));
    expect(told.length).toBeGreaterThan(10);
    expect(told.filter((t) => !mappedVariables.has(t.name)).map((t) => `${t.path}: ${t.name}`), 'told to set, but no parameter reads it').toEqual([]);
  });

  it('every Bicep parameter the guide names is mapped', () => {
    const named = bicepParams.filter((p) => operations.includes(`\`${p}\``));
    expect(named).toEqual(expect.arrayContaining(['enableAppServiceAuth', 'maximumInstanceCount']));
    expect(named.filter((p) => !azdVariableOf.has(p))).toEqual([]);
  });

  it('never tells anyone to change app settings by hand (the next provision would remove them)', () => {
    for (const f of files) expect(f.text, f.path).not.toMatch(/(?:functionapp|webapp) config appsettings (?:set|delete)/);
  });
});

describe('every setting of config/settings.ts', () => {
  it('is set by main.bicep, settable through it, or documented as local only (and then not set)', () => {
    const written = settingsMainBicepWrites();
    const localOnly = localOnlySettings();
    const missing = SETTINGS.map((s) => s.name).filter((n) => !written.has(n) && !localOnly.has(n));
    expect(missing, 'settings neither written by main.bicep nor marked "Local only" in docs/operations.md').toEqual([]);
    expect([...localOnly].filter((n) => written.has(n)), 'marked local only but set in Azure').toEqual([]);
    expect([...localOnly].filter((n) => !SETTINGS.some((s) => s.name === n)), 'marked local only but not a setting').toEqual([]);
  });

  it('that is optional is fed by the azd variable of the same name, and left out when empty', () => {
    const entries = optionalSettingEntries();
    expect(entries.length).toBeGreaterThanOrEqual(8);
    for (const [setting, param] of entries) {
      expect(bicepParams, `${setting}: ${param} is a parameter`).toContain(param);
      expect(azdVariableOf.get(param), `${param} is fed by azd variable ${setting}`).toBe(setting);
      expect(main, `${param} defaults to '' (unset)`).toMatch(new RegExp(`^param ${param} string = ''$`, 'm'));
    }
    expect(main).toMatch(/var optionalSettings = toObject\(filter\(items\(optionalSettingValues\), setting => !empty\(trim\(setting\.value\)\)\)/);
    expect(main).toMatch(/appSettings:\s*union\(appSettings, optionalSettings\b/);
  });

  it('whose value comes from a parameter can be set with azd', () => {
    for (const [setting, values] of settingsMainBicepWrites()) {
      for (const value of values) {
        for (const id of value.match(/\b[a-z]\w*\b/g) ?? []) {
          if (bicepParams.includes(id)) expect(azdVariableOf.has(id), `${setting} <- ${id}`).toBe(true);
        }
      }
    }
  });

  it('is listed in the operations guide', () => {
    expect(SETTINGS.map((s) => s.name).filter((n) => !operations.includes(`\`${n}\``))).toEqual([]);
  });
});

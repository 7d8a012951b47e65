/**
 * Finding and loading the app's entry files the way the worker does (`startApp.ts`): package.json
 * `main` may be a glob (`dist/functions/*.js`), every match is imported in order, and whatever the
 * files register through `@azure/functions` becomes the app. Locally the TypeScript sources behind
 * `main` (`functions/*.ts`) are preferred when they exist, so `npm start` runs without a build.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { coreState, installCoreModule, type FunctionRegistration } from './core-api.js';

export class EntryPointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EntryPointError';
  }
}

const hasMagic = (pattern: string): boolean => /[*?[]/.test(pattern);

/** Converts one glob path segment (`*`, `?`, `[abc]`) to a regular expression. */
function segmentRegExp(segment: string): RegExp {
  let source = '';
  for (const ch of segment) {
    if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else if (ch === '[' || ch === ']') source += ch;
    else source += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/**
 * A small glob matcher (`*`, `?`, `[…]`, `**`) over the file system, relative to `cwd`. Results are
 * sorted so registration order is stable; `node_modules` and dot-folders are not descended by `**`.
 */
export function globFiles(pattern: string, cwd: string): string[] {
  const normalized = pattern.replace(/\\/g, '/');
  const absolute = isAbsolute(normalized);
  const segments = normalized.split('/').filter((s, i) => s !== '' && !(s === '.' && i === 0));
  const results = new Set<string>();
  const walk = (dir: string, index: number): void => {
    if (index === segments.length) {
      if (existsSync(dir) && statSync(dir).isFile()) results.add(dir);
      return;
    }
    const segment = segments[index] ?? '';
    if (segment === '**') {
      walk(dir, index + 1);
      for (const child of safeReaddir(dir)) {
        if (child.isDirectory() && !child.name.startsWith('.') && child.name !== 'node_modules') walk(join(dir, child.name), index);
      }
      return;
    }
    if (!hasMagic(segment)) {
      walk(join(dir, segment), index + 1);
      return;
    }
    const matcher = segmentRegExp(segment);
    for (const child of safeReaddir(dir)) if (matcher.test(child.name)) walk(join(dir, child.name), index + 1);
  };
  walk(absolute ? sep : cwd, 0);
  return [...results].sort();
}

function safeReaddir(dir: string): import('node:fs').Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** `dist/functions/*.js` → `functions/*.ts`: the source a tsc build with `outDir: dist` came from. */
export function sourcePatternFor(mainPattern: string): string | undefined {
  const m = /^(?:\.\/)?dist\/(.+)\.(c|m)?js$/.exec(mainPattern.replace(/\\/g, '/'));
  return m ? `${m[1]}.${m[2] === undefined ? '' : m[2]}ts` : undefined;
}

export interface EntryOptions {
  /** Files or glob patterns, relative to `appRoot`. Default: package.json `main` (its TS sources if present). */
  readonly entry?: string | readonly string[] | undefined;
  /** The function app directory (holds package.json and host.json). Default: `process.cwd()`. */
  readonly appRoot?: string | undefined;
}

/** Resolves entry options to absolute file paths, failing when nothing matches (the worker's message). */
export function resolveEntryFiles(options: EntryOptions = {}): string[] {
  const appRoot = resolve(options.appRoot ?? process.cwd());
  let patterns: readonly string[];
  if (options.entry !== undefined) {
    patterns = typeof options.entry === 'string' ? [options.entry] : options.entry;
  } else {
    const packagePath = join(appRoot, 'package.json');
    if (!existsSync(packagePath)) throw new EntryPointError(`No entry given and no package.json in ${appRoot}.`);
    const main = (JSON.parse(readFileSync(packagePath, 'utf8')) as { main?: unknown }).main;
    if (typeof main !== 'string' || main === '') throw new EntryPointError(`package.json in ${appRoot} has no "main" entry point.`);
    const source = sourcePatternFor(main);
    patterns = source !== undefined && globFiles(source, appRoot).length > 0 ? [source] : [main];
  }
  const files: string[] = [];
  for (const pattern of patterns) {
    const matches = hasMagic(pattern) ? globFiles(pattern, appRoot) : [resolve(appRoot, pattern)].filter((f) => existsSync(f));
    if (matches.length === 0) throw new EntryPointError(`Found zero files matching the supplied pattern "${pattern}" (in ${appRoot}).`);
    for (const file of matches) if (!files.includes(file)) files.push(file);
  }
  return files;
}

/**
 * Imports entry files in order with the core module installed, recording which file registered which
 * function. Files already imported in this process are not re-evaluated (ES module cache); their
 * registrations are still attributed to them.
 */
export async function loadEntryFiles(files: readonly string[]): Promise<FunctionRegistration[]> {
  installCoreModule();
  const state = coreState();
  for (const file of files) {
    state.currentEntry = file;
    try {
      await import(pathToFileURL(file).href);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new EntryPointError(`Worker was unable to load entry point "${relative(process.cwd(), file)}": ${reason}`);
    } finally {
      state.currentEntry = undefined;
    }
  }
  return [...state.functions.values()].filter((r) => r.entry !== undefined && files.includes(r.entry));
}

/**
 * Imports the given entry files (paths or globs, relative to `appRoot`) and returns every function they
 * registered through the unmodified `@azure/functions` API, with the library's real binding metadata.
 */
export async function captureRegistrations(
  entries: string | readonly string[],
  appRoot: string = process.cwd(),
): Promise<FunctionRegistration[]> {
  return loadEntryFiles(resolveEntryFiles({ entry: entries, appRoot }));
}

/** Reads the text of infra/ and friends for the infra tests (Bicep cannot be compiled here). */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const INFRA = join(ROOT, 'infra');

export function readText(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

export function readJson(path: string): unknown {
  return JSON.parse(readText(path)) as unknown;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}

export interface SourceFile {
  /** Path relative to the repository root, with forward slashes. */
  readonly path: string;
  readonly text: string;
}

/** Every file under infra/ whose name ends with `suffix`. */
export function infraFiles(suffix: string): SourceFile[] {
  return walk(INFRA)
    .filter((f) => f.endsWith(suffix))
    .map((f) => ({ path: relative(ROOT, f).split('\\').join('/'), text: readFileSync(f, 'utf8') }));
}

/** Bicep text without `//` line comments and block comments (strings kept). */
export function stripBicepComments(text: string): string {
  let out = '';
  let i = 0;
  let inString = false;
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (inString) {
      out += c;
      if (c === '\\') { out += next ?? ''; i += 2; continue; }
      if (c === "'") inString = false;
      i += 1;
    } else if (c === "'") {
      inString = true; out += c; i += 1;
    } else if (c === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n') i += 1;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 2;
    } else {
      out += c; i += 1;
    }
  }
  return out;
}

/**
 * The `resource` declarations of a Bicep file: symbolic name, type, and the body text up to the
 * next top-level declaration. Enough for property checks on hand-written templates.
 */
export function bicepResources(text: string): { name: string; type: string; body: string }[] {
  const decl = /^(?:resource)\s+(\w+)\s+'([^'@]+)@[^']+'/gm;
  const starts = [...text.matchAll(decl)];
  const boundary = /^(?:resource|module|output|param|var|targetScope)\b/gm;
  return starts.map((m) => {
    const from = m.index;
    boundary.lastIndex = from + 1;
    let end = text.length;
    for (let b = boundary.exec(text); b; b = boundary.exec(text)) {
      if (b.index > from) { end = b.index; break; }
    }
    return { name: m[1]!, type: m[2]!, body: text.slice(from, end) };
  });
}

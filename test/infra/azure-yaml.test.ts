import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OUT } from '../../infra/scripts/stage-package.js';
import { ROOT, readText } from './infra-files.js';

type Yaml = string | boolean | number | null | { [key: string]: Yaml };

/**
 * Parses the block-mapping subset of YAML that azure.yaml uses (nested mappings by indentation,
 * plain or quoted scalars, comments). Anything else (sequences, flow style, anchors, tabs,
 * multi-line scalars) throws, which keeps azure.yaml trivially parseable.
 */
export function parseSimpleYaml(text: string): { [key: string]: Yaml } {
  const root: { [key: string]: Yaml } = {};
  const stack: { indent: number; node: { [key: string]: Yaml } }[] = [{ indent: -1, node: root }];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\s+#.*$/, '').replace(/^#.*$/, '').trimEnd();
    if (line.trim() === '') return;
    if (line.includes('\t')) throw new Error(`line ${i + 1}: tab`);
    const m = /^( *)([A-Za-z_][\w.-]*):(?: (.*))?$/.exec(line);
    if (!m) throw new Error(`line ${i + 1}: unsupported YAML: ${raw}`);
    const indent = m[1]!.length;
    while (stack.length > 1 && stack[stack.length - 1]!.indent >= indent) stack.pop();
    const parent = stack[stack.length - 1]!.node;
    const key = m[2]!;
    if (key in parent) throw new Error(`line ${i + 1}: duplicate key ${key}`);
    const rawValue = m[3]?.trim();
    if (rawValue === undefined || rawValue === '') {
      const child: { [key: string]: Yaml } = {};
      parent[key] = child;
      stack.push({ indent, node: child });
      return;
    }
    if (/^[[{&*!|>]/.test(rawValue)) throw new Error(`line ${i + 1}: unsupported value ${rawValue}`);
    const quoted = /^'(.*)'$|^"(.*)"$/.exec(rawValue);
    parent[key] = quoted ? (quoted[1] ?? quoted[2] ?? '')
      : rawValue === 'true' ? true : rawValue === 'false' ? false
      : /^-?\d+(\.\d+)?$/.test(rawValue) ? Number(rawValue) : rawValue;
  });
  return root;
}

const doc = parseSimpleYaml(readText('azure.yaml'));
const obj = (v: Yaml | undefined): { [key: string]: Yaml } => {
  expect(v !== null && typeof v === 'object').toBe(true);
  return v as { [key: string]: Yaml };
};

describe('parseSimpleYaml', () => {
  it('parses nested mappings and scalars and refuses what it does not support', () => {
    expect(parseSimpleYaml('a:\n  b: 1 # c\n  c: \'x\'\nd: true\n')).toEqual({ a: { b: 1, c: 'x' }, d: true });
    expect(() => parseSimpleYaml('a:\n  - b\n')).toThrow();
    expect(() => parseSimpleYaml('a: [1, 2]\n')).toThrow();
    expect(() => parseSimpleYaml('a: 1\na: 2\n')).toThrow();
  });
});

describe('azure.yaml', () => {
  it('declares the api service as a TypeScript function app built from the project root', () => {
    expect(doc.name).toMatch(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/);
    const api = obj(obj(doc.services).api);
    expect(api.host).toBe('function');
    expect(api.language).toBe('ts');
    expect(api.project).toBe('.');
    const pkg = JSON.parse(readText('package.json')) as { main?: string; scripts?: Record<string, string> };
    expect(pkg.main).toMatch(/^dist\/functions\//);
    expect(pkg.scripts?.build).toBeDefined();
  });

  it('deploys the package the prepackage hook stages, as is (no remote build)', () => {
    const api = obj(obj(doc.services).api);
    // The staged folder is the zip root: host.json and package.json sit at its top.
    expect(api.dist).toBe(DEFAULT_OUT);
    expect(api.remoteBuild).toBe(false);
    const hook = obj(obj(api.hooks).prepackage);
    expect(hook.shell).toBe('sh');
    expect(hook.continueOnError).toBe(false);
    const run = String(hook.run);
    expect(existsSync(join(ROOT, run)), run).toBe(true);
    expect(() => accessSync(join(ROOT, run), constants.X_OK), `${run} is executable`).not.toThrow();
    // hook -> npm script -> stage-package.ts, into the folder azd zips
    expect(readText(run.replace(/^\.\//, ''))).toMatch(/^npm run -s package:azure$/m);
    const pkg = JSON.parse(readText('package.json')) as { scripts?: Record<string, string> };
    expect(pkg.scripts?.['package:azure']).toBe(`tsx infra/scripts/stage-package.ts ${DEFAULT_OUT}`);
    // An earlier staged folder is never copied into the next package.
    expect(readText('.funcignore')).toMatch(new RegExp(`^/${DEFAULT_OUT.replace('/', '\\/')}/$`, 'm'));
  });

  it('points at infra/main.bicep and hook scripts that exist and are executable', () => {
    const infra = obj(doc.infra);
    expect(infra.provider).toBe('bicep');
    expect(existsSync(join(ROOT, String(infra.path), `${String(infra.module)}.bicep`))).toBe(true);
    const hooks = obj(doc.hooks);
    expect(Object.keys(hooks).sort()).toEqual(['postprovision', 'preprovision']);
    for (const [name, hook] of Object.entries(hooks)) {
      const run = String(obj(hook).run);
      const script = join(ROOT, run);
      expect(existsSync(script), `${name}: ${run}`).toBe(true);
      expect(() => accessSync(script, constants.X_OK), `${run} is executable`).not.toThrow();
    }
  });
});

/**
 * Self time of a V8 `.cpuprofile` (as `--cpu-prof` writes) by function or by file/package, or what
 * grows faster than the workload between two profiles of the same process at two sizes:
 *
 *   npx tsx bench/cpuprofile-summary.ts app-1.cpuprofile [--top 30] [--by file]
 *   npx tsx bench/cpuprofile-summary.ts small.cpuprofile large.cpuprofile --factor 5 [--top 30]
 *
 * With two profiles each row is `excess = large − factor × small` (seconds), `small`, `large` and the
 * ratio, sorted by excess: a function whose cost grows with the work is near 0; one whose cost grows
 * with the work times the data already stored comes first. Idle time is left out.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CpuProfile {
  readonly nodes: readonly { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '30' }, by: { type: 'string', default: 'function' }, factor: { type: 'string', default: '1' } },
});

function selfSeconds(path: string, by: string): Map<string, number> {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const out = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const frame = nodes.get(id)?.callFrame;
    if (frame === undefined || frame.functionName === '(idle)') return;
    const file = (frame.url || '(native)').replace(/^.*node_modules\//, 'nm/').replace(/^file:\/\/\/work\/[^/]+\//, '');
    const key = by === 'file' ? file.split('/').slice(0, file.startsWith('nm/@') ? 3 : file.startsWith('nm/') ? 2 : undefined).join('/') : `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
    out.set(key, (out.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1e6);
  });
  return out;
}

const top = Number(values.top);
const [first, second] = positionals;
if (first === undefined) throw new Error('usage: cpuprofile-summary.ts profile [profile2 --factor N] [--top N] [--by function|file]');
const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
const small = selfSeconds(first, values.by);
if (second === undefined) {
  console.log(`busy ${total(small).toFixed(2)} s`);
  for (const [k, v] of [...small].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${v.toFixed(2).padStart(8)}  ${k}`);
} else {
  const factor = Number(values.factor);
  const large = selfSeconds(second, values.by);
  console.log(`busy ${total(small).toFixed(2)} s → ${total(large).toFixed(2)} s (${(total(large) / total(small)).toFixed(2)}×); excess = large − ${factor} × small`);
  const rows = [...new Set([...small.keys(), ...large.keys()])].map((k) => ({ k, s: small.get(k) ?? 0, l: large.get(k) ?? 0 }));
  rows.sort((a, b) => b.l - factor * b.s - (a.l - factor * a.s));
  console.log('  excess    small    large  ratio');
  for (const r of rows.slice(0, top)) {
    console.log(`${(r.l - factor * r.s).toFixed(2).padStart(8)} ${r.s.toFixed(2).padStart(8)} ${r.l.toFixed(2).padStart(8)} ${(r.s > 0 ? r.l / r.s : Infinity).toFixed(1).padStart(6)}  ${r.k}`);
  }
}

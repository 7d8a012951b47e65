/**
 * The messages the benchmark's processes exchange over the Node IPC channel of `fork`, and the
 * helpers both sides use. Each child answers a `request` with a `reply` carrying the same `id`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ChildReady {
  readonly type: 'ready';
  readonly data: Record<string, unknown>;
}
export interface ChildReply {
  readonly type: 'reply';
  readonly id: number;
  readonly data?: unknown;
  readonly error?: string;
}
export interface ParentRequest {
  readonly type: 'request';
  readonly id: number;
  readonly what: string;
  readonly args?: unknown;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A forked TypeScript child (run under tsx) with request/reply over IPC. */
export class BenchChild {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly ready: Promise<Record<string, unknown>>;
  readonly exited: Promise<number | null>;

  private constructor(readonly name: string, readonly process: ChildProcess) {
    this.ready = new Promise((resolve, reject) => {
      process.on('message', (m: unknown) => {
        if (!isRecord(m)) return;
        if (m['type'] === 'ready') resolve(isRecord(m['data']) ? m['data'] : {});
        if (m['type'] === 'reply' && typeof m['id'] === 'number') {
          const p = this.pending.get(m['id']);
          this.pending.delete(m['id']);
          if (typeof m['error'] === 'string') p?.reject(new Error(`${name}: ${m['error']}`));
          else p?.resolve(m['data']);
        }
      });
      process.once('exit', (code) => reject(new Error(`${name} exited (${String(code)}) before it was ready`)));
    });
    this.exited = new Promise((resolve) => process.once('exit', (code) => resolve(code)));
    this.ready.catch(() => undefined);
    process.once('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error(`${name} exited`));
      this.pending.clear();
    });
  }

  static start(name: string, moduleUrl: URL, env: Readonly<Record<string, string>> = {}, execArgv: readonly string[] = []): BenchChild {
    const child = fork(moduleUrl, [], {
      execArgv: ['--import', 'tsx', ...execArgv],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new BenchChild(name, child);
  }

  request<T>(what: string, args?: unknown): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const message: ParentRequest = { type: 'request', id, what, args };
      this.process.send(message);
    });
  }

  /** Peak resident set size so far (Linux `VmHWM`), MiB. */
  peakRssMiB(): number | undefined {
    return peakRssOf(this.process.pid);
  }

  cpuSeconds(): number | undefined {
    return cpuSecondsOf(this.process.pid);
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    await this.request('stop').catch(() => undefined);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** CPU seconds (user + system) the process has used so far (Linux `/proc/<pid>/stat`, 100 ticks/s). */
export function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

export function peakRssOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Child side: announce readiness and serve requests until `stop`. */
export function serveParent(ready: Record<string, unknown>, handlers: Record<string, (args: unknown) => unknown>, onStop: () => Promise<void>): void {
  const send = (m: ChildReady | ChildReply): void => {
    process.send?.(m);
  };
  process.on('message', (m: unknown) => {
    if (!isRecord(m) || m['type'] !== 'request' || typeof m['id'] !== 'number' || typeof m['what'] !== 'string') return;
    const id = m['id'];
    const what = m['what'];
    if (what === 'stop') {
      void onStop()
        .catch(() => undefined)
        .finally(() => {
          send({ type: 'reply', id });
          process.disconnect?.();
          setTimeout(() => process.exit(0), 50).unref();
        });
      return;
    }
    const handler = handlers[what];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown request ${what}`);
        return handler(m['args']);
      })
      .then(
        (data) => send({ type: 'reply', id, data }),
        (e: unknown) => send({ type: 'reply', id, error: e instanceof Error ? e.stack ?? e.message : String(e) }),
      );
  });
  // The parent going away ends the child (no orphans when the benchmark is interrupted).
  process.on('disconnect', () => void onStop().finally(() => process.exit(0)));
  send({ type: 'ready', data: ready });
}

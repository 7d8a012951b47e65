/**
 * Benchmark child: the app — the local Functions runtime running the real `functions/*.ts` against
 * Azurite and the ARM emulator of the other children. Nothing else runs here, so this process's peak
 * RSS is the app's (plus the local runtime and the tsx loader).
 *
 * `run` fires the evaluation timer (the production path: timer → evaluation-collect queue →
 * evaluation-finalize queue → Table Storage) and resolves when the finalize invocation that completed
 * the run has finished. Table writes are counted by wrapping the `TableClient` write methods.
 */
import { fileURLToPath } from 'node:url';
import { TableClient, type TransactionAction } from '@azure/data-tables';
import { startLocalStack } from '../../local/local-stack.js';
import type { HostLogEntry } from '../../local/functions-runtime/index.js';
import { getContainer } from '../../bootstrap/composition-root.js';
import { serveParent } from './ipc.js';

const writes = { entities: 0, deletes: 0, transactions: 0, bytes: 0 };
const proto = TableClient.prototype;
const submitTransaction = proto.submitTransaction;
proto.submitTransaction = function (this: TableClient, actions: TransactionAction[], ...rest: unknown[]) {
  writes.transactions += 1;
  for (const a of actions) {
    if (a[0] === 'delete') writes.deletes += 1;
    else {
      writes.entities += 1;
      writes.bytes += JSON.stringify(a[1]).length;
    }
  }
  return (submitTransaction as (...args: unknown[]) => ReturnType<TableClient['submitTransaction']>).call(this, actions, ...rest);
};
for (const method of ['upsertEntity', 'createEntity', 'updateEntity'] as const) {
  const original = proto[method] as (...args: unknown[]) => Promise<unknown>;
  (proto as unknown as Record<string, unknown>)[method] = function (this: TableClient, entity: unknown, ...rest: unknown[]) {
    writes.entities += 1;
    writes.bytes += JSON.stringify(entity).length;
    return original.call(this, entity, ...rest);
  };
}
const deleteEntity = proto.deleteEntity;
proto.deleteEntity = function (this: TableClient, ...args: Parameters<TableClient['deleteEntity']>) {
  writes.deletes += 1;
  return deleteEntity.apply(this, args);
};

let finalizeDone: (() => void) | undefined;
let finalizing = false;
const problems: string[] = [];
const invocations = new Map<string, number>();
const logger = (entry: HostLogEntry): void => {
  if (entry.message.startsWith("Executing 'Functions.evaluationFinalizeRun'")) finalizing = true;
  const executed = /^Executed 'Functions\.([^']+)' \((Succeeded|Failed)/.exec(entry.message);
  if (executed) {
    const key = `${executed[1]} ${executed[2]}`;
    invocations.set(key, (invocations.get(key) ?? 0) + 1);
    if (executed[1] === 'evaluationFinalizeRun' && executed[2] === 'Succeeded') finalizeDone?.();
  }
  if (entry.level === 'warning' || entry.level === 'error' || entry.level === 'critical') {
    if (problems.length < 50) problems.push(entry.message);
    if (problems.length <= 10) console.warn(`[app] ${entry.message}`);
  }
};
// The evaluation service logs one line per subscription: keep the benchmark's output readable.
console.info = () => undefined;

const hostJson = fileURLToPath(new URL('./host.json', import.meta.url));
const stack = await startLocalStack({ port: 0, hostJson, logger, settings: {
    AUTH_ISSUER: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0',
    AUTH_AUDIENCE: 'api://arc-compliance-bench',
    // The 15-minute control-plane watch would fire at quarter hours during long runs (one more
    // Activity Log read per subscription, and invocations competing with the run): not part of the
    // measured evaluation, which reads the Activity Log itself (one read per subscription).
    CONTROLPLANE_WATCH_SCHEDULE: '0 0 3 1 1 *',
  },
});
if (stack.azurite !== undefined || stack.emulator !== undefined) throw new Error('the app process must use the Azurite and ARM emulator of the other processes');
// Cold start (tables created, clients built) is not part of the measured run.
const container = await getContainer();

serveParent(
  {},
  {
    run: async () => {
      const { runs } = container.repositories;
      const started = performance.now();
      const cpuBefore = process.cpuUsage();
      const rssTimeline: number[] = [];
      let peak = { rss: 0, heapUsed: 0, external: 0, phase: '' };
      let peakHeapUsed = 0;
      let ticks = 0;
      const sampler = setInterval(() => {
        const m = process.memoryUsage();
        if (m.heapUsed > peakHeapUsed) peakHeapUsed = m.heapUsed;
        if (m.rss > peak.rss) peak = { rss: m.rss, heapUsed: m.heapUsed, external: m.external, phase: finalizing ? 'finalize' : 'collect' };
        if (ticks++ % 8 === 0) rssTimeline.push(m.rss / 2 ** 20);
      }, 250);
      let runId: string | undefined;
      const complete = new Promise<void>((resolve) => {
        finalizeDone = () => {
          if (runId === undefined) return;
          void runs.get(runId).then((r) => {
            if (r?.completedAt !== undefined) resolve();
          });
        };
      });
      await stack.host.invokeTimer('evaluationTimer');
      runId = (await runs.list(1)).items[0]?.id;
      if (runId === undefined) throw new Error('the timer opened no run');
      const startedRun = await runs.get(runId);
      if (startedRun?.completedAt === undefined) await complete;
      const wallSeconds = (performance.now() - started) / 1000;
      clearInterval(sampler);
      const cpu = process.cpuUsage(cpuBefore);
      const run = await runs.get(runId);
      return {
        wallSeconds,
        appCpuSeconds: (cpu.user + cpu.system) / 1e6,
        run,
        writes,
        invocations: Object.fromEntries(invocations),
        problems,
        maxRssMiB: process.resourceUsage().maxRSS / 1024,
        rssTimeline,
        peakHeapUsedMiB: peakHeapUsed / 2 ** 20,
        peakSample: { rssMiB: peak.rss / 2 ** 20, heapUsedMiB: peak.heapUsed / 2 ** 20, externalMiB: peak.external / 2 ** 20, phase: peak.phase },
      };
    },
  },
  () => stack.stop(),
);

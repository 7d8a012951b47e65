/**
 * The storage ceiling the evaluation is compared with: entity writes per second that this Azurite
 * sustains through `TableClient.submitTransaction`, batches of 100 in one partition each, with as
 * many transactions in flight as the app's `submitBatched` uses, into a scratch table that is
 * dropped afterwards.
 */
import { TableClient, type TransactionAction } from '@azure/data-tables';

export interface CeilingOptions {
  readonly connectionString: string;
  /** Entities to write (a multiple of 100). */
  readonly entities: number;
  /** Approximate JSON size of one entity (padding property), to match what the run wrote. */
  readonly entityBytes: number;
  readonly concurrency: number;
}

export async function measureAzuriteCeiling(options: CeilingOptions): Promise<{ entitiesPerSecond: number; seconds: number; entities: number; entityBytes: number }> {
  const table = `benchceiling${Date.now()}`;
  const client = TableClient.fromConnectionString(options.connectionString, table, { allowInsecureConnection: true });
  await client.createTable();
  const padding = 'x'.repeat(Math.max(0, options.entityBytes - 120));
  const batches: TransactionAction[][] = [];
  for (let b = 0; b < Math.ceil(options.entities / 100); b++) {
    const batch: TransactionAction[] = [];
    for (let i = 0; i < 100; i++) batch.push(['upsert', { partitionKey: `p${b}`, rowKey: `r${String(i).padStart(3, '0')}`, n: i, payload: padding }, 'Replace']);
    batches.push(batch);
  }
  // One warm-up transaction (connection set-up, table creation path).
  await client.submitTransaction([['upsert', { partitionKey: 'warmup', rowKey: 'w', payload: padding }, 'Replace']]);
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      const batch = batches[next++]!;
      await client.submitTransaction(batch);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  await client.deleteTable();
  const entities = batches.length * 100;
  return { entitiesPerSecond: entities / seconds, seconds, entities, entityBytes: options.entityBytes };
}

/**
 * Azurite answers single-partition queries from its PartitionKey index (local/azurite-partition-queries.ts):
 * the rows, their order, `$top` and continuation tokens are exactly those of a scan of the whole table,
 * and only filters pinning one partition at the top level are narrowed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TableClient, type TransactionAction } from '@azure/data-tables';
import { startAzurite, type RunningAzurite } from '../../../local/azurite.js';
import { narrowedQueryCount, pinnedPartition } from '../../../local/azurite-partition-queries.js';
import { uniquePrefix } from './fixtures.js';

let azurite: RunningAzurite;
let table: TableClient;
interface Row {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly n: number;
}
const rows: Row[] = [];
// Partitions that are prefixes of one another and sort around each other, interleaved on insert.
const PARTITIONS = ['a', 'ab', 'a|b', 'b', 'A', '1'];

beforeAll(async () => {
  azurite = await startAzurite();
  table = TableClient.fromConnectionString(azurite.connectionString, `${uniquePrefix()}pq`, { allowInsecureConnection: true });
  await table.createTable();
  for (let i = 0; i < 60; i += 1) {
    for (const [p, partitionKey] of PARTITIONS.entries()) rows.push({ partitionKey, rowKey: `r${String((i * 7 + p) % 60).padStart(3, '0')}`, n: i % 5 });
  }
  for (const partitionKey of PARTITIONS) {
    const mine = rows.filter((r) => r.partitionKey === partitionKey);
    await table.submitTransaction(mine.map((r): TransactionAction => ['create', { ...r }]));
  }
});
afterAll(async () => {
  await azurite?.stop();
});

const byKeys = (a: Row, b: Row): number => (a.partitionKey < b.partitionKey ? -1 : a.partitionKey > b.partitionKey ? 1 : a.rowKey < b.rowKey ? -1 : a.rowKey > b.rowKey ? 1 : 0);
async function query(filter: string, pageSize?: number): Promise<{ rows: Row[]; pages: number }> {
  const out: Row[] = [];
  let pages = 0;
  for await (const page of table.listEntities<Row>({ queryOptions: { filter } }).byPage(pageSize !== undefined ? { maxPageSize: pageSize } : {})) {
    pages += 1;
    for (const e of page) out.push({ partitionKey: e.partitionKey, rowKey: e.rowKey, n: e.n });
  }
  return { rows: out, pages };
}

describe('single-partition queries through the PartitionKey index', () => {
  it('recognises a top-level PartitionKey eq conjunct and nothing else', () => {
    expect(pinnedPartition("PartitionKey eq 'a'")).toBe('a');
    expect(pinnedPartition("(PartitionKey eq 'a''b') and RowKey lt 'r1'")).toBe("a'b");
    expect(pinnedPartition("RowKey ge 'r' and (n eq 1 and PartitionKey eq 'b')")).toBe('b');
    expect(pinnedPartition("'b' eq PartitionKey")).toBe('b');
    expect(pinnedPartition("PartitionKey eq 'a' or PartitionKey eq 'b'")).toBeUndefined();
    expect(pinnedPartition("not (PartitionKey eq 'a')")).toBeUndefined();
    expect(pinnedPartition("PartitionKey ge 'a'")).toBeUndefined();
    expect(pinnedPartition("PartitionKey ne 'a'")).toBeUndefined();
    expect(pinnedPartition('PartitionKey eq 1')).toBeUndefined();
    expect(pinnedPartition("RowKey eq 'a'")).toBeUndefined();
    expect(pinnedPartition("PartitionKey eq 'a' and")).toBeUndefined();
    expect(pinnedPartition(undefined)).toBeUndefined();
  });

  it('returns the same rows in the same order as the filter over the whole table, with $top pages and continuations', async () => {
    const cases: [string, (r: Row) => boolean][] = [
      ["PartitionKey eq 'a'", (r) => r.partitionKey === 'a'],
      ["PartitionKey eq 'ab' and RowKey ge 'r010' and RowKey lt 'r040'", (r) => r.partitionKey === 'ab' && r.rowKey >= 'r010' && r.rowKey < 'r040'],
      ["RowKey lt 'r020' and PartitionKey eq 'a|b' and n eq 3", (r) => r.partitionKey === 'a|b' && r.rowKey < 'r020' && r.n === 3],
      ["PartitionKey eq 'A'", (r) => r.partitionKey === 'A'],
      ["PartitionKey eq 'none'", () => false],
    ];
    for (const [filter, match] of cases) {
      const expected = rows.filter(match).sort(byKeys);
      const before = narrowedQueryCount();
      const whole = await query(filter);
      expect(whole.rows, filter).toEqual(expected);
      expect(narrowedQueryCount() - before, filter).toBe(whole.pages);
      const paged = await query(filter, 7);
      expect(paged.rows, `${filter}, pages of 7`).toEqual(expected);
      expect(paged.pages, filter).toBe(Math.max(1, Math.ceil(expected.length / 7)));
    }
  });

  it('leaves other filters to Azurite as shipped', async () => {
    const before = narrowedQueryCount();
    const either = await query("PartitionKey eq 'a' or PartitionKey eq 'b'", 25);
    expect(either.rows).toEqual(rows.filter((r) => r.partitionKey === 'a' || r.partitionKey === 'b').sort(byKeys));
    const all = await query('', 100);
    expect(all.rows).toEqual([...rows].sort(byKeys));
    expect(narrowedQueryCount()).toBe(before);
  });
});

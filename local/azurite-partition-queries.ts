/**
 * Single-partition queries served from Azurite's PartitionKey index.
 *
 * Azure Table Storage keeps entities ordered by PartitionKey and RowKey, so a query whose filter pins
 * one partition (`PartitionKey eq 'p' and …`) reads that partition only. Azurite's in-memory store
 * (`LokiTableMetadataStore.queryTableEntities`) evaluates every such filter against every entity of
 * the table and sorts the lot, although its LokiJS collections already keep a binary index on
 * `PartitionKey`. A workload whose tables grow while it queries them partition by partition (a run
 * over a large estate) then costs the emulator time quadratic in the table size, a cost the real
 * service does not have, and a benchmark through Azurite would measure the emulator instead of the app.
 *
 * This narrows such a query to the pinned partition through that index first, then runs Azurite's
 * own query code unchanged on the narrowed rows (its filter, continuation predicates, sort, `$top`).
 * The answer is the same rows in the same order: an entity outside the partition can never satisfy a
 * filter with a top-level `PartitionKey eq` conjunct. Any other filter (none, `or` at the top, a
 * non-string constant) goes through Azurite untouched. Installed once per process by `startAzurite`;
 * if Azurite's internals are not the shape expected, nothing is patched and Azurite behaves as shipped.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface QueryNode {
  readonly left?: unknown;
  readonly right?: unknown;
  readonly identifier?: unknown;
  readonly value?: unknown;
  readonly name?: unknown;
}

interface LokiChain {
  find(query: Record<string, unknown>): LokiChain;
}
interface LokiCollection {
  chain(): LokiChain;
}
interface TableStore {
  getEntityCollection(account: string, table: string, context: unknown): LokiCollection;
  queryTableEntities(context: unknown, account: string, table: string, queryOptions: { filter?: string } | undefined, ...rest: unknown[]): Promise<unknown>;
}

const isNode = (v: unknown): v is QueryNode => typeof v === 'object' && v !== null;
const nodeName = (n: QueryNode): unknown => n.name;

/**
 * The partition a parsed `$filter` pins with a top-level `PartitionKey eq '<string>'` conjunct (an
 * `and` chain at the root), or undefined when it pins none.
 */
export function pinnedPartitionOf(tree: unknown): string | undefined {
  if (!isNode(tree)) return undefined;
  const name = nodeName(tree);
  if (name === 'and') return pinnedPartitionOf(tree.left) ?? pinnedPartitionOf(tree.right);
  if (name !== 'eq' || !isNode(tree.left) || !isNode(tree.right)) return undefined;
  const [id, constant] = nodeName(tree.left) === 'id' ? [tree.left, tree.right] : [tree.right, tree.left];
  if (nodeName(id) !== 'id' || id.identifier !== 'PartitionKey' || nodeName(constant) !== 'constant') return undefined;
  return typeof constant.value === 'string' ? constant.value : undefined;
}

let parse: ((filter: string) => unknown) | undefined;

/** The partition an OData `$filter` pins (Azurite's own parser), or undefined. */
export function pinnedPartition(filter: string | undefined): string | undefined {
  if (filter === undefined || filter === '' || parse === undefined) return undefined;
  try {
    return pinnedPartitionOf(parse(filter));
  } catch {
    // Azurite reports the invalid filter itself.
    return undefined;
  }
}

let installed = false;
let narrowed = 0;
/** How many queries were narrowed to one partition in this process so far (tests see that it happens). */
export function narrowedQueryCount(): number {
  return narrowed;
}

/** Installs the narrowing into Azurite's table store (idempotent); false when Azurite's internals differ. */
export function servePartitionQueriesFromIndex(): boolean {
  if (installed) return true;
  let store: { prototype: TableStore } | undefined;
  try {
    store = (require('azurite/dist/src/table/persistence/LokiTableMetadataStore') as { default: { prototype: TableStore } }).default;
    parse = (require('azurite/dist/src/table/persistence/QueryInterpreter/QueryParser') as { default: (q: string) => unknown }).default;
  } catch {
    return false;
  }
  const proto = store.prototype;
  const original = proto.queryTableEntities;
  if (typeof original !== 'function' || typeof proto.getEntityCollection !== 'function' || typeof parse !== 'function') return false;
  proto.queryTableEntities = async function (this: TableStore, context, account, table, queryOptions, ...rest) {
    const partition = pinnedPartition(queryOptions?.filter);
    if (partition === undefined) return original.call(this, context, account, table, queryOptions, ...rest);
    const collection = this.getEntityCollection(account, table, context);
    narrowed += 1;
    // Azurite's query code, run with a collection whose chain starts at the partition's rows.
    const partitionRows: LokiCollection = { chain: () => collection.chain().find({ PartitionKey: partition }) };
    const self = Object.create(this) as TableStore;
    self.getEntityCollection = () => partitionRows;
    return original.call(self, context, account, table, queryOptions, ...rest);
  };
  installed = true;
  return true;
}

/**
 * Counts the entities a `TableClient` gets back from the service through `listEntities(...).byPage()`
 * (how repositories page), so a test can tell a key-range read from a scan that filters afterwards.
 */
import type { TableClient } from '@azure/data-tables';

export interface ReadCounter {
  /** Entities returned since the last reset. */
  readonly rows: number;
  reset(): void;
  /** Puts the client's own `listEntities` back. */
  restore(): void;
}

export function countRowsRead(client: TableClient): ReadCounter {
  const listEntities = client.listEntities.bind(client);
  let rows = 0;
  client.listEntities = ((options) => {
    const iterator = listEntities(options);
    return Object.assign(Object.create(iterator) as typeof iterator, {
      byPage: (settings?: Parameters<typeof iterator.byPage>[0]) => {
        const pages = iterator.byPage(settings);
        return Object.assign(Object.create(pages) as typeof pages, {
          next: async () => {
            const result = await pages.next();
            if (result.done !== true) rows += result.value.length;
            return result;
          },
        });
      },
    });
  }) as typeof client.listEntities;
  return {
    get rows() {
      return rows;
    },
    reset: () => {
      rows = 0;
    },
    restore: () => {
      client.listEntities = listEntities;
    },
  };
}

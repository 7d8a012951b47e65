/**
 * Control exceptions in the `exceptions` table: one partition (`exception`), row = exception id.
 * The whole set is small (waivers are rare and time-bound) and the evaluator reads all of it per
 * subscription, so one partition read is the access pattern.
 */
import type { TableClient } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import { ConflictError } from '../../domain/errors.js';
import type { ControlException } from '../../domain/model.js';
import type { ExceptionRepository } from '../../application/ports.js';
import { escapeKey } from './table-keys.js';
import { getEntityOrUndefined, isStatus, readAll, reqStr, type TableStore } from './table-store.js';

const PARTITION = 'exception';

function fromEntity(e: Record<string, unknown>): ControlException {
  return {
    id: reqStr(e, 'id'),
    controlId: reqStr(e, 'controlId'),
    scope: reqStr(e, 'scope'),
    justification: reqStr(e, 'justification'),
    ticket: reqStr(e, 'ticket'),
    createdBy: reqStr(e, 'createdBy'),
    createdAt: reqStr(e, 'createdAt'),
    expiresAt: reqStr(e, 'expiresAt'),
  };
}

export class TableExceptionRepository implements ExceptionRepository {
  private readonly table: TableClient;

  constructor(store: TableStore) {
    this.table = store.client('exceptions');
  }

  async create(exception: ControlException): Promise<void> {
    try {
      await this.table.createEntity({ partitionKey: PARTITION, rowKey: escapeKey(exception.id), ...exception });
    } catch (error) {
      if (isStatus(error, 409)) throw new ConflictError(`Exception ${exception.id} already exists.`, exception.id);
      throw error;
    }
  }

  async get(id: string): Promise<ControlException | undefined> {
    const e = await getEntityOrUndefined(this.table, PARTITION, escapeKey(id));
    return e === undefined ? undefined : fromEntity(e);
  }

  async list(): Promise<ControlException[]> {
    return (await readAll(this.table, odata`PartitionKey eq ${PARTITION}`)).map(fromEntity);
  }

  async delete(id: string): Promise<boolean> {
    try {
      await this.table.deleteEntity(PARTITION, escapeKey(id));
      return true;
    } catch (error) {
      if (isStatus(error, 404)) return false;
      throw error;
    }
  }
}

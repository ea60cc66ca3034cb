// Row locks for read-then-write transactions, in the two dialects' own ways.
import type { Knex } from 'knex';
import { isMysql } from './dialect.js';

/**
 * Locks the rows of `table` matching `where` until the transaction ends and
 * returns how many matched. MySQL/MariaDB: SELECT ... FOR UPDATE. SQLite has
 * no row locks: a write that changes nothing (`column` set to itself) makes the
 * transaction take the database's write lock before it reads anything, so
 * writers run one after another (a read-then-write transaction could otherwise
 * fail with SQLITE_BUSY under WAL).
 */
export async function lockRows(trx: Knex.Transaction, table: string, where: Record<string, unknown>, column: string): Promise<number> {
  if (isMysql(trx)) return (await trx(table).where(where).forUpdate().select(column)).length;
  return trx(table).where(where).update({ [column]: trx.ref(column) });
}

// A short write on SQLite as one synchronous transaction. A knex transaction
// awaits each statement, so between two of them the process runs whatever
// else its event loop holds (other requests' handlers, logging) while it
// keeps SQLite's one write lock; every other process that wants to write
// waits meanwhile, and better-sqlite3 waits synchronously (busy_timeout),
// its whole event loop stopped. Under a deadline's load that turns a write
// of a fraction of a millisecond into a hold of tens, and the waits cascade.
// Here the work runs on the pool's connection, taken from the pool (so no
// knex transaction is using it meanwhile) and given back after, inside
// BEGIN IMMEDIATE (the write lock first, then every read and write, then
// COMMIT) with nothing else in between; statements are prepared once per
// connection.
import type { Knex } from 'knex';
import { isMysql } from './dialect.js';

export interface SqliteStatement {
  get(...params: unknown[]): unknown;
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
}

export interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
  transaction<T>(work: () => T): { immediate(): T };
}

/** The statements of one connection, by SQL text: run(sql) is a prepared statement. */
export type Prepared = (sql: string) => SqliteStatement;

const statements = new WeakMap<SqliteConnection, Map<string, SqliteStatement>>();

function preparedOn(conn: SqliteConnection): Prepared {
  let cache = statements.get(conn);
  if (!cache) statements.set(conn, (cache = new Map<string, SqliteStatement>()));
  const known = cache;
  return (sql) => {
    let statement = known.get(sql);
    if (!statement) {
      statement = conn.prepare(sql);
      known.set(sql, statement);
    }
    return statement;
  };
}

/** True when `db` is a SQLite pool itself (not a transaction, not MySQL): sqliteImmediate can run on it. */
export function canRunImmediate(db: Knex): boolean {
  return !isMysql(db) && !(db as { isTransaction?: boolean }).isTransaction;
}

/** Runs `work` synchronously in one BEGIN IMMEDIATE transaction on the pool's SQLite connection. */
export async function sqliteImmediate<T>(db: Knex, work: (sql: Prepared) => T): Promise<T> {
  const client = db.client as Knex.Client;
  const conn = (await client.acquireConnection()) as SqliteConnection;
  try {
    return conn.transaction(() => work(preparedOn(conn))).immediate();
  } finally {
    await client.releaseConnection(conn);
  }
}

// The handful of hot reads (a bearer token's user, "may this actor see this
// course", a course's stages) as plain SQL, run on SQLite through statements
// prepared once per process. knex compiles its builder and better-sqlite3
// prepares the statement anew on every query: together more than a third of
// a worker's time under load.
//
// The statements live on a second better-sqlite3 handle of the same file,
// opened beside knex's pool (one connection per process) and never used for
// writes (query_only). It is not the pool's connection borrowed outside the
// pool: that one may be inside a knex transaction at any moment (BEGIN sent,
// the transaction awaiting something), and a read on it would see that
// transaction's uncommitted rows. The file is in WAL mode (connect.ts), so
// this handle reads the last committed state without waiting for a writer,
// and each statement is its own short read transaction: a read after a
// commit in this process sees the commit. Reads inside a transaction (a
// Knex.Transaction is passed) and on MySQL go through knex as before; the
// SQL is the same.
import { createRequire } from 'node:module';
import type { Knex } from 'knex';
import { isMysql } from './dialect.js';

interface Statement {
  all(...params: unknown[]): unknown[];
}

interface SqliteHandle {
  prepare(sql: string): Statement;
  pragma(sql: string): unknown;
  close(): void;
}

type SqliteConstructor = new (filename: string, options?: { fileMustExist?: boolean }) => SqliteHandle;

export interface ReadCache {
  all<T>(sql: string, params: readonly unknown[]): T[];
  close(): void;
}

const caches = new WeakMap<Knex, ReadCache>();

/** A read handle on the SQLite file, its statements kept by SQL text; opened at the first read. */
function sqliteReadCache(filename: string): ReadCache {
  let handle: SqliteHandle | undefined;
  const statements = new Map<string, Statement>();
  const open = (): SqliteHandle => {
    const Database = createRequire(import.meta.url)('better-sqlite3') as SqliteConstructor;
    const db = new Database(filename, { fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    db.pragma('query_only = ON');
    return db;
  };
  return {
    all<T>(sql: string, params: readonly unknown[]): T[] {
      handle ??= open();
      let statement = statements.get(sql);
      if (!statement) {
        statement = handle.prepare(sql);
        statements.set(sql, statement);
      }
      return statement.all(...params) as T[];
    },
    close() {
      statements.clear();
      handle?.close();
      handle = undefined;
    },
  };
}

/** Gives `db` (a SQLite pool on a file) its read cache, closed with the pool. */
export function attachSqliteReadCache(db: Knex, filename: string): void {
  const cache = sqliteReadCache(filename);
  caches.set(db, cache);
  // db.destroy() ends in its client's destroy(), which can be wrapped (the knex function's own property cannot).
  const client = db.client as { destroy(callback?: unknown): Promise<void> };
  const destroy = client.destroy.bind(client);
  client.destroy = (callback?: unknown) => {
    cache.close();
    return destroy(callback);
  };
}

/**
 * Rows of a read of `sql` (with `?` placeholders, the same text on both
 * databases): from the cached statement on SQLite, through knex elsewhere
 * and inside transactions.
 */
export async function readRows<T>(db: Knex, sql: string, params: readonly unknown[]): Promise<T[]> {
  const cache = caches.get(db);
  if (cache) return cache.all<T>(sql, params);
  const result = (await db.raw(sql, params as Knex.RawBinding[])) as unknown;
  // mysql2 answers [rows, fields]; better-sqlite3 the rows.
  return (isMysql(db) ? (result as [T[], unknown])[0] : result) as T[];
}

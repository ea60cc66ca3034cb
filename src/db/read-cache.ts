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
//
// Their rows are also kept until the database changes: SQLite's
// `PRAGMA data_version` moves whenever any other connection, in this process
// or another, commits to the file, and this handle never writes. So a read
// that finds the version where it left it answers the rows it read then,
// which are exactly what it would read now. A deadline's minute, full of
// writes, gains nothing and loses one pragma; a page read by many between
// two writes is read from SQLite once. The reads' SQL must therefore depend
// on the database and its parameters only (no clock: pass the time in).
import { createRequire } from 'node:module';
import type { Knex } from 'knex';
import { isMysql } from './dialect.js';

interface Statement {
  all(...params: unknown[]): unknown[];
  get(...params: unknown[]): unknown;
  pluck(): Statement;
}

interface SqliteHandle {
  prepare(sql: string): Statement;
  pragma(sql: string): unknown;
  close(): void;
}

type SqliteConstructor = new (filename: string, options?: { fileMustExist?: boolean }) => SqliteHandle;

export interface ReadCache {
  all<T>(sql: string, params: readonly unknown[]): readonly T[];
  close(): void;
}

const caches = new WeakMap<Knex, ReadCache>();

/** Reads kept between two commits; past this many, the oldest half is dropped. */
const MAX_KEPT_READS = 1000;

/**
 * A read handle on the SQLite file, opened at the first read: its statements
 * kept by SQL text, their rows by SQL and parameters until the next commit.
 */
function sqliteReadCache(filename: string): ReadCache {
  let handle: SqliteHandle | undefined;
  let dataVersion: Statement | undefined;
  let versionRead: unknown;
  const statements = new Map<string, Statement>();
  const kept = new Map<string, readonly unknown[]>();
  const open = (): SqliteHandle => {
    const Database = createRequire(import.meta.url)('better-sqlite3') as SqliteConstructor;
    const db = new Database(filename, { fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    db.pragma('query_only = ON');
    dataVersion = db.prepare('PRAGMA data_version').pluck();
    return db;
  };
  const forget = (count: number) => {
    for (const key of kept.keys()) {
      if (count-- <= 0) break;
      kept.delete(key);
    }
  };
  return {
    all<T>(sql: string, params: readonly unknown[]): readonly T[] {
      handle ??= open();
      const version = dataVersion!.get();
      if (version !== versionRead) {
        kept.clear();
        versionRead = version;
      }
      const key = `${sql}\n${JSON.stringify(params)}`;
      const rows = kept.get(key);
      if (rows) return rows as readonly T[];
      let statement = statements.get(sql);
      if (!statement) {
        statement = handle.prepare(sql);
        statements.set(sql, statement);
      }
      const read = statement.all(...params) as T[];
      if (kept.size >= MAX_KEPT_READS) forget(MAX_KEPT_READS / 2);
      kept.set(key, read);
      return read;
    },
    close() {
      statements.clear();
      kept.clear();
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
 * databases, depending on nothing but the database and `params`): on SQLite
 * from the cached statement, or the rows it answered since the last commit
 * (shared: never change them); through knex elsewhere.
 */
export async function readRows<T>(db: Knex, sql: string, params: readonly unknown[]): Promise<readonly T[]> {
  const cache = caches.get(db);
  if (cache) return cache.all<T>(sql, params);
  const result = (await db.raw(sql, params as Knex.RawBinding[])) as unknown;
  // mysql2 answers [rows, fields]; better-sqlite3 the rows.
  return (isMysql(db) ? (result as [T[], unknown])[0] : result) as T[];
}

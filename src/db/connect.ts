// Opens the knex pool for DATABASE_URL. Dialect quirks that every query relies
// on (WAL, foreign keys, UTC sessions) are fixed here, once per connection.
import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { attachSqliteReadCache } from './read-cache.js';

export type Dialect = 'sqlite' | 'mysql';

export function dialectOf(url: string): Dialect {
  return url.startsWith('mysql://') ? 'mysql' : 'sqlite';
}

export function sqlitePath(url: string): string {
  return url.replace(/^sqlite:(\/\/)?/, '');
}

/**
 * The SQLite file holds password hashes and sessions: a folder made for it is
 * 0700 and a new file 0600 (SQLite gives its -wal and -shm files the file's
 * mode). Existing ones keep the mode they have.
 */
function createOwnerOnly(file: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  // 'a' creates the file when missing and leaves an existing one as it is;
  // SQLite takes an empty file for an empty database.
  fs.closeSync(fs.openSync(file, 'a', 0o600));
}

/** A transaction idle (its client silent) this long is ended by MariaDB. */
const IDLE_TRANSACTION_TIMEOUT_S = 5;

/** How long to wait for a MySQL connection before calling the database unavailable. */
const UNAVAILABLE_AFTER_MS = 3000;

export interface PoolOptions {
  /** MySQL/MariaDB: connections this pool opens at most (default 10). SQLite keeps one per process. */
  maxConnections?: number;
}

export function knexConfig(url: string, { maxConnections = 10 }: PoolOptions = {}): Knex.Config {
  if (dialectOf(url) === 'mysql') {
    return {
      client: 'mysql2',
      // A failed query's error carries the SQL without its bound values:
      // session data, submission text and passwords never reach a log, an
      // execution's error or a webhook.
      compileSqlOnError: false,
      connection: { uri: url, timezone: 'Z', dateStrings: false, supportBigNumbers: true, bigNumberStrings: false, connectTimeout: UNAVAILABLE_AFTER_MS },
      // With the server away, a request fails after this long (a 503) instead
      // of waiting knex's default minute for a connection.
      acquireConnectionTimeout: UNAVAILABLE_AFTER_MS,
      pool: {
        min: 0,
        max: maxConnections,
        afterCreate(conn: { query: (sql: string, cb: (err: Error | null) => void) => void }, done: (err: Error | null, conn: unknown) => void) {
          conn.query("SET time_zone = '+00:00'", (err) => {
            if (err) return done(err, conn);
            // MariaDB ends a transaction left idle this long, and its locks
            // with it: a leader frozen inside a fenced write (SIGSTOP, a
            // blocked event loop) must not hold the term row, and with it
            // every election, until it wakes. MySQL has no such setting; the
            // error is ignored there.
            conn.query(`SET SESSION idle_transaction_timeout = ${IDLE_TRANSACTION_TIMEOUT_S}`, () => done(null, conn));
          });
        },
      },
    };
  }
  const file = sqlitePath(url);
  if (file !== ':memory:') createOwnerOnly(file);
  return {
    client: 'better-sqlite3',
    compileSqlOnError: false,
    connection: { filename: file },
    useNullAsDefault: true,
    pool: {
      // One connection per process: better-sqlite3 is synchronous, so more
      // connections in one process only add lock contention on the file.
      min: 1,
      max: 1,
      afterCreate(conn: { pragma: (sql: string) => unknown }, done: (err: Error | null, conn: unknown) => void) {
        try {
          // Several worker processes share the file: WAL lets readers run beside
          // the writer, and busy_timeout makes a writer wait instead of failing.
          conn.pragma('journal_mode = WAL');
          conn.pragma('busy_timeout = 5000');
          conn.pragma('foreign_keys = ON');
          conn.pragma('synchronous = NORMAL');
          done(null, conn);
        } catch (err) {
          done(err as Error, conn);
        }
      },
    },
  };
}

export function connect(url: string, options: PoolOptions = {}): Knex {
  const db = knexFactory(knexConfig(url, options));
  // The hot reads' prepared statements, on a read handle of their own (read-cache.ts).
  if (dialectOf(url) === 'sqlite' && sqlitePath(url) !== ':memory:') attachSqliteReadCache(db, sqlitePath(url));
  return db;
}

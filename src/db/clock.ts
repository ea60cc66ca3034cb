// "Now" as the database sees it, in epoch milliseconds. Status changes compare
// against this clock, so workers and hosts with skewed clocks still agree.
import type { Knex } from 'knex';
import { isMysql } from './dialect.js';

/** SQLite's current time in epoch ms, as SQL. */
export const SQLITE_NOW_MS = "CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)";

/** A SQL expression for the database's current time in epoch ms. */
export function nowMsSql(db: Knex): Knex.Raw {
  return isMysql(db) ? db.raw('CAST(ROUND(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000) AS SIGNED)') : db.raw(SQLITE_NOW_MS);
}

export async function dbNowMs(db: Knex): Promise<number> {
  const row = await db.select(nowMsSql(db).wrap('(', ') as now_ms')).first<{ now_ms: number | string }>();
  return Number(row.now_ms);
}

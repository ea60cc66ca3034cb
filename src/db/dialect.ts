// Which database a knex instance talks to, for the few statements that differ.
// A leaf module: connect.ts and the modules it loads (read-cache.ts) ask it too.
import type { Knex } from 'knex';

/** True for a pool (or transaction) on MySQL/MariaDB, where some statements differ. */
export function isMysql(db: Knex): boolean {
  // knex types `db.client` as any; it is a Knex.Client.
  return (db.client as Knex.Client).config.client === 'mysql2';
}

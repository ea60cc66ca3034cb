// A submission's text may be 100,000 characters (the API's limit), up to
// 300,000 bytes in utf8mb4; MySQL's TEXT holds 65,535 bytes, so the column
// becomes MEDIUMTEXT (16 MB) there. SQLite's TEXT has no such limit: nothing
// to do. Going down refuses (strict mode) while a stored body is too long for TEXT.
import type { Knex } from 'knex';

const isMysql = (knex: Knex) => (knex.client as Knex.Client).config.client === 'mysql2';

export async function up(knex: Knex): Promise<void> {
  if (!isMysql(knex)) return;
  await knex.schema.alterTable('submissions', (t) => {
    t.specificType('body', 'mediumtext').nullable().alter();
  });
}

export async function down(knex: Knex): Promise<void> {
  if (!isMysql(knex)) return;
  await knex.schema.alterTable('submissions', (t) => {
    t.text('body').nullable().alter();
  });
}

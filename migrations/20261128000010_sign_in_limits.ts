// Failed sign-in counters shared by every host (LEADER_ELECTION=db), kept by
// rate-limiter-flexible's MySQL and SQLite stores: the columns, and their
// order, are the ones those stores read and write (the MySQL store inserts
// without naming columns). `expire` is epoch ms; a row past it counts for nothing.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sign_in_limits', (t) => {
    t.string('key', 255).primary();
    t.integer('points').notNullable().defaultTo(0);
    t.bigInteger('expire').nullable().index();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('sign_in_limits');
}

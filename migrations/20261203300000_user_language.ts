// The language a person chose for pages, emails and their calendar feed
// (issue 25). NULL: not chosen, so pages follow the browser's Accept-Language
// and mail and feeds are in English.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.string('language', 10).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('language');
  });
}

// The addresses each account signed in from (src/auth/known-addresses.ts):
// an attempt from one of them has its own failure count, so failures
// elsewhere cannot lock the owner out. `key` is an HMAC of account and
// address; `last_signed_in_at` is epoch ms, and a row older than the
// remembering period counts for nothing.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sign_in_known_addresses', (t) => {
    t.string('key', 64).primary();
    t.bigInteger('last_signed_in_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('sign_in_known_addresses');
}

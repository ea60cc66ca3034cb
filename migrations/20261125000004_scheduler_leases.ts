// Leader election across hosts (LEADER_ELECTION=db): one row per lease, held
// by whoever renewed it last before it expired. Instants are the database's
// clock in epoch ms, so hosts with skewed clocks still agree on expiry.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('scheduler_leases', (t) => {
    t.string('name', 100).primary();
    // Random per term: the same pid on another host, or a later term of the
    // same process, is a different holder.
    t.string('term', 64).notNullable();
    t.integer('pid').notNullable();
    t.string('hostname', 255).notNullable();
    t.integer('worker_id').nullable();
    t.bigInteger('acquired_at').notNullable();
    t.bigInteger('expires_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('scheduler_leases');
}

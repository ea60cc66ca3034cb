// Terms: every new leadership, in either election mode, gets an integer from
// the database larger than every earlier one (scheduler_terms holds the
// counter), and each write a leader makes because it leads carries its term
// and is refused once a newer one exists. leader_terms keeps a row per term:
// who led, from when to when, how it ended and the gap before it.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('scheduler_terms', (t) => {
    t.string('name', 100).primary();
    t.bigInteger('term').notNullable();
  });
  await knex('scheduler_terms').insert({ name: 'scheduler', term: 0 });

  await knex.schema.createTable('leader_terms', (t) => {
    t.bigInteger('term').primary();
    t.integer('pid').notNullable();
    t.string('hostname', 255).notNullable();
    t.integer('worker_id').nullable();
    t.string('election', 16).notNullable();
    t.bigInteger('started_at').notNullable();
    t.bigInteger('ended_at').nullable();
    // released | died | stale | expired | superseded
    t.string('end_reason', 16).nullable();
    t.bigInteger('gap_ms').nullable();
    t.index(['started_at']);
  });

  // The lease's term was a random UUID; it is now the integer term. Leases
  // are short-lived, so the table is simply made anew.
  await knex.schema.dropTableIfExists('scheduler_leases');
  await knex.schema.createTable('scheduler_leases', (t) => {
    t.string('name', 100).primary();
    t.bigInteger('term').notNullable();
    t.integer('pid').notNullable();
    t.string('hostname', 255).notNullable();
    t.integer('worker_id').nullable();
    t.bigInteger('acquired_at').notNullable();
    t.bigInteger('expires_at').notNullable();
  });

  for (const table of ['job_executions', 'stage_transitions', 'job_run_requests', 'scheduler_jobs']) {
    await knex.schema.alterTable(table, (t) => {
      t.bigInteger('term').nullable();
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['job_executions', 'stage_transitions', 'job_run_requests', 'scheduler_jobs']) {
    await knex.schema.alterTable(table, (t) => {
      t.dropColumn('term');
    });
  }
  await knex.schema.dropTableIfExists('scheduler_leases');
  await knex.schema.createTable('scheduler_leases', (t) => {
    t.string('name', 100).primary();
    t.string('term', 64).notNullable();
    t.integer('pid').notNullable();
    t.string('hostname', 255).notNullable();
    t.integer('worker_id').nullable();
    t.bigInteger('acquired_at').notNullable();
    t.bigInteger('expires_at').notNullable();
  });
  await knex.schema.dropTableIfExists('leader_terms');
  await knex.schema.dropTableIfExists('scheduler_terms');
}

// The scheduler's memory: which jobs exist and every fire they had.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('scheduler_jobs', (t) => {
    t.string('id', 100).primary();
    t.string('name', 200).notNullable();
    t.string('trigger', 200).notNullable();
    t.bigInteger('next_run_at').nullable();
    t.bigInteger('last_run_at').nullable();
    t.string('last_status', 16).nullable();
    t.boolean('paused').notNullable().defaultTo(false);
    t.bigInteger('updated_at').notNullable();
  });

  await knex.schema.createTable('job_executions', (t) => {
    t.bigIncrements('id').primary();
    t.string('job_id', 100).notNullable();
    t.bigInteger('scheduled_for').notNullable();
    // "job@instant" for the execution that won the fire; NULL on skipped and
    // missed rows. Unique, so a fire is claimed once even by two leaders.
    t.string('claim_key', 160).nullable().unique();
    t.string('status', 16).notNullable();
    t.bigInteger('started_at').nullable();
    t.bigInteger('finished_at').nullable();
    t.integer('duration_ms').nullable();
    t.text('error').nullable();
    t.text('error_stack').nullable();
    t.integer('pid').nullable();
    t.string('hostname', 255).nullable();
    t.bigInteger('created_at').notNullable();
    t.index(['job_id', 'id']);
    t.index(['created_at']);
    t.index(['status', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('job_executions');
  await knex.schema.dropTableIfExists('scheduler_jobs');
}

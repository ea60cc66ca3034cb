// Run-now requests from outside the cluster (the CLI, another host): a row
// the leader picks up on its next poll, then points at the execution it
// started, so the requester can follow that execution to its end.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('job_run_requests', (t) => {
    t.bigIncrements('id').primary();
    t.string('job_id', 100).notNullable();
    t.string('requested_by', 255).notNullable();
    t.bigInteger('requested_at').notNullable();
    t.bigInteger('claimed_at').nullable();
    t.bigInteger('execution_id').nullable();
    // Why the leader did not start it: unknown_job | job_running | failed.
    t.string('error_code', 32).nullable();
    t.text('error').nullable();
    // The leader's poll: unclaimed requests, oldest first.
    t.index(['claimed_at', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('job_run_requests');
}

// The instant the leader's due-time trigger is armed for (for the stage
// sweep: the next stage boundary), so every worker, the CLI and the console
// can show it. Written by the leader, fenced with its term, whenever the
// trigger arms; NULL when nothing is due or no leader has armed it yet.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('scheduler_jobs', (t) => {
    t.bigInteger('next_due_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('scheduler_jobs', (t) => {
    t.dropColumn('next_due_at');
  });
}

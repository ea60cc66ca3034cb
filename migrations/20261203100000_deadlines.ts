// Deadlines per team and per student (issue 22).
//
// A stage may have a cut-off after its end: work handed in between the two is
// taken and marked late (submissions.late, decided with the hand-in).
//
// stage_overrides gives a team or a student a window of their own. Exactly one
// of team_id / user_id is set (the domain checks it, and a CHECK says it too);
// one override per (stage, team) and per (stage, user): a NULL never collides
// in a unique index, so the team's rows and the students' rows each stay
// unique among themselves. A null start_date or cutoff_date means the stage's.
//
// `status` is the override's own status (pending, active, completed) as the
// leader moves it, and next_boundary, generated like the stage's, is the next
// instant the leader must act on: the start of a pending override that has a
// start of its own, else its end while it is not completed. One index on it
// lets the due-time trigger find the next boundary of all overrides with one
// lookup, as for stages.
//
// stage_transitions gains override_id (which override's boundary a row
// records; NULL for the stage's own) and lag_ms for override rows, written
// with the row since an override's dates may change or the override may go.
import type { Knex } from 'knex';

const isMysql = (knex: Knex) => (knex.client as Knex.Client).config.client === 'mysql2';

const NEXT_BOUNDARY =
  "CASE WHEN status = 'pending' AND start_date IS NOT NULL AND start_date < end_date THEN start_date WHEN status IN ('pending', 'active') THEN end_date END";

async function createOverrides(knex: Knex): Promise<void> {
  await knex.schema.createTable('stage_overrides', (t) => {
    t.increments('id').primary();
    t.integer('stage_id').unsigned().notNullable().references('id').inTable('stages').onDelete('CASCADE');
    t.integer('team_id').unsigned().nullable().references('id').inTable('teams').onDelete('CASCADE');
    t.integer('user_id').unsigned().nullable().references('id').inTable('users').onDelete('CASCADE');
    t.bigInteger('start_date').nullable();
    t.bigInteger('end_date').notNullable();
    t.bigInteger('cutoff_date').nullable();
    t.string('reason', 500).notNullable().defaultTo('');
    t.integer('created_by').unsigned().nullable().references('id').inTable('users').onDelete('SET NULL');
    t.string('status', 16).notNullable().defaultTo('pending');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.unique(['stage_id', 'team_id']);
    t.unique(['stage_id', 'user_id']);
    t.index(['team_id']);
    t.index(['user_id']);
  });
  if (isMysql(knex)) {
    await knex.raw(`ALTER TABLE stage_overrides ADD COLUMN next_boundary BIGINT GENERATED ALWAYS AS (${NEXT_BOUNDARY}) VIRTUAL, ADD INDEX stage_overrides_next_boundary_index (next_boundary)`);
  } else {
    await knex.raw(`ALTER TABLE stage_overrides ADD COLUMN next_boundary BIGINT GENERATED ALWAYS AS (${NEXT_BOUNDARY}) VIRTUAL`);
    await knex.raw('CREATE INDEX stage_overrides_next_boundary_index ON stage_overrides (next_boundary) WHERE next_boundary IS NOT NULL');
  }
}

export async function up(knex: Knex): Promise<void> {
  // ADD COLUMN, not knex's alterTable on SQLite: that copies the table and would lose next_boundary.
  await knex.raw('ALTER TABLE stages ADD COLUMN cutoff_date BIGINT NULL');
  await knex.raw(`ALTER TABLE submissions ADD COLUMN late ${isMysql(knex) ? 'TINYINT(1)' : 'INTEGER'} NOT NULL DEFAULT 0`);
  await knex.raw('ALTER TABLE stage_transitions ADD COLUMN override_id INTEGER NULL');
  await knex.raw('ALTER TABLE stage_transitions ADD COLUMN lag_ms BIGINT NULL');
  await createOverrides(knex);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('stage_overrides');
  await knex.raw('ALTER TABLE stage_transitions DROP COLUMN lag_ms');
  await knex.raw('ALTER TABLE stage_transitions DROP COLUMN override_id');
  await knex.raw('ALTER TABLE submissions DROP COLUMN late');
  await knex.raw('ALTER TABLE stages DROP COLUMN cutoff_date');
}

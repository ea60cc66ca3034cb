// Teams, team stages, files and versions (issue 21).
//
// A student is in at most one team of a course: team_members carries the
// course id, unique with the user. Its (course_id, user_id) refers to the
// course membership, so a student removed from the course leaves their team
// with it, and (team_id, course_id) to the team, so a team never holds a
// student of another course.
//
// Versions count per student (individual stage) or per team (team stage):
// `owner` is "user:<id>" or "team:<id>", written with the row, and
// (stage_id, owner, version) is unique. A partial unique index would say the
// same without a column, but MariaDB has none.
//
// Stage columns are added with ALTER TABLE ... ADD COLUMN, which SQLite does
// in place; going down drops them the same way (knex's SQLite dropColumn
// copies the table and would lose the generated next_boundary column).
import type { Knex } from 'knex';

const isMysql = (knex: Knex) => (knex.client as Knex.Client).config.client === 'mysql2';

async function createTeams(knex: Knex): Promise<void> {
  await knex.schema.createTable('teams', (t) => {
    t.increments('id').primary();
    t.integer('course_id').unsigned().notNullable().references('id').inTable('courses').onDelete('CASCADE');
    t.string('name', 200).notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.unique(['course_id', 'name']);
    t.unique(['id', 'course_id']);
  });
  await knex.schema.createTable('team_members', (t) => {
    t.integer('team_id').unsigned().notNullable();
    t.integer('course_id').unsigned().notNullable();
    t.integer('user_id').unsigned().notNullable();
    t.bigInteger('created_at').notNullable();
    t.primary(['team_id', 'user_id']);
    t.unique(['course_id', 'user_id']);
    t.foreign(['team_id', 'course_id']).references(['id', 'course_id']).inTable('teams').onDelete('CASCADE');
    t.foreign(['course_id', 'user_id']).references(['course_id', 'user_id']).inTable('course_members').onDelete('CASCADE');
  });
}

async function extendSubmissions(knex: Knex): Promise<void> {
  await knex.schema.alterTable('submissions', (t) => {
    // SET NULL, not CASCADE: the domain refuses to delete a team with submissions (409); only a
    // course's own deletion reaches here, and it deletes those submissions through their stages.
    t.integer('team_id').unsigned().nullable().references('id').inTable('teams').onDelete('SET NULL');
    t.integer('version').unsigned().notNullable().defaultTo(1);
    t.string('owner', 40).notNullable().defaultTo('');
  });
  const concat = isMysql(knex) ? "CONCAT('user:', student_id)" : "'user:' || student_id";
  await knex.raw(`UPDATE submissions SET owner = ${concat}`);
  // Earlier hand-ins each become a version, in the order they came.
  const rows = await knex('submissions').orderBy(['stage_id', 'student_id', 'created_at', 'id']).select<{ id: number; stage_id: number; student_id: number }[]>('id', 'stage_id', 'student_id');
  const seen = new Map<string, number>();
  for (const row of rows) {
    const key = `${row.stage_id}/${row.student_id}`;
    const version = (seen.get(key) ?? 0) + 1;
    seen.set(key, version);
    if (version > 1) await knex('submissions').where({ id: row.id }).update({ version });
  }
  await knex.schema.alterTable('submissions', (t) => {
    t.unique(['stage_id', 'owner', 'version']);
  });
  await knex.schema.createTable('submission_files', (t) => {
    t.increments('id').primary();
    t.integer('submission_id').unsigned().notNullable().references('id').inTable('submissions').onDelete('CASCADE');
    t.string('name', 255).notNullable();
    t.bigInteger('size').notNullable();
    t.string('sha256', 64).notNullable();
    t.string('content_type', 255).notNullable();
    // Where the bytes are, relative to UPLOAD_DIR: content-addressed, so one blob serves every row with its hash.
    t.string('storage_key', 100).notNullable();
    t.index(['submission_id']);
    t.index(['storage_key']);
  });
}

export async function up(knex: Knex): Promise<void> {
  await createTeams(knex);
  await knex.raw("ALTER TABLE stages ADD COLUMN mode VARCHAR(16) NOT NULL DEFAULT 'individual'");
  await knex.raw('ALTER TABLE stages ADD COLUMN max_file_bytes BIGINT NULL');
  await knex.raw('ALTER TABLE stages ADD COLUMN allowed_extensions TEXT NULL');
  await extendSubmissions(knex);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('submission_files');
  if (isMysql(knex)) {
    await knex.raw('ALTER TABLE submissions DROP FOREIGN KEY submissions_team_id_foreign');
    await knex.raw('ALTER TABLE submissions DROP INDEX submissions_stage_id_owner_version_unique, DROP COLUMN team_id, DROP COLUMN version, DROP COLUMN owner');
    await knex.raw('ALTER TABLE stages DROP COLUMN mode, DROP COLUMN max_file_bytes, DROP COLUMN allowed_extensions');
  } else {
    await knex.raw('DROP INDEX submissions_stage_id_owner_version_unique');
    // SQLite cannot drop a column that a foreign key uses in place: the table is copied (knex) for these.
    await knex.schema.alterTable('submissions', (t) => {
      t.dropColumn('team_id');
      t.dropColumn('version');
      t.dropColumn('owner');
    });
    for (const column of ['mode', 'max_file_bytes', 'allowed_extensions']) await knex.raw(`ALTER TABLE stages DROP COLUMN ${column}`);
  }
  await knex.schema.dropTableIfExists('team_members');
  await knex.schema.dropTableIfExists('teams');
}

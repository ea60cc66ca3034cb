// Each stage's next boundary as a generated column with one index: the start
// of a pending stage (its end, if a direct write put that first), the end of
// an active one, NULL once completed. The sweep finds every due stage with
// one index range (next_boundary <= now) and the boundary trigger the next
// instant with one index lookup (MIN), where the two (status, date) indexes
// needed an OR of two ranges; and flipping a status now rewrites one index
// entry, not two in each of those indexes, which was most of a large sweep's
// time. The column is VIRTUAL (computed on read, nothing stored): SQLite can
// only add such a column to an existing table. On SQLite the index leaves out
// completed stages (partial index), the bulk of a course's history.
//
// A later migration that rebuilds `stages` through knex's SQLite alterTable
// (which copies the table) must carry the generated column over by hand.
import type { Knex } from 'knex';

const NEXT_BOUNDARY =
  "CASE WHEN status = 'pending' AND start_date <= end_date THEN start_date WHEN status IN ('pending', 'active') THEN end_date END";

const isMysql = (knex: Knex) => (knex.client as Knex.Client).config.client === 'mysql2';

export async function up(knex: Knex): Promise<void> {
  if (isMysql(knex)) {
    await knex.raw(
      `ALTER TABLE stages ADD COLUMN next_boundary BIGINT GENERATED ALWAYS AS (${NEXT_BOUNDARY}) VIRTUAL, ` +
        'ADD INDEX stages_next_boundary_index (next_boundary), DROP INDEX stages_status_start_date_index, DROP INDEX stages_status_end_date_index',
    );
    return;
  }
  await knex.raw(`ALTER TABLE stages ADD COLUMN next_boundary BIGINT GENERATED ALWAYS AS (${NEXT_BOUNDARY}) VIRTUAL`);
  await knex.raw('CREATE INDEX stages_next_boundary_index ON stages (next_boundary) WHERE next_boundary IS NOT NULL');
  await knex.raw('DROP INDEX stages_status_start_date_index');
  await knex.raw('DROP INDEX stages_status_end_date_index');
}

export async function down(knex: Knex): Promise<void> {
  if (isMysql(knex)) {
    await knex.raw(
      'ALTER TABLE stages ADD INDEX stages_status_start_date_index (status, start_date), ADD INDEX stages_status_end_date_index (status, end_date), ' +
        'DROP INDEX stages_next_boundary_index, DROP COLUMN next_boundary',
    );
    return;
  }
  await knex.raw('CREATE INDEX stages_status_start_date_index ON stages (status, start_date)');
  await knex.raw('CREATE INDEX stages_status_end_date_index ON stages (status, end_date)');
  await knex.raw('DROP INDEX stages_next_boundary_index');
  await knex.raw('ALTER TABLE stages DROP COLUMN next_boundary');
}

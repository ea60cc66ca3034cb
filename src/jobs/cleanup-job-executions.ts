// Deletes executions older than the retention, a batch at a time: one DELETE
// of a million rows would hold locks (MySQL) or the write lock (SQLite) long
// enough to stall every request that writes meanwhile. The leadership history
// of the same age goes with them.
import type { Knex } from 'knex';
import { DAY } from '../time.js';
import type { JobContext } from './job.js';

export const CLEANUP_BATCH_SIZE = 1000;

type Write = JobContext['write'];
const direct = (db: Knex): Write => (work) => work(db);

/** Each batch is one write of its own (fenced with the leader's term when run by the scheduler). */
export async function deleteExecutionsBefore(db: Knex, cutoff: number, batchSize = CLEANUP_BATCH_SIZE, write: Write = direct(db)): Promise<{ deleted: number; batches: number }> {
  let deleted = 0;
  let batches = 0;
  for (;;) {
    // Select ids first: MySQL does not allow LIMIT inside IN (subquery).
    const ids = (await db('job_executions').where('created_at', '<', cutoff).orderBy('id').limit(batchSize).pluck('id')) as number[];
    if (ids.length === 0) return { deleted, batches };
    deleted += await write((trx) => trx('job_executions').whereIn('id', ids).delete());
    batches += 1;
  }
}

export async function cleanupJobExecutions({ db, config, write }: JobContext): Promise<{ deleted: number; batches: number; terms: number }> {
  const cutoff = Date.now() - config.executionRetentionDays * DAY;
  const executions = await deleteExecutionsBefore(db, cutoff, CLEANUP_BATCH_SIZE, write);
  const terms = await write((trx) => trx('leader_terms').where('ended_at', '<', cutoff).delete());
  return { ...executions, terms };
}

// Deletes executions older than the retention, a batch at a time: one DELETE
// of a million rows would hold locks (MySQL) or the write lock (SQLite) long
// enough to stall every request that writes meanwhile.
import type { Knex } from 'knex';
import { DAY } from '../time.js';
import type { JobContext } from './job.js';

export const CLEANUP_BATCH_SIZE = 1000;

export async function deleteExecutionsBefore(db: Knex, cutoff: number, batchSize = CLEANUP_BATCH_SIZE): Promise<{ deleted: number; batches: number }> {
  let deleted = 0;
  let batches = 0;
  for (;;) {
    // Select ids first: MySQL does not allow LIMIT inside IN (subquery).
    const ids = (await db('job_executions').where('created_at', '<', cutoff).orderBy('id').limit(batchSize).pluck('id')) as number[];
    if (ids.length === 0) return { deleted, batches };
    deleted += await db('job_executions').whereIn('id', ids).delete();
    batches += 1;
  }
}

export function cleanupJobExecutions({ db, config }: JobContext): Promise<{ deleted: number; batches: number }> {
  return deleteExecutionsBefore(db, Date.now() - config.executionRetentionDays * DAY);
}

// Deletes executions older than the retention, a batch at a time: one DELETE
// of a million rows would hold locks (MySQL) or the write lock (SQLite) long
// enough to stall every request that writes meanwhile. The leadership history
// of the same age goes with them.
import type { Transactions } from '../db/transactions.js';
import { DAY } from '../time.js';
import type { JobContext } from './job.js';

export const CLEANUP_BATCH_SIZE = 1000;

/** Each batch is one transaction of its own (fenced with the leader's term when run by the scheduler). */
export async function deleteExecutionsBefore(transaction: Transactions, cutoff: number, batchSize = CLEANUP_BATCH_SIZE): Promise<{ deleted: number; batches: number }> {
  const { db } = transaction;
  let deleted = 0;
  let batches = 0;
  for (;;) {
    // Select ids first: MySQL does not allow LIMIT inside IN (subquery).
    const ids = (await db('job_executions').where('created_at', '<', cutoff).orderBy('id').limit(batchSize).pluck('id')) as number[];
    if (ids.length === 0) return { deleted, batches };
    deleted += await transaction((trx) => trx('job_executions').whereIn('id', ids).delete());
    batches += 1;
  }
}

export async function cleanupJobExecutions({ config, transaction }: JobContext): Promise<{ deleted: number; batches: number; terms: number }> {
  const cutoff = Date.now() - config.executionRetentionDays * DAY;
  const executions = await deleteExecutionsBefore(transaction, cutoff, CLEANUP_BATCH_SIZE);
  const terms = await transaction((trx) => trx('leader_terms').where('ended_at', '<', cutoff).delete());
  return { ...executions, terms };
}

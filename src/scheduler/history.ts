// Summaries of job_executions for the console: missed fires per job and runs
// per hour by status over the last day. A day holds a few thousand rows at
// most (one sweep a minute plus stage boundaries), so they are bucketed here
// rather than with dialect-specific date SQL.
import type { Knex } from 'knex';
import { ms } from '../db/rows.js';
import type { JobExecutionRow } from '../db/tables.js';
import { DAY, HOUR } from '../time.js';
import type { ExecutionStatus } from './executions.js';

export const CHART_STATUSES: ExecutionStatus[] = ['success', 'error', 'skipped', 'missed'];

export interface HourBucket {
  /** Start of the hour, epoch ms. */
  hour: number;
  counts: Record<ExecutionStatus, number>;
  total: number;
}

export async function executionHistory(db: Knex, now = Date.now()): Promise<{ missedByJob: Record<string, number>; hours: HourBucket[] }> {
  const since = now - DAY;
  const rows = await db<JobExecutionRow>('job_executions').where('created_at', '>=', since).select('job_id', 'status', 'created_at');
  const firstHour = Math.floor(since / HOUR) * HOUR + HOUR;
  const hours: HourBucket[] = Array.from({ length: 24 }, (_, i) => ({
    hour: firstHour + i * HOUR,
    counts: { running: 0, success: 0, error: 0, skipped: 0, missed: 0 },
    total: 0,
  }));
  const missedByJob: Record<string, number> = {};
  for (const row of rows) {
    const status = row.status as ExecutionStatus;
    if (status === 'missed') missedByJob[row.job_id] = (missedByJob[row.job_id] ?? 0) + 1;
    const bucket = hours[Math.floor((ms(row.created_at) - firstHour) / HOUR)];
    if (bucket) {
      bucket.counts[status] += 1;
      bucket.total += 1;
    }
  }
  return { missedByJob, hours };
}

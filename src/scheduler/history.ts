// Summaries of job_executions for the console: missed fires per job, runs
// per hour by status, and each job's start lag (p50, p99, max) over the last day. A day holds a few thousand rows at
// most (one sweep a minute plus stage boundaries), so they are bucketed here
// rather than with dialect-specific date SQL.
import type { Knex } from 'knex';
import { numberFromDb } from '../db/rows.js';
import type { JobExecutionRow } from '../db/tables.js';
import { DAY, HOUR } from '../time.js';
import { startLagMs, type ExecutionStatus } from './executions.js';

export const CHART_STATUSES: ExecutionStatus[] = ['success', 'error', 'skipped', 'missed'];

export interface HourBucket {
  /** Start of the hour, epoch ms. */
  hour: number;
  counts: Record<ExecutionStatus, number>;
  total: number;
}

/** Start lags of a job's claimed fires, ms. */
export interface LagSummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of the lags (any order); null without any. */
export function summarizeLags(lags: number[]): LagSummary | null {
  if (lags.length === 0) return null;
  const sorted = [...lags].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
  return { count: sorted.length, p50: rank(50), p99: rank(99), max: sorted[sorted.length - 1] };
}

export async function executionHistory(db: Knex, now = Date.now()): Promise<{ missedByJob: Record<string, number>; hours: HourBucket[]; startLagByJob: Record<string, LagSummary | null> }> {
  const since = now - DAY;
  const rows = await db<JobExecutionRow>('job_executions').where('created_at', '>=', since).select('job_id', 'status', 'created_at', 'claim_key', 'scheduled_for', 'started_at');
  const firstHour = Math.floor(since / HOUR) * HOUR + HOUR;
  const hours: HourBucket[] = Array.from({ length: 24 }, (_, i) => ({
    hour: firstHour + i * HOUR,
    counts: { running: 0, success: 0, error: 0, skipped: 0, missed: 0 },
    total: 0,
  }));
  const missedByJob: Record<string, number> = {};
  const lagsByJob = new Map<string, number[]>();
  for (const row of rows) {
    const lag = startLagMs(row);
    if (lag !== null) {
      const lags = lagsByJob.get(row.job_id);
      if (lags) lags.push(lag);
      else lagsByJob.set(row.job_id, [lag]);
    }
    const status = row.status as ExecutionStatus;
    if (status === 'missed') missedByJob[row.job_id] = (missedByJob[row.job_id] ?? 0) + 1;
    const bucket = hours[Math.floor((numberFromDb(row.created_at) - firstHour) / HOUR)];
    if (bucket) {
      bucket.counts[status] += 1;
      bucket.total += 1;
    }
  }
  const startLagByJob = Object.fromEntries([...lagsByJob].map(([jobId, lags]) => [jobId, summarizeLags(lags)]));
  return { missedByJob, hours, startLagByJob };
}

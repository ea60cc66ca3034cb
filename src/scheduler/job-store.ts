// The scheduler_jobs table: what the leader knows about each job, kept so
// any worker, the CLI and the next leader can read it.
import type { Knex } from 'knex';
import { numberFromDbOrNull } from '../db/rows.js';
import type { SchedulerJobRow } from '../db/tables.js';
import type { JobDefinition } from '../jobs/job.js';

export interface StoredJob {
  id: string;
  name: string;
  trigger: string;
  nextRunAt: number | null;
  lastRunAt: number | null;
  lastStatus: string | null;
  paused: boolean;
  /** The instant the leader's due-time trigger is armed for (jobs with one), null otherwise. */
  nextDueAt: number | null;
}

/** Every job's row, or only `jobId`'s. */
export async function listStoredJobs(db: Knex, jobId?: string): Promise<StoredJob[]> {
  const q = db<SchedulerJobRow>('scheduler_jobs').orderBy('id');
  if (jobId !== undefined) q.where({ id: jobId });
  const rows = await q;
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    trigger: r.trigger,
    nextRunAt: numberFromDbOrNull(r.next_run_at),
    lastRunAt: numberFromDbOrNull(r.last_run_at),
    lastStatus: r.last_status ?? null,
    paused: Boolean(r.paused),
    nextDueAt: numberFromDbOrNull(r.next_due_at),
  }));
}

export function describeTrigger(job: JobDefinition): string {
  return `cron ${job.cron} (${job.timezone})`;
}

/**
 * Inserts or refreshes a job's row; run by a leader at start. `paused` is set
 * only on insert: a pause holds across leaders. The armed instant is cleared
 * until this leader's due timer arms.
 */
export async function upsertJob(db: Knex, job: JobDefinition, nextRunAt: number | null, term: number | null = null, now = Date.now()): Promise<void> {
  await db('scheduler_jobs')
    .insert({ id: job.id, name: job.name, trigger: describeTrigger(job), next_run_at: nextRunAt, next_due_at: null, paused: false, updated_at: now, term })
    .onConflict('id')
    .merge(['name', 'trigger', 'next_run_at', 'next_due_at', 'updated_at', 'term']);
}

/** A fire that did not run (paused): the next cron run moves on all the same. */
export async function recordNextRun(db: Knex, jobId: string, nextRunAt: number | null, term: number | null = null, now = Date.now()): Promise<void> {
  await db('scheduler_jobs').where({ id: jobId }).update({ next_run_at: nextRunAt, updated_at: now, term });
}

/** The instant the job's due-time trigger is now armed for (null: nothing due). */
export async function recordNextDue(db: Knex, jobId: string, nextDueAt: number | null, term: number | null = null): Promise<void> {
  await db('scheduler_jobs').where({ id: jobId }).update({ next_due_at: nextDueAt, term });
}

export async function recordJobRun(db: Knex, jobId: string, run: { lastRunAt: number; lastStatus: string; nextRunAt: number | null }, term: number | null = null, now = Date.now()): Promise<void> {
  await db('scheduler_jobs').where({ id: jobId }).update({ last_run_at: run.lastRunAt, last_status: run.lastStatus, next_run_at: run.nextRunAt, updated_at: now, term });
}

// Pausing a job: scheduler_jobs.paused in the shared database, so a pause
// holds on every host and across failovers and restarts. A paused job keeps
// its triggers; the leader reads the flag at each fire, before claiming it,
// and records the fire as `skipped` with the reason `paused`. Resuming runs
// the job once at once on the leader (through run-now), to catch up.
// Any worker or the CLI writes the flag: it is a person's decision, not a
// leader's write, so it is not fenced with a term.
import type { Knex } from 'knex';
import type { SchedulerJobRow } from '../db/tables.js';
import { listStoredJobs, type StoredJob } from './job-store.js';
import type { RunJobResult } from './run-now.js';

/** The reason written on the fires a pause skipped. */
export const PAUSED_REASON = 'paused';

export async function isPaused(db: Knex, jobId: string): Promise<boolean> {
  const row = await db<SchedulerJobRow>('scheduler_jobs').where({ id: jobId }).first('paused');
  return Boolean(row?.paused);
}

export async function getStoredJob(db: Knex, jobId: string): Promise<StoredJob | undefined> {
  return (await listStoredJobs(db, jobId)).at(0);
}

/** Sets the flag; true when it changed. A job no leader registered yet gets its row now. */
async function setPaused(db: Knex, jobId: string, paused: boolean, now: number): Promise<boolean> {
  const changed = await db('scheduler_jobs').where({ id: jobId }).whereNot({ paused }).update({ paused, updated_at: now });
  if (changed > 0) return true;
  if (await db<SchedulerJobRow>('scheduler_jobs').where({ id: jobId }).first('id')) return false;
  // The first leader's upsertJob fills in the name and trigger, and keeps the flag.
  await db('scheduler_jobs').insert({ id: jobId, name: jobId, trigger: '', paused, updated_at: now }).onConflict('id').merge(['paused', 'updated_at']);
  return paused;
}

export async function pauseJob(db: Knex, jobId: string, now = Date.now()): Promise<StoredJob> {
  await setPaused(db, jobId, true, now);
  return (await getStoredJob(db, jobId))!;
}

export interface ResumeDeps {
  db: Knex;
  /** Whether a leader is elected now: without one there is nobody to catch up. */
  leaderElected(): Promise<boolean>;
  /** Run-now on the leader (leader-link's runJob, or the run-request queue). */
  runJob(jobId: string): Promise<RunJobResult>;
}

export interface Resumed {
  job: StoredJob;
  /**
   * The catch-up run: started (its execution id), already running (also
   * fine: that run is the catch-up), or why not; null when the job was not
   * paused (nothing to catch up) or no leader is elected (the next one runs it on its triggers).
   */
  catchUp: RunJobResult | null;
}

export async function resumeJob(deps: ResumeDeps, jobId: string, now = Date.now()): Promise<Resumed> {
  const { db } = deps;
  const wasPaused = await setPaused(db, jobId, false, now);
  const catchUp = wasPaused && (await deps.leaderElected()) ? await deps.runJob(jobId) : null;
  return { job: (await getStoredJob(db, jobId))!, catchUp };
}

/** What a resume's catch-up came to, in words for a person (console flash, CLI). */
export function describeCatchUp(jobId: string, catchUp: RunJobResult | null): string {
  if (catchUp === null) return `${jobId} runs at its next trigger`;
  if (catchUp.ok) return `${jobId} runs once now to catch up, as execution ${catchUp.executionId}`;
  if (catchUp.code === 'job_running') return `${jobId} is running already; that run catches up`;
  return `${jobId} did not start a catch-up run (${catchUp.message}); it runs at its next trigger`;
}

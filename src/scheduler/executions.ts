// Every fire of a job is an execution row. A scheduled fire is identified by
// (job id, scheduled instant) and claimed by inserting its claim key under a
// unique index before it runs: if two leaders overlap for a moment, the
// second insert fails and that fire is recorded as skipped instead of run.
import type { Knex } from 'knex';
import { isUniqueViolation } from '../db/errors.js';
import { numberFromDb, numberFromDbOrNull } from '../db/rows.js';
import type { JobExecutionRow } from '../db/tables.js';
import { toIso, toIsoOrNull } from '../time.js';

export type ExecutionStatus = 'running' | 'success' | 'error' | 'skipped' | 'missed';

/** Who records an execution: the process, and the leader's term (null for a local CLI run). */
export interface RecordedBy {
  pid: number;
  hostname: string;
  term?: number | null;
}

export interface Execution {
  id: number;
  jobId: string;
  status: ExecutionStatus;
  scheduledFor: number;
  startedAt: number | null;
  finishedAt: number | null;
  durationMs: number | null;
  error: string | null;
  pid: number | null;
  hostname: string | null;
  term: number | null;
  /** How late a claimed fire started: started_at - scheduled_for; null for run-now, skipped and missed rows. */
  lagMs: number | null;
}

/**
 * A claimed fire's start lag; null for everything else: run-now has no
 * schedule to be late for, and a claim abandoned before its run (recorded as
 * skipped) never started.
 */
export function startLagMs(row: Pick<JobExecutionRow, 'claim_key' | 'scheduled_for' | 'started_at' | 'status'>): number | null {
  if (row.claim_key === null || row.started_at === null || row.status === 'skipped') return null;
  return numberFromDb(row.started_at) - numberFromDb(row.scheduled_for);
}

export function claimKey(jobId: string, scheduledFor: number): string {
  return `${jobId}@${toIso(scheduledFor)}`;
}

/**
 * Claims a fire. Returns the new execution's id, or null when the fire was
 * already claimed; that attempt is then recorded as a `skipped` row.
 */
export async function claimFire(
  db: Knex,
  fire: { jobId: string; scheduledFor: number } & RecordedBy,
  now = Date.now(),
): Promise<number | null> {
  const row = {
    job_id: fire.jobId,
    scheduled_for: fire.scheduledFor,
    pid: fire.pid,
    hostname: fire.hostname,
    term: fire.term ?? null,
    created_at: now,
  };
  try {
    const [id] = await db('job_executions').insert({ ...row, claim_key: claimKey(fire.jobId, fire.scheduledFor), status: 'running', started_at: now });
    return Number(id);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
  const winner = await db<JobExecutionRow>('job_executions').where({ claim_key: claimKey(fire.jobId, fire.scheduledFor) }).first('id', 'pid', 'hostname');
  await recordOutcome(db, { ...fire, status: 'skipped', reason: `fire already claimed by execution ${winner?.id} (pid ${winner?.pid} on ${winner?.hostname})` }, now);
  return null;
}

/** Starts an execution that is not a scheduled fire (run-now), so nothing to claim. */
export async function startUnclaimedExecution(db: Knex, fire: { jobId: string } & RecordedBy, now = Date.now()): Promise<number> {
  const [id] = await db('job_executions').insert({
    job_id: fire.jobId,
    scheduled_for: now,
    claim_key: null,
    status: 'running',
    started_at: now,
    pid: fire.pid,
    hostname: fire.hostname,
    term: fire.term ?? null,
    created_at: now,
  });
  return Number(id);
}

/** Records a fire that did not run: skipped (overlap, already claimed) or missed. */
export async function recordOutcome(
  db: Knex,
  fire: { jobId: string; scheduledFor: number; status: 'skipped' | 'missed'; reason: string } & RecordedBy,
  now = Date.now(),
): Promise<number> {
  const [id] = await db('job_executions').insert({
    job_id: fire.jobId,
    scheduled_for: fire.scheduledFor,
    claim_key: null,
    status: fire.status,
    error: fire.reason,
    pid: fire.pid,
    hostname: fire.hostname,
    term: fire.term ?? null,
    created_at: now,
  });
  return Number(id);
}

export async function finishExecution(
  db: Knex,
  id: number,
  outcome: { status: 'success' | 'error'; error?: unknown },
  now = Date.now(),
): Promise<void> {
  const row = await db<JobExecutionRow>('job_executions').where({ id }).first('started_at');
  const startedAt = numberFromDbOrNull(row?.started_at) ?? now;
  const err = outcome.error as Error | undefined;
  await db('job_executions')
    .where({ id })
    .update({
      status: outcome.status,
      finished_at: now,
      duration_ms: Math.max(0, now - startedAt),
      error: err ? String(err.message ?? err).slice(0, 10_000) : null,
      error_stack: err?.stack ? String(err.stack).slice(0, 20_000) : null,
    });
}

/**
 * Executions an earlier leader left running (it was killed, frozen past its
 * lease, or lost the database mid-run): they will not finish, so the next
 * leader records them as errors. Returns how many.
 */
export async function closeAbandonedExecutions(db: Knex, term: number, now = Date.now()): Promise<number> {
  return db('job_executions')
    .where({ status: 'running' })
    .whereNotNull('term')
    .andWhere('term', '<', term)
    .update({ status: 'error', error: 'its leader stopped before the run finished', finished_at: now });
}

/** A claimed fire that will not run after all (leadership was lost meanwhile). */
export async function abandonExecution(db: Knex, id: number, reason: string, now = Date.now()): Promise<void> {
  await db('job_executions').where({ id }).update({ status: 'skipped', error: reason, finished_at: now, duration_ms: 0 });
}

function toExecution(r: JobExecutionRow): Execution {
  return {
    id: Number(r.id),
    jobId: String(r.job_id),
    status: r.status as ExecutionStatus,
    scheduledFor: numberFromDb(r.scheduled_for),
    startedAt: numberFromDbOrNull(r.started_at),
    finishedAt: numberFromDbOrNull(r.finished_at),
    durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
    error: r.error ?? null,
    pid: r.pid === null ? null : Number(r.pid),
    hostname: r.hostname ?? null,
    term: numberFromDbOrNull(r.term),
    lagMs: startLagMs(r),
  };
}

export function executionJson(e: Execution) {
  return { ...e, scheduledFor: toIso(e.scheduledFor), startedAt: toIsoOrNull(e.startedAt), finishedAt: toIsoOrNull(e.finishedAt) };
}

/** Newest first. */
export async function recentExecutions(db: Knex, { limit = 50, jobId }: { limit?: number; jobId?: string } = {}): Promise<Execution[]> {
  const q = db<JobExecutionRow>('job_executions').orderBy('id', 'desc').limit(limit);
  if (jobId) q.where({ job_id: jobId });
  return (await q).map(toExecution);
}

export async function getExecution(db: Knex, id: number): Promise<Execution | undefined> {
  const row = await db<JobExecutionRow>('job_executions').where({ id }).first();
  return row ? toExecution(row) : undefined;
}

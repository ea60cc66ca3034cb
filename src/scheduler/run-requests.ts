// The database queue for run-now requests made outside the cluster. The
// requester inserts a row; the leader claims it with a conditional UPDATE
// (one affected row means it is ours), starts the job and writes back the
// execution id, or the reason it could not.
import type { Knex } from 'knex';
import type { JobRunRequestRow } from '../db/tables.js';
import { SECOND, sleep } from '../time.js';
import { getExecution, type Execution } from './executions.js';
import type { RunJobErrorCode, RunJobResult } from './run-now.js';

export interface RunRequest {
  id: number;
  jobId: string;
}

export async function requestRun(db: Knex, jobId: string, requestedBy: string, now = Date.now()): Promise<number> {
  const [id] = await db('job_run_requests').insert({ job_id: jobId, requested_by: requestedBy, requested_at: now });
  return Number(id);
}

/** Claims the waiting requests; two leaders polling at once never claim the same one. */
export async function claimRunRequests(db: Knex, now = Date.now()): Promise<RunRequest[]> {
  const waiting = await db<JobRunRequestRow>('job_run_requests').whereNull('claimed_at').orderBy('id').limit(20).select('id', 'job_id');
  const claimed: RunRequest[] = [];
  for (const row of waiting) {
    const won = await db('job_run_requests').where({ id: row.id }).whereNull('claimed_at').update({ claimed_at: now });
    if (won === 1) claimed.push({ id: Number(row.id), jobId: row.job_id });
  }
  return claimed;
}

export async function answerRunRequest(db: Knex, id: number, result: RunJobResult, term: number | null = null): Promise<void> {
  await db('job_run_requests')
    .where({ id })
    .update(result.ok ? { execution_id: result.executionId, term } : { error_code: result.code, error: result.message, term });
}

/** Waits until the leader has started the request's execution (or said why not). */
export async function waitForRunStart(db: Knex, id: number, timeoutMs: number, pollMs = 100): Promise<RunJobResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await db<JobRunRequestRow>('job_run_requests').where({ id }).first('execution_id', 'error_code', 'error', 'claimed_at');
    if (row?.execution_id !== null && row?.execution_id !== undefined) return { ok: true, executionId: Number(row.execution_id) };
    // The leader wrote the code from RunJobErrorCode (answerRunRequest).
    if (row?.error_code) return { ok: false, code: row.error_code as RunJobErrorCode, message: row.error ?? row.error_code };
    if (Date.now() > deadline) {
      // Withdraw it, so a leader arriving later does not run a job nobody waits for.
      await db('job_run_requests').where({ id }).whereNull('claimed_at').delete();
      return { ok: false, code: 'no_leader', message: `no leader picked up the request within ${timeoutMs} ms` };
    }
    await sleep(pollMs);
  }
}

/** Waits for an execution to finish. */
export async function waitForExecutionEnd(db: Knex, executionId: number, timeoutMs: number, pollMs = 200): Promise<Execution> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const execution = await getExecution(db, executionId);
    if (execution && execution.status !== 'running') return execution;
    if (Date.now() > deadline) throw new Error(`execution ${executionId} was still running after ${Math.round(timeoutMs / SECOND)} s`);
    await sleep(pollMs);
  }
}

// The database queue for run-now requests made outside the cluster. The
// requester inserts a row; the leader claims it with a conditional UPDATE
// (one affected row means it is ours), starts the job and writes back the
// execution id, or the reason it could not.
import type { Knex } from 'knex';
import { SECOND, sleep } from '../time.js';
import { getExecution, type Execution } from './executions.js';

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
  const waiting = await db('job_run_requests').whereNull('claimed_at').orderBy('id').limit(20).select('id', 'job_id');
  const claimed: RunRequest[] = [];
  for (const row of waiting) {
    const won = await db('job_run_requests').where({ id: row.id }).whereNull('claimed_at').update({ claimed_at: now });
    if (won === 1) claimed.push({ id: Number(row.id), jobId: row.job_id });
  }
  return claimed;
}

export async function answerRunRequest(db: Knex, id: number, answer: { executionId: number } | { error: string }): Promise<void> {
  await db('job_run_requests')
    .where({ id })
    .update('executionId' in answer ? { execution_id: answer.executionId } : { error: answer.error });
}

/** Waits for the leader to start the request's execution, then for that execution to finish. */
export async function followRunRequest(
  db: Knex,
  id: number,
  { startTimeoutMs = 30 * SECOND, finishTimeoutMs, pollMs = 200 }: { startTimeoutMs?: number; finishTimeoutMs: number; pollMs?: number },
): Promise<Execution> {
  const startBy = Date.now() + startTimeoutMs;
  let executionId: number | null = null;
  while (executionId === null) {
    const row = await db('job_run_requests').where({ id }).first('execution_id', 'error', 'claimed_at');
    if (row?.error) throw new Error(row.error);
    if (row?.execution_id !== null && row?.execution_id !== undefined) executionId = Number(row.execution_id);
    else if (Date.now() > startBy) throw new Error(`no leader picked up the request within ${startTimeoutMs / SECOND} s${row?.claimed_at ? '' : ' (is the app running?)'}`);
    else await sleep(pollMs);
  }
  const finishBy = Date.now() + finishTimeoutMs;
  for (;;) {
    const execution = await getExecution(db, executionId);
    if (execution && execution.status !== 'running') return execution;
    if (Date.now() > finishBy) throw new Error(`execution ${executionId} was still running after ${finishTimeoutMs / SECOND} s`);
    await sleep(pollMs);
  }
}

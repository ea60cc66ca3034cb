// The database queue for run-now requests made outside the cluster, both
// sides. The requester inserts a row; the leader claims it with a conditional
// UPDATE (one affected row means it is ours), starts the job and writes back
// the execution id, or the reason it could not.
import type { Knex } from 'knex';
import type { Logger } from '../log.js';
import type { JobRunRequestRow } from '../db/tables.js';
import { SECOND, sleep } from '../time.js';
import { getExecution, type Execution } from './executions.js';
import { runNowFailure, type RunJobErrorCode, type RunJobResult } from './run-now.js';
import { SupersededError, type LeaderWrite } from './leader-writes.js';

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

/** How often the leader looks for run-now requests from outside the cluster. */
const RUN_REQUEST_POLL_MS = 1000;

export interface RunRequestPollerDeps {
  log: Logger;
  /** Checked before each poll: only a leader may claim requests. */
  stillLeading(): Promise<boolean>;
  /** Claims and answers are the leader's writes: fenced with its term. */
  write: LeaderWrite;
  term: number | null;
  /** A write was refused for a newer term. */
  onSuperseded(err: SupersededError): void;
  runNow(jobId: string): Promise<{ executionId: number }>;
}

/**
 * The leader's side of the queue (the CLI, and workers on other hosts):
 * claim what waits, start it, write back the execution id or why not.
 * Polled, because the requester may be anywhere.
 */
export class RunRequestPoller {
  private timer: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(private readonly deps: RunRequestPollerDeps) {}

  start(): void {
    this.timer ??= setInterval(() => void this.poll(), RUN_REQUEST_POLL_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async poll(): Promise<void> {
    if (this.polling || !this.timer) return;
    this.polling = true;
    try {
      if (!(await this.deps.stillLeading())) return;
      for (const request of await this.deps.write((trx) => claimRunRequests(trx))) {
        let result: RunJobResult;
        try {
          result = { ok: true, executionId: (await this.deps.runNow(request.jobId)).executionId };
        } catch (err) {
          result = runNowFailure(err);
        }
        await this.deps.write((trx) => answerRunRequest(trx, request.id, result, this.deps.term));
      }
    } catch (err) {
      if (err instanceof SupersededError) return this.deps.onSuperseded(err);
      this.deps.log.error({ err }, 'polling run-now requests failed');
    } finally {
      this.polling = false;
    }
  }
}

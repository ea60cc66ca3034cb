// Run-now's one result type and its one error-to-code mapping, whichever way
// the request reached the leader (cluster IPC, the database queue, the CLI).
// not_elected: no leader is elected, so the request was not sent; no_leader:
// it was sent and no leader answered in time.
export type RunJobErrorCode = 'unknown_job' | 'job_running' | 'not_elected' | 'no_leader' | 'failed';

export type RunJobFailure = { ok: false; code: RunJobErrorCode; message: string };

export type RunJobResult = { ok: true; executionId: number } | RunJobFailure;

export class UnknownJobError extends Error {
  constructor(readonly jobId: string) {
    super(`Unknown job "${jobId}"`);
  }
}

export class JobBusyError extends Error {
  constructor(readonly jobId: string) {
    super(`Job "${jobId}" is running`);
  }
}

/** Why a run-now did not start, as the code callers branch on. */
export function runNowFailure(err: unknown): RunJobFailure {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof UnknownJobError) return { ok: false, code: 'unknown_job', message };
  if (err instanceof JobBusyError) return { ok: false, code: 'job_running', message };
  return { ok: false, code: 'failed', message };
}

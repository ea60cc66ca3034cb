// Run-now as the leader answers it, whichever worker took the request.
import type { RunJobResult } from '../cluster/messages.js';
import type { Logger } from '../log.js';
import { JobBusyError, UnknownJobError, type Scheduler } from './scheduler.js';

export async function runOnLeader(scheduler: Scheduler, jobId: string, log: Logger): Promise<RunJobResult> {
  try {
    const { executionId } = await scheduler.runNow(jobId);
    return { ok: true, executionId };
  } catch (err) {
    if (err instanceof UnknownJobError) return { ok: false, code: 'unknown_job', message: err.message };
    if (err instanceof JobBusyError) return { ok: false, code: 'job_running', message: err.message };
    log.error({ err, jobId }, 'run-now failed');
    return { ok: false, code: 'failed', message: (err as Error).message };
  }
}

// The scheduler's API for admins: who leads, the jobs, recent executions,
// and run-now. Run-now never runs the job here: it is handed to the leader.
import { Router } from 'express';
import type { Knex } from 'knex';
import { requireRole } from '../auth.js';
import { ConflictError, NotFoundError, UnavailableError } from '../../errors.js';
import type { LeadershipSnapshot } from '../../leadership/election.js';
import { schedulerStatus } from '../../scheduler/status.js';
import type { RunJobResult } from '../../scheduler/run-now.js';

export interface SchedulerPort {
  jobIds: string[];
  leadership(): Promise<LeadershipSnapshot>;
  /** Hands the job to the leader; resolves once it has started there. */
  runJob(jobId: string): Promise<RunJobResult>;
}

export function schedulerApiRoutes({ db, scheduler }: { db: Knex; scheduler: SchedulerPort }): Router {
  const router = Router();
  const admin = requireRole('admin');

  router.get('/api/scheduler', admin, async (_req, res) => {
    res.json(await schedulerStatus(db, await scheduler.leadership()));
  });

  router.post('/api/scheduler/jobs/:id/run', admin, async (req, res) => {
    const jobId = req.params.id as string;
    if (!scheduler.jobIds.includes(jobId)) throw new NotFoundError(`Job "${jobId}"`);
    if ((await scheduler.leadership()).state !== 'held') throw new UnavailableError('No scheduler leader is elected; try again shortly');
    const result = await scheduler.runJob(jobId);
    if (result.ok) {
      res.status(202).json({ executionId: result.executionId });
      return;
    }
    if (result.code === 'unknown_job') throw new NotFoundError(result.message);
    if (result.code === 'job_running') throw new ConflictError(result.message);
    throw new UnavailableError(result.message);
  });

  return router;
}
